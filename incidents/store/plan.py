"""What an append means, worked out in memory: the one definition every adapter shares.

:class:`AppendPlan` validates nothing the caller could not (that is :func:`check_appends`),
then, against plain mappings of what the log holds, does idempotency, the expected-version
check, the envelopes and the hash chain, and folds snapshots through the rules. The memory
store hands it its dictionaries; the SQL stores hand it the rows a batch needs, loaded in
bulk under the write lock, and write what it staged. Every adapter therefore answers every
request the same way, down to the error and its ``append_index``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from hashlib import sha256 as _sha256
from typing import NamedTuple
from uuid import UUID

import msgspec
from msgspec import Raw

from incidents.store.protocol import (
    AppendedEvent,
    AppendRequest,
    AppendResult,
    ConcurrencyError,
    DuplicateEventError,
    ExpectedVersion,
    InvalidAppendError,
    LogHead,
    ProposedEvent,
    RecordedEvent,
    RuleViolation,
    StreamRow,
    StreamRules,
    StreamSnapshot,
    category_of,
    is_valid_stream_id,
)

_NAMED_EXPECTATIONS = frozenset(("any", "no_stream", "exists"))

# The chain's envelope (incidents.store.chain.envelope_bytes), encoded here in one step with
# the event id as a UUID (msgspec writes it as str() does): the same bytes, less work per
# event. tests/unit/test_append_plan_hashes.py checks the two agree.
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


class Step(NamedTuple):
    """One append (or replaced snapshot) of a plan: the stream's record before and after,
    and the events it added (none for a replaced snapshot)."""

    stream_id: str
    before: StreamRecord | None
    after: StreamRecord
    events: tuple[RecordedEvent, ...]


def refreshed(rules: StreamRules, records: Mapping[str, StreamRecord]) -> dict[str, StreamRecord]:
    """The records whose snapshot the rules now encode otherwise (folding no events onto it:
    its state re-encoded), with that snapshot; for a migration."""
    changed: dict[str, StreamRecord] = {}
    for stream_id, record in records.items():
        fresh = rules.apply(stream_id, record.snapshot, ())
        snapshot = record.snapshot
        if fresh.state != snapshot.state:
            changed[stream_id] = record._replace(
                snapshot=msgspec.structs.replace(snapshot, state=fresh.state)
            )
    return changed


def verbatim_appends(events: Sequence[RecordedEvent]) -> list[AppendRequest]:
    """Appends that store ``events`` (envelopes from another log, in position order) as they
    are: each run of one stream's events is one append expecting the version before it,
    carrying the envelopes (:attr:`AppendRequest.recorded`). Given to ``append_many``, they
    are all stored in one transaction, or none where one does not follow the log."""
    appends: list[AppendRequest] = []
    start = 0
    for end in range(1, len(events) + 1):
        if end < len(events) and events[end].stream_id == events[start].stream_id:
            continue
        run = events[start:end]
        proposed = [
            ProposedEvent(e.event_id, e.type, bytes(e.data), bytes(e.metadata), e.occurred_at)
            for e in run
        ]
        appends.append(AppendRequest(run[0].stream_id, proposed, run[0].version - 1, run))
        start = end
    return appends


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
        if request.recorded and len(request.recorded) != len(request.events):
            raise InvalidAppendError("recorded envelopes must be one for each event", index)
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
        # Whether it replaces snapshots (the adapter then moves the snapshots revision).
        self.replaces = False
        self.new_identities: dict[UUID, StoredIdentity] = {}
        self.changed_streams: dict[str, StreamRecord] = {}
        # Each append (and each replaced snapshot) in log order: the stream, its record
        # before and after, the events it added; what inline projections are handed.
        self.steps: list[Step] = []

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
        mark = (self.position, self.hash, len(self.events), len(self.steps))
        previous_streams: dict[str, StreamRecord | None] = {}
        previous_histories: dict[str, Sequence[RecordedEvent] | None] = {}
        try:
            return [
                self._add_one(index, request, previous_streams, previous_histories)
                for index, request in enumerate(appends)
            ]
        except BaseException:
            self.position, self.hash, count, steps = mark
            for event in self.events[count:]:
                del self.new_identities[event.event_id]
            del self.events[count:]
            del self.steps[steps:]
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

    def replace(self, snapshots: Mapping[str, StreamSnapshot]) -> None:
        """Stage new snapshots for existing streams; versions and positions stay as they are."""
        unknown = sorted(stream_id for stream_id in snapshots if self.stream(stream_id) is None)
        if unknown:
            raise ValueError(f"no events in streams {unknown}: nothing to replace")
        self.replaces = True
        for stream_id, snapshot in snapshots.items():
            record = self.stream(stream_id)
            assert record is not None  # checked just above
            replaced = record._replace(snapshot=snapshot)
            self.changed_streams[stream_id] = replaced
            self.steps.append(Step(stream_id, record, replaced, ()))

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
        given = request.recorded
        if any(identity is not None for identity in found):
            if given:
                raise InvalidAppendError(
                    f"position {given[0].position}: an event of {stream_id} is in the log already",
                    index,
                )
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
        for number, event in enumerate(proposed):
            position += 1
            version += 1
            if given:
                recorded_at = given[number].recorded_at
            data = bytes(event.data)
            metadata = bytes(event.metadata)
            occurred_at = recorded_at if event.occurred_at is None else to_utc(event.occurred_at)
            # The envelope the hash covers is the recorded event's fields but the hash.
            envelope = (
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
            digest = _sha256(previous_hash.encode())
            digest.update(_encode_envelope(envelope))
            previous_hash = digest.hexdigest()
            recorded.append(RecordedEvent(*envelope, previous_hash))
            if given and recorded[-1] != given[number]:
                raise InvalidAppendError(
                    f"position {given[number].position}: the envelope does not follow this "
                    f"log (position {position}, version {version}, chained to its head)",
                    index,
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
        after = changed[stream_id] = StreamRecord(
            category_of(stream_id) if record is None else record.category,
            version,
            snapshot,
            position,
            recorded_at,
        )
        self.steps.append(Step(stream_id, record, after, tuple(recorded)))
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


def id_bytes(stream_id: str) -> bytes:
    """The order stream ids sort in, in every store: their bytes (SQLite's BINARY, "C")."""
    return stream_id.encode()


def check_limit(limit: int) -> None:
    """Refuse a negative page size (SQL would read it as "no limit")."""
    if limit < 0:
        raise ValueError(f"limit must be zero or more, not {limit}")
