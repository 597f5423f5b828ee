"""/metrics, /ready, request ids and correlation ids over HTTP, given / when / then."""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.integration.test_http import (
    PARIS,
    Client,
    given_mission,
    note_sent,
    post,
    reply_received,
)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    wanted = {f'{key}="{value}"' for key, value in labels.items()}
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if match is None or match.group(1) != name:
            continue
        if wanted <= set((match.group(2) or "").split(",")) - {""}:
            return float(match.group(3))
    return 0.0


async def scrape(client: Client) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return str(response.text)


async def test_metrics_move_with_appends_conflicts_refusals_and_requests(client: Client) -> None:
    # given a scrape before anything is written (the counters are per process: compare)
    before = await scrape(client)
    # when three appends commit, one conflicts and one breaks a rule
    await given_mission(client)
    assert (await post(client, "note-az-1", note_sent())).status_code == 201
    assert (await post(client, "note-az-1", reply_received())).status_code == 201
    conflict = await post(client, "note-az-1", reply_received(), expected_version=0)
    assert conflict.status_code == 409
    refused = await post(client, "note-az-2", reply_received())
    assert refused.status_code == 422
    rule = refused.json()["rule"]
    after = await scrape(client)

    # then the counters moved by exactly that
    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("incidents_appends_total") == 3
    assert moved("incidents_events_appended_total") == 3
    assert moved("incidents_append_conflicts_total") == 1
    assert moved("incidents_rule_refusals_total", rule=rule) == 1
    assert moved("incidents_batch_appends_count") >= 1
    assert moved("incidents_batch_appends_sum") == 5
    assert moved("incidents_batch_commit_seconds_count") == moved("incidents_batch_appends_count")
    route = "/streams/{stream_id}/events"
    assert moved("incidents_requests_total", path=route, status_code="201") == 3
    assert moved("incidents_requests_total", path=route, status_code="409") == 1
    assert moved("incidents_request_duration_seconds_count", path=route, status_code="422") == 1
    # and the gauges read at the scrape say where the log is
    assert sample(after, "incidents_log_head_position") == 3
    assert sample(after, "incidents_database_bytes") > 0


async def test_ready_checks_database_migrations_and_read_models(client: Client) -> None:
    await given_mission(client)
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert all(body[check]["ok"] for check in ("database", "migrations", "caught_up"))
    assert "schema version" in body["migrations"]["detail"]


async def test_a_request_id_is_echoed_or_made(client: Client) -> None:
    given = await client.get("/health", headers={"X-Request-ID": "desk-42.a"})
    assert given.headers["x-request-id"] == "desk-42.a"
    made = await client.get("/health")
    unsafe = await client.get("/health", headers={"X-Request-ID": "a b\tc"})
    missing = await client.get("/no-such-page")
    ids = [r.headers["x-request-id"] for r in (made, unsafe, missing)]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", rid) for rid in ids), ids
    assert len(set(ids)) == 3


async def test_appended_events_carry_the_request_id_unless_the_client_set_one(
    client: Client,
) -> None:
    await given_mission(client)
    await client.post(
        "/streams/note-az-1/events",
        json={"events": [note_sent()]},
        headers={"X-Request-ID": "req-1"},
    )
    own = {**reply_received(), "metadata": {"correlation_id": "workflow-7"}}
    await client.post(
        "/streams/note-az-1/events", json={"events": [own]}, headers={"X-Request-ID": "req-2"}
    )
    events = (await client.get("/streams/note-az-1/events")).json()["events"]
    assert [event["metadata"].get("correlation_id") for event in events] == [
        "req-1",
        "workflow-7",
    ]


async def test_access_log_lines_are_json_with_the_request_id(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    from incidents.http.observability import JsonFormatter

    with caplog.at_level(logging.INFO, logger="incidents.access"):
        await client.get(f"/missions/{PARIS}/unanswered-notes", headers={"X-Request-ID": "r-9"})
    records = [r for r in caplog.records if r.name == "incidents.access"]
    assert records
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["logger"] == "incidents.access"
    assert line["request_id"] == "r-9"
    assert line["path"] == f"/missions/{PARIS}/unanswered-notes"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0


async def test_a_head_answer_echoes_its_id_and_its_access_line_names_head(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="incidents.access"):
        head = await client.head("/health", headers={"X-Request-ID": "h-1"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["x-request-id"] == "h-1"
    records = [r for r in caplog.records if r.name == "incidents.access"]
    assert records[-1].request_id == "h-1"
    assert records[-1].fields["method"] == "HEAD"
    assert records[-1].fields["status"] == 200
