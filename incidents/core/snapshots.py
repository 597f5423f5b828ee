"""What a stream folds to, and the domain's hook that folds it inside the append."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from incidents.core.envelope import RecordedEvent


class StreamSnapshot(msgspec.Struct, frozen=True):
    """What the rules fold a stream into; kept by the store beside the stream's version.

    ``state`` is the domain's JSON document for the stream. ``mission`` and ``is_open`` are
    index columns that projections filter on (which mission a stream concerns; whether a
    note is unanswered, a protest open, an incident not closed).
    """

    state: bytes
    mission: str | None = None
    is_open: bool = False


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
        """Fold ``events`` onto the stream's snapshot, or raise ``RuleViolation``.

        ``current`` is None for a stream with no events; ``history`` is every event the
        stream already holds, oldest first, when a type in ``events`` needs it (else None).
        Must be pure and deterministic: ``incidents replay`` folds the log again and
        expects the same snapshots. With no events it gives ``current`` again, re-encoded
        (migrations refresh old snapshots so).
        """
        ...
