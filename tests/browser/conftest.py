"""The dashboard in a real browser: Debian's chromium driven by Playwright, on the seed data
served by a real ``incidents serve`` process.

Playwright never downloads a browser here: it is pointed at ``/usr/bin/chromium``. Where
that is missing the tests skip, saying so, except in CI (``CI=true``), where ``.ci/run``
installs it and a missing browser fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ServedProcess

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
REPO = Path(__file__).resolve().parents[2]
VENDOR = Path(__file__).parent / "vendor"
AXE = VENDOR / "axe-core-4.14.1.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs chromium", pytrace=False)
    pytest.skip(
        f"browser tests need Debian's chromium at {CHROMIUM} "
        "(apt-get install chromium; .ci/run does it)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


def serious_violations(page: Page) -> list[str]:
    """What axe-core (vendored, pinned) finds serious or critical on the page as it is."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']})"
    )
    assert result["passes"], "axe ran no check"
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


@pytest.fixture(scope="module")
def seeded_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """``incidents serve`` on a fresh copy of the seed data."""
    database = tmp_path_factory.mktemp("browser") / "seeded.db"
    subprocess.run(
        [sys.executable, "-m", "incidents.cli", "seed", "--database", f"sqlite:///{database}"],
        check=True,
        capture_output=True,
    )
    # The dashboard's pages are reads: served as make serve does, with public reads.
    server = ServedProcess(database, env={"INCIDENTS_PUBLIC_READS": "true"})
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def seeded_server(seeded_process: ServedProcess) -> str:
    """The seeded server's base URL."""
    return seeded_process.base


@pytest.fixture(scope="module")
def seeded_headers(seeded_process: ServedProcess) -> dict[str, str]:
    """Headers with a token that may write to the seeded server."""
    return seeded_process.headers


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium for a test module (headless; no sandbox, as root in CI).

    Module-scoped: Playwright's sync API keeps an event loop running while it is open, and
    the async tests that run after this module need none to be."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page at a desktop's width."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def screenshot_path(name: str, tmp_path: Path) -> Path:
    """Where a screenshot goes: docs/screenshots/ with UPDATE_SCREENSHOTS=1 (so CI does not
    rewrite committed files), else the test's own directory."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS / name
    return tmp_path / name
