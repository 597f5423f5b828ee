"""Probe: the store side of figure 9's search alone: ``SearchIndex.search`` of figure 9's
words on a generated log, in process (no HTTP), one at a time; the median, p90 and p99 in
ms, and each word's count.

``python -m bench.probes.search_reads LOG [rounds]`` (rounds: searches in all, the words
taken in turn; 300 by default). Under ``bench.probes.ab`` the revision's search is measured;
the log is opened with the revision's inline projections.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.projections.search import SearchIndex
from incidents.store.sqlite import SqliteEventStore

# Figure 9's words (bench/desk.py), here so that a revision's package runs the probe alone.
WORDS = ["embassy", "police", "investigation", "compensation", "demonstration", "note", "attack"]


async def measure(database: Path, rounds: int) -> None:
    """Print the figures of the module's docstring."""
    store = await SqliteEventStore.open(
        str(database), DomainRules(), projections=inline_projections()
    )
    try:
        index = SearchIndex(store)
        counts = {word: (await index.search(word)).count for word in WORDS}
        spent = []
        for round_ in range(rounds):
            start = time.perf_counter()
            await index.search(WORDS[round_ % len(WORDS)])
            spent.append(1000 * (time.perf_counter() - start))
    finally:
        await store.close()
    spent.sort()
    p90 = spent[int(0.9 * (len(spent) - 1))]
    p99 = spent[int(0.99 * (len(spent) - 1))]
    print(
        f"search median {statistics.median(spent):.1f} ms, p90 {p90:.1f}, p99 {p99:.1f}"
        f" ({rounds} searches); counts {counts}"
    )


if __name__ == "__main__":
    asyncio.run(measure(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 300))
