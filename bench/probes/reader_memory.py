"""Probe: the server-side memory one call of each read model leaves behind and peaks at.

``python -m bench.probes.reader_memory PATH [before]``: opens the store on PATH, reads each
view once, and prints VmRSS after and VmHWM (peak) growth in MB, in a fresh process.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from incidents.domain.rules import DomainRules
from incidents.store.sqlite import SqliteEventStore


def _status() -> dict[str, float]:
    with open("/proc/self/status") as status:
        return {
            line.split(":")[0]: int(line.split()[1]) / 1024
            for line in status
            if line.startswith(("VmRSS", "VmHWM"))
        }


async def main(path: str, before: bool) -> None:
    if before:
        from bench.probes import _reader_before as module
    else:
        from incidents.projections import reader as module  # type: ignore[no-redef]
    store = await SqliteEventStore.open(path, DomainRules())
    try:
        projections = module.Projections(store, 30, lambda: datetime.now(UTC))
        start = _status()
        await projections.open_protests()
        await projections.unanswered_notes()
        await projections.missions()
        end = _status()
    finally:
        await store.close()
    print(
        f"{'before' if before else 'after'}: RSS +{end['VmRSS'] - start['VmRSS']:.0f} MB, "
        f"peak +{end['VmHWM'] - start['VmHWM']:.0f} MB"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], len(sys.argv) > 2 and sys.argv[2] == "before"))
