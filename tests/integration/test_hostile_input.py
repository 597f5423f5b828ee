"""Hostile input: every request here is a client's mistake or an attack. Each must be
answered with a problem+json 4xx and leave the log exactly as it was (count and head hash).

The cases are the findings of the issue that brought tokens, time ranges and strict bodies
(a year-1 time stored as -infinity, a 9999 reply date taking down a view, a stream id with a
final newline, a 10,000-deep body, an If-Match of 5,000 digits, duplicate keys, text/plain
parsed as JSON, writes without a token), and one case or more for each category of errors
the HTTP contract names: malformed JSON, schema mismatches, unknown fields and parameters,
ids and numbers out of range, bodies over the limit, wrong media types, broken rules.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from incidents.http.app import create_app
from incidents.http.auth import tokens_of
from incidents.settings import Settings

Client = AsyncTestClient  # type: ignore[type-arg]

PARIS = "mission-az-paris"
NOTE_DATA = {
    "from": {"state": "AZ", "body": "Embassy of Azerbaijan in France"},
    "to": {"state": "FR", "body": "Ministry for Europe and Foreign Affairs"},
    "subject": "security of the embassy",
}


def note(**envelope: Any) -> dict[str, Any]:
    data = {**NOTE_DATA, **envelope.pop("data", {})}
    return {"events": [{"type": "NoteSent", "data": data, **envelope}]}


def deep(depth: int) -> bytes:
    return b'{"events": ' + b"[" * depth + b"]" * depth + b"}"


JSON = {"content-type": "application/json"}

# (id, method, path, keyword arguments for the request)
CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    # --- the issue's findings ---
    (
        "no-token",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(), "headers": {"authorization": ""}},
    ),
    (
        "bad-token",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(), "headers": {"authorization": "Bearer inc_000000000000_" + "A" * 43}},
    ),
    (
        "occurred-year-1",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(occurred_at="0001-01-01T00:00:00Z")},
    ),
    (
        "occurred-year-9999",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(occurred_at="9999-12-31T23:59:59.999999Z")},
    ),
    (
        "occurred-year-1-plus-14",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(occurred_at="0001-01-01T00:00:00+14:00")},
    ),
    (
        "occurred-year-9999-minus-12",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(occurred_at="9999-12-31T23:59:59-12:00")},
    ),
    (
        "reply-due-9999",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(data={"reply_due_at": "9999-12-31T00:00:00Z"})},
    ),
    (
        "reply-due-year-1-plus-14",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(data={"reply_due_at": "0001-01-01T00:00:00+14:00"})},
    ),
    (
        "reply-due-9999-minus-12",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(data={"reply_due_at": "9999-12-31T23:59:59-12:00"})},
    ),
    ("stream-id-final-newline-path", "POST", "/streams/mission-bad%0A/events", {"json": note()}),
    (
        "stream-id-final-newline-multi",
        "POST",
        "/events",
        {"json": {"appends": [{"stream_id": "note-bad\n", **note()}]}},
    ),
    (
        "mission-ref-final-newline",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(data={"mission": "mission-az-paris\n"})},
    ),
    ("read-stream-final-newline", "GET", "/streams/note-az-1%0A", {}),
    (
        "body-10000-deep",
        "POST",
        "/streams/note-az-1/events",
        {"content": deep(10_000), "headers": JSON},
    ),
    ("body-100000-deep", "POST", "/events", {"content": b"[" * 100_000, "headers": JSON}),
    (
        "if-match-5000-digits",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(), "headers": {"if-match": '"' + "9" * 5000 + '"'}},
    ),
    (
        "if-match-4301-digits-bare",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(), "headers": {"if-match": "1" * 4301}},
    ),
    (
        "duplicate-key-events",
        "POST",
        "/streams/note-az-1/events",
        {
            "content": b'{"events": [], "events": ' + json.dumps(note()["events"]).encode() + b"}",
            "headers": JSON,
        },
    ),
    (
        "duplicate-key-type",
        "POST",
        "/streams/note-az-1/events",
        {
            "content": b'{"events": [{"type": "NoteSent", "type": "NoteWithdrawn", "data": '
            + json.dumps(NOTE_DATA).encode()
            + b"}]}",
            "headers": JSON,
        },
    ),
    (
        "text-plain-body",
        "POST",
        "/streams/note-az-1/events",
        {"content": json.dumps(note()).encode(), "headers": {"content-type": "text/plain"}},
    ),
    (
        "no-content-type",
        "POST",
        "/streams/note-az-1/events",
        {"content": json.dumps(note()).encode(), "headers": {"content-type": ""}},
    ),
    # --- the contract's categories ---
    (
        "malformed-json",
        "POST",
        "/streams/note-az-1/events",
        {"content": b'{"events": [', "headers": JSON},
    ),
    (
        "not-utf8",
        "POST",
        "/streams/note-az-1/events",
        {"content": b'{"events": "\xff\xfe"}', "headers": JSON},
    ),
    ("empty-body", "POST", "/streams/note-az-1/events", {"content": b"", "headers": JSON}),
    ("top-level-array", "POST", "/streams/note-az-1/events", {"content": b"[]", "headers": JSON}),
    ("no-events", "POST", "/streams/note-az-1/events", {"json": {"events": []}}),
    (
        "unknown-body-field",
        "POST",
        "/streams/note-az-1/events",
        {"json": {**note(), "force": True}},
    ),
    ("unknown-data-field", "POST", "/streams/note-az-1/events", {"json": note(data={"secret": 1})}),
    ("data-wrong-type", "POST", "/streams/note-az-1/events", {"json": note(data={"subject": 42})}),
    (
        "unknown-event-type",
        "POST",
        "/streams/note-az-1/events",
        {"json": {"events": [{"type": "NoteDeleted", "data": {}}]}},
    ),
    (
        "unknown-state-code",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(data={"to": {"state": "XX"}})},
    ),
    (
        "time-without-offset",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(occurred_at="2022-08-17T00:00:00")},
    ),
    ("unknown-category", "POST", "/streams/memo-az-1/events", {"json": note()}),
    ("stream-id-uppercase", "POST", "/streams/Note-az-1/events", {"json": note()}),
    ("stream-id-129-chars", "POST", "/streams/note-" + "a" * 124 + "/events", {"json": note()}),
    (
        "expected-version-huge",
        "POST",
        "/streams/note-az-1/events",
        {"json": {**note(), "expected_version": 10**30}},
    ),
    (
        "expected-version-negative",
        "POST",
        "/streams/note-az-1/events",
        {"json": {**note(), "expected_version": -1}},
    ),
    (
        "wrong-expected-version",
        "POST",
        "/streams/note-az-1/events",
        {"json": {**note(), "expected_version": 7}},
    ),
    (
        "event-id-not-uuid",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(event_id="not-a-uuid")},
    ),
    (
        "rule-broken-reply-before-note",
        "POST",
        "/streams/note-az-9/events",
        {
            "json": {
                "events": [
                    {
                        "type": "ReplyReceived",
                        "data": {"from": {"state": "FR"}, "disposition": "noncommittal"},
                    }
                ]
            }
        },
    ),
    (
        "body-over-limit",
        "POST",
        "/streams/note-az-1/events",
        {"json": note(data={"subject": "x" * (1024 * 1024)})},
    ),
    ("unknown-query-parameter", "GET", "/events?after=0&sort=desc", {}),
    ("query-number-huge", "GET", "/events?after=99999999999999999999999999", {}),
    ("query-limit-zero", "GET", "/events?limit=0", {}),
    ("query-number-5000-digits", "GET", "/events?after=" + "9" * 5000, {}),
    ("mission-path-final-newline", "GET", f"/missions/{PARIS}%0A/unanswered-notes", {}),
    ("statement-cursor-final-newline", "GET", "/projections/statements?after=statement-x%0A", {}),
    ("statement-state-final-newline", "GET", "/projections/statements?state=FR%0A", {}),
    ("token-create-as-writer", "POST", "/tokens", {"json": {"role": "admin", "name": "me"}}),
]


@pytest.fixture
async def hostile_client(tmp_path: Path) -> AsyncIterator[Client]:
    """A writer's client on a log holding one note, reads not public."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'hostile.db'}"))
    async with Client(app=app) as client:
        issued = await tokens_of(app).create("writer", "desk")
        client.headers["Authorization"] = f"Bearer {issued.token}"
        first = await client.post("/streams/note-az-1/events", json=note())
        assert first.status_code == 201, first.text
        yield client


