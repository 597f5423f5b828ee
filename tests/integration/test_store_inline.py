"""Inline projections kept in the append's transaction, on every adapter (memory, SQLite,
PostgreSQL), with the small projection of tests/inline_projection.py under TallyRules.

Each test reads given / when / then.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from incidents.store.postgres import PostgresEventStore
from incidents.store.protocol import (
    AppendRequest,
    EventStore,
    InvalidAppendError,
    RuleViolation,
    StoreUnavailableError,
)
from incidents.store.sqlite import SqliteEventStore
from tests.inline_projection import (
    CountsProjection,
    EventLine,
    StreamLine,
    event_lines,
    stream_lines,
)
from tests.integration.test_store_postgres import URL, server_answers
from tests.store_rules import TallyRules, proposed

pytestmark = pytest.mark.keeps.with_args(CountsProjection)


async def streams(store: EventStore) -> list[StreamLine]:
    return stream_lines(store.engine, await store.query("counts", "streams"))


async def events(store: EventStore) -> list[EventLine]:
    return event_lines(store.engine, await store.query("counts", "events", (0,)))


async def expected_events(store: EventStore) -> list[EventLine]:
    """What the events table should hold: the log's events of the handled types."""
    return [
        (e.position, e.stream_id, e.type, e.occurred_at, e.recorded_at)
        for e in await store.read_all(limit=10_000)
        if e.type in CountsProjection.handles
    ]


async def test_a_projection_s_rows_are_written_with_the_append(store: EventStore) -> None:
    # given an empty log
    assert await streams(store) == []
    # when one request appends to two streams, one of them closed by an unhandled type
    await store.append_many(
        [
            AppendRequest("note-1", [proposed(), proposed("Closed")]),
            AppendRequest("note-2", [proposed(data=b'{"mission":"mission-fr"}')]),
        ]
    )
    # then the projection's rows are there as soon as the append returns
    assert await streams(store) == [
        ("note-1", 2, None, False, False),
        ("note-2", 1, "mission-fr", True, False),
    ]
    # and its events are those of the types it handles, with the log's positions and times
    found = await events(store)
    assert [(line[1], line[2]) for line in found] == [("note-1", "Noted"), ("note-2", "Noted")]
    assert found == await expected_events(store)


async def test_a_stream_appended_to_again_has_its_row_moved(store: EventStore) -> None:
    # given a stream with a row
    await store.append("note-1", [proposed()])
    # when it is appended to twice more, one request at a time and two in one batch
    await store.append("note-1", [proposed(data=b'{"mission":"mission-a"}')])
    await asyncio.gather(
        store.append("note-1", [proposed()]), store.append("note-1", [proposed("Closed")])
    )
    # then its one row is its latest state
    assert await streams(store) == [("note-1", 4, "mission-a", False, False)]
    assert await events(store) == await expected_events(store)


async def test_a_unit_the_rules_refuse_leaves_no_row(store: EventStore) -> None:
    # given a stream with a row
    await store.append("note-1", [proposed()])
    before = (await streams(store), await events(store))
    # when an append the rules refuse is sent
    with pytest.raises(RuleViolation):
        await store.append_many(
            [
                AppendRequest("note-2", [proposed()]),
                AppendRequest("note-1", [proposed("Forbidden")]),
            ]
        )
    # then no row of it is written, not even of the stream it would have opened
    assert (await streams(store), await events(store)) == before


async def test_a_unit_the_projection_refuses_fails_alone_and_leaves_no_row(
    store: EventStore,
) -> None:
    # given an empty log
    # when an event the projection's table refuses is appended with others at once
    outcomes = await asyncio.gather(
        store.append("note-1", [proposed()]),
        store.append("note-2", [proposed("Unwelcome")]),
        store.append("note-3", [proposed()]),
        return_exceptions=True,
    )
    # then that append fails, naming the projection, and the others are stored
    refused = outcomes[1]
    assert isinstance(refused, InvalidAppendError)
    assert "counts projection refused" in str(refused)
    assert not isinstance(outcomes[0], BaseException)
    assert not isinstance(outcomes[2], BaseException)
    # and the log holds none of it, the projection no row of it
    assert {e.stream_id for e in await store.read_all()} == {"note-1", "note-3"}
    assert [line[0] for line in await streams(store)] == ["note-1", "note-3"]
    assert await events(store) == await expected_events(store)


