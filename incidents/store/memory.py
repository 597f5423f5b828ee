"""The in-memory event store, and the one definition of what an append means.

:class:`MemoryEventStore` is the fake that unit tests run on. The pure part of an append
(validating the request, idempotency, the expected-version check, building envelopes and the
hash chain, folding snapshots through the rules) is :class:`AppendPlan`, which works over
plain mappings. The memory store hands it its dictionaries; the SQLite writer hands it the
rows a batch needs, loaded in bulk, and writes what the plan staged. Both adapters therefore
answer every request the same way, down to the error and its ``append_index``.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left, bisect_right
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from hashlib import sha256 as _sha256
from typing import NamedTuple
from uuid import UUID

import msgspec
from msgspec import Raw

from incidents.store.protocol import (
    GENESIS_HASH,
    AppendedEvent,
    AppendRequest,
    AppendResult,
    ConcurrencyError,
    Direction,
    DuplicateEventError,
    ExpectedVersion,
    InvalidAppendError,
    LogHead,
    MissionTally,
    ProposedEvent,
    RecordedEvent,
    RuleViolation,
    StoreUnavailableError,
    StreamRow,
    StreamRules,
    StreamSnapshot,
    category_of,
    is_valid_stream_id,
)

_NAMED_EXPECTATIONS = frozenset(("any", "no_stream", "exists"))

# The chain's envelope (incidents.store.chain.envelope_bytes), encoded here in one step with
# the event id as a UUID (msgspec writes it as str() does): the same bytes, less work per
# event. tests/unit/test_perf_append.py checks the two agree.
_encode_envelope = msgspec.json.Encoder().encode


def to_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already.

    Stored times are UTC so that what is hashed at append time is what a read decodes.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """Fixed-width RFC 3339 UTC text with microseconds, so stored times sort as text."""
    return to_utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """The aware UTC datetime of a time written by :func:`format_time`."""
    return datetime.fromisoformat(text)


class StoredIdentity(NamedTuple):
    """An event id already in the log: what idempotency compares, and where it landed."""

    stream_id: str
    type: str
    data: bytes
    position: int
    version: int


class StreamRecord(NamedTuple):
    """A stream's place in the log and the snapshot the rules folded it into."""

    category: str
    version: int
    snapshot: StreamSnapshot
    last_position: int
    updated_at: datetime

    def row(self, stream_id: str) -> StreamRow:
        """The stream as projections see it."""
        snapshot = self.snapshot
        return StreamRow(
            stream_id=stream_id,
            category=self.category,
            version=self.version,
            state=msgspec.Raw(snapshot.state),
            mission=snapshot.mission,
            is_open=snapshot.is_open,
            last_position=self.last_position,
            updated_at=self.updated_at,
        )


class TallyChanges(NamedTuple):
    """What a plan does to the mission tallies, for an adapter to write with the streams.

    ``counts`` are the non-zero changes of (mission, label) counts; ``latest`` the greatest
    (last_position, updated_at) per mission among the changed streams that carry tallies
    (the stored latest is to become the greater of the two); ``stale`` the missions that a
    stream carrying tallies left (moved away, or lost its labels): their latest is to be
    found again among their streams once the changed rows are written.
    """

    counts: dict[tuple[str, str], int]
    latest: dict[str, tuple[int, datetime]]
    stale: set[str]


def refreshed(rules: StreamRules, records: Mapping[str, StreamRecord]) -> dict[str, StreamRecord]:
    """The records whose snapshot the rules now encode otherwise (folding no events onto it:
    its state re-encoded, its labels derived afresh), with that snapshot; for a migration."""
    changed: dict[str, StreamRecord] = {}
    for stream_id, record in records.items():
        fresh = rules.apply(stream_id, record.snapshot, ())
        snapshot = record.snapshot
        if fresh.state != snapshot.state or tuple(fresh.tallies) != snapshot.tallies:
            changed[stream_id] = record._replace(
                snapshot=msgspec.structs.replace(
                    snapshot, state=fresh.state, tallies=tuple(fresh.tallies)
                )
            )
    return changed


