"""/metrics under ``incidents serve`` with two granian workers: one scrape sums them all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServedProcess
from tests.integration.test_http import PARIS, mission_registered, note_sent
from tests.integration.test_observability import sample

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    server = ServedProcess(tmp_path_factory.mktemp("metrics") / "served.db", workers=2)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_a_scrape_counts_the_appends_of_every_worker(two_workers: ServedProcess) -> None:
    base, headers = two_workers.base, two_workers.headers
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        before = client.get("/metrics").text
        # given appends spread over fresh connections (the kernel picks a worker for each)
        assert client.post(f"/streams/{PARIS}/events", json={"events": [mission_registered()]})
        for n in range(1, 13):
            with httpx.Client(base_url=base, headers=headers, timeout=30) as fresh:
                response = fresh.post(
                    f"/streams/note-az-{n}/events", json={"events": [note_sent()]}
                )
                assert response.status_code == 201, response.text
        # when any worker is scraped
        after = client.get("/metrics").text
    # then the counters hold every worker's appends
    moved = sample(after, "incidents_appends_total") - sample(before, "incidents_appends_total")
    assert moved == 13
    assert sample(after, "incidents_log_head_position") == 13
    ready = httpx.get(f"{base}/ready", timeout=30)
    assert ready.status_code == 200, ready.text


def test_live_feed_subscribers_are_counted_while_connected(two_workers: ServedProcess) -> None:
    with (
        httpx.Client(base_url=two_workers.base, headers=two_workers.headers, timeout=30) as client,
        client.stream("GET", "/events/live") as feed,
    ):
        assert feed.status_code == 200
        # each worker samples its subscribers every second: wait for the scrape to see it
        deadline = time.monotonic() + 30
        while sample(client.get("/metrics").text, "incidents_sse_subscribers") < 1:
            assert time.monotonic() < deadline, "the subscriber never showed in /metrics"
            time.sleep(0.2)


def test_the_metrics_directory_is_removed_when_the_server_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the server makes its directory under TMPDIR: here, this test's own
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    server = ServedProcess(tmp_path / "served.db")
    server.start()
    during = set(tmp_path.glob("incidents-metrics-*"))
    server.stop()
    assert during, "serve made no metrics directory"
    assert not any(path.exists() for path in during)