async def _head(client: Client) -> tuple[int, str]:
    health = (await client.get("/health")).json()
    return health["head_position"], health["head_hash"]


@pytest.mark.parametrize(
    ("method", "path", "options"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_hostile_input_gets_a_problem_4xx_and_changes_nothing(
    hostile_client: Client, method: str, path: str, options: dict[str, Any]
) -> None:
    before = await _head(hostile_client)
    headers = dict(options.get("headers", {}))
    if headers.get("authorization") == "":
        del headers["authorization"]
        hostile_client.headers.pop("Authorization")
    request = {**options, "headers": headers}
    response = await hostile_client.request(method, path, **request)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json"), (
        response.headers["content-type"]
    )
    problem = response.json()
    assert problem["status"] == response.status_code and problem["title"] and problem["type"]
    assert await _head(hostile_client) == before


def test_the_cases_cover_the_issues_findings() -> None:
    assert len(CASES) == len({case[0] for case in CASES})
    assert len(CASES) >= 40


@pytest.mark.parametrize("query", ["after=statement-x%0A", "state=FR%0A"])
async def test_a_final_newline_in_a_statements_query_is_a_400(
    hostile_client: Client, query: str
) -> None:
    response = await hostile_client.get(f"/projections/statements?{query}")
    assert response.status_code == 400, response.text
    clean = await hostile_client.get(f"/projections/statements?{query.removesuffix('%0A')}")
    assert clean.status_code == 200, clean.text