def tally_changes(
    changed: Mapping[str, StreamRecord], before: Callable[[str], StreamRecord | None]
) -> TallyChanges:
    """The tally changes of writing ``changed`` over the rows ``before`` gives."""
    counts: dict[tuple[str, str], int] = {}
    latest: dict[str, tuple[int, datetime]] = {}
    stale: set[str] = set()
    for stream_id, record in changed.items():
        new = record.snapshot
        old_record = before(stream_id)
        old = None if old_record is None else old_record.snapshot
        if old is not None and old.mission is not None and old.tallies:
            if old.mission != new.mission or not new.tallies:
                stale.add(old.mission)
            if old.mission != new.mission or old.tallies != new.tallies:
                for label in old.tallies:
                    key = (old.mission, label)
                    counts[key] = counts.get(key, 0) - 1
        if new.mission is None or not new.tallies:
            continue
        if old is None or old.mission != new.mission or old.tallies != new.tallies:
            for label in new.tallies:
                key = (new.mission, label)
                counts[key] = counts.get(key, 0) + 1
        candidate = (record.last_position, record.updated_at)
        if new.mission not in latest or candidate[0] > latest[new.mission][0]:
            latest[new.mission] = candidate
    return TallyChanges({key: delta for key, delta in counts.items() if delta}, latest, stale)


def check_appends(appends: Sequence[AppendRequest]) -> None:
    """Refuse a request the log must never see, before any lock is taken.

    Raises InvalidAppendError for no appends, no events, a malformed stream id or expected
    version, and DuplicateEventError for an event id that occurs twice in the request.
    """
    if not appends:
        raise InvalidAppendError("the request holds no appends")
    # One event alone cannot repeat an id; skipping the set keeps the common append cheap.
    seen: set[UUID] | None = None if len(appends) == 1 and len(appends[0].events) == 1 else set()
    for index, request in enumerate(appends):
        if not is_valid_stream_id(request.stream_id):
            raise InvalidAppendError(f"invalid stream id {request.stream_id!r}", index)
        if not request.events:
            raise InvalidAppendError(f"no events to append to {request.stream_id!r}", index)
        expected = request.expected_version
        if isinstance(expected, bool) or not (
            expected in _NAMED_EXPECTATIONS or (isinstance(expected, int) and expected >= 0)
        ):
            raise InvalidAppendError(f"invalid expected version {expected!r}", index)
        if seen is None:
            continue
        for event in request.events:
            if event.event_id in seen:
                raise DuplicateEventError(
                    event.event_id, "appears more than once in this request", index
                )
            seen.add(event.event_id)


def expectation_holds(expected: ExpectedVersion, current: int) -> bool:
    """Whether a stream at version ``current`` (0 when empty) is where the caller expects."""
    if expected == "any":
        return True
    if expected == "no_stream":
        return current == 0
    if expected == "exists":
        return current >= 1
    return current == expected


def history_streams(rules: StreamRules, appends: Iterable[AppendRequest]) -> set[str]:
    """The streams whose stored events an adapter must load for these appends: those that
    receive an event of a type the rules fold with the stream's history."""
    needs = rules.needs_history
    return {
        request.stream_id
        for request in appends
        if any(needs(event.type) for event in request.events)
    }


