"""What only the PostgreSQL store has to prove: several processes on one log, its schema and
migrations, durability, tamper evidence, and database trouble turned into the port's errors.

The behaviour every adapter shares is in the contract suite. Each test here gets a schema of
its own on the server at 127.0.0.1:5432 (override the URL with INCIDENTS_TEST_POSTGRES_URL);
the module drops them all at the end. The tests are skipped only when no server answers.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import msgspec
import pytest
import zstandard
from hypothesis import HealthCheck, settings

from incidents.projections.missions import read_tallies
from incidents.projections.replay import replay
from incidents.settings import Settings
from incidents.store import postgres as postgres_module
from incidents.store import stored_states
from incidents.store.chain import verify_log
from incidents.store.inline import InlineProjection
from incidents.store.migrations import load_migrations
from incidents.store.postgres import (
    LATEST_VERSION,
    PostgresEventStore,
    _lock_key,
)
from incidents.store.protocol import (
    AppendRequest,
    ConcurrencyError,
    ConnectionLostError,
    EventStore,
    InvalidAppendError,
    ProposedEvent,
    RecordedEvent,
    RuleViolation,
    StoreBusyError,
    StoreUnavailableError,
    StreamRules,
    StreamSnapshot,
)
from tests.conftest import FAILSAFE_SECONDS
from tests.store_machine import StoreMachine
from tests.store_rules import TallyRules, proposed, tally

pytestmark = pytest.mark.postgres

SERVER = ("127.0.0.1", 5432)
URL = os.environ.get("INCIDENTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

OpenStore = Callable[..., Awaitable[PostgresEventStore]]


def server_answers() -> bool:
    """Whether anything listens on the PostgreSQL port (the only reason to skip)."""
    try:
        with socket.create_connection(SERVER, timeout=1.0):
            return True
    except OSError:
        return False


class CountingRules:
    """Folds a stream into the number of its events; refuses the type "Refused"."""

    def needs_history(self, event_type: str) -> bool:
        return False

    def apply(
        self,
        stream_id: str,
        current: StreamSnapshot | None,
        events: Sequence[RecordedEvent],
        history: Sequence[RecordedEvent] | None = None,
    ) -> StreamSnapshot:
        for index, event in enumerate(events):
            if event.type == "Refused":
                raise RuleViolation(index, "refused", "this type is always refused")
        count = (0 if current is None else int(current.state)) + len(events)
        return StreamSnapshot(str(count).encode(), mission="mission-a", is_open=count % 2 == 1)


def event(type_: str = "Noted", data: bytes = b'{"n":1}', **fields: object) -> ProposedEvent:
    return msgspec.structs.replace(ProposedEvent(uuid.uuid4(), type_, data), **fields)


async def sql(query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(URL)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def drop_schemas(prefix: str) -> None:
    rows = await sql("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)", prefix)
    for row in rows:
        await sql(f'DROP SCHEMA "{row[0]}" CASCADE')


class ScratchPostgresStore(PostgresEventStore):
    """A store on a schema of its own, which it drops when closed (for the contract suite)."""

    scratch_schema: str

    async def close(self) -> None:
        """Close the store, then drop its schema; safe twice."""
        await super().close()
        await sql(f'DROP SCHEMA IF EXISTS "{self.scratch_schema}" CASCADE')


async def open_scratch_store(
    rules: StreamRules, projections: Sequence[InlineProjection] = ()
) -> PostgresEventStore:
    """A fresh store on a new schema, for ``tests/conftest.py``'s ``store`` fixture; skips
    the test when no server answers on 127.0.0.1:5432."""
    if not server_answers():
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    schema = f"test_contract_{uuid.uuid4().hex[:16]}"
    store = await ScratchPostgresStore.open(URL, rules, schema=schema, projections=projections)
    assert isinstance(store, ScratchPostgresStore)
    store.scratch_schema = schema
    return store


@pytest.fixture(scope="module")
def schema_prefix() -> Iterator[str]:
    """A prefix no other test run uses; every schema made here starts with it."""
    if not server_answers():
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    prefix = f"test_pg_{uuid.uuid4().hex[:10]}_"
    yield prefix
    asyncio.run(drop_schemas(prefix))


@pytest.fixture
def schema(schema_prefix: str, request: pytest.FixtureRequest) -> str:
    return f"{schema_prefix}{request.node.name[5:30].lower().replace('[', '_').strip(']')}"


@pytest.fixture
async def open_store(schema: str) -> AsyncIterator[OpenStore]:
    """Open stores on this test's schema (as separate processes would); all closed after."""
    stores: list[PostgresEventStore] = []

    async def opened(settings: Settings | None = None) -> PostgresEventStore:
        store = await PostgresEventStore.open(URL, CountingRules(), settings, schema=schema)
        stores.append(store)
        return store

    yield opened
    for store in stores:
        await store.close()


