"""The log's port: what every event store adapter offers and the errors it raises.

The store is domain-agnostic. It keeps the envelope, the global order, per-stream versions,
idempotency, the hash chain and, for each stream, one opaque state document that the
injected :class:`StreamRules` folds events into inside the append's transaction. Projections
read those per-stream documents (``list_streams``), so a read reflects every append that was
acknowledged before it, and no read replays the log.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

import msgspec

ExpectedVersion = int | Literal["any", "no_stream", "exists"]
Direction = Literal["forward", "backward"]

STREAM_ID_PATTERN = r"^[a-z]+-[a-z0-9][a-z0-9-]*$"
STREAM_ID_MAX_LENGTH = 128
_STREAM_ID = re.compile(STREAM_ID_PATTERN)

GENESIS_HASH = "0" * 64


def category_of(stream_id: str) -> str:
    """The part of a stream id before its first dash: it decides the accepted event types."""
    return stream_id.split("-", 1)[0]


def is_valid_stream_id(stream_id: str) -> bool:
    """Whether the id matches the contract's pattern and length."""
    return len(stream_id) <= STREAM_ID_MAX_LENGTH and _STREAM_ID.match(stream_id) is not None


class ProposedEvent(msgspec.Struct, frozen=True):
    """An event on its way into the log, before it has a position.

    ``data`` and ``metadata`` are canonical JSON (what the store hashes and compares for
    idempotency); ``occurred_at`` None means "when the log takes it".
    """

    event_id: UUID
    type: str
    data: bytes
    metadata: bytes = b"{}"
    occurred_at: datetime | None = None


class RecordedEvent(msgspec.Struct, frozen=True):
    """One stored event in the envelope of the HTTP contract."""

    position: int
    stream_id: str
    version: int
    event_id: UUID
    type: str
    data: msgspec.Raw
    metadata: msgspec.Raw
    occurred_at: datetime
    recorded_at: datetime
    hash: str


class AppendRequest(msgspec.Struct, frozen=True):
    """Events for one stream, with the version the caller expects the stream to be at."""

    stream_id: str
    events: Sequence[ProposedEvent]
    expected_version: ExpectedVersion = "any"


class AppendedEvent(msgspec.Struct, frozen=True):
    """Where one appended event landed."""

    event_id: UUID
    position: int
    version: int


class AppendResult(msgspec.Struct, frozen=True):
    """The outcome of one stream's append.

    ``created`` is False when every event was already stored (an idempotent retry): the
    positions are those the events got the first time and nothing new was written.
    """

    stream_id: str
    version: int
    events: list[AppendedEvent]
    created: bool = True


class StreamSnapshot(msgspec.Struct, frozen=True):
    """What the rules fold a stream into; kept by the store beside the stream's version.

    ``state`` is the domain's JSON document for the stream. ``mission`` and ``is_open`` are
    index columns that projections filter on (which mission a stream concerns; whether a
    note is unanswered, a protest open, an incident not closed).

    ``tallies`` are labels the stream counts under in its mission's summary (say
    ``"incident"``, ``"incident:open"``): the store keeps, per mission, how many streams carry
    each label and the latest position of a stream carrying any (:meth:`EventStore.
    mission_tallies`), updated in the append's transaction, so a summary reads no stream.
    """

    state: bytes
    mission: str | None = None
    is_open: bool = False
    tallies: tuple[str, ...] = ()


class StreamRow(msgspec.Struct, frozen=True):
    """A stream as projections see it: its folded state and where it stands in the log."""

    stream_id: str
    category: str
    version: int
    state: msgspec.Raw
    mission: str | None
    is_open: bool
    last_position: int
    updated_at: datetime


class MissionTally(msgspec.Struct, frozen=True):
    """What the streams that name one mission and carry tallies add up to.

    ``counts`` maps each label to how many such streams carry it (labels with no stream are
    left out); ``latest_position`` and ``latest_recorded_at`` are the ``last_position`` and
    ``updated_at`` of the one of them appended to last.
    """

    mission: str
    counts: dict[str, int]
    latest_position: int = 0
    latest_recorded_at: datetime | None = None


class LogHead(msgspec.Struct, frozen=True):
    """The last position in the log and its hash (``GENESIS_HASH`` for an empty log)."""

    position: int
    hash: str


class StoreError(Exception):
    """Base of every error the store raises for a caller's mistake (never a server fault)."""


class ConcurrencyError(StoreError):
    """The stream is not at the version the caller expected."""

    def __init__(
        self, stream_id: str, expected: ExpectedVersion, current_version: int, append_index: int = 0
    ) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.current_version = current_version
        self.append_index = append_index
        super().__init__(
            f"stream {stream_id!r} is at version {current_version}, expected {expected!r}"
        )


class DuplicateEventError(StoreError):
    """An event id is already stored with other content, or only part of a batch is."""

    def __init__(self, event_id: UUID, reason: str, append_index: int = 0) -> None:
        self.event_id = event_id
        self.reason = reason
        self.append_index = append_index
        super().__init__(f"event {event_id}: {reason}")


class RuleViolation(StoreError):
    """An event breaks a domain rule; raised by :class:`StreamRules`, passed on by the store.

    ``event_index`` is the event's index inside its stream's append; the store fills in
    ``append_index`` (which append of a multi-stream request) before re-raising.
    """

    def __init__(self, event_index: int, rule: str, detail: str, append_index: int = 0) -> None:
        self.event_index = event_index
        self.rule = rule
        self.detail = detail
        self.append_index = append_index
        super().__init__(f"event {event_index} breaks {rule}: {detail}")


