"""The contract every EventStore adapter keeps, run over each (``store`` in tests/conftest.py).

Each test reads given / when / then. The rules are tests/store_rules.TallyRules: a stream
folds into a count of its events, "Forbidden" events and a "NotOpening" first event are
refused, "Closed" closes a stream and a ``"mission"`` key in the data sets its mission.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from incidents.store.chain import event_hash, verify_log
from incidents.store.protocol import (
    GENESIS_HASH,
    AppendedEvent,
    AppendRequest,
    AppendResult,
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    ExpectedVersion,
    InvalidAppendError,
    LogHead,
    ProposedEvent,
    RuleViolation,
    StoreUnavailableError,
    StreamSnapshot,
)
from tests.conftest import FAILSAFE_SECONDS
from tests.store_rules import proposed, tally


async def fill(store: EventStore, stream_id: str, count: int, type_: str = "Noted") -> None:
    """Give a stream ``count`` more events, one append each."""
    for _ in range(count):
        await store.append(stream_id, [proposed(type_)])


async def everything(store: EventStore) -> list[tuple[int, str, int]]:
    """The whole log as (position, stream, version), to show that nothing changed."""
    return [(e.position, e.stream_id, e.version) for e in await store.read_all(limit=100_000)]


# Writing and the envelope


async def test_an_append_lands_at_the_next_positions_and_reads_back_in_the_envelope(
    store: EventStore,
) -> None:
    # given two events, the second with a time it occurred in another timezone
    occurred = datetime(2022, 9, 18, 16, 20, 5, 7, tzinfo=timezone(timedelta(hours=2)))
    first = proposed("Opened", b'{"mission":"mission-fr-paris"}', metadata=b'{"actor":"clerk"}')
    second = msgspec.structs.replace(proposed("Noted", b'{"n":2}'), occurred_at=occurred)

    # when they are appended to a new stream and read back
    result = await store.append("note-az-paris", [first, second], "no_stream")
    events = await store.read_stream("note-az-paris")

    # then the result says where each landed and the envelope holds what was sent
    assert result == AppendResult(
        "note-az-paris",
        2,
        [AppendedEvent(first.event_id, 1, 1), AppendedEvent(second.event_id, 2, 2)],
        created=True,
    )
    assert [(e.position, e.stream_id, e.version, e.event_id, e.type) for e in events] == [
        (1, "note-az-paris", 1, first.event_id, "Opened"),
        (2, "note-az-paris", 2, second.event_id, "Noted"),
    ]
    assert bytes(events[0].data) == b'{"mission":"mission-fr-paris"}'
    assert bytes(events[0].metadata) == b'{"actor":"clerk"}'
    assert bytes(events[1].metadata) == b"{}"
    # occurred_at defaults to recorded_at; both are UTC; one recorded_at per request
    assert events[0].occurred_at == events[0].recorded_at
    assert events[1].occurred_at == occurred
    assert events[1].occurred_at.utcoffset() == timedelta(0)
    assert events[0].recorded_at.tzinfo is not None
    assert events[0].recorded_at == events[1].recorded_at
    assert abs(datetime.now(UTC) - events[0].recorded_at) < timedelta(minutes=1)
    # and each hash chains the event to the one before it
    assert events[0].hash == event_hash(GENESIS_HASH, events[0])
    assert events[1].hash == event_hash(events[0].hash, events[1])


async def test_recorded_at_never_goes_back_and_positions_keep_counting(store: EventStore) -> None:
    # given a few appends to different streams
    for stream_id in ("note-a", "protest-b", "note-a", "incident-c"):
        await store.append(stream_id, [proposed()])

    # when the log is read
    events = await store.read_all()

    # then positions count from 1 and recorded_at does not decrease
    assert [e.position for e in events] == [1, 2, 3, 4]
    assert all(a.recorded_at <= b.recorded_at for a, b in itertools.pairwise(events))


@pytest.mark.parametrize(
    ("existing", "expected", "succeeds"),
    [
        (0, "any", True),
        (0, "no_stream", True),
        (0, "exists", False),
        (0, 0, True),
        (0, 1, False),
        (2, "any", True),
        (2, "no_stream", False),
        (2, "exists", True),
        (2, 2, True),
        (2, 1, False),
        (2, 3, False),
    ],
)
async def test_expected_version_decides_whether_an_append_is_taken(
    store: EventStore, existing: int, expected: ExpectedVersion, succeeds: bool
) -> None:
    # given a stream with `existing` events
    await fill(store, "protest-x", existing)
    before = await everything(store)

    # when an append expects `expected`
    append = store.append("protest-x", [proposed()], expected)

    # then it is taken at the next version, or refused with the current version and no trace
    if succeeds:
        result = await append
        assert result.version == existing + 1
        assert await store.stream_version("protest-x") == existing + 1
    else:
        with pytest.raises(ConcurrencyError) as refused:
            await append
        assert refused.value.stream_id == "protest-x"
        assert refused.value.expected == expected
        assert refused.value.current_version == existing
        assert refused.value.append_index == 0
        assert await everything(store) == before


async def test_of_two_writers_expecting_the_same_version_exactly_one_wins(
    store: EventStore,
) -> None:
    # given a stream at version 1
    await fill(store, "note-n", 1)

    # when two writers append at the same time, both expecting version 1
    outcomes = await asyncio.gather(
        store.append("note-n", [proposed()], 1),
        store.append("note-n", [proposed()], 1),
        return_exceptions=True,
    )

    # then one is stored at version 2 and the other learns the stream is at 2
    results = [o for o in outcomes if isinstance(o, AppendResult)]
    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyError)]
    assert len(results) == 1 and len(conflicts) == 1
    assert results[0].version == 2
    assert conflicts[0].current_version == 2
    assert await store.stream_version("note-n") == 2


# Idempotency


async def test_a_retry_answers_the_original_positions_and_stores_nothing(
    store: EventStore,
) -> None:
    # given a stored append and later events in the log
    batch = [proposed("Opened"), proposed("Noted")]
    original = await store.append("note-r", batch, "no_stream")
    await fill(store, "note-r", 1)
    head = await store.head()
    before = await everything(store)

    # when the same events are sent again, even with an expectation that no longer holds
    retry = await store.append("note-r", batch, "no_stream")

    # then the answer is the first one's, marked as not created, and the log is unchanged
    assert retry == msgspec.structs.replace(original, created=False)
    assert await store.head() == head
    assert await everything(store) == before


async def test_a_retry_inside_a_multi_stream_request_does_not_block_the_new_appends(
    store: EventStore,
) -> None:
    # given one stored append
    stored = [proposed()]
    await store.append("note-m", stored)

    # when a request repeats it and appends to another stream
    results = await store.append_many(
        [AppendRequest("note-m", stored), AppendRequest("protest-m", [proposed()], "no_stream")]
    )

    # then the repeat is answered as before and the new append is stored
    assert [r.created for r in results] == [False, True]
    assert results[0].events[0].position == 1
    assert results[1].events[0].position == 2


@pytest.mark.parametrize(
    "change",
    [{"data": b'{"n":2}'}, {"type": "Other"}],
    ids=["other-data", "other-type"],
)
async def test_the_same_event_id_with_other_content_is_a_duplicate(
    store: EventStore, change: dict[str, object]
) -> None:
    # given a stored event
    event = proposed("Noted", b'{"n":1}')
    await store.append("note-d", [event])
    before = await everything(store)

    # when an event with its id but other content is appended
    with pytest.raises(DuplicateEventError) as refused:
        await store.append("note-d", [msgspec.structs.replace(event, **change)])

    # then it is refused, names the id, and nothing is stored
    assert refused.value.event_id == event.event_id
    assert await everything(store) == before


async def test_the_same_event_id_in_another_stream_is_a_duplicate(store: EventStore) -> None:
    # given a stored event
    event = proposed()
    await store.append("note-one", [event])

    # when the very same event is appended to another stream
    with pytest.raises(DuplicateEventError) as refused:
        await store.append("note-two", [event])

    # then it is refused and the other stream stays empty
    assert refused.value.event_id == event.event_id
    assert await store.stream_version("note-two") == 0


async def test_a_batch_only_partly_stored_is_a_duplicate(store: EventStore) -> None:
    # given one stored event
    stored = proposed()
    await store.append("note-p", [stored])
    before = await everything(store)

    # when it is sent again together with a new one
    with pytest.raises(DuplicateEventError) as refused:
        await store.append("note-p", [stored, proposed()])

    # then the request is refused as a partial overlap and the new event is not stored
    assert refused.value.event_id == stored.event_id
    assert "part" in refused.value.reason
    assert await everything(store) == before


async def test_the_same_event_id_twice_in_one_request_is_refused(store: EventStore) -> None:
    # given one event
    event = proposed()

    # when a request carries it twice, in two streams
    with pytest.raises(DuplicateEventError) as refused:
        await store.append_many(
            [AppendRequest("note-a", [event]), AppendRequest("note-b", [event])]
        )

    # then it is refused at the second append and nothing is stored
    assert refused.value.append_index == 1
    assert await store.head() == LogHead(0, GENESIS_HASH)


# Atomic requests and rules


async def test_a_multi_stream_request_is_refused_whole_when_one_stream_conflicts(
    store: EventStore,
) -> None:
    # given two streams with history
    await fill(store, "note-s", 1)
    await fill(store, "protest-s", 2)
    head = await store.head()
    snapshot = await store.get_stream("note-s")
    before = await everything(store)

    # when one request appends to both but expects the wrong version of the second
    with pytest.raises(ConcurrencyError) as refused:
        await store.append_many(
            [
                AppendRequest("note-s", [proposed(), proposed()], 1),
                AppendRequest("note-new", [proposed()], "no_stream"),
                AppendRequest("protest-s", [proposed()], 1),
            ]
        )

    # then it names the third append, and no stream, snapshot or position changed
    assert (refused.value.append_index, refused.value.current_version) == (2, 2)
    assert await store.head() == head
    assert await everything(store) == before
    assert await store.get_stream("note-s") == snapshot
    assert await store.stream_version("note-new") == 0
    assert await store.get_stream("note-new") is None


async def test_a_multi_stream_request_is_refused_whole_when_one_event_breaks_a_rule(
    store: EventStore,
) -> None:
    # given a stream with history
    await fill(store, "note-s", 1)
    head = await store.head()
    before = await everything(store)

    # when one request appends to it and to another stream, whose second event is refused
    with pytest.raises(RuleViolation) as refused:
        await store.append_many(
            [
                AppendRequest("note-s", [proposed()]),
                AppendRequest("protest-t", [proposed(), proposed("Forbidden")]),
            ]
        )

    # then the rule, the event and the append are named, and nothing is stored
    assert refused.value.rule == "forbidden-type"
    assert (refused.value.append_index, refused.value.event_index) == (1, 1)
    assert await store.head() == head
    assert await everything(store) == before
    assert await store.stream_version("note-s") == 1


async def test_the_rules_see_the_stream_s_current_snapshot(store: EventStore) -> None:
    # given a stream that cannot open with "NotOpening"
    with pytest.raises(RuleViolation) as refused:
        await store.append("incident-o", [proposed("NotOpening")])
    assert refused.value.rule == "opening-event"

    # when it has another event first
    await store.append("incident-o", [proposed("Opened")])
    await store.append("incident-o", [proposed("NotOpening")])

    # then the same event is accepted and folded in
    row = await store.get_stream("incident-o")
    assert row is not None
    assert tally(row.state).types == ["Opened", "NotOpening"]


async def test_appends_to_one_stream_in_one_request_see_each_other(store: EventStore) -> None:
    # when one request appends to the same stream twice, the second expecting the first
    results = await store.append_many(
        [
            AppendRequest("note-twice", [proposed()], "no_stream"),
            AppendRequest("note-twice", [proposed(), proposed()], 1),
        ]
    )

    # then both are stored in order
    assert [r.version for r in results] == [1, 3]
    assert [e.version for e in await store.read_stream("note-twice")] == [1, 2, 3]
    row = await store.get_stream("note-twice")
    assert row is not None and tally(row.state).count == 3


async def test_a_type_folded_with_its_history_gets_every_earlier_event(
    store: EventStore,
) -> None:
    # given a stream of three events ("Audit" checks the history it is handed against the
    # stream's count and versions, and records its length)
    await fill(store, "note-audited", 3)

    # when an audit is appended alone, then after two more events in the same request
    await store.append("note-audited", [proposed("Audit")])
    first = await store.get_stream("note-audited")
    await store.append_many(
        [AppendRequest("note-audited", [proposed(), proposed(), proposed("Audit")])]
    )

    # then each saw exactly the events before it, in order
    assert first is not None and tally(first.state).audited == 3
    row = await store.get_stream("note-audited")
    assert row is not None and tally(row.state).audited == 6


async def test_a_new_stream_folded_with_its_history_sees_only_its_own_request(
    store: EventStore,
) -> None:
    # when a stream's first request opens it and audits it
    await store.append("note-fresh-audit", [proposed(), proposed("Audit")])

    # then the audit saw the one event before it
    row = await store.get_stream("note-fresh-audit")
    assert row is not None and tally(row.state).audited == 1


async def test_a_stream_opened_earlier_in_the_same_batch_is_folded_with_that_history(
    store: EventStore,
) -> None:
    # when one request opens a stream and a later one in the same request audits it
    await store.append_many(
        [
            AppendRequest("note-opened", [proposed()]),
            AppendRequest("note-opened", [proposed("Audit")]),
        ]
    )
    # and when separate appends do the same at once (one SQLite batch)
    outcomes = await asyncio.gather(
        store.append("note-opened-2", [proposed()]),
        store.append("note-opened-2", [proposed("Audit")]),
        return_exceptions=True,
    )

    # then each audit saw the one event opened before it
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    for stream_id in ("note-opened", "note-opened-2"):
        row = await store.get_stream(stream_id)
        assert row is not None and tally(row.state).audited == 1


async def test_histories_include_what_earlier_appends_of_the_same_batch_staged(
    store: EventStore,
) -> None:
    # given a stream with one event
    await fill(store, "note-busy", 1)

    # when many writers append to it at once, audits among them (one SQLite batch)
    appends = [
        store.append("note-busy", [proposed("Audit" if i % 3 == 0 else "Noted")]) for i in range(30)
    ]
    appends.append(store.append("note-other", [proposed("Audit")]))
    outcomes = await asyncio.gather(*appends, return_exceptions=True)

    # then every audit saw the events staged before it: none was refused
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    row = await store.get_stream("note-busy")
    assert row is not None and tally(row.state).count == 31
    audited = [
        v for v, e in enumerate(await store.read_stream("note-busy"), 1) if e.type == "Audit"
    ]
    assert tally(row.state).audited == audited[-1] - 1


async def test_only_a_replacement_of_snapshots_moves_the_snapshots_revision(
    store: EventStore,
) -> None:
    # given a log with a stream
    assert await store.snapshots_revision() == 0
    await fill(store, "note-rev", 2)
    assert await store.snapshots_revision() == 0

    # when its snapshot is replaced twice, and appends go on
    row = await store.get_stream("note-rev")
    assert row is not None
    for _ in range(2):
        await store.replace_snapshots({"note-rev": StreamSnapshot(bytes(row.state), None, True)})
    await fill(store, "note-rev", 1)

    # then the revision moved once per replacement, and only then
    assert await store.snapshots_revision() == 2


async def test_a_refused_append_does_not_fail_the_others_written_with_it(
    store: EventStore,
) -> None:
    # given many writers at once, one of which sends a refused event
    appends = [store.append(f"note-w{i % 5}", [proposed()]) for i in range(30)]
    appends.insert(13, store.append("note-w2", [proposed("Forbidden")]))

    # when they are all awaited together (the SQLite writer takes them in one batch)
    outcomes = await asyncio.gather(*appends, return_exceptions=True)

    # then only that one fails, and the others are stored densely and chained
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], RuleViolation)
    assert outcomes.index(failures[0]) == 13
    positions = sorted(
        e.position for o in outcomes if isinstance(o, AppendResult) for e in o.events
    )
    assert positions == list(range(1, 31))
    assert (await verify_log(store)).broken is None


async def test_a_refused_multi_stream_request_leaves_no_gap_among_those_written_with_it(
    store: EventStore,
) -> None:
    # given writers at once, two of them sending requests that fail at their second stream
    appends = [store.append(f"note-g{i % 3}", [proposed()]) for i in range(10)]
    appends.insert(
        4,
        store.append_many(
            [
                AppendRequest("note-x", [proposed(), proposed()]),
                AppendRequest("protest-x", [proposed()], 7),
            ]
        ),
    )
    appends.insert(
        8,
        store.append_many(
            [
                AppendRequest("note-y", [proposed()]),
                AppendRequest("protest-y", [proposed("Forbidden")]),
            ]
        ),
    )

    # when they are all awaited together
    outcomes = await asyncio.gather(*appends, return_exceptions=True)

    # then those two fail, and the others take positions 1..10 with the chain whole
    assert isinstance(outcomes[4], ConcurrencyError)
    assert isinstance(outcomes[8], RuleViolation)
    assert sum(isinstance(o, BaseException) for o in outcomes) == 2
    events = await store.read_all()
    assert [e.position for e in events] == list(range(1, 11))
    assert {e.stream_id for e in events} == {"note-g0", "note-g1", "note-g2"}
    assert (await verify_log(store)).broken is None


async def test_a_refused_request_sent_again_at_once_with_the_same_ids_is_stored(
    store: EventStore,
) -> None:
    # given a two-stream request refused for its second stream, and its correction, made
    # together (so the SQLite writer takes both in one batch)
    first, second = proposed(), proposed()
    wrong = [AppendRequest("note-x", [first]), AppendRequest("protest-x", [second], 7)]
    right = [AppendRequest("note-x", [first]), AppendRequest("protest-x", [second], "no_stream")]

    # when both are awaited
    outcomes = await asyncio.gather(
        store.append_many(wrong), store.append_many(right), return_exceptions=True
    )

    # then the refused one left no trace that makes the correction look like a retry
    assert isinstance(outcomes[0], ConcurrencyError)
    assert isinstance(outcomes[1], list)
    assert [r.created for r in outcomes[1]] == [True, True]
    assert [e.event_id for e in await store.read_all()] == [first.event_id, second.event_id]


async def test_200_concurrent_appends_fill_positions_and_versions_without_gaps(
    store: EventStore,
) -> None:
    # when 200 appends to 7 streams run concurrently
    results = await asyncio.gather(
        *(store.append(f"incident-c{i % 7}", [proposed()]) for i in range(200))
    )

    # then positions are exactly 1..200, each stream's versions are dense, the chain holds
    events = await store.read_all(limit=1000)
    assert [e.position for e in events] == list(range(1, 201))
    assert sorted(r.events[0].position for r in results) == list(range(1, 201))
    for n in range(7):
        versions = [e.version for e in events if e.stream_id == f"incident-c{n}"]
        assert versions == list(range(1, len(versions) + 1))
        assert await store.stream_version(f"incident-c{n}") == len(versions)
    report = await verify_log(store)
    assert (report.count, report.broken) == (200, None)


@pytest.mark.parametrize(
    "appends",
    [
        [],
        [AppendRequest("note-x", [])],
        [AppendRequest("Note-X", [proposed()])],
        [AppendRequest("note", [proposed()])],
        [AppendRequest("note-x", [proposed()], -1)],
        [AppendRequest("note-x", [proposed()], "later")],  # type: ignore[arg-type]
    ],
    ids=["no-appends", "no-events", "upper-case-id", "no-name", "negative", "unknown-word"],
)
async def test_a_malformed_request_is_refused_before_the_log(
    store: EventStore, appends: list[AppendRequest]
) -> None:
    # when a malformed request is appended
    with pytest.raises(InvalidAppendError) as refused:
        await store.append_many(appends)

    # then it is a ValueError too, and the log is untouched
    assert isinstance(refused.value, ValueError)
    assert await store.head() == LogHead(0, GENESIS_HASH)


# Reading


@pytest.mark.parametrize(
    ("from_version", "direction", "limit", "versions"),
    [
        (None, "forward", 100, [1, 2, 3, 4, 5]),
        (3, "forward", 100, [3, 4, 5]),
        (3, "forward", 2, [3, 4]),
        (6, "forward", 100, []),
        (None, "backward", 100, [5, 4, 3, 2, 1]),
        (3, "backward", 100, [3, 2, 1]),
        (3, "backward", 2, [3, 2]),
        (9, "backward", 2, [5, 4]),
        (0, "backward", 100, []),
        (None, "forward", 0, []),
    ],
)
async def test_a_stream_reads_from_a_version_either_way(
    store: EventStore,
    from_version: int | None,
    direction: str,
    limit: int,
    versions: list[int],
) -> None:
    # given a stream of five events, interleaved with another stream
    for _ in range(5):
        await store.append("protest-r", [proposed()])
        await store.append("protest-other", [proposed()])

    # when it is read
    events = await store.read_stream("protest-r", from_version, direction, limit)  # type: ignore[arg-type]

    # then the versions come in the asked order and only from that stream
    assert [e.version for e in events] == versions
    assert {e.stream_id for e in events} <= {"protest-r"}


async def test_an_unknown_stream_reads_empty(store: EventStore) -> None:
    # when a stream that has no events is read and looked up
    # then it is empty, at version 0, and has no state
    assert await store.read_stream("note-none") == []
    assert await store.read_stream("note-none", direction="backward") == []
    assert await store.stream_version("note-none") == 0
    assert await store.get_stream("note-none") is None


async def test_the_log_reads_after_a_position_with_a_limit_and_filters(store: EventStore) -> None:
    # given events of several types in several categories
    layout = [
        ("note-a", "NoteSent"),
        ("protest-b", "ProtestLodged"),
        ("note-a", "ReplyReceived"),
        ("incident-c", "IncidentReported"),
        ("protest-b", "Closed"),
        ("note-d", "NoteSent"),
    ]
    for stream_id, type_ in layout:
        await store.append(stream_id, [proposed(type_)])

    # when the log is read in pages and filtered
    # then pages follow positions, and filters keep position order
    def positions(events: list) -> list[int]:  # type: ignore[type-arg]
        return [e.position for e in events]

    assert positions(await store.read_all()) == [1, 2, 3, 4, 5, 6]
    assert positions(await store.read_all(after=2, limit=3)) == [3, 4, 5]
    assert positions(await store.read_all(after=6)) == []
    assert positions(await store.read_all(types=["NoteSent"])) == [1, 6]
    assert positions(await store.read_all(types=["NoteSent", "Closed"], after=1)) == [5, 6]
    assert positions(await store.read_all(categories=["protest"])) == [2, 5]
    assert positions(await store.read_all(categories=["note", "incident"], limit=3)) == [1, 3, 4]
    assert positions(await store.read_all(types=["NoteSent"], categories=["protest"])) == []
    assert positions(await store.read_all(types=[], categories=[])) == [1, 2, 3, 4, 5, 6]


async def test_the_log_reads_stream_by_stream_in_pages(store: EventStore) -> None:
    # given streams whose events interleave in the log, with ids that sort differently as
    # text and as categories ("note-a" < "note-a-b" < "notes-z" < "protest-b")
    layout = ["protest-b", "note-a-b", "note-a", "notes-z", "note-a", "protest-b", "note-a-b"]
    for stream_id in layout:
        await store.append(stream_id, [proposed()])
    await store.append("note-a", [proposed(), proposed()])

    # when the whole log is read by stream, in one page and in pages of every size
    def keys(events: list) -> list[tuple[str, int]]:  # type: ignore[type-arg]
        return [(e.stream_id, e.version) for e in events]

    expected = [
        ("note-a", 1),
        ("note-a", 2),
        ("note-a", 3),
        ("note-a", 4),
        ("note-a-b", 1),
        ("note-a-b", 2),
        ("notes-z", 1),
        ("protest-b", 1),
        ("protest-b", 2),
    ]
    whole = await store.read_by_stream(limit=100)

    # then every stream's events come together, in version order, streams by id
    assert keys(whole) == expected
    by_position = {e.position: e for e in await store.read_all(limit=100)}
    assert all(by_position[e.position] == e for e in whole)
    for size in (1, 2, 3, 4):
        paged: list[tuple[str, int]] = []
        after: tuple[str, int] | None = None
        while page := await store.read_by_stream(after, limit=size):
            assert len(page) <= size
            paged.extend(keys(page))
            after = (page[-1].stream_id, page[-1].version)
        assert paged == expected
    # and reading from inside a stream starts at its next version
    assert keys(await store.read_by_stream(("note-a", 2), limit=3)) == expected[2:5]
    assert keys(await store.read_by_stream(("note-a", 0), limit=1)) == expected[:1]
    assert keys(await store.read_by_stream(("protest-b", 2))) == []
    assert await store.read_by_stream(limit=0) == []


async def test_every_stream_lists_by_id_in_pages(store: EventStore) -> None:
    # given streams of several categories
    for stream_id in ["protest-b", "note-a-b", "note-a", "notes-z", "incident-q"]:
        await store.append(stream_id, [proposed()])

    # when they are listed after an id, in pages
    async def listed(after: str | None, limit: int = 100) -> list[str]:
        return [row.stream_id for row in await store.list_streams_after(after, limit)]

    # then they come by id across categories, with their rows as list_streams has them
    everyone = ["incident-q", "note-a", "note-a-b", "notes-z", "protest-b"]
    assert await listed(None) == everyone
    assert await listed(None, 2) == everyone[:2]
    assert await listed("note-a", 2) == ["note-a-b", "notes-z"]
    assert await listed("note-a-a") == everyone[2:]
    assert await listed("protest-b") == []
    assert await store.list_streams_after(None, 0) == []
    rows = {row.stream_id: row for row in await store.list_streams_after()}
    assert rows["note-a"] == (await store.list_streams("note"))[0]


# Snapshots


async def test_a_stream_s_snapshot_follows_its_appends(store: EventStore) -> None:
    # given a stream opened for a mission and then closed
    await store.append("protest-p", [proposed("Lodged", b'{"mission":"mission-az-paris"}')])
    await store.append("note-other", [proposed()])
    result = await store.append("protest-p", [proposed("Noted"), proposed("Closed")])

    # when its state is looked up
    row = await store.get_stream("protest-p")

    # then it carries the fold, the index columns and where it stands in the log
    last = (await store.read_stream("protest-p", direction="backward", limit=1))[0]
    assert row is not None
    assert (row.stream_id, row.category, row.version) == ("protest-p", "protest", 3)
    assert tally(row.state).types == ["Lodged", "Noted", "Closed"]
    assert (row.mission, row.is_open) == ("mission-az-paris", False)
    assert row.last_position == result.events[-1].position == 4
    assert row.updated_at == last.recorded_at


async def test_streams_list_by_category_mission_and_openness(store: EventStore) -> None:
    # given streams of two categories, two missions, some closed
    await store.append("note-c", [proposed("Sent", b'{"mission":"mission-x"}')])
    await store.append("note-a", [proposed("Sent", b'{"mission":"mission-x"}'), proposed("Closed")])
    await store.append("note-b", [proposed("Sent", b'{"mission":"mission-y"}')])
    await store.append("protest-a", [proposed("Lodged", b'{"mission":"mission-x"}')])
    await store.append("note-d", [proposed("Sent")])
    await store.append("note-e", [proposed("Sent"), proposed("Closed")])

    # when they are listed with filters
    async def listed(category: str, **filters: object) -> list[str]:
        return [row.stream_id for row in await store.list_streams(category, **filters)]  # type: ignore[arg-type]

    # then only the matching streams come, ordered by id
    assert await listed("note") == ["note-a", "note-b", "note-c", "note-d", "note-e"]
    assert await listed("note", mission="mission-x") == ["note-a", "note-c"]
    assert await listed("note", is_open=True) == ["note-b", "note-c", "note-d"]
    assert await listed("note", is_open=False) == ["note-a", "note-e"]
    assert await listed("note", mission="mission-x", is_open=True) == ["note-c"]
    assert await listed("protest") == ["protest-a"]
    assert await listed("incident") == []
    # and, without_mission, those that name none
    assert await listed("note", without_mission=True) == ["note-d", "note-e"]
    assert await listed("note", without_mission=True, is_open=True) == ["note-d"]
    assert await listed("note", without_mission=True, after="note-d", limit=5) == ["note-e"]
    assert await listed("protest", without_mission=True) == []
    with pytest.raises(ValueError, match="no mission"):
        await listed("note", mission="mission-x", without_mission=True)


async def test_streams_list_in_pages_after_an_id(store: EventStore) -> None:
    # given open and closed notes of two missions, and a protest
    for stream_id, mission, closed in [
        ("note-e", "mission-x", False),
        ("note-a", "mission-x", False),
        ("note-c", "mission-y", True),
        ("note-b", "mission-x", True),
        ("note-d", "mission-x", False),
        ("protest-a", "mission-x", False),
    ]:
        events = [proposed("Sent", b'{"mission":"%s"}' % mission.encode())]
        await store.append(stream_id, events + ([proposed("Closed")] if closed else []))

    # when they are listed a page at a time
    async def paged(size: int, **filters: object) -> list[list[str]]:
        pages: list[list[str]] = []
        after: str | None = None
        while True:
            page = await store.list_streams("note", after=after, limit=size, **filters)  # type: ignore[arg-type]
            pages.append([row.stream_id for row in page])
            if len(page) < size:
                return pages
            after = page[-1].stream_id

    # then the pages hold what one list would, in order, the filters applied first
    assert await paged(2) == [["note-a", "note-b"], ["note-c", "note-d"], ["note-e"]]
    assert await paged(3, is_open=True) == [["note-a", "note-d", "note-e"], []]
    assert await paged(1, mission="mission-x", is_open=False) == [["note-b"], []]
    assert await paged(10, mission="mission-x") == [["note-a", "note-b", "note-d", "note-e"]]
    listed = await store.list_streams("note", after="note-b")
    assert [row.stream_id for row in listed] == ["note-c", "note-d", "note-e"]
    assert await store.list_streams("note", limit=0) == []
    assert await store.list_streams("note", after="note-e") == []


async def test_replacing_snapshots_touches_no_event(store: EventStore) -> None:
    # given two streams
    await fill(store, "note-q", 2)
    await fill(store, "protest-q", 1)
    before = await everything(store)
    head = await store.head()
    old = await store.get_stream("note-q")

    # when one stream's snapshot is replaced
    await store.replace_snapshots(
        {"note-q": StreamSnapshot(b'{"count":7,"types":[]}', "mission-z", False)}
    )

    # then its state and index columns change, its version and place do not, nor does the log
    row = await store.get_stream("note-q")
    assert row is not None and old is not None
    assert bytes(row.state) == b'{"count":7,"types":[]}'
    assert (row.mission, row.is_open) == ("mission-z", False)
    assert (row.version, row.last_position, row.updated_at) == (
        old.version,
        old.last_position,
        old.updated_at,
    )
    assert [r.stream_id for r in await store.list_streams("note", mission="mission-z")] == [
        "note-q"
    ]
    assert await everything(store) == before
    assert await store.head() == head
    # and the next append folds onto the replaced snapshot
    await store.append("note-q", [proposed()])
    row = await store.get_stream("note-q")
    assert row is not None and tally(row.state).count == 8


async def test_replacing_the_snapshot_of_a_stream_without_events_is_refused(
    store: EventStore,
) -> None:
    # given one stream
    await fill(store, "note-k", 1)
    old = await store.get_stream("note-k")

    # when snapshots are replaced for it and for an unknown stream
    with pytest.raises(ValueError, match="note-unknown"):
        await store.replace_snapshots(
            {
                "note-k": StreamSnapshot(b"{}", None, False),
                "note-unknown": StreamSnapshot(b"{}", None, False),
            }
        )

    # then neither changed
    assert await store.get_stream("note-k") == old
    assert await store.get_stream("note-unknown") is None


# The head, the chain, watching, closing


async def test_the_head_is_the_last_position_and_hash(store: EventStore) -> None:
    # given an empty log, the head is the genesis
    assert await store.head() == LogHead(0, GENESIS_HASH)

    # when events are appended
    await store.append("note-h", [proposed(), proposed()])
    await store.append("protest-h", [proposed()])

    # then the head is the last event's position and hash
    last = (await store.read_all())[-1]
    assert await store.head() == LogHead(3, last.hash)


async def test_the_hash_chain_verifies_over_the_whole_log(store: EventStore) -> None:
    # given a log written by single and multi-stream requests, with explicit times
    occurred = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    await store.append("note-v", [msgspec.structs.replace(proposed(), occurred_at=occurred)])
    await store.append_many(
        [
            AppendRequest("protest-v", [proposed(), proposed()]),
            AppendRequest("note-v", [proposed("Noted", b'{"text":"caf\\u00e9 \xe2\x82\xac"}')]),
        ]
    )
    await asyncio.gather(*(store.append(f"incident-v{i}", [proposed()]) for i in range(10)))

    # when the chain is walked in small pages
    report = await verify_log(store, page_size=3)

    # then it holds from genesis to the head
    assert report.broken is None
    assert report.count == 14
    assert report.head_hash == (await store.head()).hash


async def test_watch_yields_the_head_and_then_each_new_head(store: EventStore) -> None:
    # given a store with one event and a watcher
    await store.append("note-w", [proposed()])
    watch = aiter(store.watch())
    assert await asyncio.wait_for(anext(watch), FAILSAFE_SECONDS) == 1

    # when more events are appended
    await store.append("note-w", [proposed(), proposed()])

    # then the watcher hears the new head
    assert await asyncio.wait_for(anext(watch), FAILSAFE_SECONDS) == 3
    await watch.aclose()  # type: ignore[attr-defined]


async def test_a_closed_store_refuses_appends_and_may_be_closed_again(store: EventStore) -> None:
    # given a store with an event
    await store.append("note-z", [proposed()])

    # when it is closed (twice)
    await store.close()
    await store.close()

    # then appends are refused as unavailable
    with pytest.raises(StoreUnavailableError):
        await store.append("note-z", [proposed()])


async def test_a_proposed_event_is_stored_as_given(store: EventStore) -> None:
    # given an event with explicit id, bytes and metadata
    event = ProposedEvent(
        event_id=uuid.UUID("0193aaaa-bbbb-7ccc-8ddd-eeeeffff0000"),
        type="Sent",
        data=b'{"b":1,"a":[1,2]}',
        metadata=b'{"correlation_id":"x"}',
    )

    # when it is appended and read from the global log
    await store.append("note-g", [event])
    (stored,) = await store.read_all()

    # then the bytes are the ones sent, not re-encoded
    assert stored.event_id == event.event_id
    assert bytes(stored.data) == b'{"b":1,"a":[1,2]}'
    assert bytes(stored.metadata) == b'{"correlation_id":"x"}'


async def test_streams_asked_for_together_are_those_with_events_each_as_got_alone(
    store: EventStore,
) -> None:
    # given three streams with events
    await fill(store, "note-g1", 1)
    await fill(store, "note-g2", 2)
    await fill(store, "protest-g3", 1)

    # when some of them, one twice, and a stream with no events are asked for at once
    rows = await store.get_streams(["protest-g3", "note-g1", "note-none", "note-g1"])

    # then each stream with events comes once, the same row get_stream gives
    assert sorted(rows) == ["note-g1", "protest-g3"]
    assert rows["note-g1"] == await store.get_stream("note-g1")
    assert rows["protest-g3"] == await store.get_stream("protest-g3")
    assert await store.get_streams([]) == {}