async def test_two_processes_appending_at_once_keep_the_log_gap_free_and_chained(
    open_store: OpenStore,
) -> None:
    # given two stores on one schema, as two processes would have
    first, second = await open_store(), await open_store()

    async def append_some(store: PostgresEventStore, name: str) -> None:
        for start in range(0, 120, 40):
            await asyncio.gather(
                *(
                    store.append(f"note-{name}-{index % 7}", [event(), event()])
                    for index in range(start, start + 40)
                )
            )

    # when both append at once, to streams of their own and to shared ones
    await asyncio.gather(append_some(first, "a"), append_some(second, "b"), append_some(first, "a"))

    # then the log has every position once, the chain holds, and versions have no gaps
    events = await second.read_all(limit=10_000)
    assert [e.position for e in events] == list(range(1, 721))
    report = await verify_log(first)
    assert (report.count, report.broken) == (720, None)
    for stream_id in {e.stream_id for e in events}:
        versions = [e.version for e in events if e.stream_id == stream_id]
        assert versions == list(range(1, len(versions) + 1))
        assert (await first.get_stream(stream_id)) == (await second.get_stream(stream_id))


async def test_two_processes_expecting_the_same_version_one_wins(open_store: OpenStore) -> None:
    # given a stream at version 1 and two processes
    first, second = await open_store(), await open_store()
    await first.append("note-shared", [event()])

    # when both append expecting version 1
    outcomes = await asyncio.gather(
        first.append("note-shared", [event()], expected_version=1),
        second.append("note-shared", [event()], expected_version=1),
        return_exceptions=True,
    )

    # then one is stored and the other hears the version it lost to
    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "AppendResult",
        "ConcurrencyError",
    ]
    conflict = next(o for o in outcomes if isinstance(o, ConcurrencyError))
    assert conflict.current_version == 2
    assert await second.stream_version("note-shared") == 2


async def test_a_retry_through_another_process_gets_the_first_answer(
    open_store: OpenStore,
) -> None:
    # given events appended through one process
    first, second = await open_store(), await open_store()
    sent = [event(), event()]
    original = await first.append("note-a", sent, expected_version="no_stream")

    # when a client retries them through another
    retried = await second.append("note-a", sent, expected_version="no_stream")

    # then it gets the original positions and nothing is stored twice
    assert retried.created is False
    assert retried.events == original.events
    assert len(await first.read_all()) == 2


async def test_migrations_run_once_however_often_the_schema_is_opened(
    open_store: OpenStore, schema: str
) -> None:
    # given a fresh schema opened by three processes at once, then closed by one
    stores = await asyncio.gather(*(open_store() for _ in range(3)))
    await stores[0].append("note-a", [event()])
    await stores[0].close()

    # when it is opened again
    reopened = await open_store()

    # then each migration was recorded once and the log is as it was
    rows = await sql(f'SELECT version FROM "{schema}".schema_version')
    assert [row[0] for row in rows] == list(range(1, LATEST_VERSION + 1))
    assert (await reopened.head()).position == 1


