"""The hash chain that makes the log tamper-evident.

Each event's hash is SHA-256 over the previous event's hash (hex, ASCII) followed by the
canonical encoding of its own envelope: a JSON array of position, stream id, version, event
id, type, data, metadata, occurred_at and recorded_at, with data and metadata exactly as
stored. Changing any stored byte of any event breaks its hash, and so the chain after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec

from incidents.store.protocol import GENESIS_HASH, EventStore, RecordedEvent

_encode = msgspec.json.Encoder().encode


def envelope_bytes(
    position: int,
    stream_id: str,
    version: int,
    event_id: UUID,
    type_: str,
    data: bytes,
    metadata: bytes,
    occurred_at: datetime,
    recorded_at: datetime,
) -> bytes:
    """The canonical bytes of one envelope, without its hash."""
    return _encode(
        (
            position,
            stream_id,
            version,
            str(event_id),
            type_,
            msgspec.Raw(data),
            msgspec.Raw(metadata),
            occurred_at,
            recorded_at,
        )
    )


def chain_hash(previous_hash: str, envelope: bytes) -> str:
    """SHA-256 of the previous hash followed by this envelope's canonical bytes."""
    digest = hashlib.sha256(previous_hash.encode("ascii"))
    digest.update(envelope)
    return digest.hexdigest()


def event_hash(previous_hash: str, event: RecordedEvent) -> str:
    """The hash a stored event must carry, given the hash before it."""
    return chain_hash(
        previous_hash,
        envelope_bytes(
            event.position,
            event.stream_id,
            event.version,
            event.event_id,
            event.type,
            bytes(event.data),
            bytes(event.metadata),
            event.occurred_at,
            event.recorded_at,
        ),
    )


class ChainBreak(msgspec.Struct, frozen=True):
    """The first place the chain does not hold."""

    position: int
    reason: str


class ChainReport(msgspec.Struct, frozen=True):
    """What walking the log found: how many events, the head hash, or the first break."""

    count: int
    head_hash: str
    broken: ChainBreak | None = None


def verify_events(
    events: Iterable[RecordedEvent],
    previous_hash: str = GENESIS_HASH,
    expected_position: int = 1,
) -> ChainReport:
    """Walk events in position order and report the first gap, bad hash or broken link."""
    count = 0
    for event in events:
        if event.position != expected_position:
            return ChainReport(
                count,
                previous_hash,
                ChainBreak(expected_position, f"position {expected_position} is missing"),
            )
        expected = event_hash(previous_hash, event)
        if event.hash != expected:
            return ChainReport(
                count,
                previous_hash,
                ChainBreak(event.position, "stored hash does not match the event's content"),
            )
        previous_hash = event.hash
        expected_position += 1
        count += 1
    return ChainReport(count, previous_hash)


async def verify_log(store: EventStore, page_size: int = 10_000) -> ChainReport:
    """Walk the whole log page by page and report its count, head hash or first break."""
    previous_hash = GENESIS_HASH
    position = 0
    count = 0
    while True:
        page = await store.read_all(after=position, limit=page_size)
        if not page:
            return ChainReport(count, previous_hash)
        report = verify_events(page, previous_hash, position + 1)
        count += report.count
        if report.broken is not None:
            return ChainReport(count, report.head_hash, report.broken)
        previous_hash = report.head_hash
        position = page[-1].position
