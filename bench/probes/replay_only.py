"""Probe: time ``incidents.projections.replay.replay`` alone on a log file (for profilers).

``python -m bench.probes.replay_only PATH`` prints events per second of wall and of CPU time
and the differences found. Compare two revisions with ``python -m bench.probes.ab REVISION
ROUNDS bench.probes.replay_only PATH``.
"""

from __future__ import annotations

import asyncio
import sys
import time

from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.projections.replay import replay
from incidents.store.sqlite import SqliteEventStore


async def main(path: str) -> None:
    """Replay the log on PATH once and print its rates."""
    store = await SqliteEventStore.open(path, DomainRules(), projections=inline_projections())
    try:
        started, cpu = time.perf_counter(), time.process_time()
        report = await replay(store, DomainRules())
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await store.close()
    print(
        f"replay {report.events / seconds:,.0f} ev/s wall ({seconds:.2f} s),"
        f" {report.events / cpu:,.0f} ev/s of CPU ({cpu:.2f} s); {report.events:,} events,"
        f" {report.streams:,} streams, {len(report.differences)} differences"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
