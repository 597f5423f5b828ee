"""A stateful property test of the event store: random appends with right and wrong
expectations, retries, conflicting duplicates, refused events and concurrent batches,
checked after every step against a model of the streams' versions.

Invariants: positions are exactly 1..N, every stream's versions are 1..v with no gap and
match the model, the head is the last event, and the hash chain verifies.

Hypothesis drives the machine synchronously, so each machine runs the async store on an
event loop of its own (``run_until_complete``), apart from pytest-asyncio's loop.

``StoreMachine`` runs on the memory store; each adapter's test module subclasses it with an
``open_store`` of its own (tests/unit/test_store_machine_memory.py runs the memory store
with many examples; the SQLite and PostgreSQL modules, whose stores commit to disk, fewer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import msgspec
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from incidents.store.chain import verify_events
from incidents.store.memory import MemoryEventStore
from incidents.store.protocol import (
    AppendRequest,
    AppendResult,
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    ExpectedVersion,
    LogHead,
    ProposedEvent,
    RuleViolation,
)
from tests.store_rules import TallyRules, proposed

T = TypeVar("T")

STREAMS = st.sampled_from(["note-a", "note-b", "protest-c", "incident-d"])
EXPECTATIONS = st.sampled_from(["right", "wrong", "any", "no_stream", "exists"])


class StoreMachine(RuleBasedStateMachine):
    """Appends and retries against one store, with the versions every stream should have."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.store: EventStore = self.run(self.open_store())
        self.versions: dict[str, int] = {}
        self.count = 0
        self.appended: list[tuple[str, list[ProposedEvent], AppendResult]] = []

    async def open_store(self) -> EventStore:
        return MemoryEventStore(TallyRules())

    def run(self, awaitable: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await awaitable

        return self.loop.run_until_complete(wrapped())

    def expectation(self, stream_id: str, kind: str) -> ExpectedVersion:
        current = self.versions.get(stream_id, 0)
        if kind == "right":
            return current
        if kind == "wrong":
            return current + 1
        return kind  # type: ignore[return-value]

    def holds(self, stream_id: str, expected: ExpectedVersion, ahead: int = 0) -> bool:
        """Whether ``expected`` holds for the stream (``ahead`` events past the model)."""
        current = self.versions.get(stream_id, 0) + ahead
        return (
            expected == "any"
            or (expected == "no_stream" and current == 0)
            or (expected == "exists" and current > 0)
            or expected == current
        )

    def record(self, stream_id: str, events: list[ProposedEvent], result: AppendResult) -> None:
        current = self.versions.get(stream_id, 0)
        assert result.created
        assert result.version == current + len(events)
        assert [e.position for e in result.events] == list(
            range(self.count + 1, self.count + len(events) + 1)
        )
        self.versions[stream_id] = result.version
        self.count += len(events)
        self.appended.append((stream_id, events, result))

    @rule(stream_id=STREAMS, size=st.integers(1, 3), kind=EXPECTATIONS)
    def append(self, stream_id: str, size: int, kind: str) -> None:
        expected = self.expectation(stream_id, kind)
        events = [proposed() for _ in range(size)]
        if self.holds(stream_id, expected):
            self.record(stream_id, events, self.run(self.store.append(stream_id, events, expected)))
        else:
            with pytest.raises(ConcurrencyError) as refused:
                self.run(self.store.append(stream_id, events, expected))
            assert refused.value.current_version == self.versions.get(stream_id, 0)

    @rule(first=STREAMS, second=STREAMS, kind=EXPECTATIONS, forbidden=st.booleans())
    def append_to_two_streams(self, first: str, second: str, kind: str, forbidden: bool) -> None:
        head = self.run(self.store.head())
        a, b = [proposed()], [proposed("Forbidden" if forbidden else "Noted")]
        expected = self.expectation(second, kind)
        requests = [AppendRequest(first, a), AppendRequest(second, b, expected)]
        # The second append sees the first when both name the same stream.
        conflicts = not self.holds(second, expected, ahead=1 if first == second else 0)
        if conflicts or forbidden:
            with pytest.raises((ConcurrencyError, RuleViolation)) as refused:
                self.run(self.store.append_many(requests))
            assert refused.value.append_index == 1  # type: ignore[union-attr]
            assert self.run(self.store.head()) == head
        else:
            results = self.run(self.store.append_many(requests))
            self.record(first, a, results[0])
            self.record(second, b, results[1])

    @precondition(lambda self: self.appended)
    @rule(data=st.data(), expected=st.sampled_from(["any", "no_stream", 0, 99]))
    def retry(self, data: st.DataObject, expected: ExpectedVersion) -> None:
        stream_id, events, result = data.draw(st.sampled_from(self.appended))
        head = self.run(self.store.head())
        again = self.run(self.store.append(stream_id, events, expected))
        assert again == msgspec.structs.replace(result, created=False)
        assert self.run(self.store.head()) == head

    @precondition(lambda self: self.appended)
    @rule(data=st.data(), how=st.sampled_from(["other-data", "other-type", "partial", "moved"]))
    def conflicting_duplicate(self, data: st.DataObject, how: str) -> None:
        stream_id, events, _ = data.draw(st.sampled_from(self.appended))
        head = self.run(self.store.head())
        first = events[0]
        if how == "other-data":
            sent = [msgspec.structs.replace(first, data=b'{"n":"changed"}'), *events[1:]]
        elif how == "other-type":
            sent = [msgspec.structs.replace(first, type="Changed"), *events[1:]]
        elif how == "partial":
            sent = [*events, proposed()]
        else:
            stream_id = "statement-elsewhere"
            sent = events
        with pytest.raises(DuplicateEventError):
            self.run(self.store.append(stream_id, sent))
        assert self.run(self.store.head()) == head

    @rule(stream_id=STREAMS, writers=st.integers(2, 6))
    def concurrent_writers_expecting_the_same_version(self, stream_id: str, writers: int) -> None:
        current = self.versions.get(stream_id, 0)
        batches = [[proposed()] for _ in range(writers)]

        async def race() -> list[Any]:
            return await asyncio.gather(
                *(self.store.append(stream_id, batch, current) for batch in batches),
                return_exceptions=True,
            )

        outcomes = self.run(race())
        winners = [i for i, o in enumerate(outcomes) if isinstance(o, AppendResult)]
        assert len(winners) == 1
        for i, outcome in enumerate(outcomes):
            if i != winners[0]:
                assert isinstance(outcome, ConcurrencyError)
                assert outcome.current_version == current + 1
        self.record(stream_id, batches[winners[0]], outcomes[winners[0]])

    @rule(
        streams=st.lists(STREAMS, min_size=1, max_size=6),
        at=st.integers(0, 6),
        forbidden=st.booleans(),
    )
    def concurrent_appends_with_one_failing_request(
        self, streams: list[str], at: int, forbidden: bool
    ) -> None:
        singles = [(stream_id, [proposed()]) for stream_id in streams]
        failing = [
            AppendRequest("note-a", [proposed(), proposed()]),
            AppendRequest("protest-c", [proposed("Forbidden")])
            if forbidden
            else AppendRequest("protest-c", [proposed()], 10_000),
        ]
        at = min(at, len(singles))

        async def race() -> list[Any]:
            calls = [self.store.append(stream_id, events) for stream_id, events in singles]
            calls.insert(at, self.store.append_many(failing))
            return await asyncio.gather(*calls, return_exceptions=True)

        outcomes = self.run(race())
        assert isinstance(outcomes.pop(at), (ConcurrencyError, RuleViolation))
        # Both adapters take concurrent requests in the order they were made.
        for (stream_id, events), outcome in zip(singles, outcomes, strict=True):
            assert isinstance(outcome, AppendResult)
            self.record(stream_id, events, outcome)

    @invariant()
    def the_log_is_dense_chained_and_matches_the_model(self) -> None:
        events = self.run(self.store.read_all(limit=100_000))
        assert [e.position for e in events] == list(range(1, self.count + 1))
        for stream_id, version in self.versions.items():
            versions = [e.version for e in events if e.stream_id == stream_id]
            assert versions == list(range(1, version + 1))
        assert {e.stream_id for e in events} == set(self.versions)
        report = verify_events(events)
        assert report.broken is None
        head = LogHead(self.count, report.head_hash)
        assert self.run(self.store.head()) == head

    def teardown(self) -> None:
        try:
            self.run(self.store.close())
        finally:
            self.loop.close()
