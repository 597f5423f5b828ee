"""Probe: the server-side memory one call of each read model leaves behind and peaks at.

``python -m bench.probes.reader_memory PATH``: opens the store on PATH, reads each view once,
and prints VmRSS after and VmHWM (peak) growth in MB, in a fresh process. Compare two
revisions with ``python -m bench.probes.ab REVISION ROUNDS bench.probes.reader_memory PATH``.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.projections.reader import Projections
from incidents.store.sqlite import SqliteEventStore


def _status() -> dict[str, float]:
    with open("/proc/self/status") as status:
        return {
            line.split(":")[0]: int(line.split()[1]) / 1024
            for line in status
            if line.startswith(("VmRSS", "VmHWM"))
        }


async def main(path: str) -> None:
    """Read each view once and print how much memory that left behind and peaked at."""
    store = await SqliteEventStore.open(path, DomainRules(), projections=inline_projections())
    try:
        projections = Projections(store, 30, lambda: datetime.now(UTC))
        start = _status()
        await projections.open_protests()
        await projections.unanswered_notes()
        await projections.missions()
        end = _status()
    finally:
        await store.close()
    print(
        f"RSS +{end['VmRSS'] - start['VmRSS']:.0f} MB, peak +{end['VmHWM'] - start['VmHWM']:.0f} MB"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
