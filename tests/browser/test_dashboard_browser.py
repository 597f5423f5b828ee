"""The dashboard in chromium, on the seed data: what a desk officer sees and does."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import screenshot_path, serious_violations

pytestmark = pytest.mark.e2e

PARIS = "mission-az-paris"
PROTEST = "protest-az-2022-09-19-paris-embassy-attack"
NOTE = "note-az-paris-2022-08-17"
# A failsafe only: the assertions wait for the page to change, and say how long it took.
LIVE_TIMEOUT_MS = 15_000


def test_the_overview_shows_the_paris_protest_and_the_overdue_note(
    page: Page, seeded_server: str, tmp_path: Path
) -> None:
    page.goto(f"{seeded_server}/dashboard/")
    protest = page.locator(f"#protest-{PROTEST}")
    expect(protest).to_contain_text("AZ · Ministry of Foreign Affairs")
    expect(protest.locator(".demand.open")).to_have_count(4)
    for demand in ("investigation", "legal assessment", "prosecution", "compensation"):
        expect(protest).to_contain_text(f"{demand}: open")
    note = page.locator(f"#row-{NOTE}")
    expect(note).to_contain_text("17 Aug 2022")
    expect(note.locator(".badge.overdue")).to_have_text("overdue")
    # the charts come after the page
    expect(page.locator("#part-charts svg.chart")).to_have_count(4)
    page.screenshot(path=screenshot_path("overview.png", tmp_path), full_page=True)


def test_a_mission_page(page: Page, seeded_server: str, tmp_path: Path) -> None:
    page.goto(f"{seeded_server}/dashboard/missions/{PARIS}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Azerbaijani embassy in Paris")
    expect(page.locator("#mission-notes")).to_contain_text("waiting")
    expect(page.locator("#mission-incidents")).to_contain_text("Attack on the Azerbaijani")
    page.screenshot(path=screenshot_path("mission.png", tmp_path), full_page=True)


def test_the_phone_layout_needs_no_sideways_scrolling(
    browser: Browser, seeded_server: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        phone = context.new_page()
        for path in ("/dashboard/", f"/dashboard/missions/{PARIS}"):
            phone.goto(f"{seeded_server}{path}")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide at 390 px"
        phone.goto(f"{seeded_server}/dashboard/")
        expect(phone.locator(f"#row-{NOTE}")).to_be_visible()
        expect(phone.locator("#part-charts svg.chart")).to_have_count(4)
        phone.screenshot(path=screenshot_path("phone.png", tmp_path), full_page=True)
    finally:
        context.close()


def test_keyboard_alone_reaches_the_content_and_every_link(page: Page, seeded_server: str) -> None:
    page.goto(f"{seeded_server}/dashboard/")
    # the first Tab lands on the skip link; Enter takes the focus to the main content
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # from there Tab walks the page's links in order, each visibly focused
    reached: list[str] = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        reached.append(focused.get_attribute("href") or "")
        outline = focused.evaluate("e => getComputedStyle(e).outlineStyle")
        assert outline != "none", f"{reached[-1]} shows no focus"
    assert f"/dashboard/missions/{PARIS}" in reached
    assert f"/dashboard/notes/{NOTE}" in reached
    # and Enter follows the focused link
    page.locator(f'a[href="/dashboard/notes/{NOTE}"]').first.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{seeded_server}/dashboard/notes/{NOTE}")


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/",
        f"/dashboard/missions/{PARIS}",
        f"/dashboard/protests/{PROTEST}",
        f"/dashboard/notes/{NOTE}",
        "/dashboard/sign-in",
        "/dashboard/?as_of=2022-09-18",
    ],
)
def test_axe_finds_no_serious_or_critical_violation(
    page: Page, seeded_server: str, path: str
) -> None:
    page.goto(f"{seeded_server}{path}")
    serious = serious_violations(page)
    assert not serious, "\n".join(serious)


def test_a_reply_recorded_elsewhere_takes_the_note_off_the_list_without_a_reload(
    page: Page, seeded_server: str, seeded_headers: dict[str, str]
) -> None:
    page.goto(f"{seeded_server}/dashboard/")
    row = page.locator(f"#row-{NOTE}")
    expect(row).to_be_visible()
    expect(page.locator("#live-status")).to_contain_text("follows the log")
    page.evaluate("window.__loaded = true")
    started = time.monotonic()
    reply = {
        "events": [
            {
                "type": "ReplyReceived",
                "data": {"from": {"state": "FR"}, "disposition": "noncommittal"},
            }
        ]
    }
    response = httpx.post(
        f"{seeded_server}/streams/{NOTE}/events", json=reply, headers=seeded_headers, timeout=30
    )
    assert response.status_code == 201, response.text
    expect(row).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    took = time.monotonic() - started
    expect(page.locator("#count-unanswered")).to_have_text("0")
    # the same page, not a new one
    assert page.evaluate("window.__loaded") is True
    print(f"the note left the list {took:.3f} s after the reply was committed")


def test_picking_a_day_shows_the_page_as_it_stood(page: Page, seeded_server: str) -> None:
    page.goto(f"{seeded_server}/dashboard/")
    expect(page.locator(f"#protest-{PROTEST}")).to_be_visible()
    page.locator("#as-of").fill("2022-09-18")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/dashboard/?\?as_of=2022-09-18$"))
    expect(page.locator("#no-protests")).to_have_text("No protest is open.")
    expect(page.locator(f"#protest-{PROTEST}")).to_have_count(0)
    expect(page.locator("#count-protests")).to_have_text("0")
