"""The log's port: what every event store adapter offers and the errors it raises.

The store is domain-agnostic. It keeps the envelope, the global order, per-stream versions,
idempotency, the hash chain and, for each stream, one opaque state document that the
injected :class:`StreamRules` folds events into inside the append's transaction. Projections
read those per-stream documents (``list_streams``), so a read reflects every append that was
acknowledged before it, and no read replays the log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from incidents.core.envelope import (
    GENESIS_HASH,
    AppendedEvent,
    AppendRequest,
    AppendResult,
    Direction,
    ExpectedVersion,
    LoggedEvent,
    LogHead,
    ProposedEvent,
    RecordedEvent,
)
from incidents.core.errors import (
    ConcurrencyError,
    ConnectionLostError,
    CorruptStoreError,
    DuplicateEventError,
    InvalidAppendError,
    ReadOnlyStoreError,
    RuleViolation,
    StorageFullError,
    StoreBusyError,
    StoreError,
    StoreUnavailableError,
)
from incidents.core.snapshots import StreamRow, StreamRules, StreamSnapshot
from incidents.core.streams import (
    STREAM_ID_MAX_LENGTH,
    STREAM_ID_PATTERN,
    category_of,
    is_valid_stream_id,
)

if TYPE_CHECKING:
    from incidents.store.folding import FoldOptions, FoldReport, StreamFolder

# The core's names, offered here too: the port speaks them.
__all__ = [
    "GENESIS_HASH",
    "STREAM_ID_MAX_LENGTH",
    "STREAM_ID_PATTERN",
    "AppendRequest",
    "AppendResult",
    "AppendedEvent",
    "ConcurrencyError",
    "ConnectionLostError",
    "CorruptStoreError",
    "Direction",
    "DuplicateEventError",
    "EventStore",
    "ExpectedVersion",
    "InvalidAppendError",
    "LogHead",
    "LoggedEvent",
    "ProposedEvent",
    "ReadOnlyStoreError",
    "RecordedEvent",
    "RuleViolation",
    "StorageFullError",
    "StoreBusyError",
    "StoreError",
    "StoreUnavailableError",
    "StreamRow",
    "StreamRules",
    "StreamSnapshot",
    "category_of",
    "is_valid_stream_id",
]


class EventStore(Protocol):
    """The append-only log."""

    # Which SQL its inline projections speak: "sqlite" (the memory store too) or "postgres".
    engine: str

    async def append(
        self,
        stream_id: str,
        events: Sequence[ProposedEvent],
        expected_version: ExpectedVersion = "any",
    ) -> AppendResult:
        """Append events to one stream atomically; see :meth:`append_many`.

        An adapter that subclasses the port inherits this: :meth:`append_many` of one."""
        results = await self.append_many([AppendRequest(stream_id, events, expected_version)])
        return results[0]

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

    async def replace_snapshots(self, snapshots: Mapping[str, StreamSnapshot]) -> None:
        """Overwrite the folded state of the given streams (``incidents replay --repair``).

        Touches no event; versions and last positions stay as they are. Inline projections
        are handed the changes like an append's.
        """
        ...

    async def query(
        self, projection: str, name: str, parameters: Sequence[object] = ()
    ) -> list[tuple[Any, ...]]:
        """The rows of a registered inline projection's read ``name`` (one statement of its
        ``sql``), run with ``parameters``; ValueError for a projection or read it does not
        know. Reflects every append acknowledged before it began, like every read."""
        ...

    async def fold_streams(self, folder: StreamFolder, options: FoldOptions) -> FoldReport:
        """Fold every stream's events again with ``folder`` and compare each snapshot with
        the stream's live row (``incidents replay``), as ``options`` say. See
        :mod:`incidents.store.folding`."""
        ...

    async def rebuild(self, projection: str) -> None:
        """Fill a registered inline projection's tables afresh from the log, in one
        transaction (appends wait for it); ValueError for a projection it does not know."""
        ...

    async def head(self) -> LogHead:
        """The last position and hash in the log."""
        ...

    async def snapshots_revision(self) -> int:
        """How many times :meth:`replace_snapshots` or :meth:`rebuild` has committed on
        this log, from any process (0 when never): stream states and inline projections
        change by appends, which the log shows, and by replacements and rebuilds, which only
        this shows. A reader that holds what it read reads it again when it moves."""
        ...

    def watch(self) -> AsyncIterator[int]:
        """Yield the log's head position each time appends are committed (for live push)."""
        ...

    async def close(self) -> None:
        """Finish pending appends and release connections."""
        ...