async def undo_migration_6(schema: str) -> None:
    """Give the schema back what migration 6 took (the tallies' tables and column, filled
    with counts that are not the streams'), as a schema written before it."""
    s = f'"{schema}"'
    for statement in load_migrations("postgres", {"schema": s})[1].statements:
        await sql(statement)
    await sql(f"INSERT INTO {s}.mission_tallies VALUES ('mission-x', 'note', 99)")
    await sql(f"DELETE FROM {s}.schema_version WHERE version >= 6")


async def test_a_schema_whose_tallies_the_store_kept_gets_the_missions_projection(
    schema: str,
) -> None:
    # given a schema with streams of two missions, as written before migration 6
    from tests.store_rules import labels, proposed, recount, tallies_projection

    store = await PostgresEventStore.open(URL, TallyRules(), schema=schema)
    await store.append("note-a", [proposed("Sent", b'{"mission":"mission-x"}')])
    await store.append("protest-b", [proposed("Sent", b'{"mission":"mission-x"}')])
    await store.append("note-c", [proposed("Sent", b'{"mission":"mission-y"}'), proposed("Closed")])
    await store.close()
    await undo_migration_6(schema)

    # when it is opened with the mission tallies registered, then the store's own tables
    # are gone and the projection counted the streams
    store = await PostgresEventStore.open(
        URL, TallyRules(), schema=schema, projections=[tallies_projection()]
    )
    try:
        tables = await sql("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        assert not {"mission_tallies", "mission_latest"} & {row[0] for row in tables}
        rows = await store.list_streams_after()
        assert await read_tallies(store) == recount(rows, labels)
        assert [t.mission for t in await read_tallies(store)] == ["mission-x", "mission-y"]
        await store.append("note-a", [proposed("Closed")])
        assert (await read_tallies(store))[0].counts == {"note": 1, "protest": 1, "protest:open": 1}
    finally:
        await store.close()


async def test_migration_3_re_encodes_snapshots_that_carry_their_events(schema: str) -> None:
    # given a schema at version 2 whose snapshots still carry the stream's events
    from tests.store_rules import TallyRules, proposed

    store = await PostgresEventStore.open(URL, TallyRules(), schema=schema)
    await store.append("note-a", [proposed("Sent", b'{"mission":"mission-x"}'), proposed()])
    before = await store.get_stream("note-a")
    await store.close()
    await undo_migration_6(schema)
    s = f'"{schema}"'
    await sql(
        f"UPDATE {s}.streams SET state = convert_to("
        "  (convert_from(state, 'UTF8')::jsonb || '{\"history\": [1, 2]}')::text, 'UTF8')"
    )
    await sql(f"DROP TABLE {s}.store_counters")
    await sql(f"DELETE FROM {s}.schema_version WHERE version >= 3")
    rows = await sql(f"SELECT state FROM {s}.streams")
    assert all(b"history" in bytes(row[0]) for row in rows)

    # when it is opened again, then the snapshot is what the rules encode now
    store = await PostgresEventStore.open(URL, TallyRules(), schema=schema)
    try:
        assert await store.get_stream("note-a") == before
    finally:
        await store.close()


async def test_states_are_kept_compressed_and_json_rows_of_older_schemas_read_as_they_were(
    schema: str,
) -> None:
    # given a schema with a long and a short stream, the long state stored as a zstd frame
    store = await PostgresEventStore.open(URL, TallyRules(), schema=schema)
    for stream_id in ("note-long", "note-old"):
        await store.append(stream_id, [proposed("Sent") for _ in range(40)])
    await store.append("note-short", [proposed()])
    await store.close()
    s = f'"{schema}"'
    stored = {row[0]: row[1] for row in await sql(f"SELECT stream_id, state FROM {s}.streams")}
    assert stored["note-long"].startswith(stored_states.MAGIC)
    assert stored["note-short"].startswith(b"{")
    # and one long row rewritten as the JSON the store wrote before it compressed them
    json = stored_states.unpack(stored["note-old"])
    await sql(f"UPDATE {s}.streams SET state = $1 WHERE stream_id = 'note-old'", json)

    # when the schema is opened again
    store = await PostgresEventStore.open(URL, TallyRules(), schema=schema)
    try:
        # then every state reads as its JSON, and replay finds no difference
        rows = await store.list_streams_after(None, 10)
        assert [tally(row.state).count for row in rows] == [40, 40, 1]
        for row in rows:
            assert await store.get_stream(row.stream_id) == row
        report = await replay(store, TallyRules())
        assert (report.streams, report.differences) == (3, [])
    finally:
        await store.close()


async def test_a_schema_from_newer_code_is_refused(open_store: OpenStore, schema: str) -> None:
    # given a schema that newer code migrated further
    await (await open_store()).close()
    await sql(
        f'INSERT INTO "{schema}".schema_version VALUES ($1, $2, now())', LATEST_VERSION + 1, "new"
    )

    # when it is opened, then this code refuses it
    with pytest.raises(RuntimeError, match="at schema version"):
        await open_store()


async def test_a_url_naming_a_schema_keeps_the_log_there(schema: str) -> None:
    # given a database URL that names a schema
    from incidents.domain.rules import DomainRules
    from incidents.store.factory import open_store as open_url

    separator = "&" if "?" in URL else "?"
    url = f"{URL}{separator}schema={schema}"

    # when the service's factory opens it and an event is appended
    store = await open_url(url, DomainRules())
    try:
        registered = b'{"sending_state":"AZ","receiving_state":"FR","city":"Paris",'
        registered += b'"kind":"embassy","name":"Embassy of AZ in FR"}'
        await store.append(
            "mission-az-paris", [ProposedEvent(uuid.uuid4(), "MissionRegistered", registered)]
        )
    finally:
        await store.close()

    # then the event is in that schema's tables; a URL naming no schema, or two, is refused
    rows = await sql(f'SELECT stream_id FROM "{schema}".events')
    assert [row[0] for row in rows] == ["mission-az-paris"]
    with pytest.raises(ValueError, match="one schema"):
        await open_url(f"{URL}{separator}schema=a&schema=b", DomainRules())
    with pytest.raises(ValueError, match="one schema"):
        await open_url(f"{URL}{separator}schema=", DomainRules())


async def test_everything_acknowledged_is_there_after_reopening(open_store: OpenStore) -> None:
    # given appends (one with its own time, in another zone, and non-canonical JSON)
    store = await open_store()
    late = datetime(2022, 8, 17, 9, 30, 1, 654321, tzinfo=timezone(timedelta(hours=5)))
    # jsonb would reorder these keys and drop the spaces; the hash covers the bytes.
    await store.append("note-a", [event(data=b'{"z": 1,  "a": [2, 1]}', occurred_at=late)])
    await store.append_many(
        [AppendRequest("note-a", [event(), event()]), AppendRequest("protest-b", [event()])]
    )
    before = await store.read_all()
    streams_before = await store.list_streams("note")
    head_before = await store.head()
    await store.close()

    # when the schema is opened again
    reopened = await open_store()

    # then every event, byte and microsecond is as acknowledged, and the log goes on
    after = await reopened.read_all()
    assert after == before
    assert bytes(after[0].data) == b'{"z": 1,  "a": [2, 1]}'
    assert after[0].occurred_at == late.astimezone(UTC)
    assert after[0].occurred_at.tzinfo == UTC
    assert after[1].occurred_at == after[1].recorded_at >= after[0].recorded_at
    assert await reopened.list_streams("note") == streams_before
    assert await reopened.head() == head_before
    assert (await verify_log(reopened)).broken is None
    result = await reopened.append("note-a", [event()], expected_version=3)
    assert result.events[0].position == 5


def test_appends_acknowledged_before_the_process_dies_are_stored(schema: str) -> None:
    # given a process that appends, prints what was acknowledged and dies without closing
    program = textwrap.dedent(
        f"""
        import asyncio, os
        from incidents.store.postgres import PostgresEventStore
        from tests.store_rules import TallyRules, proposed

        async def main():
            store = await PostgresEventStore.open({URL!r}, TallyRules(), schema={schema!r})
            results = await asyncio.gather(
                *(store.append("incident-k", [proposed()]) for _ in range(25))
            )
            print(max(r.events[0].position for r in results), flush=True)
            os._exit(0)

        asyncio.run(main())
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=Path(__file__).parents[2],
    )

    # when the schema is read afterwards
    rows = asyncio.run(sql(f'SELECT count(*), max(position) FROM "{schema}".events'))

    # then every acknowledged event is there
    assert completed.stdout.strip() == "25"
    assert [tuple(row) for row in rows] == [(25, 25)]


async def test_close_finishes_the_appends_already_submitted(open_store: OpenStore) -> None:
    # given appends submitted but not yet written
    store = await open_store()
    tasks = [asyncio.create_task(store.append("note-d", [event()])) for _ in range(30)]
    await asyncio.sleep(0)

    # when the store is closed at once
    await store.close()

    # then every one of them was stored and acknowledged, and reads are refused
    results = await asyncio.gather(*tasks)
    assert sorted(r.version for r in results) == list(range(1, 31))
    with pytest.raises(StoreUnavailableError):
        await store.read_all()
    with pytest.raises(StoreUnavailableError):
        await store.append("note-d", [event()])
    assert len(await (await open_store()).read_all()) == 30


async def test_a_row_changed_behind_the_stores_back_breaks_the_chain_there(
    open_store: OpenStore, schema: str
) -> None:
    # given a log whose chain holds
    store = await open_store()
    for index in range(5):
        await store.append(f"note-{index}", [event(data=b'{"amount":10}')])
    assert (await verify_log(store)).broken is None

    # when one event's data is changed by hand
    await sql(f'UPDATE "{schema}".events SET data = $1 WHERE position = 3', b'{"amount":11}')

    # then the walk stops at that position
    report = await verify_log(store)
    assert report.broken is not None
    assert report.broken.position == 3
    assert report.count == 2


async def test_a_deleted_event_shows_as_a_gap(open_store: OpenStore, schema: str) -> None:
    # given a log of four events
    store = await open_store()
    for index in range(4):
        await store.append(f"note-{index}", [event()])

    # when one is deleted by hand
    await sql(f'DELETE FROM "{schema}".events WHERE position = 2')

    # then the walk reports the missing position
    report = await verify_log(store)
    assert report.broken is not None
    assert (report.broken.position, report.count) == (2, 1)
    assert "missing" in report.broken.reason


async def test_a_unique_violation_from_an_unlocked_writer_is_a_conflict_for_that_append_alone(
    open_store: OpenStore, schema: str
) -> None:
    # given a stream whose version 2 something wrote without the lock or the streams row
    store = await open_store()
    await store.append("note-a", [event()])
    await sql(
        f'INSERT INTO "{schema}".events SELECT 2, stream_id, 2, $1, type, category, data,'
        " metadata, occurred_at, recorded_at, hash FROM"
        f' "{schema}".events WHERE position = 1',
        uuid.uuid4(),
    )

    # when an append to it and one to another stream are written together
    outcomes = await asyncio.gather(
        store.append("note-a", [event()], expected_version=1),
        store.append("note-b", [event()]),
        return_exceptions=True,
    )

    # then the first is a conflict naming the true version, and the second is stored
    conflict, appended = outcomes
    assert isinstance(conflict, ConcurrencyError)
    assert (conflict.stream_id, conflict.current_version) == ("note-a", 2)
    assert not isinstance(appended, BaseException)
    assert appended.events[0].position == 3


async def test_text_the_database_cannot_hold_is_an_invalid_append_not_a_server_fault(
    open_store: OpenStore,
) -> None:
    # given an append whose type holds a NUL (Postgres text cannot) and a good one
    store = await open_store()

    # when both are written together
    outcomes = await asyncio.gather(
        store.append("note-a", [event("Nul\x00Type")]),
        store.append("note-b", [event()]),
        return_exceptions=True,
    )

    # then the first is invalid and the second is stored
    assert isinstance(outcomes[0], InvalidAppendError)
    assert not isinstance(outcomes[1], BaseException)
    assert [e.stream_id for e in await store.read_all()] == ["note-b"]


async def test_a_write_lock_held_too_long_elsewhere_is_unavailable_then_recovers(
    open_store: OpenStore, schema: str
) -> None:
    # given a store that waits 0.2 s for the log and another session holding it
    store = await open_store(Settings(busy_timeout=0.2))
    holder = await asyncpg.connect(URL)
    try:
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", _lock_key("append", schema))

            # when it appends, then it is refused as busy
            with pytest.raises(StoreBusyError):
                await store.append("note-a", [event()])
    finally:
        await holder.close()

    # and once the lock is free, it appends again
    result = await store.append("note-a", [event()])
    assert result.events[0].position == 1


async def test_connections_the_server_closed_are_replaced_without_failing_a_request(
    open_store: OpenStore, schema: str
) -> None:
    # given a store that has written and read
    store = await open_store()
    await store.append("note-a", [event()])
    await store.read_all()
    application = f"incidents:{schema}"[:63]

    # when the server ends all its sessions (a restart, an idle timeout)
    killed = await sql(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        application,
    )
    assert len(killed) >= 2  # the writer and a pooled reader
    pids = [row[0] for row in killed]
    for _ in range(500):  # the sessions end a moment after they are told to
        if not await sql("SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1)", pids):
            break
        await asyncio.sleep(0.01)

    # then the next append and read reconnect instead of failing
    result = await store.append("note-a", [event()])
    assert result.events[0].position == 2
    assert [e.version for e in await store.read_stream("note-a")] == [1, 2]
    assert (await verify_log(store)).broken is None


async def test_a_watcher_hears_of_another_processs_commit_without_waiting_for_a_poll(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a watcher in one process, polling the head too rarely to matter: only LISTEN/
    # NOTIFY can tell it of a commit before the failsafe
    for interval in ("HEAD_POLL_INTERVAL", "LISTEN_POLL_INTERVAL"):
        monkeypatch.setattr(postgres_module, interval, FAILSAFE_SECONDS * 10)
    writer, watcher = await open_store(), await open_store()
    heads = watcher.watch()
    assert await anext(heads) == 0

    # when another process appends
    await writer.append("note-a", [event(), event()])

    # then the watcher yields the new head without a poll, and ends on close
    assert await asyncio.wait_for(anext(heads), FAILSAFE_SECONDS) == 2
    await watcher.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(heads), FAILSAFE_SECONDS)


async def test_a_commit_whose_notification_is_lost_is_found_by_the_slow_poll(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a watcher that listens but hears no notification (as when one is lost with its
    # connection), and polls the head often enough for the test
    monkeypatch.setattr(postgres_module, "LISTEN_POLL_INTERVAL", 0.05)
    writer, watcher = await open_store(), await open_store()
    monkeypatch.setattr(watcher, "_on_notification", lambda *_: None)
    heads = watcher.watch()
    assert await anext(heads) == 0

    # when another process appends
    await writer.append("note-a", [event(), event()])

    # then the safety net's poll finds the new head
    assert await asyncio.wait_for(anext(heads), FAILSAFE_SECONDS) == 2
    await watcher.close()


async def test_an_unreachable_server_is_unavailable() -> None:
    with pytest.raises(ConnectionLostError):
        await PostgresEventStore.open("postgresql://postgres@127.0.0.1:1/test", CountingRules())


async def test_a_schema_name_must_be_a_plain_identifier() -> None:
    with pytest.raises(ValueError, match="schema"):
        await PostgresEventStore.open(URL, CountingRules(), schema='x"; DROP TABLE y; --')


class PostgresStoreMachine(StoreMachine):
    """The store's stateful property test (see its module) on a schema of its own."""

    async def open_store(self) -> EventStore:
        return await open_scratch_store(TallyRules())


TestPostgresStore = pytest.mark.skipif(
    not server_answers(), reason="no PostgreSQL server answers on 127.0.0.1:5432"
)(PostgresStoreMachine.TestCase)
TestPostgresStore.settings = settings(
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


async def test_states_are_packed_with_a_dictionary_trained_from_the_log_and_read_anywhere(
    schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a schema whose first 50 states were written without a dictionary (dictionaries
    # trained from 50 states, 1 KiB each: the tests' states are small)
    monkeypatch.setattr(stored_states, "TRAINING_STATES", 50)
    monkeypatch.setattr(stored_states, "DICTIONARY_BYTES", 1024)
    types = ("Sent", "Closed", "Noted", "Reopened", "Answered")
    # (data long enough that a frame is smaller than its JSON)
    data = b'{"text":"' + b"the embassy answered the note " * 4 + b'"}'
    store = await PostgresEventStore.open(URL, TallyRules(), schema=schema)
    appended = {}
    for i in range(60):
        count = 20 + i % 30
        appended[i] = [
            proposed(types[(count * 7 + j * j) % len(types)], data) for j in range(count)
        ]
        await store.append(f"note-{i:02}", appended[i])
    await store.close()

    # then the writer trained one dictionary from them and stored it, and the states it
    # wrote after that name it
    s = f'"{schema}"'
    (dictionary_id,) = [row[0] for row in await sql(f"SELECT * FROM {s}.state_dictionaries")]
    stored = {row[0]: row[1] for row in await sql(f"SELECT stream_id, state FROM {s}.streams")}
    named = [
        zstandard.get_frame_parameters(stored[f"note-{i:02}"]).dict_id
        if stored[f"note-{i:02}"].startswith(stored_states.MAGIC)
        else -1
        for i in range(60)
    ]
    assert set(named[:50]) <= {0, -1}
    assert named[50:] == [dictionary_id] * 10
    # and so do the events' data it wrote after that, the earlier ones JSON
    rows = await sql(f"SELECT stream_id, data FROM {s}.events WHERE version = 1")
    first_data = {row[0]: row[1] for row in rows}
    assert all(first_data[f"note-{i:02}"].startswith(b"{") for i in range(50))
    assert all(
        zstandard.get_frame_parameters(first_data[f"note-{i:02}"]).dict_id == dictionary_id
        for i in range(50, 60)
    )

    # when a process that never read the dictionary opens the schema
    def forget() -> None:
        monkeypatch.setattr(stored_states, "_dictionaries", {})
        monkeypatch.setattr(stored_states, "_contexts", stored_states._Contexts())

    forget()
    store = await PostgresEventStore.open(URL, TallyRules(), schema=schema)
    try:
        # then its reads load it: every state reads as its JSON, every event's data as it
        # was appended
        for i in (3, 57):
            read = await store.read_stream(f"note-{i:02}")
            assert [bytes(e.data) for e in read] == [bytes(e.data) for e in appended[i]]
        forget()
        # and a retried append of stored events is answered as the first was
        again = await store.append("note-56", appended[56])
        assert [e.version for e in again.events] == list(range(1, len(appended[56]) + 1))
        forget()
        rows = await store.list_streams_after(None, 100)
        assert [tally(row.state).count for row in rows] == [20 + i % 30 for i in range(60)]
        assert await store.get_stream("note-55") == rows[55]
        # and so does its writer, appending to a stream packed with it
        await store.append("note-01", [proposed("Sent")])
        forget()
        await store.append("note-58", [proposed("Sent")])
        assert tally((await store.get_stream("note-58")).state).count == 20 + 58 % 30 + 1  # type: ignore[union-attr]
        forget()
        report = await replay(store, TallyRules())
        assert (report.streams, report.differences) == (60, [])
    finally:
        await store.close()
    assert len(await sql(f"SELECT * FROM {s}.state_dictionaries")) == 1
