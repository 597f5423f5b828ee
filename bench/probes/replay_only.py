"""Probe: time ``incidents.projections.replay.replay`` alone on a log file (for profilers).

``python -m bench.probes.replay_only PATH`` prints events per second and the differences.
"""

from __future__ import annotations

import asyncio
import sys
import time

from incidents.domain.rules import DomainRules
from incidents.projections.replay import replay
from incidents.store.sqlite import SqliteEventStore


async def main(path: str) -> None:
    store = await SqliteEventStore.open(path, DomainRules())
    try:
        started = time.perf_counter()
        report = await replay(store, DomainRules())
        seconds = time.perf_counter() - started
    finally:
        await store.close()
    print(
        f"replay {report.events / seconds:,.0f} ev/s ({report.events:,} events, "
        f"{report.streams:,} streams, {len(report.differences)} differences, {seconds:.2f} s)"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
