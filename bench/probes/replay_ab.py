"""Probe: the replay before this work (bench/probes/_replay_before.py, a copy) against the
current one, alternating rounds on one log file; wall and CPU seconds per round.

``python -m bench.probes.replay_ab PATH [rounds]``
"""

from __future__ import annotations

import asyncio
import sys
import time

from bench.probes import _replay_before
from incidents.domain.rules import DomainRules
from incidents.projections import replay as current
from incidents.store.sqlite import SqliteEventStore


async def once(path: str, which: str) -> tuple[float, float, int, int]:
    store = await SqliteEventStore.open(path, DomainRules())
    try:
        module = current if which == "after" else _replay_before
        wall, cpu = time.perf_counter(), time.process_time()
        report = await module.replay(store, DomainRules())  # type: ignore[attr-defined]
        return (
            time.perf_counter() - wall,
            time.process_time() - cpu,
            report.events,
            len(report.differences),
        )
    finally:
        await store.close()


def main() -> None:
    path = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    for round_ in range(rounds):
        for which in ("before", "after"):
            wall, cpu, events, differences = asyncio.run(once(path, which))
            print(
                f"round {round_ + 1} {which:6s}: {events / wall:9,.0f} ev/s wall "
                f"({wall:.2f} s), {events / cpu:9,.0f} ev/s of CPU ({cpu:.2f} s), "
                f"{differences} differences"
            )


if __name__ == "__main__":
    main()
