"""Probe: the read models in process (no HTTP) on one log file: p50/p99 per view over N
calls. Compare two revisions with ``python -m bench.probes.ab REVISION ROUNDS
bench.probes.reader_latency PATH [calls]``.

``python -m bench.probes.reader_latency PATH [calls]``
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.projections.open_protests import ProtestFilter
from incidents.projections.reader import Projections
from incidents.store.sqlite import SqliteEventStore


def _now() -> datetime:
    return datetime.now(UTC)


def _views(
    projections: Projections, chosen: list[str]
) -> dict[str, Callable[[int], Awaitable[object]]]:
    """Each view timed, as a call of the i-th request (missions taken in turn)."""
    return {
        "mission unanswered-notes": lambda i: projections.unanswered_notes(chosen[i % len(chosen)]),
        "open-protests?mission": lambda i: projections.open_protests(
            ProtestFilter(mission=chosen[i % len(chosen)])
        ),
        "unanswered-notes": lambda i: projections.unanswered_notes(),
        "missions": lambda i: projections.missions(),
    }


async def main(path: str, calls: int) -> None:
    """Time every view ``calls`` times (the missions view a tenth as often) and print each."""
    store = await SqliteEventStore.open(path, DomainRules(), projections=inline_projections())
    try:
        missions = [row.stream_id for row in await store.list_streams("mission")]
        chosen = random.Random(7).sample(missions, min(20, len(missions)))
        for name, call in _views(Projections(store, 30, _now), chosen).items():
            times = []
            limit = calls if name != "missions" else max(3, calls // 10)
            for i in range(limit):
                start = time.perf_counter()
                await call(i)
                times.append(1000 * (time.perf_counter() - start))
            times.sort()
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(
                f"{name:26s} p50 {statistics.median(times):8.2f} ms"
                f"  p99 {p99:8.2f} ms  ({len(times)} calls)"
            )
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50))