class InvalidAppendError(StoreError, ValueError):
    """An append the store refuses before looking at the log: a request with no appends, an
    append with no events, a malformed stream id or expected version.

    Callers validate these first; the store checks again so a bad request never reaches the
    log. It is a ``ValueError`` too, since it is a programming mistake more than a conflict.
    """

    def __init__(self, detail: str, append_index: int = 0) -> None:
        self.detail = detail
        self.append_index = append_index
        super().__init__(detail)


class StoreUnavailableError(Exception):
    """The database could not take the write in time (locked, or the store is closing)."""


class StreamRules(Protocol):
    """The domain's hook, called by the store's writer inside the append transaction."""

    def needs_history(self, event_type: str) -> bool:
        """Whether folding an event of this type reads the stream's earlier events.

        The store then loads them (under the write lock) and passes them to :meth:`apply`
        as ``history``; for other types it passes None and reads nothing more than the
        stream's snapshot.
        """
        ...

    def apply(
        self,
        stream_id: str,
        current: StreamSnapshot | None,
        events: Sequence[RecordedEvent],
        history: Sequence[RecordedEvent] | None = None,
    ) -> StreamSnapshot:
        """Fold ``events`` onto the stream's snapshot, or raise :class:`RuleViolation`.

        ``current`` is None for a stream with no events; ``history`` is every event the
        stream already holds, oldest first, when a type in ``events`` needs it (else None).
        Must be pure and deterministic: ``incidents replay`` folds the log again and
        expects the same snapshots. With no events it gives ``current`` again, re-encoded,
        with its ``tallies`` derived afresh (migrations refresh old snapshots so).
        """
        ...


class EventStore(Protocol):
    """The append-only log."""

    async def append(
        self,
        stream_id: str,
        events: Sequence[ProposedEvent],
        expected_version: ExpectedVersion = "any",
    ) -> AppendResult:
        """Append events to one stream atomically; see :meth:`append_many`."""
        ...

    async def append_many(self, appends: Sequence[AppendRequest]) -> list[AppendResult]:
        """Append to several streams atomically: all of them are stored, or none.

        Acknowledged (returned) only after the transaction is durable. Raises
        ConcurrencyError, DuplicateEventError or RuleViolation and stores nothing.
        """
        ...

    async def read_stream(
        self,
        stream_id: str,
        from_version: int | None = None,
        direction: Direction = "forward",
        limit: int = 100,
    ) -> list[RecordedEvent]:
        """Events of one stream from a version (inclusive) in either direction.

        ``from_version`` None means the first event going forward, the last going backward.
        """
        ...

    async def read_all(
        self,
        after: int = 0,
        limit: int = 1000,
        types: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        """The global log in position order, strictly after ``after``, optionally filtered."""
        ...

    async def read_by_stream(
        self, after: tuple[str, int] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The whole log ordered by stream id, then version: the events that come after
        ``after`` (a stream id and a version) in that order, or from the start when None.

        Every stream's events come together, first to last, so a reader can fold each
        stream in one go and let it go (``incidents replay``). Stream ids compare as bytes.
        """
        ...

    async def list_streams_after(
        self, after: str | None = None, limit: int = 1000
    ) -> list[StreamRow]:
        """Every stream's row, of every category, ordered by stream id, after ``after``."""
        ...

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version, 0 when it has no events."""
        ...

    async def get_stream(self, stream_id: str) -> StreamRow | None:
        """The stream's folded state, None when it has no events."""
        ...

    async def get_streams(self, stream_ids: Sequence[str]) -> dict[str, StreamRow]:
        """The folded states of those of ``stream_ids`` that have events, by stream id."""
        ...

    async def list_streams(
        self,
        category: str,
        mission: str | None = None,
        is_open: bool | None = None,
        after: str | None = None,
        limit: int | None = None,
        *,
        without_mission: bool = False,
    ) -> list[StreamRow]:
        """Folded states of a category's streams, filtered on the index columns, by id.

        ``after`` and ``limit`` page through them: the first ``limit`` (all when None) of
        those whose id comes after ``after``. ``without_mission`` keeps only the streams
        that name no mission (``mission`` must then be None: ValueError otherwise).
        """
        ...

    async def replace_snapshots(
        self, snapshots: Mapping[str, StreamSnapshot], *, recount_tallies: bool = False
    ) -> None:
        """Overwrite the folded state of the given streams (``incidents replay --repair``).

        Touches no event; versions and last positions stay as they are. Mission tallies
        follow the new snapshots; with ``recount_tallies`` (even with no snapshot) every
        mission's tallies and latest are counted afresh from the streams' rows, in the
        same transaction, mending tallies that differ from their streams.
        """
        ...

    async def mission_tallies(self) -> list[MissionTally]:
        """Per mission named by a stream with tallies: label counts and latest, by mission.

        Kept in the append's transaction, so it agrees with ``list_streams`` read at the
        same moment: a stream's labels count under its mission, once.
        """
        ...

    async def head(self) -> LogHead:
        """The last position and hash in the log."""
        ...

    async def snapshots_revision(self) -> int:
        """How many times :meth:`replace_snapshots` has committed on this log, from any
        process (0 when never): stream states change by appends, which the log shows, and by
        replacements, which only this shows. A reader that holds states reads them again
        when it moves."""
        ...

    def watch(self) -> AsyncIterator[int]:
        """Yield the log's head position each time appends are committed (for live push)."""
        ...

    async def close(self) -> None:
        """Finish pending appends and release connections."""
        ...
