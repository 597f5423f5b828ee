"""Probe: what each inline projection costs the store's appends: single-event appends by 64
concurrent callers (figure 1's cases) on a fresh SQLite file, with no projection, with each
alone and with all of them, events per second.

``python -m bench.probes.inline_subsets [seconds] [rounds] [subset ...]`` (subsets: none,
missions, search, in_time, all; all five by default). Under ``bench.probes.ab`` the
revision's projections are measured.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from bench.append import Step, drive_appenders, template_cases
from incidents.domain.rules import DomainRules
from incidents.projections.in_time_index import InTimeIndex
from incidents.projections.missions import MissionTallies
from incidents.projections.search import SearchProjection
from incidents.store.inline import InlineProjection
from incidents.store.sqlite import SqliteEventStore

WRITERS = 64
SUBSETS: dict[str, tuple[type[InlineProjection], ...]] = {
    "none": (),
    "missions": (MissionTallies,),
    "search": (SearchProjection,),
    "in_time": (InTimeIndex,),
    "all": (MissionTallies, SearchProjection, InTimeIndex),
}


async def rate(path: Path, subset: str, cases: list[list[Step]], seconds: float) -> float:
    """Events per second appended with ``subset``'s projections registered."""
    projections = [kind() for kind in SUBSETS[subset]]
    store = await SqliteEventStore.open(str(path), DomainRules(), projections=projections)
    try:
        events, elapsed = await drive_appenders(store, cases, WRITERS, seconds)
    finally:
        await store.close()
    return events / elapsed


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    subsets = sys.argv[3:] or list(SUBSETS)
    cases = template_cases()
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(rounds):
            for subset in subsets:
                path = Path(scratch, f"{subset}-{round_}.db")
                events = asyncio.run(rate(path, subset, cases, seconds))
                print(f"{subset} {events:,.0f} ev/s", flush=True)
