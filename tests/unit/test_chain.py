"""The hash chain: what it covers, where it starts, and what breaks it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from incidents.store.chain import chain_hash, envelope_bytes, event_hash, verify_events
from incidents.store.protocol import GENESIS_HASH, RecordedEvent

START = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


def chained(count: int) -> list[RecordedEvent]:
    """``count`` events at positions 1.., each hashed onto the one before it."""
    events: list[RecordedEvent] = []
    previous = GENESIS_HASH
    for position in range(1, count + 1):
        event = RecordedEvent(
            position=position,
            stream_id=f"note-{position % 2}",
            version=(position + 1) // 2,
            event_id=uuid.UUID(int=position),
            type="Noted",
            data=msgspec.Raw(b'{"n":%d}' % position),
            metadata=msgspec.Raw(b"{}"),
            occurred_at=START,
            recorded_at=START + timedelta(seconds=position),
            hash="",
        )
        previous = event_hash(previous, event)
        events.append(msgspec.structs.replace(event, hash=previous))
    return events


def test_the_first_event_chains_onto_the_genesis_hash() -> None:
    # given the first event of a log
    (first,) = chained(1)

    # then its hash is SHA-256 over sixty-four zeros and its envelope
    assert GENESIS_HASH == "0" * 64
    envelope = envelope_bytes(
        1,
        first.stream_id,
        1,
        first.event_id,
        "Noted",
        b'{"n":1}',
        b"{}",
        first.occurred_at,
        first.recorded_at,
    )
    assert first.hash == chain_hash(GENESIS_HASH, envelope)
    assert envelope.startswith(b'[1,"note-1",1,"00000000-0000-0000-0000-000000000001","Noted"')


def test_an_intact_log_verifies_to_its_head() -> None:
    # given an untouched log
    events = chained(5)

    # when it is verified, then all of it holds and the head is the last hash
    report = verify_events(events)
    assert (report.count, report.head_hash, report.broken) == (5, events[-1].hash, None)


def test_an_empty_log_verifies_to_the_genesis_hash() -> None:
    report = verify_events([])
    assert (report.count, report.head_hash, report.broken) == (0, GENESIS_HASH, None)


def test_changed_data_is_found_at_its_position() -> None:
    # given a log where one event's data was changed after it was stored
    events = chained(5)
    events[2] = msgspec.structs.replace(events[2], data=msgspec.Raw(b'{"n":999}'))

    # when it is verified, then the break is at that event and the count stops before it
    report = verify_events(events)
    assert report.broken is not None
    assert report.broken.position == 3
    assert report.count == 2
    assert report.head_hash == events[1].hash


@pytest.mark.parametrize(
    "field",
    ["stream_id", "version", "type", "metadata", "occurred_at", "recorded_at", "event_id"],
)
def test_every_envelope_field_is_covered(field: str) -> None:
    # given a log where one field of one event was changed
    events = chained(3)
    changes: dict[str, object] = {
        "stream_id": "note-other",
        "version": 9,
        "type": "Other",
        "metadata": msgspec.Raw(b'{"actor":"x"}'),
        "occurred_at": START + timedelta(microseconds=1),
        "recorded_at": START,
        "event_id": uuid.uuid4(),
    }
    events[1] = msgspec.structs.replace(events[1], **{field: changes[field]})

    # then verification breaks there
    report = verify_events(events)
    assert report.broken is not None and report.broken.position == 2


def test_a_replaced_hash_breaks_the_link_to_the_next_event() -> None:
    # given a log where someone re-hashed a changed event but not the events after it
    events = chained(4)
    forged = msgspec.structs.replace(events[1], data=msgspec.Raw(b'{"n":0}'))
    events[1] = msgspec.structs.replace(forged, hash=event_hash(events[0].hash, forged))

    # then the forged event checks out but the next one no longer does
    report = verify_events(events)
    assert report.broken is not None
    assert report.broken.position == 3


def test_a_changed_hash_is_found() -> None:
    # given a log where one stored hash was overwritten
    events = chained(3)
    events[0] = msgspec.structs.replace(events[0], hash="f" * 64)

    # then the first event already fails
    report = verify_events(events)
    assert report.broken is not None and report.broken.position == 1


def test_a_missing_position_is_a_gap() -> None:
    # given a log with its fourth event removed
    events = chained(6)
    del events[3]

    # then the report names the missing position
    report = verify_events(events)
    assert report.broken is not None
    assert report.broken.position == 4
    assert "missing" in report.broken.reason
    assert report.count == 3


def test_verification_can_resume_from_a_page_boundary() -> None:
    # given a log verified in two pages
    events = chained(6)
    first = verify_events(events[:3])

    # when the second page starts from the first page's head
    second = verify_events(events[3:], first.head_hash, expected_position=4)

    # then it continues the chain to the same head
    assert second.broken is None
    assert second.head_hash == verify_events(events).head_hash
