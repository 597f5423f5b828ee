"""A small StreamRules for the store's tests, so they need nothing from the domain.

It folds a stream into ``{"count": n, "types": [...]}``, refuses the type "Forbidden"
anywhere (rule "forbidden-type") and "NotOpening" as a stream's first event (rule
"opening-event"). The snapshot's mission is the latest event's ``"mission"``, and a stream is
open until a "Closed" event. The mission tallies of the tests (:func:`tallies_projection`)
label a stream by its category, and ``"<category>:open"`` while it is open (:func:`labels`).

An "Audit" event is folded with the stream's history (``needs_history``): it records in
``audited`` how many events the history and the events before it in the same call hold,
and is refused (rule "history-mismatch") when that is not the stream's count, so a store
that hands over a wrong history fails loudly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from incidents.projections.missions import MissionTallies, MissionTally
from incidents.store.folding import FoldOptions, FoldReport, StreamFolder, fold_through_reads
from incidents.store.protocol import (
    EventStore,
    ProposedEvent,
    RecordedEvent,
    RuleViolation,
    StreamRow,
    StreamSnapshot,
    category_of,
)


class TallyState(msgspec.Struct):
    """What a stream folds into under :class:`TallyRules`."""

    count: int = 0
    types: list[str] = msgspec.field(default_factory=list)
    audited: int | None = None


_decode_state = msgspec.json.Decoder(TallyState).decode
_decode_data = msgspec.json.Decoder(dict[str, object]).decode
_encode = msgspec.json.Encoder().encode


class TallyRules:
    """Counts events and their types; refuses two kinds of event (see the module)."""

    def needs_history(self, event_type: str) -> bool:
        """Only an audit reads the stream's earlier events."""
        return event_type == "Audit"

    def apply(
        self,
        stream_id: str,
        current: StreamSnapshot | None,
        events: Sequence[RecordedEvent],
        history: Sequence[RecordedEvent] | None = None,
    ) -> StreamSnapshot:
        """Fold ``events`` onto ``current`` or raise RuleViolation."""
        state = TallyState() if current is None else _decode_state(current.state)
        mission = None if current is None else current.mission
        is_open = True if current is None else current.is_open
        for index, event in enumerate(events):
            if event.type == "Forbidden":
                raise RuleViolation(index, "forbidden-type", "events of this type are refused")
            if event.type == "NotOpening" and state.count == 0:
                raise RuleViolation(index, "opening-event", "a stream cannot start with this")
            data = _decode_data(bytes(event.data))
            if isinstance(data.get("mission"), str):
                mission = str(data["mission"])
            if event.type == "Closed":
                is_open = False
            if event.type == "Audit":
                if history is None:
                    raise ValueError("an audit needs the stream's history")
                seen = len(history) + index
                versions = [e.version for e in [*history, *events[:index]]]
                if seen != state.count or versions != list(range(1, seen + 1)):
                    raise RuleViolation(
                        index, "history-mismatch", f"history of {seen}, count {state.count}"
                    )
                state.audited = seen
            state.count += 1
            state.types.append(event.type)
        return StreamSnapshot(_encode(state), mission, is_open)


def labels(row: StreamRow) -> tuple[str, ...]:
    """The labels a stream counts under in the tests' mission tallies: its category, and
    ``"<category>:open"`` while it is open."""
    category = category_of(row.stream_id)
    return (category, f"{category}:open") if row.is_open else (category,)


def tallies_projection() -> MissionTallies:
    """The mission tallies as the store's tests keep them, over :func:`labels`."""
    return MissionTallies(labels, categories=None)


def recount(
    rows: Iterable[StreamRow], labels_of: Callable[[StreamRow], tuple[str, ...]]
) -> list[MissionTally]:
    """What the mission tallies must say, counted afresh from every stream row."""
    counts: dict[str, dict[str, int]] = {}
    latest: dict[str, tuple[int, datetime]] = {}
    for row in rows:
        tallies = labels_of(row)
        if row.mission is None or not tallies:
            continue
        bucket = counts.setdefault(row.mission, {})
        for label in tallies:
            bucket[label] = bucket.get(label, 0) + 1
        if row.mission not in latest or row.last_position > latest[row.mission][0]:
            latest[row.mission] = (row.last_position, row.updated_at)
    return [
        MissionTally(mission, counts[mission], *latest[mission])
        for mission in sorted(counts, key=str.encode)
    ]


def tally(state: msgspec.Raw | bytes) -> TallyState:
    """Decode a stream's state document written by :class:`TallyRules`."""
    return _decode_state(bytes(state))


def proposed(
    type_: str = "Noted",
    data: bytes = b'{"n":1}',
    *,
    event_id: uuid.UUID | None = None,
    metadata: bytes = b"{}",
) -> ProposedEvent:
    """A proposed event with a fresh id unless one is given."""
    return ProposedEvent(event_id or uuid.uuid4(), type_, data, metadata)


class PagedReads:
    """A store whose ``fold_streams`` (replay) goes through the port's paged reads in pages
    of ``page_size``, whatever the store's own way; everything else is the store's."""

    def __init__(self, store: EventStore, page_size: int = 10_000) -> None:
        self._store = store
        self._page_size = page_size

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def fold_streams(self, folder: StreamFolder, options: FoldOptions) -> FoldReport:
        keep, _, progress = options
        paged = self._page_size
        return await fold_through_reads(
            self._store, folder, keep=keep, progress=progress, page_size=paged
        )