class AppendPlan:
    """One batch of appends worked out in memory against what the log already holds.

    ``identities`` must hold every already-stored event id the batch mentions and
    ``streams`` every stream it touches (missing keys mean "not in the log");
    ``histories`` the stored events, oldest first, of every existing stream that
    :func:`history_streams` names for the batch. Each call of :meth:`add` is atomic: on an
    error nothing it staged remains, and later calls see what earlier successful calls
    staged (head, versions, snapshots, event ids, histories).
    """

    def __init__(
        self,
        rules: StreamRules,
        head: LogHead,
        recorded_at: datetime,
        identities: Mapping[UUID, StoredIdentity],
        streams: Mapping[str, StreamRecord],
        histories: Mapping[str, Sequence[RecordedEvent]] | None = None,
    ) -> None:
        self.rules = rules
        self.position = head.position
        self.hash = head.hash
        self.recorded_at = recorded_at
        self._identities = identities
        self._streams = streams
        # Loaded histories, each extended by the events this plan stages on its stream.
        self._histories: dict[str, Sequence[RecordedEvent]] = dict(histories or {})
        # What this plan adds, in log order; the adapter persists exactly these.
        self.events: list[RecordedEvent] = []
        # Whether it replaces snapshots (the adapter then moves the snapshots revision), and
        # whether the adapter then counts every mission's tallies afresh from the streams.
        self.replaces = False
        self.recounts = False
        self.new_identities: dict[UUID, StoredIdentity] = {}
        self.changed_streams: dict[str, StreamRecord] = {}

    @property
    def head(self) -> LogHead:
        """The head the log will have once the plan is stored."""
        return LogHead(self.position, self.hash)

    def identity(self, event_id: UUID) -> StoredIdentity | None:
        """The stored (or staged) event with this id, if any."""
        found = self.new_identities.get(event_id)
        return found if found is not None else self._identities.get(event_id)

    def stored_stream(self, stream_id: str) -> StreamRecord | None:
        """The stream as the log had it before this plan."""
        return self._streams.get(stream_id)

    def stream(self, stream_id: str) -> StreamRecord | None:
        """The stream as the log (with this plan's staged appends) has it."""
        found = self.changed_streams.get(stream_id)
        return found if found is not None else self._streams.get(stream_id)

    def add(self, appends: Sequence[AppendRequest]) -> list[AppendResult]:
        """Stage one request (one or more streams) atomically and return its results."""
        mark = (self.position, self.hash, len(self.events))
        previous_streams: dict[str, StreamRecord | None] = {}
        previous_histories: dict[str, Sequence[RecordedEvent] | None] = {}
        try:
            return [
                self._add_one(index, request, previous_streams, previous_histories)
                for index, request in enumerate(appends)
            ]
        except BaseException:
            self.position, self.hash, count = mark
            for event in self.events[count:]:
                del self.new_identities[event.event_id]
            del self.events[count:]
            for stream_id, record in previous_streams.items():
                if record is None:
                    del self.changed_streams[stream_id]
                else:
                    self.changed_streams[stream_id] = record
            for stream_id, history in previous_histories.items():
                if history is None:
                    del self._histories[stream_id]
                else:
                    self._histories[stream_id] = history
            raise

    def replace(
        self, snapshots: Mapping[str, StreamSnapshot], *, recount_tallies: bool = False
    ) -> None:
        """Stage new snapshots for existing streams; versions and positions stay as they are.
        ``recount_tallies``: the adapter counts every mission's tallies afresh as well."""
        unknown = sorted(stream_id for stream_id in snapshots if self.stream(stream_id) is None)
        if unknown:
            raise ValueError(f"no events in streams {unknown}: nothing to replace")
        self.replaces = True
        self.recounts = self.recounts or recount_tallies
        for stream_id, snapshot in snapshots.items():
            record = self.stream(stream_id)
            assert record is not None  # checked just above
            self.changed_streams[stream_id] = record._replace(snapshot=snapshot)

    def _add_one(
        self,
        index: int,
        request: AppendRequest,
        previous_streams: dict[str, StreamRecord | None],
        previous_histories: dict[str, Sequence[RecordedEvent] | None],
    ) -> AppendResult:
        stream_id = request.stream_id
        proposed = request.events
        staged = self.new_identities
        stored = self._identities
        found = [staged.get(event.event_id) or stored.get(event.event_id) for event in proposed]
        if any(identity is not None for identity in found):
            return self._retry(index, request, found)

        record = self.stream(stream_id)
        current = 0 if record is None else record.version
        expected = request.expected_version
        if expected != "any" and not expectation_holds(expected, current):
            raise ConcurrencyError(stream_id, expected, current, index)

        recorded_at = self.recorded_at
        position = self.position
        previous_hash = self.hash
        version = current
        recorded: list[RecordedEvent] = []
        for event in proposed:
            position += 1
            version += 1
            data = bytes(event.data)
            metadata = bytes(event.metadata)
            occurred_at = recorded_at if event.occurred_at is None else to_utc(event.occurred_at)
            digest = _sha256(previous_hash.encode())
            digest.update(
                _encode_envelope(
                    (
                        position,
                        stream_id,
                        version,
                        event.event_id,
                        event.type,
                        Raw(data),
                        Raw(metadata),
                        occurred_at,
                        recorded_at,
                    )
                )
            )
            previous_hash = digest.hexdigest()
            recorded.append(
                RecordedEvent(
                    position,
                    stream_id,
                    version,
                    event.event_id,
                    event.type,
                    Raw(data),
                    Raw(metadata),
                    occurred_at,
                    recorded_at,
                    previous_hash,
                )
            )

        histories = self._histories
        history = histories.get(stream_id)
        if history is None and any(self.rules.needs_history(e.type) for e in proposed):
            if record is not None:
                raise RuntimeError(f"the history of {stream_id!r} was not loaded for this plan")
            history = ()
        try:
            snapshot = self.rules.apply(
                stream_id, None if record is None else record.snapshot, recorded, history
            )
        except RuleViolation as violation:
            violation.append_index = index
            raise
        if history is not None:
            if stream_id not in previous_histories:
                previous_histories[stream_id] = histories.get(stream_id)
            histories[stream_id] = [*history, *recorded]

        changed = self.changed_streams
        if stream_id not in previous_streams:
            previous_streams[stream_id] = changed.get(stream_id)
        changed[stream_id] = StreamRecord(
            category_of(stream_id) if record is None else record.category,
            version,
            snapshot,
            position,
            recorded_at,
        )
        appended: list[AppendedEvent] = []
        for landed in recorded:
            staged[landed.event_id] = StoredIdentity(
                stream_id, landed.type, bytes(landed.data), landed.position, landed.version
            )
            appended.append(AppendedEvent(landed.event_id, landed.position, landed.version))
        self.events.extend(recorded)
        self.position = position
        self.hash = previous_hash
        return AppendResult(stream_id, version, appended)

    def _retry(
        self, index: int, request: AppendRequest, found: list[StoredIdentity | None]
    ) -> AppendResult:
        """A request whose ids are already stored: the original result, or a conflict."""
        for event, identity in zip(request.events, found, strict=True):
            if identity is None:
                continue
            if identity.stream_id != request.stream_id:
                raise DuplicateEventError(
                    event.event_id, f"already stored in stream {identity.stream_id!r}", index
                )
            if identity.type != event.type or identity.data != bytes(event.data):
                raise DuplicateEventError(
                    event.event_id, "already stored with another type or data", index
                )
        landed = [identity for identity in found if identity is not None]
        if len(landed) != len(found):
            stored = next(
                event for event, identity in zip(request.events, found, strict=True) if identity
            )
            raise DuplicateEventError(
                stored.event_id, "only part of this append is already stored", index
            )
        return AppendResult(
            request.stream_id,
            max(identity.version for identity in landed),
            [
                AppendedEvent(event.event_id, identity.position, identity.version)
                for event, identity in zip(request.events, landed, strict=True)
            ],
            created=False,
        )


