"""What only the SQLite store has to prove: the file, its schema, several processes on it,
tampering, a locked database, and database trouble turned into the port's errors.

The behaviour every adapter shares is in test_store_contract.py.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import zstandard
from hypothesis import HealthCheck, settings

from incidents.projections.missions import read_tallies
from incidents.projections.replay import replay
from incidents.store import sqlite as sqlite_module
from incidents.store import stored_states
from incidents.store import writer as writer_module
from incidents.store.chain import verify_log
from incidents.store.factory import open_store
from incidents.store.memory import MemoryEventStore
from incidents.store.migrations import LATEST_VERSION, MIGRATIONS
from incidents.store.protocol import (
    AppendResult,
    ConcurrencyError,
    CorruptStoreError,
    EventStore,
    ProposedEvent,
    ReadOnlyStoreError,
    StorageFullError,
    StoreBusyError,
    StoreUnavailableError,
    StreamSnapshot,
)
from incidents.store.sqlite import SqliteEventStore, apply_migrations
from tests.conftest import FAILSAFE_SECONDS
from tests.store_machine import StoreMachine
from tests.store_rules import (
    PagedReads,
    TallyRules,
    labels,
    proposed,
    recount,
    tallies_projection,
    tally,
)

TIME_TEXT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def open_file(path: Path, **options: Any) -> SqliteEventStore:
    return await SqliteEventStore.open(str(path), TallyRules(), **options)


def query(path: Path, sql: str, *parameters: object) -> list[tuple[object, ...]]:
    """Run one statement on a connection of its own, as another program would."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


async def test_a_reopened_file_has_every_acknowledged_event(tmp_path: Path) -> None:
    # given a store that took concurrent appends and was closed
    path = tmp_path / "log.db"
    store = await open_file(path)
    await asyncio.gather(*(store.append(f"note-{i % 3}", [proposed()]) for i in range(40)))
    head = await store.head()
    before = await store.read_all()
    await store.close()

    # when the file is opened again
    store = await open_file(path)
    try:
        # then the log, the head, the snapshots and the chain are as they were
        assert await store.read_all() == before
        assert await store.head() == head
        row = await store.get_stream("note-0")
        assert row is not None and tally(row.state).count == 14
        assert (await verify_log(store)).count == 40
        # and it goes on at the next position
        result = await store.append("note-0", [proposed()], 14)
        assert result.events[0].position == 41
    finally:
        await store.close()


