"""Inline projections: read models whose tables the store writes in the append's transaction.

A projection is an object with a name, the event types it reads, its SQL by engine and its
migrations, and a pure :meth:`InlineProjection.handle` that turns an :class:`InlineBatch`
into :class:`~incidents.store.writer.Statement` values named in its own SQL. It is handed to
the store when the store opens (``open_store(url, rules, projections=[...])``); the store
never imports one. The batch writer (``store/writer.py``) calls ``handle`` after it has
written the batch's events and stream rows, in the same transaction, and the engine's driver
runs the statements: a projection's rows commit with the events that made them, or not at
all. A constraint a projection's statement breaks fails the unit that caused it
(InvalidAppendError), the others of the batch commit; any other failure of the database
rolls the whole batch back.

Its migrations run when the store opens (``store/migrations.py``), recorded per projection
in ``projection_versions``. A projection installed on a log that already holds events, or
one whose pending migrations ask for it (``Migration.rebuilds``), is rebuilt from the log in
that same transaction: its ``reset`` statement, then the whole log handed to ``handle``
stream by stream (:attr:`InlineBatch.rebuilding`), event by event or as each stream's
current row (``rebuild_from``). ``EventStore.rebuild(name)`` does the same
on demand. Reads are named reads of its SQL: ``EventStore.query(name, read, parameters)``.

SQL: ``{schema}`` in a statement is the log's schema (``main`` on SQLite), so tables are
named ``{schema}.<name>_<table>``. Parameters are ``?`` on SQLite and ``$1``... on
PostgreSQL. A statement with ``rows`` runs once per row (SQLite's ``executemany``); on
PostgreSQL it runs once with each column as an array (``unnest($1::text[], ...)``). The
memory store keeps registered projections' tables in an in-memory SQLite database, so a
projection gives SQLite's SQL for it. Values travel as each engine stores them:
:func:`time_value` and :func:`read_time` convert times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Generic, NamedTuple, Protocol, TypeVar

import msgspec

from incidents.store.plan import format_time, parse_time, to_utc
from incidents.store.protocol import RecordedEvent, StreamRow

if TYPE_CHECKING:
    # The writer and the migration runner import this module; a projection imports
    # Statement from incidents.store.writer and Migration from incidents.store.migrations.
    from incidents.store.migrations import Migration
    from incidents.store.writer import Statement

# The engines a projection gives SQL for; the memory store's tables are SQLite's.
ENGINES = ("sqlite", "postgres")
# How many streams' last rows a :class:`LastRowValues` keeps what it made of.
KEPT_ROWS = 1024

T = TypeVar("T")


class StreamChange(NamedTuple):
    """One stream's row before and after one append (or one replaced snapshot).

    ``before`` is None for a stream the append opens; ``events`` are the append's events on
    the stream, in version order (empty for a replaced snapshot, which moves no version).
    """

    stream_id: str
    before: StreamRow | None
    after: StreamRow
    events: tuple[RecordedEvent, ...]


class InlineBatch(NamedTuple):
    """What one committed-to-be batch means to a projection.

    ``events``: the batch's recorded events of the types the projection handles, in log
    order (each with its position, stream id, type, data, occurred and recorded times; the
    domain's dating bounds are in ``data``). ``changes``: every stream change of the batch,
    in log order, one per append (a stream appended to twice in one batch has two, the
    second's ``before`` the first's ``after``). ``engine``: ``sqlite`` (also the memory
    store) or ``postgres``, for values that travel differently (:func:`time_value`).
    ``rebuilding``: the batch is part of a rebuild from the log, handed stream by stream
    (positions then rise within a stream, not across streams).
    """

    engine: str
    events: tuple[RecordedEvent, ...]
    changes: tuple[StreamChange, ...]
    rebuilding: bool = False

    def streams(self) -> dict[str, tuple[StreamRow | None, StreamRow]]:
        """Each changed stream's row before the batch and after it, by stream id."""
        found: dict[str, tuple[StreamRow | None, StreamRow]] = {}
        for change in self.changes:
            first = found.get(change.stream_id)
            found[change.stream_id] = (
                change.before if first is None else first[0],
                change.after,
            )
        return found


class InlineProjection(Protocol):
    """A read model the store keeps in the append's transaction (see the module)."""

    # Its name: the prefix of its statements' names and of its tables; [a-z_]+.
    name: str
    # The event types whose events it is given in InlineBatch.events (none: rows only).
    handles: frozenset[str]
    # What a rebuild hands it: "events" (the log folded event by event, one change each)
    # or "rows" (each stream's current row, as a change from nothing).
    rebuild_from: str

    def sql(self, engine: str) -> Mapping[str, str]:
        """Its statements by name, for ``engine``; ``reset`` empties its tables."""
        ...

    def migrations(self, engine: str) -> Sequence[Migration]:
        """Its own migrations, numbered 1, 2, 3..."""
        ...

    def handle(self, batch: InlineBatch) -> Iterable[Statement]:
        """The statements (named in :meth:`sql`) that bring its tables up to the batch."""
        ...


class LastRowValues(Generic[T]):
    """``of`` a stream's row, kept for the row each stream's last change ended with, so
    that the row the next change starts from (the same row, read back or kept by the
    writer) is not decoded again.

    ``of`` must depend on nothing but the row's stream id, state, mission and open flag: a
    kept value is given back only for a row equal to its own in those. Bounded: past
    :data:`KEPT_ROWS` streams, the one kept first is forgotten.
    """

    def __init__(self, of: Callable[[StreamRow], T], size: int = KEPT_ROWS) -> None:
        self._of = of
        self._size = size
        self._kept: dict[str, tuple[tuple[msgspec.Raw, str | None, bool], T]] = {}

    def before(self, row: StreamRow) -> T:
        """``of`` the row a change starts from."""
        kept = self._kept.get(row.stream_id)
        if kept is not None and kept[0] == (row.state, row.mission, row.is_open):
            return kept[1]
        return self._of(row)

    def after(self, row: StreamRow) -> T:
        """``of`` the row a change ends with, kept for the stream's next change."""
        value = self._of(row)
        kept = self._kept
        kept[row.stream_id] = ((row.state, row.mission, row.is_open), value)
        if len(kept) > self._size:
            del kept[next(iter(kept))]
        return value


def time_value(engine: str, moment: datetime) -> object:
    """A time as ``engine`` stores it: fixed-width UTC text on SQLite (sorts as text), an
    aware datetime on PostgreSQL (``timestamptz``)."""
    return format_time(moment) if engine == "sqlite" else to_utc(moment)


def read_time(engine: str, value: object) -> datetime:
    """A time read back from ``engine`` (what :func:`time_value` wrote)."""
    if engine == "sqlite":
        assert isinstance(value, str)
        return parse_time(value)
    assert isinstance(value, datetime)
    return value


def check_projections(projections: Sequence[InlineProjection]) -> None:
    """Refuse names that clash or are not lower-case words (they prefix tables), and a
    projection without a ``reset`` statement for every engine."""
    seen: set[str] = set()
    for projection in projections:
        name = projection.name
        if not name or not all(c.islower() or c == "_" for c in name) or name in seen:
            raise ValueError(f"projection names must be distinct lower-case words: {name!r}")
        seen.add(name)
        if projection.rebuild_from not in ("events", "rows"):
            raise ValueError(f"projection {name!r} rebuilds from 'events' or 'rows'")
        for engine in ENGINES:
            if "reset" not in projection.sql(engine):
                raise ValueError(f"projection {name!r} has no reset statement for {engine}")


def qualified(projection: str, name: str) -> str:
    """The name a projection's statement is known by in the store's statements."""
    return f"{projection}.{name}"


__all__ = [
    "ENGINES",
    "InlineBatch",
    "InlineProjection",
    "LastRowValues",
    "StreamChange",
    "check_projections",
    "qualified",
    "read_time",
    "time_value",
]