async def test_a_batch_the_database_fails_leaves_no_row_and_no_event(store: EventStore) -> None:
    # given a stream with a row
    await store.append("note-1", [proposed()])
    head = await store.head()
    before = (await streams(store), await events(store))
    # when a projection's statement fails in the database (a table that is not there)
    with pytest.raises(StoreUnavailableError):
        await store.append_many(
            [AppendRequest("note-1", [proposed()]), AppendRequest("note-2", [proposed("Explode")])]
        )
    # then the whole batch was rolled back: no event, no row
    assert await store.head() == head
    assert (await streams(store), await events(store)) == before
    # and the next append is stored with its rows
    await store.append("note-2", [proposed()])
    assert [line[:2] for line in await streams(store)] == [("note-1", 1), ("note-2", 1)]


async def test_replaced_snapshots_move_the_projection_s_rows(store: EventStore) -> None:
    # given a stream with a row
    await store.append("note-1", [proposed()])
    row = await store.get_stream("note-1")
    assert row is not None
    # when its snapshot is replaced by one that names a mission and is closed
    from incidents.store.protocol import StreamSnapshot

    await store.replace_snapshots({"note-1": StreamSnapshot(bytes(row.state), "mission-b")})
    # then the projection's row follows, with the version unchanged
    assert await streams(store) == [("note-1", 1, "mission-b", False, False)]


async def test_a_rebuild_fills_the_tables_afresh_from_the_log(store: EventStore) -> None:
    # given streams written live
    await store.append("note-1", [proposed(), proposed("Closed")])
    await store.append("note-2", [proposed(data=b'{"mission":"mission-fr"}')])
    await store.append("note-2", [proposed()])
    live = await streams(store)
    live_events = await events(store)
    # when the projection is rebuilt from the log
    await store.rebuild("counts")
    # then every row is written again by the rebuild, with the same values
    assert await streams(store) == [(*line[:4], True) for line in live]
    assert await events(store) == live_events
    # and appends after it are kept as before
    await store.append("note-3", [proposed()])
    assert (await streams(store))[-1] == ("note-3", 1, None, True, False)


async def test_reads_and_rebuilds_of_what_is_not_registered_are_refused(
    store: EventStore,
) -> None:
    with pytest.raises(ValueError, match="nowhere"):
        await store.query("counts", "nowhere")
    with pytest.raises(ValueError, match="other"):
        await store.query("other", "streams")
    with pytest.raises(ValueError, match="other"):
        await store.rebuild("other")


@pytest.mark.parametrize("adapter", ["sqlite", "postgres"])
async def test_a_projection_registered_on_a_populated_log_is_filled_from_it(
    adapter: str, tmp_path: Path
) -> None:
    if adapter == "postgres" and not server_answers():
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    schema = f"test_inline_{uuid.uuid4().hex[:12]}"

    async def opened(*projections: CountsProjection) -> EventStore:
        if adapter == "sqlite":
            return await SqliteEventStore.open(
                str(tmp_path / "store.db"), TallyRules(), projections=projections
            )
        return await PostgresEventStore.open(
            URL, TallyRules(), schema=schema, projections=projections
        )

    async def with_projection(then_append: bool) -> tuple[list[StreamLine], bool]:
        """Open with the projection: its rows, whether its events are the log's; append
        to note-2 before closing when asked."""
        store = await opened(CountsProjection())
        try:
            found = await streams(store), await events(store) == await expected_events(store)
            if then_append:
                await store.append("note-2", [proposed()])
            return found
        finally:
            await store.close()

    try:
        # given a log written without the projection
        store = await opened()
        await store.append("note-1", [proposed(), proposed("Closed")])
        await store.append("note-2", [proposed(data=b'{"mission":"mission-fr"}')])
        await store.close()
        # when it is opened with the projection registered (and appended to)
        # then its tables hold the whole log, written by the rebuild
        assert await with_projection(then_append=True) == (
            [("note-1", 2, None, False, True), ("note-2", 1, "mission-fr", True, True)],
            True,
        )
        # and opening it again rebuilds nothing (its version is recorded); the append
        # made with it registered is there
        assert await with_projection(then_append=False) == (
            [("note-1", 2, None, False, True), ("note-2", 2, "mission-fr", True, False)],
            True,
        )
    finally:
        if adapter == "postgres":
            connection = await asyncpg.connect(URL)
            try:
                await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await connection.close()
