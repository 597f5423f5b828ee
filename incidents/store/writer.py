"""The batch writer of the SQL stores, written once, with no I/O of its own.

A batch is a generator (:meth:`BatchWriter.write`) that yields :class:`Statement` values
and is sent back what each returned: rows for a query, None otherwise. A driver runs the
statements on its engine: SQLite's synchronously in its writer thread, PostgreSQL's with
``await`` on asyncpg (:func:`drive_sync`, :func:`drive_async`). The driver turns its
database's errors into the port's (the one place each engine's errors are translated) and
throws them into the generator, which decides what they mean for each unit.

Statements are named: each engine keeps one SQL file per name (``store/sql/<engine>/``),
and a :class:`Dialect` says how values travel (times as text or timestamps, ids as text or
uuid, lists as JSON or arrays) and how rows come back.

The algorithm, for every engine: take the write lock, read the head, load every stream row,
stored event id and history the batch mentions, work each unit out with
:class:`~incidents.store.plan.AppendPlan` (a unit that fails is dropped before anything is
written, so it fails alone), write what the plan staged, and commit; the callers are
answered only after the commit. Should a constraint fire all the same (a table out of step
with another), the batch is rolled back and written again one unit at a time, each in a
savepoint, so the unit at fault gets the conflict it stands for and the others commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any, Generic, NamedTuple, Protocol, TypeVar
from uuid import UUID

from incidents.store import stored_states
from incidents.store.batching import Outcome, Unit, stage
from incidents.store.inline import InlineBatch, InlineProjection, StreamChange, qualified
from incidents.store.plan import (
    AppendPlan,
    Step,
    StoredIdentity,
    StreamRecord,
    history_streams,
    recording_time,
    refreshed,
)
from incidents.store.protocol import (
    GENESIS_HASH,
    ConcurrencyError,
    ConnectionLostError,
    DuplicateEventError,
    ExpectedVersion,
    InvalidAppendError,
    LogHead,
    RecordedEvent,
    RuleViolation,
    StoreUnavailableError,
    StreamRules,
    category_of,
)

# How many streams' rows (and how many bytes of their states) the writer keeps in memory
# between batches, so that a stream appended to again is not read back from the database.
KNOWN_STREAMS = 4096
KNOWN_STATE_BYTES = 16 * 2**20
# How many events a projection's rebuild reads and hands over at a time.
REBUILD_PAGE = 2000

Row = Sequence[Any]
T = TypeVar("T")


class Statement(NamedTuple):
    """One statement for the driver to run: the name of its SQL (or, for a migration's DDL,
    its ``text``), and either one set of parameters or ``rows``, many (SQLite:
    ``executemany``; PostgreSQL: one statement over the rows' columns as arrays).
    ``fetch``: send back the rows it returns."""

    name: str
    parameters: tuple[object, ...] = ()
    rows: Sequence[Sequence[object]] | None = None
    fetch: bool = False
    text: str | None = None


# A batch as the driver sees it: statements out, results in, outcomes at the end.
Batch = Generator[Statement, Any, T]


class ConstraintViolation(Exception):
    """The database refused a row the plan wrote (a UNIQUE constraint, or with ``unique``
    False a value a column does not take); the driver raises it for its engine's error.
    ``projection`` names the inline projection whose statement it was, if any."""

    def __init__(
        self, error: BaseException, *, unique: bool = True, projection: str | None = None
    ) -> None:
        super().__init__(str(error))
        self.unique = unique
        self.projection = projection
        self.__cause__ = error


def refused_by_projection(violation: ConstraintViolation) -> InvalidAppendError:
    """What a unit whose rows an inline projection's table refused fails with."""
    error = violation.__cause__ or violation
    invalid = InvalidAppendError(f"the {violation.projection} projection refused it: {error}")
    invalid.__cause__ = error
    return invalid


def _change(step: Step) -> StreamChange:
    stream_id, before, after, events = step
    return StreamChange(
        stream_id, None if before is None else before.row(stream_id), after.row(stream_id), events
    )


def project(
    projections: Sequence[InlineProjection],
    engine: str,
    steps: Sequence[Step],
    events: Sequence[RecordedEvent],
    *,
    rebuilding: bool = False,
) -> Batch[None]:
    """Run each projection's statements for these steps (a batch's appends and replaced
    snapshots, in log order); a constraint one of them breaks is raised naming it."""
    if not steps or not projections:
        return
    changes = tuple(_change(step) for step in steps)
    for projection in projections:
        handles = projection.handles
        batch = InlineBatch(
            engine,
            tuple(event for event in events if event.type in handles) if handles else (),
            changes,
            rebuilding,
        )
        name = projection.name
        for statement in projection.handle(batch):
            try:
                yield statement._replace(name=qualified(name, statement.name))
            except ConstraintViolation as violation:
                raise ConstraintViolation(
                    violation.__cause__ or violation, unique=violation.unique, projection=name
                ) from violation.__cause__


class Dialect(Protocol):
    """What differs between engines besides their SQL files: how values are written and
    rows read back."""

    # Whether one statement (upsert_streams) writes every changed stream row; otherwise
    # insert_streams, update_stream_states (mission and is_open unchanged, which spares
    # their index upkeep) and update_streams.
    upserts_streams: bool
    # Whether the engine has an announce statement (PostgreSQL's NOTIFY of the new head).
    announces: bool
    # Which SQL inline projections give it ("sqlite" or "postgres").
    engine: str

    def time(self, moment: datetime) -> object:
        """A time as the database stores it."""
        ...

    def event_id(self, event_id: UUID) -> object:
        """An event id as the database stores it."""
        ...

    def flag(self, value: bool) -> object:
        """A boolean as the database stores it."""
        ...

    def keys(self, values: Sequence[object]) -> object:
        """A list of keys as one parameter (``WHERE x IN`` that list)."""
        ...

    def read_time(self, value: Any) -> datetime:
        """A stored time as an aware datetime."""
        ...

    def identity(self, row: Row) -> tuple[UUID, StoredIdentity]:
        """A row of load_identities."""
        ...

    def record(self, row: Row) -> StreamRecord:
        """A row of load_streams (the stream's columns)."""
        ...

    def event(self, row: Row) -> RecordedEvent:
        """A row of the events table's envelope columns."""
        ...


def unavailable_copy(error: StoreUnavailableError, what: str) -> StoreUnavailableError:
    """An error of the same kind for one more caller, saying what was not done."""
    copy = type(error)(f"{what}: {error.__cause__ or error}")
    copy.__cause__ = error.__cause__ or error
    return copy


def failed(
    units: Sequence[Unit], what: str, error: StoreUnavailableError
) -> tuple[list[Outcome], None]:
    """Every unit failing with the database."""
    return [unavailable_copy(error, what) for _ in units], None


class BatchWriter:
    """The write algorithm and what it remembers between batches.

    It keeps the head and the rows of the streams it wrote lately, and trusts them only
    while the lock statement returns the same log version as after its own last commit
    (SQLite's ``PRAGMA data_version``); an engine whose lock statement returns NULL there
    (PostgreSQL) has every batch read everything again.
    """

    def __init__(
        self,
        dialect: Dialect,
        rules: StreamRules,
        projections: Sequence[InlineProjection] = (),
    ) -> None:
        self._dialect = dialect
        self._rules = rules
        self._projections = tuple(projections)
        self._known_version: object = None
        self._known_head: tuple[LogHead, datetime] | None = None
        self._known_streams: dict[str, StreamRecord] = {}
        self._known_bytes = 0
        # The dictionary states are packed with (stored_states): read from the log by the
        # first batch, or trained from the first states written to a log without one.
        self._dictionary: tuple[int, bytes] | None = None
        self._dictionary_stored = False
        self._dictionaries_read = False
        self._samples: list[bytes] = []

    def write(self, units: Sequence[Unit]) -> Batch[tuple[list[Outcome], LogHead | None]]:
        """Run a batch as one transaction; each unit's outcome and the new head (None when
        nothing could be committed). A failure of the database fails every unit with the
        kind of StoreUnavailableError the driver made of it."""
        dialect = self._dialect
        for attempt in (1, 2):
            try:
                yield Statement("begin")
            except StoreUnavailableError as error:
                return failed(units, "the batch was not stored", error)
            committing = False
            try:
                (version,) = (yield Statement("lock", fetch=True))[0]
                if version is None or version != self._known_version:
                    self.forget()
                yield from self._choose_dictionary()
                plan = yield from self._plan(units, cached=True)
                start = plan.position
                outcomes = [stage(plan, unit) for unit in units]
                yield from self._persist(plan)
                yield from project(self._projections, dialect.engine, plan.steps, plan.events)
                yield from self._announce(start, plan.head)
                committing = True
                yield Statement("commit")
            except ConstraintViolation:
                yield from self._rollback()
                return (yield from self._write_one_by_one(units))
            except StoreUnavailableError as error:
                yield from self._rollback()
                # A connection lost before COMMIT was sent stored nothing: the batch may run
                # again on a new one. Past that point nobody knows whether it committed.
                if committing or attempt == 2 or not isinstance(error, ConnectionLostError):
                    return failed(units, "the batch was not stored", error)
                continue
            except Exception:
                yield from self._rollback()
                raise
            self._dictionary_stored = self._dictionary is not None
            self._remember(version, plan)
            return outcomes, plan.head
        raise AssertionError("unreachable: the second attempt always returns")

    def refresh_snapshots(self) -> Batch[None]:
        """Migration 3's data, for a database with streams, inside the migration's
        transaction: each stream's snapshot as the rules now encode it (without the events
        it used to carry), from the rules folding no events onto it."""
        dialect = self._dialect
        after = ""
        while rows := (yield Statement("fill_streams", (after,), fetch=True)):
            before = {row[0]: dialect.record(row) for row in rows}
            changed = refreshed(self._rules, before)
            if changed:
                yield Statement(
                    "set_snapshots",
                    rows=[
                        (stream_id, self._pack(r.snapshot.state))
                        for stream_id, r in changed.items()
                    ],
                )
            after = rows[-1][0]

    def rebuild(self, projection: InlineProjection) -> Batch[None]:
        """Fill a projection's tables afresh from the log, inside a transaction the caller
        opened: its ``reset``, then (``rebuild_from`` "events") every stream's events folded
        one at a time with the rules, each event a change handed to the projection, stream
        by stream, or ("rows") every stream's current row as a change from nothing, by
        stream id; ``rebuilding`` set. The snapshots revision moves, so readers that hold
        what they read let go of it."""
        yield Statement("lock", fetch=True)
        # Readers that hold what they read let go of it, as after a repair.
        yield Statement("move_snapshots_revision")
        yield Statement(qualified(projection.name, "reset"))
        rules = self._rules
        dialect = self._dialect
        if projection.rebuild_from == "rows":
            last = ""
            while rows := (yield Statement("fill_streams", (last,), fetch=True)):
                records = yield from self._decoded(rows, dialect.record)
                rows_now = [
                    Step(row[0], None, record, ())
                    for row, record in zip(rows, records, strict=True)
                ]
                yield from project((projection,), dialect.engine, rows_now, (), rebuilding=True)
                last = rows[-1][0]
            return
        after: tuple[str, int] = ("", 0)
        stream_id = ""
        record: StreamRecord | None = None
        history: list[RecordedEvent] = []
        while rows := (
            yield Statement("read_by_stream", (after[0], after[1], REBUILD_PAGE), fetch=True)
        ):
            events = yield from self._decoded(rows, dialect.event)
            steps: list[Step] = []
            for event in events:
                if event.stream_id != stream_id:
                    stream_id, record, history = event.stream_id, None, []
                needed = history if rules.needs_history(event.type) else None
                try:
                    snapshot = rules.apply(
                        stream_id, None if record is None else record.snapshot, (event,), needed
                    )
                except RuleViolation as violation:
                    raise RuntimeError(
                        f"rebuilding {projection.name}: the log's event at position "
                        f"{event.position} does not fold: {violation}"
                    ) from violation
                after_record = StreamRecord(
                    category_of(stream_id),
                    event.version,
                    snapshot,
                    event.position,
                    event.recorded_at,
                )
                steps.append(Step(stream_id, record, after_record, (event,)))
                record = after_record
                history.append(event)
            yield from project((projection,), dialect.engine, steps, events, rebuilding=True)
            after = (events[-1].stream_id, events[-1].version)

    def rebuild_alone(self, projection: InlineProjection) -> Batch[None]:
        """:meth:`rebuild` in a transaction of its own (``EventStore.rebuild``)."""
        yield Statement("begin")
        try:
            yield from self.rebuild(projection)
            yield Statement("commit")
        except Exception:
            yield from self._rollback()
            raise

    def projection(self, name: str) -> InlineProjection:
        """The registered projection of that name; ValueError if there is none."""
        for projection in self._projections:
            if projection.name == name:
                return projection
        raise ValueError(f"no inline projection named {name!r} is registered")

    def forget(self) -> None:
        """Drop what the writer knew of the database (another connection wrote, or a batch
        failed)."""
        self._known_version = None
        self._known_head = None
        self._known_streams.clear()
        self._known_bytes = 0

    def _remember(self, version: object, plan: AppendPlan) -> None:
        """Keep the head and the streams a committed plan wrote, for the next batch.

        The connection's own commits leave SQLite's data_version as it was, so the next
        batch finds the same value unless another connection committed in between.
        """
        if version is None:
            return
        self._known_version = version
        if plan.events:
            self._known_head = (plan.head, max(plan.recorded_at, plan.events[-1].recorded_at))
        # A batch that stored no event leaves the head, and its recorded_at, as they were;
        # if the head was not known, it is read from the database next time.
        known = self._known_streams
        size = self._known_bytes
        for stream_id, record in plan.changed_streams.items():
            previous = known.pop(stream_id, None)
            if previous is not None:
                size -= len(previous.snapshot.state)
            known[stream_id] = record
            size += len(record.snapshot.state)
        # Bounded, oldest first out, so the writer's memory does not grow with the log.
        while known and (len(known) > KNOWN_STREAMS or size > KNOWN_STATE_BYTES):
            oldest = next(iter(known))
            size -= len(known.pop(oldest).snapshot.state)
        self._known_bytes = size

    def _choose_dictionary(self) -> Batch[None]:
        """Inside a batch's transaction, under the lock: the dictionary its states are
        packed with. The first batch reads the log's dictionaries; a log without one gets
        one trained from the first TRAINING_STATES states written, stored in the
        transaction of the first frames made with it (and again in the next one should
        that roll back), so no committed frame names a dictionary the log lacks."""
        if not self._dictionaries_read or (
            self._dictionary is None and len(self._samples) >= stored_states.TRAINING_STATES
        ):
            rows = yield Statement("load_state_dictionaries", fetch=True)
            self._dictionaries_read = True
            if rows:
                # Every writer settles on the same one: the greatest id.
                stored_states.learn(rows)
                self._dictionary = (rows[-1][0], bytes(rows[-1][1]))
                self._dictionary_stored = True
                self._samples = []
            elif len(self._samples) >= stored_states.TRAINING_STATES:
                # A log whose states zstd cannot train from stays without a dictionary.
                self._dictionary = stored_states.train(self._samples)
                self._samples = []
        if self._dictionary is not None and not self._dictionary_stored:
            yield Statement("insert_state_dictionary", self._dictionary)

    def _pack(self, state: bytes) -> bytes:
        """A state as its row stores it, with the chosen dictionary; kept as a sample for
        training while the log has none."""
        if self._dictionary is None:
            if len(self._samples) < stored_states.TRAINING_STATES:
                self._samples.append(state)
            return stored_states.pack(state)
        return stored_states.pack(state, self._dictionary[0])

    def _pack_data(self, data: bytes) -> bytes:
        """An event's data as its row stores it: packed with the chosen dictionary."""
        if self._dictionary is None:
            return data
        return stored_states.pack(data, self._dictionary[0])

    def _decoded(self, rows: Sequence[Row], decode: Callable[[Row], T]) -> Batch[list[T]]:
        """Rows decoded (stream rows, events), the log's dictionaries read again when a
        state or an event's data names one this process has not read."""
        try:
            return [decode(row) for row in rows]
        except stored_states.UnknownDictionaryError:
            stored_states.learn((yield Statement("load_state_dictionaries", fetch=True)))
            return [decode(row) for row in rows]

    def _rollback(self) -> Batch[None]:
        self.forget()
        # The driver's rollback never fails: a connection too broken to roll back is
        # dropped, which rolls back all the same.
        yield Statement("rollback")

    def _write_one_by_one(
        self, units: Sequence[Unit]
    ) -> Batch[tuple[list[Outcome], LogHead | None]]:
        """The batch again, each unit in a savepoint, constraint failures made errors."""
        try:
            yield Statement("begin")
        except StoreUnavailableError as error:
            return failed(units, "the batch was not stored", error)
        try:
            yield Statement("lock", fetch=True)
            yield from self._choose_dictionary()
            plan = yield from self._plan(())
            start = plan.position
            head = plan.head
            outcomes: list[Outcome] = []
            for unit in units:
                yield Statement("savepoint")
                plan = yield from self._plan([unit], head, plan)
                outcome = stage(plan, unit)
                if not isinstance(outcome, BaseException):
                    try:
                        yield from self._persist(plan)
                        yield from project(
                            self._projections, self._dialect.engine, plan.steps, plan.events
                        )
                    except ConstraintViolation as violation:
                        yield Statement("rollback_to_savepoint")
                        outcome = yield from self._explain(unit, plan, violation)
                    else:
                        head = plan.head
                yield Statement("release_savepoint")
                outcomes.append(outcome)
            yield from self._announce(start, head)
            yield Statement("commit")
            self._dictionary_stored = self._dictionary is not None
            return outcomes, head
        except StoreUnavailableError as error:
            yield from self._rollback()
            return failed(units, "the batch was not stored", error)
        except Exception:
            yield from self._rollback()
            raise

    def _plan(
        self,
        units: Iterable[Unit],
        head: LogHead | None = None,
        previous: AppendPlan | None = None,
        *,
        cached: bool = False,
    ) -> Batch[AppendPlan]:
        """An empty plan over the rows the units mention, read under the write lock.

        The head (and the last recorded_at) is read unless given: another process may have
        appended since the last batch. With ``cached``, the head and the streams this
        writer committed last are taken from memory when it still holds them (write() has
        checked that no other connection committed since).
        """
        dialect = self._dialect
        units = list(units)
        known = self._known_streams if cached else {}
        if previous is not None:
            recorded_at = previous.recorded_at
        elif cached and self._known_head is not None:
            head, last_recorded_at = self._known_head
            recorded_at = recording_time(last_recorded_at)
        else:
            rows = yield Statement("read_head", fetch=True)
            if not rows:
                head, recorded_at = LogHead(0, GENESIS_HASH), recording_time(None)
            else:
                row = rows[0]
                head = LogHead(row[0], row[1])
                recorded_at = recording_time(dialect.read_time(row[2]))
        event_ids: list[object] = []
        streams: dict[str, StreamRecord] = {}
        missing: set[str] = set()
        for unit in units:
            for request in unit.appends:
                stream_id = request.stream_id
                if stream_id not in streams:
                    record = known.pop(stream_id, None)
                    if record is None:
                        missing.add(stream_id)
                    else:
                        # Most recently used last; _remember puts it back if it changes.
                        known[stream_id] = streams[stream_id] = record
                event_ids.extend(dialect.event_id(event.event_id) for event in request.events)
            if unit.snapshots is not None:
                missing.update(id_ for id_ in unit.snapshots if id_ not in streams)
        identities: dict[UUID, StoredIdentity] = {}
        if event_ids:
            found = yield Statement("load_identities", (dialect.keys(event_ids),), fetch=True)
            identities.update((yield from self._decoded(found, dialect.identity)))
        if missing:
            found = yield Statement("load_streams", (dialect.keys(sorted(missing)),), fetch=True)
            records = yield from self._decoded(found, dialect.record)
            for row, record in zip(found, records, strict=True):
                streams[row[0]] = record
        # A correction folds with its stream's events: read under the lock like the rest
        # (the writer keeps no events in memory; the plan adds what it stages itself).
        wanted = history_streams(self._rules, (r for unit in units for r in unit.appends))
        # Every wanted stream gets one, empty if the log has none of its events yet (an
        # earlier unit of the batch may open it; the plan adds what that stages).
        histories: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in wanted}
        if wanted:
            found = yield Statement("load_histories", (dialect.keys(sorted(wanted)),), fetch=True)
            for event in (yield from self._decoded(found, dialect.event)):
                histories[event.stream_id].append(event)
        assert head is not None
        return AppendPlan(self._rules, head, recorded_at, identities, streams, histories)

    def _persist(self, plan: AppendPlan) -> Batch[None]:
        """Write what the plan staged: its events, then the final row of each stream."""
        dialect = self._dialect
        recorded_at = plan.recorded_at
        # Most events and rows share the batch's recording time: encode it once.
        recorded = dialect.time(recorded_at)
        if plan.events:
            yield Statement(
                "insert_events",
                rows=[
                    (
                        event.position,
                        event.stream_id,
                        event.version,
                        dialect.event_id(event.event_id),
                        event.type,
                        category_of(event.stream_id),
                        self._pack_data(event.data),
                        event.metadata,
                        recorded
                        if event.occurred_at is recorded_at
                        else dialect.time(event.occurred_at),
                        # Verbatim appends keep the recording times they were given.
                        recorded
                        if event.recorded_at is recorded_at
                        else dialect.time(event.recorded_at),
                        event.hash,
                    )
                    for event in plan.events
                ],
            )
        new: list[tuple[object, ...]] = []
        same_index: list[tuple[object, ...]] = []
        moved: list[tuple[object, ...]] = []
        for stream_id, record in plan.changed_streams.items():
            snapshot = record.snapshot
            row = (
                stream_id,
                record.category,
                record.version,
                self._pack(snapshot.state),
                snapshot.mission,
                dialect.flag(snapshot.is_open),
                record.last_position,
                recorded if record.updated_at is recorded_at else dialect.time(record.updated_at),
            )
            before = plan.stored_stream(stream_id)
            if before is None:
                new.append(row)
            elif (
                before.snapshot.mission == snapshot.mission
                and before.snapshot.is_open == snapshot.is_open
            ):
                same_index.append(row)
            else:
                moved.append(row)
        if dialect.upserts_streams:
            if new or same_index or moved:
                yield Statement("upsert_streams", rows=new + same_index + moved)
        else:
            for name, rows in (
                ("insert_streams", new),
                ("update_stream_states", same_index),
                ("update_streams", moved),
            ):
                if rows:
                    yield Statement(name, rows=rows)
        if plan.replaces:
            yield Statement("move_snapshots_revision")

    def _announce(self, start: int, head: LogHead) -> Batch[None]:
        """Tell other processes the new head, where the engine can (delivered on commit)."""
        if self._dialect.announces and head.position > start:
            yield Statement("announce", (str(head.position),))

    def _explain(
        self, unit: Unit, plan: AppendPlan, violation: ConstraintViolation
    ) -> Batch[Outcome]:
        """Say which append of a unit the database refused (after its savepoint rolled back).

        A UNIQUE constraint becomes the conflict it stands for; a value a column refuses (a
        NUL character in PostgreSQL text) makes the append invalid.
        """
        if violation.projection is not None:
            return refused_by_projection(violation)
        error = violation.__cause__ or violation
        if not violation.unique:
            invalid = InvalidAppendError(f"cannot be stored: {error}")
            invalid.__cause__ = error
            return invalid
        index_of = {}
        for index, request in reversed(list(enumerate(unit.appends))):
            index_of[request.stream_id] = index
        event_id = self._dialect.event_id
        for event in plan.events:
            index = index_of.get(event.stream_id, 0)
            expected: ExpectedVersion = unit.appends[index].expected_version
            if (yield Statement("event_stored", (event_id(event.event_id),), fetch=True)):
                return DuplicateEventError(event.event_id, "already stored", index)
            current = yield from self._stream_version(event.stream_id)
            if event.version <= current:
                return ConcurrencyError(event.stream_id, expected, current, index)
        if not unit.appends:
            lost = StoreUnavailableError(f"the snapshots were not stored: {error}")
            lost.__cause__ = error
            return lost
        first = unit.appends[0]
        current = yield from self._stream_version(first.stream_id)
        conflict = ConcurrencyError(first.stream_id, first.expected_version, current)
        conflict.__cause__ = error
        return conflict

    def _stream_version(self, stream_id: str) -> Batch[int]:
        rows = yield Statement("events_in_stream", (stream_id,), fetch=True)
        return int(rows[0][0])


