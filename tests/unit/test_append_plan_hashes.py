"""The append plan's fast envelope hashing gives the chain's bytes, event for event."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from incidents.store.chain import event_hash
from incidents.store.plan import AppendPlan
from incidents.store.protocol import (
    GENESIS_HASH,
    AppendRequest,
    LogHead,
    ProposedEvent,
    RecordedEvent,
    StreamSnapshot,
)


class _Count:
    def needs_history(self, event_type: str) -> bool:
        return False

    def apply(
        self,
        stream_id: str,
        current: StreamSnapshot | None,
        events: Sequence[RecordedEvent],
        history: Sequence[RecordedEvent] | None = None,
    ) -> StreamSnapshot:
        return StreamSnapshot(b"0")


times = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
) | st.datetimes(
    min_value=datetime(1900, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(timezone(timedelta(hours=-5, minutes=-30))),
)
events = st.builds(
    ProposedEvent,
    event_id=st.uuids(),
    type=st.text(min_size=1, max_size=12),
    data=st.sampled_from([b"{}", b'{"a":"\\u00e9\\"x"}', b"[1,2.5,null]"]),
    metadata=st.sampled_from([b"{}", b'{"k":"v"}']),
    occurred_at=st.none() | times,
)


@given(
    batch=st.lists(events, min_size=1, max_size=5, unique_by=lambda e: e.event_id),
    stream=st.from_regex(r"\Anote-[a-z0-9]{1,8}\Z"),
    head=st.integers(min_value=0, max_value=2**40),
    recorded_at=times,
)
def test_planned_hashes_are_those_the_chain_verifies(
    batch: list[ProposedEvent], stream: str, head: int, recorded_at: datetime
) -> None:
    # given a plan at some head, when a request is staged on it
    previous = "ab" * 32 if head else GENESIS_HASH
    plan = AppendPlan(_Count(), LogHead(head, previous), recorded_at.astimezone(UTC), {}, {})
    plan.add([AppendRequest(stream, batch)])

    # then every staged hash is the one chain.event_hash gives for the envelope
    for event in plan.events:
        assert event.hash == event_hash(previous, event)
        previous = event.hash
    assert [e.position for e in plan.events] == list(range(head + 1, head + len(batch) + 1))
    assert plan.events[0].event_id == batch[0].event_id
    assert isinstance(plan.events[0].data, msgspec.Raw)
    assert uuid.UUID(str(plan.events[0].event_id)) == batch[0].event_id
