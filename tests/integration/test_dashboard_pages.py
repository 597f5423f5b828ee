"""The dashboard's pages on the seed data, as a browser without JavaScript gets them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from incidents.cli import SEEDS_DIR
from incidents.http.app import create_app
from incidents.http.auth import SESSION_COOKIE, tokens_of
from incidents.http.dashboard.pages import HTMX, STATIC
from incidents.seeding import load_seeds
from incidents.settings import Settings

Client = AsyncTestClient  # type: ignore[type-arg]

PARIS = "mission-az-paris"
PROTEST = "protest-az-2022-09-19-paris-embassy-attack"
NOTE = "note-az-paris-2022-08-17"


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[Client]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'seeded.db'}", reply_window_days=30)
    await load_seeds(settings, SEEDS_DIR)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        # A desk officer's browser: a reader token in the session cookie.
        issued = await tokens_of(app).create("reader", "desk")
        client.cookies.set(SESSION_COOKIE, issued.token)
        yield client


def text(html: str) -> str:
    """The page's words, tags dropped and spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_overview_lists_the_overdue_note_and_the_open_protest(seeded: Client) -> None:
    response = await seeded.get("/dashboard/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    # the tables are in the HTML itself: they need no script
    row = re.search(rf'<tr id="row-{NOTE}".*?</tr>', page, re.S)
    assert row is not None
    assert "17 Aug 2022" in row.group(0)
    assert "overdue" in row.group(0)
    card = re.search(rf'<li class="card" id="protest-{PROTEST}".*?</ul>', page, re.S)
    assert card is not None
    assert text(card.group(0)).count(": open") == 4
    assert 'id="count-protests">1<' in page
    # the charts follow the page (htmx asks for them), or open on their own page without
    # JavaScript: SVG drawn on the server, with words for a screen reader
    assert 'hx-get="/dashboard/parts/charts"' in page
    assert 'href="/dashboard/charts"' in page
    for charts in (
        (await seeded.get("/dashboard/charts")).text,
        (await seeded.get("/dashboard/parts/charts")).text,
    ):
        assert charts.count('<svg class="chart" role="img"') == 4
        assert "<desc" in charts


async def test_the_mission_page_shows_notes_protests_and_incidents(seeded: Client) -> None:
    page = text((await seeded.get(f"/dashboard/missions/{PARIS}")).text)
    assert "Azerbaijani embassy in Paris" in page
    assert "Attacks against the embassy" in page
    assert "waiting" in page
    assert "Attack on the Azerbaijani embassy in Paris" in page
    assert "investigation: open" in page


async def test_protest_and_note_pages_set_each_fact_beside_its_quote(seeded: Client) -> None:
    protest = (await seeded.get(f"/dashboard/protests/{PROTEST}")).text
    assert "ProtestLodged" in protest
    assert "000_5245fc7d70722b6f.txt" in protest
    assert "The ministry submitted a note of protest" in protest
    note = (await seeded.get(f"/dashboard/notes/{NOTE}")).text
    assert "NoteSent" in note
    assert "On August 17, we sent the next written note." in note


async def test_unknown_pages_are_404(seeded: Client) -> None:
    for path in (
        "/dashboard/missions/mission-xx-nowhere",
        "/dashboard/missions/note-az-1",
        "/dashboard/notes/note-xx-none",
        "/dashboard/parts/nothing",
    ):
        assert (await seeded.get(path)).status_code == 404, path


async def test_the_pinned_assets_are_served_with_their_licence(seeded: Client) -> None:
    response = await seeded.get(f"/dashboard/static/{HTMX}")
    assert response.status_code == 200
    assert "htmx" in response.text[:2000]
    assert (STATIC / HTMX.replace(".min.js", ".LICENSE")).is_file()
    page = (await seeded.get("/dashboard/")).text
    scripts = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert scripts and all(url.startswith("/dashboard/static/") for url in scripts)


async def test_a_part_is_the_same_html_the_page_holds(seeded: Client) -> None:
    part = (await seeded.get("/dashboard/parts/protests")).text
    assert PROTEST in part
    assert "<html" not in part


async def test_latest_events_date_each_event_no_more_exactly_than_its_text(seeded: Client) -> None:
    # The Natavan vandalism is fenced in by its text (after the 2020 ceasefire, before
    # COP29), not dated: its occurred_at is only the upper bound.
    part = text((await seeded.get("/dashboard/parts/latest")).text)
    vandalism = part.split("incident-fr-natavan-monument-vandalism", 1)[1].split("happened", 1)[1]
    assert vandalism.lstrip().startswith("between 9 Nov 2020 and 10 Nov 2024"), vandalism[:60]
    # a fact the text dates to the day reads as that day
    ceasefire = part.split("statement-az-am-ru-2020-11-10-ceasefire", 1)[1].split("happened", 1)[1]
    assert ceasefire.lstrip().startswith("9 Nov 2020"), ceasefire[:60]


async def test_as_of_shows_the_overview_as_it_stood_that_day(seeded: Client) -> None:
    # the protest was lodged on 19 September 2022: at the end of the 18th there was none
    before = (await seeded.get("/dashboard/", params={"as_of": "2022-09-18"})).text
    assert 'id="no-protests"' in before
    assert f"row-{NOTE}" in before
    assert 'value="2022-09-18"' in before
    after = (await seeded.get("/dashboard/", params={"as_of": "2022-09-19"})).text
    assert f'id="protest-{PROTEST}"' in after
    # the parts htmx asks for carry the day, and so do the links
    assert 'hx-get="/dashboard/parts/protests?as_of=2022-09-19"' in after
    assert f'href="/dashboard/notes/{NOTE}?as_of=2022-09-19"' in after
    missing = await seeded.get(f"/dashboard/protests/{PROTEST}", params={"as_of": "2022-09-18"})
    assert missing.status_code == 404


async def test_a_day_that_does_not_exist_is_400(seeded: Client) -> None:
    for day in ("2022-02-30", "18/09/2022", ""):
        response = await seeded.get("/dashboard/", params={"as_of": day})
        assert response.status_code == 400, day


async def test_the_mission_page_has_its_timeline_with_sources(seeded: Client) -> None:
    page = (await seeded.get(f"/dashboard/missions/{PARIS}")).text
    timeline = re.search(r'<table id="mission-timeline".*?</table>', page, re.S)
    assert timeline is not None
    rows = text(timeline.group(0))
    assert "MissionRegistered" in rows and "ProtestLodged" in rows and "NoteSent" in rows
    assert "001_dac795f56e0e62ef.txt" in rows
    before = await seeded.get(f"/dashboard/missions/{PARIS}", params={"as_of": "2022-09-18"})
    assert "ProtestLodged" not in text(before.text)


async def test_the_search_box_finds_streams_and_marks_the_words(seeded: Client) -> None:
    page = (await seeded.get("/dashboard/search", params={"q": "embassy Paris"})).text
    assert 'id="search-results"' in page
    assert "<mark>" in page
    assert f'href="/dashboard/missions/{PARIS}"' in page or "/dashboard/" in page
    nothing = (await seeded.get("/dashboard/search", params={"q": "zzzzqqq"})).text
    assert "Nothing matches." in nothing