class _Stepper(Generic[T]):
    """A batch advanced by what each statement gave: its result, or the error it raised
    (thrown into the batch); None once the batch has returned its value."""

    def __init__(self, batch: Batch[T]) -> None:
        self._batch = batch
        self.value: T

    def step(self, result: Any = None, error: Exception | None = None) -> Statement | None:
        try:
            return self._batch.send(result) if error is None else self._batch.throw(error)
        except StopIteration as stop:
            self.value = stop.value
            return None


def _attempt(run: Callable[[Statement], Any], statement: Statement) -> tuple[Any, Exception | None]:
    try:
        return run(statement), None
    except Exception as error:
        return None, error


async def _attempt_async(
    run: Callable[[Statement], Awaitable[Any]], statement: Statement
) -> tuple[Any, Exception | None]:
    try:
        return await run(statement), None
    except Exception as error:
        return None, error


def drive_sync(batch: Batch[T], run: Callable[[Statement], Any]) -> T:
    """Run a batch to its end with ``run``, which executes one statement and raises the
    port's errors (or :class:`ConstraintViolation`) for the database's."""
    stepper = _Stepper(batch)
    statement = stepper.step()
    while statement is not None:
        statement = stepper.step(*_attempt(run, statement))
    return stepper.value


async def drive_async(batch: Batch[T], run: Callable[[Statement], Awaitable[Any]]) -> T:
    """:func:`drive_sync` for an engine whose statements are awaited."""
    stepper = _Stepper(batch)
    statement = stepper.step()
    while statement is not None:
        statement = stepper.step(*await _attempt_async(run, statement))
    return stepper.value


def split_statements(text: str, substitutions: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The statements of an SQL file: ``--`` comment lines dropped, ``{placeholders}``
    filled from ``substitutions``, split at each semicolon."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    if substitutions:
        body = body.format_map(substitutions)
    return tuple(part.strip() for part in body.split(";") if part.strip())


def load_sql(
    engine: str, substitutions: Mapping[str, str] | None = None
) -> dict[str, tuple[str, ...]]:
    """Every statement of an engine, by name: ``store/sql/<engine>/<name>.sql`` (a file may
    hold several statements, each ending with a semicolon)."""
    statements: dict[str, tuple[str, ...]] = {}
    for entry in (resources.files("incidents.store") / "sql" / engine).iterdir():
        if entry.name.endswith(".sql"):
            text = entry.read_text(encoding="utf-8")
            statements[entry.name[: -len(".sql")]] = split_statements(text, substitutions)
    return statements
