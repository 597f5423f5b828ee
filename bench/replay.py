"""Figure 4: ``incidents replay`` of the whole log, against reading and decoding the rows.

*Ours*: :func:`incidents.projections.replay.replay` (what ``incidents replay`` runs, without
its progress bar) over a ``SqliteEventStore`` holding the generated log, folding every event
into every stream's state under ``DomainRules`` and comparing with the live states. The
public function is timed, so the figure follows whatever it becomes.

*Baseline*: plain sqlite3 reading the same rows (every column of ``events``, in position
order, 10,000 rows a fetch) and decoding each row's ``data`` into its typed event with
``incidents.domain.events.decode_data`` (validated msgspec Structs, not dicts), after
unpacking it as the store keeps it (``stored_states.unpack``: a zstd frame made with the
log's dictionary, or JSON); nothing folded. It runs before and after the replay; the mean
of the two is the baseline.

The log's hash chain is verified too (``verify_log``, what ``incidents verify`` runs).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from bench.report import Figure, Target
from incidents.domain.events import decode_data
from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.projections.replay import ReplayReport, replay
from incidents.store.chain import ChainReport, verify_log
from incidents.store.sqlite import SqliteEventStore
from incidents.store.stored_states import learn, unpack

SELECT = (
    "SELECT position, stream_id, version, event_id, type, data, metadata, occurred_at,"
    " recorded_at, hash FROM events ORDER BY position"
)


def raw_rate(path: Path) -> tuple[float, int]:
    """Rows per second sqlite3 reads and ``decode_data`` decodes; and the row count."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        started = time.perf_counter()
        learn(connection.execute("SELECT dictionary_id, dictionary FROM state_dictionaries"))
        cursor = connection.execute(SELECT)
        count = 0
        while rows := cursor.fetchmany(10_000):
            for row in rows:
                decode_data(row[4], unpack(row[5]))
            count += len(rows)
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    return count / elapsed, count


async def _replay(path: Path) -> tuple[ReplayReport, float]:
    store = await SqliteEventStore.open(str(path), DomainRules(), projections=inline_projections())
    try:
        started = time.perf_counter()
        report = await replay(store, DomainRules())
        return report, time.perf_counter() - started
    finally:
        await store.close()


async def _verify(path: Path) -> tuple[ChainReport, float]:
    store = await SqliteEventStore.open(str(path), DomainRules(), projections=inline_projections())
    try:
        started = time.perf_counter()
        report = await verify_log(store)
        return report, time.perf_counter() - started
    finally:
        await store.close()


def figure_replay(path: Path) -> list[Figure]:
    """Figure 4 on the log at ``path``, and the chain's verification."""
    before, rows = raw_rate(path)
    report, seconds = asyncio.run(_replay(path))
    after, _ = raw_rate(path)
    baseline = (before + after) / 2
    ours = report.events / seconds
    print(
        f"    raw {before:,.0f} ev/s, replay {ours:,.0f} ev/s, raw again {after:,.0f} ev/s",
        flush=True,
    )
    chain, verify_seconds = asyncio.run(_verify(path))
    verdict = (
        f"ok, {chain.count:,} events"
        if chain.broken is None
        else f"BROKEN at {chain.broken.position}: {chain.broken.reason}"
    )
    return [
        Figure(
            key="4",
            title=f"incidents replay of {report.events:,} events into every projection",
            unit="events/s",
            ours=ours,
            ours_label=f"projections.replay.replay over SqliteEventStore, {seconds:.1f} s",
            baseline=baseline,
            baseline_label="raw sqlite3 read of the rows + decode_data (typed) of each",
            ratio=ours / baseline,
            targets=[Target(">=", 0.4), Target(">=", 100_000, of="value")],
            notes=[
                f"{report.streams:,} streams rebuilt; {len(report.differences)} differences "
                "from the live states (0 expected)",
                f"baseline runs: {before:,.0f} before, {after:,.0f} after ({rows:,} rows)",
                f"hash chain (verify_log, as incidents verify): {verdict} in "
                f"{verify_seconds:.1f} s",
            ],
            details={
                "seconds": seconds,
                "differences": len(report.differences),
                "streams": report.streams,
                "raw_before": before,
                "raw_after": after,
                "verify_seconds": verify_seconds,
                "verify_ok": chain.broken is None,
            },
        )
    ]
