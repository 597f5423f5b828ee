"""Writing from the dashboard in chromium: sign in with a token, record a reply, answer a
demand, and watch another open page follow without a reload."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ServedProcess, serious_violations

pytestmark = pytest.mark.e2e

NOTE = "note-az-paris-2022-08-17"
PROTEST = "protest-az-2022-09-19-paris-embassy-attack"
# A failsafe only: the assertions wait for the page to change, and say how long it took.
LIVE_TIMEOUT_MS = 15_000


def sign_in(page: Page, base: str, token: str) -> None:
    page.goto(f"{base}/dashboard/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".session")).to_contain_text("Signed in as")


def test_a_reply_recorded_through_the_form_leaves_the_open_overview_at_once(
    browser: Browser, seeded_process: ServedProcess
) -> None:
    base = seeded_process.base
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        # given the overview open in one tab, with the overdue note of 17 August 2022
        overview = context.new_page()
        overview.goto(f"{base}/dashboard/")
        row = overview.locator(f"#row-{NOTE}")
        expect(row).to_be_visible()
        expect(overview.locator("#live-status")).to_contain_text("follows the log")
        overview.evaluate("window.__loaded = true")
        # when the desk signs in in another tab and records the reply through the form
        desk = context.new_page()
        sign_in(desk, base, seeded_process.token)
        desk.goto(f"{base}/dashboard/notes/{NOTE}")
        desk.get_by_label("Disposition").select_option("noncommittal")
        desk.get_by_label("What the reply says").fill("No measure announced.")
        desk.get_by_role("button", name="Record the reply").click()
        submitted = time.monotonic()
        expect(desk.locator(".lede")).to_contain_text("Answered")
        # then the note leaves the overview's list, without a reload of that page
        expect(row).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
        took = time.monotonic() - submitted
        expect(overview.locator("#count-unanswered")).to_have_text("0")
        assert overview.evaluate("window.__loaded") is True
        print(f"the note left the open overview {took:.3f} s after the form was sent")
    finally:
        context.close()


def test_answering_a_demand_closes_it(browser: Browser, seeded_process: ServedProcess) -> None:
    base = seeded_process.base
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, base, seeded_process.token)
        page.goto(f"{base}/dashboard/protests/{PROTEST}")
        row = page.locator("#demand-investigation")
        expect(row.locator(".status")).to_have_text("open")
        row.get_by_label("Outcome").select_option("met")
        row.get_by_label("Answer").fill("An investigation was opened.")
        row.get_by_role("button", name="Answer").click()
        expect(page.locator("#demand-investigation .status")).to_have_text("met")
        expect(page.locator("#demand-investigation form")).to_have_count(0)
        page.goto(f"{base}/dashboard/")
        card = page.locator(f"#protest-{PROTEST}")
        expect(card.locator(".demand.open")).to_have_count(3)
        expect(card).to_contain_text("investigation: met")
    finally:
        context.close()


def test_a_mistake_is_shown_beside_its_field(
    browser: Browser, seeded_process: ServedProcess
) -> None:
    base = seeded_process.base
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, base, seeded_process.token)
        page.goto(f"{base}/dashboard/incidents/new")
        page.get_by_label("Kind").select_option("threat")
        page.get_by_role("button", name="Report the incident").click()
        title = page.get_by_label("Title")
        expect(title).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#e-title")).to_have_text("This cannot be empty.")
        expect(page.locator("#e-location_state")).to_contain_text("Name the state")
        # the form with its errors, and the note's reply form, pass axe too
        serious = serious_violations(page)
        page.goto(f"{base}/dashboard/protests/new")
        serious += serious_violations(page)
        page.goto(f"{base}/dashboard/protests/{PROTEST}")
        serious += serious_violations(page)
        assert not serious, "\n".join(serious)
    finally:
        context.close()
