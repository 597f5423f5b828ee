"""docs/tutorial.md, step by step, on the seed data served by a real process: the head it
quotes, the live stream of step 3 with the note it posts, and the page of step 4 in chromium,
served at the service's own origin, updating itself when an event is committed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import ServedProcess
from tests.e2e.test_quickstart import curl_requests, with_token

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
# A failsafe only: each wait ends as soon as the page shows the event.
WAIT_MS = 30_000


def section(number: int) -> str:
    text = TUTORIAL.read_text()
    return text.split(f"\n## {number}. ", 1)[1].split("\n## ", 1)[0]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def page_html() -> str:
    marked = TUTORIAL.read_text().split("<!-- tutorial-page:", 1)[1]
    return marked.split("```html\n", 1)[1].split("```", 1)[0]


def test_steps_1_and_3_quote_one_head_and_the_position_after_it(seeded_server: str) -> None:
    # The numbers are those of the seeds when the tutorial was written; they must agree with
    # each other (a later seed moves the real head, which the other tests read).
    (quoted,) = re.findall(r'"head_position":(\d+)', section(1))
    assert f"after={quoted}'" in section(3)
    assert f'id: {int(quoted) + 1}\ndata: {{"position":{int(quoted) + 1},' in section(3)
    health = httpx.get(f"{seeded_server}/health", timeout=30).json()
    assert health["head_position"] >= int(quoted)


def test_step_3_the_posted_note_arrives_on_the_live_stream(
    seeded_server: str, seeded_process: ServedProcess
) -> None:
    (follow,) = curl_requests(shell_blocks(section(3))[0])
    (post,) = curl_requests(shell_blocks(section(3))[1])
    head = httpx.get(f"{seeded_server}/health", timeout=30).json()["head_position"]
    assert follow[1].startswith("/events/live?after=")
    with (
        httpx.Client(base_url=seeded_server, timeout=30) as client,
        client.stream("GET", f"/events/live?after={head}") as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines).startswith(": ")
        assert next(lines).startswith("retry: ")
        method, path, headers, body = post
        headers = with_token(headers, seeded_process.token)
        posted = client.request(method, path, headers=headers, content=body)
        assert posted.status_code == 201, posted.text
        position = posted.json()["events"][0]["position"]
        for line in lines:
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                break
    assert event["position"] == position == head + 1
    assert event["stream_id"] == "note-example-london-1" and event["type"] == "NoteSent"
    missions = httpx.get(f"{seeded_server}/projections/missions", timeout=30).json()
    (london,) = [row for row in missions["missions"] if row["mission"] == "mission-az-london"]
    assert london["notes_sent"] == london["notes_sent_unanswered"] == 1


def test_step_4_the_page_updates_itself_when_an_event_is_committed(
    seeded_server: str, seeded_process: ServedProcess, page: Page
) -> None:
    # Given the tutorial's page, served at the service's own origin
    def serve_page(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=page_html())

    page.route(f"{seeded_server}/tutorial.html", serve_page)
    page.goto(f"{seeded_server}/tutorial.html")
    expect(page.locator("#status")).to_have_text("live", timeout=WAIT_MS)
    missions = httpx.get(f"{seeded_server}/projections/missions", timeout=30).json()
    expect(page.locator("#missions tr")).to_have_count(missions["count"])
    london = page.locator('#missions tr[data-mission="mission-az-london"] td').last
    before = int(london.inner_text())

    # When the note of step 3 is sent again under another stream id
    (post,) = curl_requests(shell_blocks(section(3))[1])
    method, path, headers, body = post
    headers = with_token(headers, seeded_process.token)
    path = path.replace("note-example-london-1", "note-example-london-2")
    assert "note-example-london-2" in section(4)
    posted = httpx.request(
        method, f"{seeded_server}{path}", headers=headers, content=body, timeout=30
    )
    assert posted.status_code == 201, posted.text

    # Then the page lists it and the London row goes up by one, with no reload
    position = posted.json()["events"][0]["position"]
    expect(page.locator("#latest li").first).to_have_text(
        f"{position} NoteSent note-example-london-2", timeout=WAIT_MS
    )
    expect(london).to_have_text(str(before + 1), timeout=WAIT_MS)