def test_appends_acknowledged_before_the_process_dies_are_in_the_file(tmp_path: Path) -> None:
    # given a process that appends, prints what was acknowledged and dies without closing
    path = tmp_path / "crash.db"
    program = textwrap.dedent(
        f"""
        import asyncio, os, sys
        from incidents.store.sqlite import SqliteEventStore
        from tests.store_rules import TallyRules, proposed

        async def main():
            store = await SqliteEventStore.open({str(path)!r}, TallyRules())
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

    # when the file is read afterwards
    rows = query(path, "SELECT count(*), max(position) FROM events")

    # then every acknowledged event is there
    assert completed.stdout.strip() == "25"
    assert rows == [(25, 25)]


async def test_times_are_stored_as_fixed_width_utc_text(tmp_path: Path) -> None:
    # given an appended event
    path = tmp_path / "times.db"
    store = await open_file(path)
    await store.append("note-t", [proposed()])
    await store.close()

    # when its times are read straight from the file
    ((occurred, recorded, updated),) = query(
        path,
        "SELECT occurred_at, recorded_at, updated_at FROM events JOIN streams USING (stream_id)",
    )

    # then they are RFC 3339 UTC with microseconds, so they sort as text
    assert all(TIME_TEXT.match(str(text)) for text in (occurred, recorded, updated))


async def test_migrations_are_applied_once_and_reopening_applies_none(tmp_path: Path) -> None:
    # given a file opened and closed twice
    path = tmp_path / "schema.db"
    for _ in range(2):
        store = await open_file(path)
        await store.close()

    # when its schema version and tables are read
    versions = query(path, "SELECT version FROM schema_version")
    tables = {
        name for (name,) in query(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    }

    # then each migration ran once and a further run has nothing to do
    assert versions == [(v,) for v in range(1, LATEST_VERSION + 1)]
    assert {"events", "streams", "schema_version"} <= tables
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        assert apply_migrations(connection) == []
    finally:
        connection.close()
    assert query(path, "PRAGMA journal_mode") == [("wal",)]


def undo_migration_6(path: Path) -> None:
    """Give the file back what migration 6 took (the tallies' tables and column, filled
    with counts that are not the streams'), as a file written before it."""
    (_, _, undone, *_) = MIGRATIONS[1]
    for statement in undone:
        query(path, statement)
    query(path, "INSERT INTO mission_tallies VALUES ('mission-x', 'note', 99)")
    query(path, "DELETE FROM schema_version WHERE version >= 6")


async def test_a_file_whose_tallies_the_store_kept_gets_the_missions_projection(
    tmp_path: Path,
) -> None:
    # given a file with streams of two missions, as written before migration 6
    path = tmp_path / "v4.db"
    store = await open_file(path)
    await store.append("note-a", [proposed("Sent", b'{"mission":"mission-x"}')])
    await store.append("protest-b", [proposed("Sent", b'{"mission":"mission-x"}')])
    await store.append("note-c", [proposed("Sent", b'{"mission":"mission-y"}'), proposed("Closed")])
    await store.append("note-d", [proposed("Sent")])
    await store.close()
    undo_migration_6(path)

    # when it is opened with the mission tallies registered
    store = await open_file(path, projections=[tallies_projection()])
    try:
        # then the store's own tallies are gone and the projection counted the streams
        tables = {name for (name,) in query(path, "SELECT name FROM sqlite_master")}
        assert not {"mission_tallies", "mission_latest"} & tables
        rows = await store.list_streams_after()
        assert await read_tallies(store) == recount(rows, labels)
        assert [t.mission for t in await read_tallies(store)] == ["mission-x", "mission-y"]
        # and appends go on from there
        await store.append("note-a", [proposed("Closed")])
        assert (await read_tallies(store))[0].counts == {"note": 1, "protest": 1, "protest:open": 1}
    finally:
        await store.close()


async def test_a_file_that_keeps_a_projection_is_refused_without_it(tmp_path: Path) -> None:
    # given a file whose mission tallies are kept
    path = tmp_path / "kept.db"
    store = await open_file(path, projections=[tallies_projection()])
    await store.close()
    # when it is opened without them, then that is refused, naming them
    with pytest.raises(ValueError, match="missions"):
        await open_file(path)


async def test_migration_3_re_encodes_snapshots_that_carry_their_events(
    tmp_path: Path,
) -> None:
    # given a file at schema 2 whose snapshots still carry the stream's events, as they did
    path = tmp_path / "v2.db"
    store = await open_file(path)
    await store.append("note-a", [proposed("Sent", b'{"mission":"mission-x"}'), proposed()])
    await store.append("note-b", [proposed()])
    before = {s: await store.get_stream(s) for s in ("note-a", "note-b")}
    await store.close()
    undo_migration_6(path)
    query(
        path,
        "UPDATE streams SET state = CAST(json_insert(state, '$.history', json('[1, 2]')) AS BLOB)",
    )
    query(path, "DROP TABLE store_counters")
    query(path, "DELETE FROM schema_version WHERE version >= 3")
    assert all(b"history" in bytes(row[0]) for row in query(path, "SELECT state FROM streams"))

    # when it is opened again
    store = await open_file(path)
    try:
        # then every snapshot is what the rules encode now, and nothing else moved
        for stream_id, row in before.items():
            assert row is not None
            assert await store.get_stream(stream_id) == row
        assert query(path, "SELECT max(version) FROM schema_version") == [(LATEST_VERSION,)]
    finally:
        await store.close()


async def test_a_file_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    # given a file whose schema is ahead of this code
    path = tmp_path / "newer.db"
    store = await open_file(path)
    await store.close()
    query(path, "INSERT INTO schema_version VALUES (?, 'future', 'x')", LATEST_VERSION + 1)

    # when it is opened, then it is refused
    with pytest.raises(RuntimeError, match="schema version"):
        await open_file(path)


async def test_changed_data_breaks_the_chain_at_that_position(tmp_path: Path) -> None:
    # given a log of five events
    path = tmp_path / "tamper.db"
    store = await open_file(path)
    try:
        for _ in range(5):
            await store.append("note-x", [proposed()])

        # when another program changes the data of the third
        query(path, "UPDATE events SET data = ? WHERE position = 3", b'{"n":666}')

        # then verification points at position 3
        report = await verify_log(store)
        assert report.broken is not None
        assert report.broken.position == 3
        assert report.count == 2
    finally:
        await store.close()


async def test_a_deleted_event_shows_as_a_gap(tmp_path: Path) -> None:
    # given a log of five events
    path = tmp_path / "gap.db"
    store = await open_file(path)
    try:
        for _ in range(5):
            await store.append("note-x", [proposed()])

        # when another program deletes the fourth
        query(path, "DELETE FROM events WHERE position = 4")

        # then verification reports position 4 missing
        report = await verify_log(store)
        assert report.broken is not None
        assert report.broken.position == 4
        assert "missing" in report.broken.reason
    finally:
        await store.close()


async def test_two_stores_on_one_file_keep_one_gap_free_chained_log(tmp_path: Path) -> None:
    # given two stores on the same file, as two server processes would have
    path = tmp_path / "shared.db"
    first = await open_file(path)
    second = await open_file(path)
    try:
        # when both append to the same streams, in turns and at the same time
        for i in range(10):
            await (first if i % 2 else second).append("note-s", [proposed()])
        await asyncio.gather(
            *(
                (first if i % 2 else second).append(f"protest-{i % 4}", [proposed()])
                for i in range(60)
            )
        )

        # then the log is one: positions 1..70, versions dense, the chain whole
        events = await first.read_all(limit=1000)
        assert [e.position for e in events] == list(range(1, 71))
        for stream_id in ("note-s", "protest-0", "protest-1", "protest-2", "protest-3"):
            versions = [e.version for e in events if e.stream_id == stream_id]
            assert versions == list(range(1, len(versions) + 1))
            assert await second.stream_version(stream_id) == len(versions)
        assert (await verify_log(second)).count == 70
        assert await first.head() == await second.head()
        # and each sees the other's version when it checks an expectation
        with pytest.raises(ConcurrencyError) as refused:
            await first.append("note-s", [proposed()], 9)
        assert refused.value.current_version == 10
    finally:
        await first.close()
        await second.close()


async def test_a_watcher_sees_appends_made_by_another_store(tmp_path: Path) -> None:
    # given two stores on one file, and a watcher on the first
    path = tmp_path / "watched.db"
    first = await open_file(path)
    second = await open_file(path)
    try:
        watch = aiter(first.watch())
        assert await asyncio.wait_for(anext(watch), FAILSAFE_SECONDS) == 0

        # when the second store appends
        await second.append("note-w", [proposed(), proposed()])

        # then the first store's watcher hears of it by polling the file
        assert await asyncio.wait_for(anext(watch), FAILSAFE_SECONDS) == 2
        await watch.aclose()  # type: ignore[attr-defined]
    finally:
        await first.close()
        await second.close()


async def test_a_watcher_hears_a_commit_in_its_process_before_the_next_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a watcher already waiting on an empty store that polls the file too rarely to
    # matter: only the commit itself can wake it before the failsafe
    monkeypatch.setattr(sqlite_module, "HEAD_POLL_INTERVAL", FAILSAFE_SECONDS * 10)
    store = await open_file(tmp_path / "prompt.db")
    try:
        watch = aiter(store.watch())
        assert await anext(watch) == 0
        heard = asyncio.ensure_future(anext(watch))
        await asyncio.sleep(0.05)

        # when an append is committed
        await store.append("note-p", [proposed()])

        # then the watcher is woken by the commit, not by polling the file
        assert await asyncio.wait_for(heard, FAILSAFE_SECONDS) == 1
        await watch.aclose()  # type: ignore[attr-defined]
    finally:
        await store.close()


async def test_a_lock_held_past_busy_timeout_is_unavailable_then_clears(tmp_path: Path) -> None:
    # given a store with a short busy timeout, and another program holding the write lock
    path = tmp_path / "locked.db"
    store = await open_file(path, busy_timeout=0.2)
    await store.append("note-l", [proposed()])
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")

        # when an append comes, it waits, then is refused as busy
        with pytest.raises(StoreBusyError):
            await store.append("note-l", [proposed()])

        # and once the lock is released the next append is stored
        holder.execute("ROLLBACK")
        result = await store.append("note-l", [proposed()], 1)
        assert result.events[0].position == 2
    finally:
        holder.close()
        await store.close()


async def test_a_file_that_is_not_a_database_is_refused_as_corrupt(tmp_path: Path) -> None:
    # given a file of something else under the store's name
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a SQLite database, whatever its name says" * 100)

    # when the store opens it, then it says the file is corrupt
    with pytest.raises(CorruptStoreError):
        await open_file(path)


async def test_a_write_the_file_refuses_says_why(tmp_path: Path) -> None:
    # given a store whose write connection may only read
    store = await open_file(tmp_path / "readonly.db")
    try:
        await store.append("note-r", [proposed()])
        store._writer._connection.execute("PRAGMA query_only = ON")

        # when an append comes, then it is refused as read-only, and nothing is stored
        with pytest.raises(ReadOnlyStoreError):
            await store.append("note-r", [proposed()])
        assert (await store.head()).position == 1
    finally:
        await store.close()


async def test_a_full_file_is_refused_as_full_and_keeps_what_it_had(tmp_path: Path) -> None:
    # given a store whose file may not grow past the pages it has
    store = await open_file(tmp_path / "full.db")
    try:
        await store.append("note-f", [proposed()])
        (pages,) = store._writer._connection.execute("PRAGMA page_count").fetchone()
        store._writer._connection.execute(f"PRAGMA max_page_count = {pages}")

        # when an append needs more room, then it is refused as full
        big = [proposed(data=b'{"text": "' + b"x" * 200_000 + b'"}')]
        with pytest.raises(StorageFullError):
            await store.append("note-f", big)
        assert (await store.head()).position == 1
    finally:
        await store.close()


async def test_a_constraint_the_checks_missed_becomes_a_conflict(tmp_path: Path) -> None:
    # given a stream whose row in `streams` was lost, so the writer believes it is empty
    path = tmp_path / "inconsistent.db"
    store = await open_file(path)
    try:
        await store.append("note-i", [proposed()])
        query(path, "DELETE FROM streams WHERE stream_id = 'note-i'")

        # when it is appended to as a new stream, together with an unrelated append
        outcomes = await asyncio.gather(
            store.append("note-i", [proposed()], "no_stream"),
            store.append("protest-ok", [proposed()]),
            return_exceptions=True,
        )

        # then UNIQUE(stream_id, version) turns it into a conflict, and the other is stored
        conflict, stored = outcomes
        assert isinstance(conflict, ConcurrencyError)
        assert conflict.current_version == 1
        assert isinstance(stored, AppendResult) and stored.events[0].position == 2
        assert (await verify_log(store)).count == 2
    finally:
        await store.close()


async def test_close_finishes_the_appends_already_submitted(tmp_path: Path) -> None:
    # given appends submitted but not yet written
    path = tmp_path / "drain.db"
    store = await open_file(path)
    tasks = [asyncio.create_task(store.append("note-d", [proposed()])) for _ in range(30)]
    await asyncio.sleep(0)

    # when the store is closed at once
    await store.close()

    # then every one of them was stored and acknowledged
    results = await asyncio.gather(*tasks)
    assert sorted(r.version for r in results) == list(range(1, 31))
    assert query(path, "SELECT count(*) FROM events") == [(30,)]


async def test_reads_after_close_are_unavailable(tmp_path: Path) -> None:
    # given a closed store
    store = await open_file(tmp_path / "closed.db")
    await store.close()

    # when it is read, then it says it is unavailable
    with pytest.raises(StoreUnavailableError):
        await store.read_all()


async def test_open_store_understands_the_database_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a working directory of our own
    monkeypatch.chdir(tmp_path)

    # when stores are opened by URL
    relative = await open_store("sqlite:///relative.db", TallyRules())
    absolute = await open_store(f"sqlite:///{tmp_path / 'absolute.db'}", TallyRules())
    memory = await open_store("memory://", TallyRules())

    # then each is the adapter the URL names, on the file it names
    try:
        assert isinstance(relative, SqliteEventStore)
        assert isinstance(absolute, SqliteEventStore)
        assert isinstance(memory, MemoryEventStore)
        assert (tmp_path / "relative.db").exists()
        assert (tmp_path / "absolute.db").exists()
    finally:
        for store in (relative, absolute, memory):
            await store.close()


@pytest.mark.parametrize(
    "url", ["mysql://db", "sqlite:///:memory:", "sqlite://relative.db", "sqlite:///"]
)
async def test_open_store_refuses_urls_it_cannot_serve(url: str) -> None:
    # when a URL names no store this code has, then it says so
    with pytest.raises(ValueError, match="URL"):
        await open_store(url, TallyRules())


async def test_a_snapshot_replaced_by_another_store_is_what_the_next_append_folds_onto(
    tmp_path: Path,
) -> None:
    # given a store that has just appended to a stream (so its writer remembers the row)
    path = tmp_path / "repaired.db"
    first = await open_file(path)
    second = await open_file(path)
    try:
        await first.append("note-r", [proposed()])
        await first.append("note-r", [proposed()])

        # when another store (a repair run) replaces the stream's snapshot without events
        repaired = b'{"count":40,"types":["Repaired"]}'
        await second.replace_snapshots({"note-r": StreamSnapshot(repaired, "mission-x", True)})

        # then the first store's next append folds onto the repaired snapshot
        await first.append("note-r", [proposed()])
        row = await first.get_stream("note-r")
        assert row is not None
        assert tally(row.state).count == 41
        assert tally(row.state).types == ["Repaired", "Noted"]
        assert row.mission == "mission-x"
        assert row.version == 3
    finally:
        await first.close()
        await second.close()


async def test_rows_changed_by_another_program_between_batches_are_read_again(
    tmp_path: Path,
) -> None:
    # given a store that has appended to a stream, and a program that rewinds the head by
    # deleting the last event and the stream's row behind the store's back
    path = tmp_path / "rewound.db"
    store = await open_file(path)
    try:
        await store.append("note-w", [proposed()])
        await store.append("note-w", [proposed()])
        query(path, "DELETE FROM events WHERE position = 2")
        query(path, "UPDATE streams SET version = 1, last_position = 1 WHERE stream_id = 'note-w'")

        # when it appends again
        result = await store.append("note-w", [proposed()], 1)

        # then it lands where the file says, not where the store last left it
        assert (result.version, result.events[0].position) == (2, 2)
        assert (await verify_log(store)).count == 2
    finally:
        await store.close()


async def test_the_writer_keeps_a_bounded_number_of_stream_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a writer that may remember three streams
    monkeypatch.setattr(writer_module, "KNOWN_STREAMS", 3)
    store = await open_file(tmp_path / "bounded.db")
    try:
        # when ten streams are appended to, twice each
        for _ in range(2):
            for i in range(10):
                await store.append(f"note-{i}", [proposed()])

        # then it remembers only the three most recent, and every stream is right
        assert list(store._writer._known_streams) == ["note-7", "note-8", "note-9"]
        for i in range(10):
            assert await store.stream_version(f"note-{i}") == 2
        assert (await verify_log(store)).count == 20
    finally:
        await store.close()


class _BusyConnection:
    """Stands in for the point-lookup connection while another connection holds the file."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.calls = 0

    def execute(self, sql: str, parameters: object) -> None:
        self.calls += 1
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = self.code  # type: ignore[attr-defined]
        raise error

    def close(self) -> None:
        pass


async def test_a_point_lookup_that_finds_the_file_busy_is_read_through_the_pool(
    tmp_path: Path,
) -> None:
    # given a stream, and the loop's lookup connection finding the file busy
    store = await open_file(tmp_path / "busy.db")
    try:
        await store.append("note-p", [proposed(), proposed()])
        busy = _BusyConnection(sqlite3.SQLITE_BUSY)
        store._point = busy  # type: ignore[assignment]

        # when the stream and its version are looked up, then the pool answers
        row = await store.get_stream("note-p")
        assert row is not None and row.version == 2
        assert await store.stream_version("note-p") == 2
        assert busy.calls == 2

        # and any other failure of the lookup is the store being unavailable
        store._point = _BusyConnection(sqlite3.SQLITE_IOERR)  # type: ignore[assignment]
        with pytest.raises(StoreUnavailableError):
            await store.get_stream("note-p")
    finally:
        await store.close()


async def test_a_point_lookup_sees_every_append_acknowledged_before_it(tmp_path: Path) -> None:
    # given appends acknowledged one after the other, by this store and by another one
    path = tmp_path / "fresh.db"
    store = await open_file(path)
    other = await open_file(path)
    try:
        for i in range(1, 21):
            await (store if i % 2 else other).append("note-f", [proposed()])
            # when the stream is looked up right after, then it is at that version
            row = await store.get_stream("note-f")
            assert row is not None and row.version == i
            assert await store.stream_version("note-f") == i
    finally:
        await store.close()
        await other.close()


async def test_the_store_names_its_file_so_replay_can_read_it_in_parallel(tmp_path: Path) -> None:
    path = str(tmp_path / "named.db")
    store = await SqliteEventStore.open(path, TallyRules())
    try:
        assert store.path == path
    finally:
        await store.close()


class SqliteStoreMachine(StoreMachine):
    """The store's stateful property test (see tests/store_machine.py) on a file of its own."""

    async def open_store(self) -> EventStore:
        self.directory = Path(tempfile.mkdtemp(prefix="store-machine-"))
        return await SqliteEventStore.open(str(self.directory / "machine.db"), TallyRules())

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


TestSqliteStore = SqliteStoreMachine.TestCase
TestSqliteStore.settings = settings(
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


async def test_states_are_kept_compressed_and_json_rows_of_older_files_read_as_they_were(
    tmp_path: Path,
) -> None:
    # given a file with long and short streams, each long state stored as a zstd frame
    path = tmp_path / "mixed.db"
    store = await open_file(path)
    for stream_id in ("note-long", "note-old", "note-grows"):
        await store.append(stream_id, [proposed("Sent") for _ in range(40)])
    await store.append("note-short", [proposed()])
    await store.close()
    stored = {row[0]: bytes(row[1]) for row in query(path, "SELECT stream_id, state FROM streams")}
    assert stored["note-long"].startswith(stored_states.MAGIC)
    assert stored["note-short"].startswith(b"{")
    # and two long rows rewritten as the JSON the store wrote before it compressed them
    for stream_id in ("note-old", "note-grows"):
        json = stored_states.unpack(stored[stream_id])
        assert len(json) > len(stored[stream_id])
        query(path, "UPDATE streams SET state = ? WHERE stream_id = ?", json, stream_id)

    # when the file is opened again, and a JSON row's stream is appended to
    store = await open_file(path)
    try:
        await store.append("note-grows", [proposed("Closed")])

        # then every state reads as its JSON, the file's way and the port's
        rows = await store.list_streams_after(None, 10)
        assert [row.stream_id for row in rows] == [
            "note-grows",
            "note-long",
            "note-old",
            "note-short",
        ]
        assert [tally(row.state).count for row in rows] == [41, 40, 40, 1]
        for row in rows:
            assert await store.get_stream(row.stream_id) == row
        # the stream written again is compressed now, the one left alone is still JSON
        after = dict(query(path, "SELECT stream_id, state FROM streams"))
        assert bytes(after["note-grows"]).startswith(stored_states.MAGIC)  # type: ignore[arg-type]
        assert bytes(after["note-old"]).startswith(b"{")  # type: ignore[arg-type]
        # and replay compares the JSON, not the bytes: no difference in the file's fold
        # (one worker) nor through the port's reads
        for report in (
            await replay(store, TallyRules(), workers=1),
            await replay(PagedReads(store), TallyRules()),  # type: ignore[arg-type]
        ):
            assert report.streams == 4
            assert report.differences == []
    finally:
        await store.close()


def small_dictionaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dictionaries trained from 50 states, 1 KiB each (the tests' states are small)."""
    monkeypatch.setattr(stored_states, "TRAINING_STATES", 50)
    monkeypatch.setattr(stored_states, "DICTIONARY_BYTES", 1024)


def forget_dictionaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as one that never read a dictionary (another trained them)."""
    monkeypatch.setattr(stored_states, "_dictionaries", {})
    monkeypatch.setattr(stored_states, "_contexts", stored_states._Contexts())


def dictionary_of(stored: bytes) -> int:
    """The dictionary id a stored state's frame names (0: none; -1: JSON)."""
    if not stored.startswith(stored_states.MAGIC):
        return -1
    return int(zstandard.get_frame_parameters(stored).dict_id)


TYPES = ("Sent", "Closed", "Noted", "Reopened", "Answered")


def varied(count: int) -> list[ProposedEvent]:
    # Data long enough that a frame is smaller than its JSON.
    data = b'{"text":"' + b"the embassy answered the note " * 4 + b'"}'
    return [proposed(TYPES[(count * 7 + i * i) % len(TYPES)], data) for i in range(count)]


async def test_states_are_packed_with_a_dictionary_trained_from_the_log_and_read_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a file whose first 50 states were written without a dictionary
    small_dictionaries(monkeypatch)
    path = tmp_path / "trained.db"
    store = await open_file(path)
    appended = {}
    for i in range(60):
        appended[f"note-{i:02}"] = varied(20 + i % 30)
        await store.append(f"note-{i:02}", appended[f"note-{i:02}"])
    await store.close()

    # then the writer trained one dictionary from them and stored it, and the states it
    # wrote after that name it
    (dictionary_id,) = (row[0] for row in query(path, "SELECT * FROM state_dictionaries"))
    stored = dict(query(path, "SELECT stream_id, state FROM streams"))
    named = [dictionary_of(bytes(stored[f"note-{i:02}"])) for i in range(60)]  # type: ignore[arg-type]
    assert set(named[:50]) <= {0, -1}
    assert named[50:] == [dictionary_id] * 10
    # and so do the events' data it wrote after that, the earlier ones JSON
    data = query(path, "SELECT stream_id, data FROM events WHERE version = 1")
    by_stream = {stream_id: dictionary_of(bytes(d)) for stream_id, d in data}  # type: ignore[arg-type]
    assert [by_stream[f"note-{i:02}"] for i in range(60)] == [-1] * 50 + [dictionary_id] * 10

    # when a process that never read the dictionary opens the file
    forget_dictionaries(monkeypatch)
    store = await open_file(path)
    try:
        # then it reads every event's data as it was appended
        for stream_id in ("note-03", "note-57"):
            read = await store.read_stream(stream_id)
            assert [bytes(e.data) for e in read] == [bytes(e.data) for e in appended[stream_id]]
        forget_dictionaries(monkeypatch)
        assert bytes((await store.read_all(0, 10_000))[-1].data) == bytes(
            appended["note-59"][-1].data
        )
        # and a retried append of stored events is answered as the first was
        forget_dictionaries(monkeypatch)
        first = await store.read_stream("note-56")
        again = await store.append("note-56", appended["note-56"])
        assert [e.position for e in again.events] == [e.position for e in first]
        # then its reads load it: every state reads as its JSON
        rows = await store.list_streams_after(None, 100)
        assert [tally(row.state).count for row in rows] == [20 + i % 30 for i in range(60)]
        assert await store.get_stream("note-55") == rows[55]
        assert (await store.get_streams(["note-59"]))["note-59"] == rows[59]
        # and so does its writer, appending to a stream packed with it
        await store.append("note-01", varied(3))
        forget_dictionaries(monkeypatch)
        await store.append("note-58", varied(3))
        assert tally((await store.get_stream("note-58")).state).count == 20 + 58 % 30 + 3  # type: ignore[union-attr]
        # and the fold of the file (replay) finds every state as the rules make it
        forget_dictionaries(monkeypatch)
        report = await replay(store, TallyRules(), workers=1)
        assert (report.streams, report.differences) == (60, [])
    finally:
        await store.close()
    # and the writer kept the one dictionary, and packs with it
    assert len(query(path, "SELECT * FROM state_dictionaries")) == 1
    rewritten = dict(query(path, "SELECT stream_id, state FROM streams"))["note-01"]
    assert dictionary_of(bytes(rewritten)) == dictionary_id  # type: ignore[arg-type]
