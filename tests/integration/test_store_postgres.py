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
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import msgspec
import pytest

from incidents.settings import Settings
from incidents.store.chain import verify_log
from incidents.store.postgres import LATEST_VERSION, PostgresEventStore
from incidents.store.protocol import (
    AppendRequest,
    ConcurrencyError,
    InvalidAppendError,
    ProposedEvent,
    RecordedEvent,
    RuleViolation,
    StoreUnavailableError,
    StreamRules,
    StreamSnapshot,
)

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

    def apply(
        self, stream_id: str, current: StreamSnapshot | None, events: Sequence[RecordedEvent]
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


async def open_scratch_store(rules: StreamRules) -> PostgresEventStore:
    """A fresh store on a new schema, for ``tests/conftest.py``'s ``store`` fixture; skips
    the test when no server answers on 127.0.0.1:5432."""
    if not server_answers():
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    schema = f"test_contract_{uuid.uuid4().hex[:16]}"
    store = await ScratchPostgresStore.open(URL, rules, schema=schema)
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
    first, second = await open_store(), await open_store()

    async def append_some(store: PostgresEventStore, name: str) -> None:
        for start in range(0, 120, 40):
            await asyncio.gather(
                *(
                    store.append(f"note-{name}-{index % 7}", [event(), event()])
                    for index in range(start, start + 40)
                )
            )

    await asyncio.gather(append_some(first, "a"), append_some(second, "b"), append_some(first, "c"))

    events = await second.read_all(limit=10_000)
    assert [e.position for e in events] == list(range(1, 721))
    report = await verify_log(first)
    assert (report.count, report.broken) == (720, None)
    for stream_id in {e.stream_id for e in events}:
        versions = [e.version for e in events if e.stream_id == stream_id]
        assert versions == list(range(1, len(versions) + 1))
        assert (await first.get_stream(stream_id)) == (await second.get_stream(stream_id))


async def test_two_processes_expecting_the_same_version_one_wins(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    await first.append("note-shared", [event()])

    outcomes = await asyncio.gather(
        first.append("note-shared", [event()], expected_version=1),
        second.append("note-shared", [event()], expected_version=1),
        return_exceptions=True,
    )

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
    first, second = await open_store(), await open_store()
    sent = [event(), event()]
    original = await first.append("note-a", sent, expected_version="no_stream")

    retried = await second.append("note-a", sent, expected_version="no_stream")

    assert retried.created is False
    assert retried.events == original.events
    assert len(await first.read_all()) == 2


async def test_migrations_run_once_however_often_the_schema_is_opened(
    open_store: OpenStore, schema: str
) -> None:
    stores = await asyncio.gather(*(open_store() for _ in range(3)))
    await stores[0].append("note-a", [event()])
    await stores[0].close()

    reopened = await open_store()

    rows = await sql(f'SELECT version FROM "{schema}".schema_version')
    assert [row[0] for row in rows] == [LATEST_VERSION]
    assert (await reopened.head()).position == 1


async def test_a_schema_from_newer_code_is_refused(open_store: OpenStore, schema: str) -> None:
    await (await open_store()).close()
    await sql(
        f'INSERT INTO "{schema}".schema_version VALUES ($1, $2, now())', LATEST_VERSION + 1, "new"
    )

    with pytest.raises(RuntimeError, match="at version"):
        await open_store()


async def test_everything_acknowledged_is_there_after_reopening(open_store: OpenStore) -> None:
    store = await open_store()
    late = datetime(2022, 8, 17, 9, 30, 1, 654321, tzinfo=timezone(timedelta(hours=5)))
    # Not canonical on purpose: jsonb would reorder the keys and drop the spaces.
    await store.append("note-a", [event(data=b'{"z": 1,  "a": [2, 1]}', occurred_at=late)])
    await store.append_many(
        [AppendRequest("note-a", [event(), event()]), AppendRequest("protest-b", [event()])]
    )
    before = await store.read_all()
    streams_before = await store.list_streams("note")
    head_before = await store.head()
    await store.close()

    reopened = await open_store()

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


async def test_a_row_changed_behind_the_stores_back_breaks_the_chain_there(
    open_store: OpenStore, schema: str
) -> None:
    store = await open_store()
    for index in range(5):
        await store.append(f"note-{index}", [event(data=b'{"amount":10}')])
    assert (await verify_log(store)).broken is None

    await sql(f'UPDATE "{schema}".events SET data = $1 WHERE position = 3', b'{"amount":11}')

    report = await verify_log(store)
    assert report.broken is not None
    assert report.broken.position == 3
    assert report.count == 2


async def test_a_unique_violation_from_an_unlocked_writer_is_a_conflict_for_that_append_alone(
    open_store: OpenStore, schema: str
) -> None:
    store = await open_store()
    await store.append("note-a", [event()])
    # Something that ignores the store's lock writes version 2 but not the streams row.
    await sql(
        f'INSERT INTO "{schema}".events SELECT 2, stream_id, 2, $1, type, category, data,'
        " metadata, occurred_at, recorded_at, hash FROM"
        f' "{schema}".events WHERE position = 1',
        uuid.uuid4(),
    )

    outcomes = await asyncio.gather(
        store.append("note-a", [event()], expected_version=1),
        store.append("note-b", [event()]),
        return_exceptions=True,
    )

    conflict, appended = outcomes
    assert isinstance(conflict, ConcurrencyError)
    assert (conflict.stream_id, conflict.current_version) == ("note-a", 2)
    assert not isinstance(appended, BaseException)
    assert appended.events[0].position == 3


async def test_text_the_database_cannot_hold_is_an_invalid_append_not_a_server_fault(
    open_store: OpenStore,
) -> None:
    store = await open_store()

    outcomes = await asyncio.gather(
        store.append("note-a", [event("Nul\x00Type")]),
        store.append("note-b", [event()]),
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], InvalidAppendError)
    assert not isinstance(outcomes[1], BaseException)
    assert [e.stream_id for e in await store.read_all()] == ["note-b"]


async def test_a_write_lock_held_too_long_elsewhere_is_unavailable_then_recovers(
    open_store: OpenStore, schema: str
) -> None:
    store = await open_store(Settings(busy_timeout=0.2))
    from incidents.store.postgres import _lock_key

    holder = await asyncpg.connect(URL)
    try:
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", _lock_key("append", schema))
            with pytest.raises(StoreUnavailableError):
                await store.append("note-a", [event()])
    finally:
        await holder.close()

    result = await store.append("note-a", [event()])
    assert result.events[0].position == 1


async def test_connections_the_server_closed_are_replaced_without_failing_a_request(
    open_store: OpenStore, schema: str
) -> None:
    store = await open_store()
    await store.append("note-a", [event()])
    await store.read_all()

    killed = await sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        f"incidents:{schema}"[:63],
    )
    assert len(killed) >= 2  # the writer and a pooled reader

    result = await store.append("note-a", [event()])
    assert result.events[0].position == 2
    assert [e.version for e in await store.read_stream("note-a")] == [1, 2]
    assert (await verify_log(store)).broken is None


async def test_a_watcher_hears_of_another_processs_commit_without_waiting_for_a_poll(
    open_store: OpenStore,
) -> None:
    writer, watcher = await open_store(), await open_store()
    heads = watcher.watch()
    assert await anext(heads) == 0

    await writer.append("note-a", [event(), event()])

    assert await asyncio.wait_for(anext(heads), 2.0) == 2
    await watcher.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(heads), 2.0)


async def test_an_unreachable_server_is_unavailable() -> None:
    with pytest.raises(StoreUnavailableError):
        await PostgresEventStore.open("postgresql://postgres@127.0.0.1:1/test", CountingRules())


async def test_a_schema_name_must_be_a_plain_identifier() -> None:
    with pytest.raises(ValueError, match="schema"):
        await PostgresEventStore.open(URL, CountingRules(), schema='x"; DROP TABLE y; --')