def recording_time(previous: datetime | None) -> datetime:
    """Now in UTC, but never earlier than the log's last recorded_at (clocks step back)."""
    now = datetime.now(UTC)
    return now if previous is None or now >= previous else previous


class MemoryEventStore:
    """The event store kept in dictionaries: same semantics as SQLite, no durability."""

    def __init__(self, rules: StreamRules) -> None:
        self._rules = rules
        # Appends are serialised like the SQLite writer's, so a plan sees a stable log.
        self._lock = asyncio.Lock()
        self._events: list[RecordedEvent] = []
        self._identities: dict[UUID, StoredIdentity] = {}
        self._streams: dict[str, StreamRecord] = {}
        self._stream_positions: dict[str, list[int]] = {}
        self._tallies: dict[str, dict[str, int]] = {}
        self._latest: dict[str, tuple[int, datetime]] = {}
        self._changed = asyncio.Event()
        self._closed = False
        self._revision = 0

    async def append(
        self,
        stream_id: str,
        events: Sequence[ProposedEvent],
        expected_version: ExpectedVersion = "any",
    ) -> AppendResult:
        """Append events to one stream atomically; see :meth:`append_many`."""
        results = await self.append_many([AppendRequest(stream_id, events, expected_version)])
        return results[0]

    async def append_many(self, appends: Sequence[AppendRequest]) -> list[AppendResult]:
        """Append to several streams atomically: all of them are stored, or none."""
        check_appends(appends)
        async with self._lock:
            if self._closed:
                raise StoreUnavailableError("the store is closed")
            plan = AppendPlan(
                self._rules,
                self._head(),
                recording_time(self._events[-1].recorded_at if self._events else None),
                self._identities,
                self._streams,
                {
                    stream_id: [
                        self._events[p - 1] for p in self._stream_positions.get(stream_id, [])
                    ]
                    for stream_id in history_streams(self._rules, appends)
                },
            )
            results = plan.add(appends)
            self._apply(plan)
            return results

    async def read_stream(
        self,
        stream_id: str,
        from_version: int | None = None,
        direction: Direction = "forward",
        limit: int = 100,
    ) -> list[RecordedEvent]:
        """Events of one stream from a version (inclusive) in either direction."""
        check_limit(limit)
        positions = self._stream_positions.get(stream_id, [])
        if direction == "forward":
            start = 0 if from_version is None else max(from_version - 1, 0)
            chosen = positions[start : start + limit]
        else:
            end = len(positions)
            if from_version is not None:
                end = max(min(from_version, end), 0)
            chosen = positions[max(end - limit, 0) : end][::-1]
        return [self._events[position - 1] for position in chosen]

    async def read_all(
        self,
        after: int = 0,
        limit: int = 1000,
        types: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        """The global log in position order, strictly after ``after``, optionally filtered.

        None or an empty sequence for ``types`` or ``categories`` means no filter.
        """
        check_limit(limit)
        wanted_types = frozenset(types) if types else None
        wanted_categories = frozenset(categories) if categories else None
        chosen: list[RecordedEvent] = []
        if limit == 0:
            return chosen
        for event in self._events[max(after, 0) :]:
            if wanted_types is not None and event.type not in wanted_types:
                continue
            if (
                wanted_categories is not None
                and category_of(event.stream_id) not in wanted_categories
            ):
                continue
            chosen.append(event)
            if len(chosen) == limit:
                break
        return chosen

    async def read_by_stream(
        self, after: tuple[str, int] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The whole log ordered by stream id, then version, after ``(stream id, version)``."""
        check_limit(limit)
        after_id, after_version = after if after is not None else ("", 0)
        chosen: list[RecordedEvent] = []
        stream_ids = sorted(self._stream_positions, key=_id_bytes)
        start = bisect_left(stream_ids, _id_bytes(after_id), key=_id_bytes)
        for stream_id in stream_ids[start:]:
            if len(chosen) >= limit:
                break
            positions = self._stream_positions[stream_id]
            first = max(after_version, 0) if stream_id == after_id else 0
            for position in positions[first : first + limit - len(chosen)]:
                chosen.append(self._events[position - 1])
        return chosen

    async def list_streams_after(
        self, after: str | None = None, limit: int = 1000
    ) -> list[StreamRow]:
        """Every stream's row ordered by stream id, after ``after``."""
        check_limit(limit)
        stream_ids = sorted(self._streams, key=_id_bytes)
        start = 0 if after is None else bisect_right(stream_ids, _id_bytes(after), key=_id_bytes)
        return [
            self._streams[stream_id].row(stream_id)
            for stream_id in stream_ids[start : start + limit]
        ]

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version, 0 when it has no events."""
        record = self._streams.get(stream_id)
        return 0 if record is None else record.version

    async def get_stream(self, stream_id: str) -> StreamRow | None:
        """The stream's folded state, None when it has no events."""
        record = self._streams.get(stream_id)
        return None if record is None else record.row(stream_id)

    async def get_streams(self, stream_ids: Sequence[str]) -> dict[str, StreamRow]:
        """The folded states of those of ``stream_ids`` that have events, by stream id."""
        streams = self._streams
        return {id_: streams[id_].row(id_) for id_ in stream_ids if id_ in streams}

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
        """Folded states of a category's streams, filtered on the index columns, by id;
        the first ``limit`` after ``after`` when given; ``without_mission``: only those
        that name no mission."""
        if without_mission and mission is not None:
            raise ValueError("without_mission lists streams that name no mission: no mission")
        if limit is not None:
            check_limit(limit)
        start = None if after is None else _id_bytes(after)
        chosen = [
            record.row(stream_id)
            for stream_id, record in sorted(self._streams.items(), key=lambda i: _id_bytes(i[0]))
            if record.category == category
            and (mission is None or record.snapshot.mission == mission)
            and (not without_mission or record.snapshot.mission is None)
            and (is_open is None or record.snapshot.is_open == is_open)
            and (start is None or _id_bytes(stream_id) > start)
        ]
        return chosen if limit is None else chosen[:limit]

    async def replace_snapshots(
        self, snapshots: Mapping[str, StreamSnapshot], *, recount_tallies: bool = False
    ) -> None:
        """Overwrite the folded state of existing streams; ValueError names unknown ones.
        ``recount_tallies``: then count every mission's tallies afresh from the streams."""
        async with self._lock:
            if self._closed:
                raise StoreUnavailableError("the store is closed")
            plan = AppendPlan(self._rules, self._head(), datetime.now(UTC), {}, self._streams)
            plan.replace(snapshots, recount_tallies=recount_tallies)
            if plan.recounts:
                self._streams.update(plan.changed_streams)
                self._recount()
            else:
                changes = tally_changes(plan.changed_streams, self._streams.get)
                self._streams.update(plan.changed_streams)
                self._count(changes)
            self._revision += 1

    def _recount(self) -> None:
        """Every mission's tallies and latest, counted afresh from the streams: the changes
        of writing every stream over none."""
        self._tallies.clear()
        self._latest.clear()
        self._count(tally_changes(self._streams, lambda _: None))

    async def mission_tallies(self) -> list[MissionTally]:
        """Per mission named by a stream with tallies: label counts and latest, by mission."""
        tallies = []
        for mission in sorted(set(self._tallies) | set(self._latest), key=_id_bytes):
            counts = {label: n for label, n in self._tallies.get(mission, {}).items() if n}
            position, recorded_at = self._latest.get(mission, (0, None))
            tallies.append(MissionTally(mission, counts, position, recorded_at))
        return tallies

    def _count(self, changes: TallyChanges) -> None:
        """Apply a plan's tally changes, once its streams are in ``_streams``."""
        for (mission, label), delta in changes.counts.items():
            bucket = self._tallies.setdefault(mission, {})
            bucket[label] = bucket.get(label, 0) + delta
            if not bucket[label]:
                del bucket[label]
                if not bucket:
                    del self._tallies[mission]
        for mission, candidate in changes.latest.items():
            stored = self._latest.get(mission)
            if stored is None or candidate[0] > stored[0]:
                self._latest[mission] = candidate
        for mission in changes.stale:
            found = [
                (record.last_position, record.updated_at)
                for record in self._streams.values()
                if record.snapshot.mission == mission and record.snapshot.tallies
            ]
            if found:
                self._latest[mission] = max(found, key=lambda pair: pair[0])
            else:
                self._latest.pop(mission, None)

    async def head(self) -> LogHead:
        """The last position and hash in the log."""
        return self._head()

    async def snapshots_revision(self) -> int:
        """How many times replace_snapshots has run."""
        return self._revision

    async def watch(self) -> AsyncIterator[int]:
        """Yield the head position now, then again each time appends are committed."""
        last = -1
        while not self._closed:
            changed = self._changed
            position = len(self._events)
            if position != last:
                last = position
                yield position
            await changed.wait()

    async def close(self) -> None:
        """Refuse further appends and end every watch; safe to call twice."""
        async with self._lock:
            self._closed = True
            self._changed.set()

    def _head(self) -> LogHead:
        if not self._events:
            return LogHead(0, GENESIS_HASH)
        last = self._events[-1]
        return LogHead(last.position, last.hash)

    def _apply(self, plan: AppendPlan) -> None:
        """Make a plan's staged appends part of the log and wake the watchers."""
        if not plan.events and not plan.changed_streams:
            return
        self._events.extend(plan.events)
        self._identities.update(plan.new_identities)
        changes = tally_changes(plan.changed_streams, self._streams.get)
        self._streams.update(plan.changed_streams)
        self._count(changes)
        for event in plan.events:
            self._stream_positions.setdefault(event.stream_id, []).append(event.position)
        if plan.events:
            self._changed.set()
            self._changed = asyncio.Event()


def _id_bytes(stream_id: str) -> bytes:
    """The order stream ids sort in, in every store: their bytes (SQLite's BINARY, "C")."""
    return stream_id.encode()


def check_limit(limit: int) -> None:
    """Refuse a negative page size (SQL would read it as "no limit")."""
    if limit < 0:
        raise ValueError(f"limit must be zero or more, not {limit}")
