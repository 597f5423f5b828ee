"""Probe: what the slow reads of figure 9 (``bench.desk``) spend their time on.

``python -m bench.probes.desk_tails LOG [rounds]`` runs :func:`bench.desk.run` on a log
as the figure does, and times besides

- every request the bench makes (``AsyncTestClient.get``, wrapped): its path, start and end;
- every collection of Python's cyclic garbage collector (``gc.callbacks``): its generation
  and how long it took;

then prints, for each kind of read and for the reads right after appends apart, the p50 and
p99, how many reads a collection of each generation fell in, and the slowest reads with
the process's CPU time and the collector's time inside each; the tracked objects after the
bench (``gc.get_objects``); and every collection's count, total and longest time per
generation. Compare a revision with ``python -m bench.probes.ab REVISION ROUNDS
bench.probes.desk_tails LOG``.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

import bench.desk

# (generation, start, end) of each collection
_collections: list[tuple[int, float, float]] = []
_started: list[float] = []


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started.append(time.perf_counter())
    elif _started:
        _collections.append((info["generation"], _started.pop(), time.perf_counter()))


def _kind(path: str) -> str:
    if path.endswith("/timeline"):
        return "timeline"
    return path.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or path


def main() -> None:
    """Run the bench with every request and collection timed, and print what they show."""
    log = Path(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    requests: list[tuple[str, float, float, float]] = []
    plain_get = AsyncTestClient.get

    async def get(self: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return await plain_get(self, url, *args, **kwargs)
        finally:
            took = time.process_time() - cpu
            requests.append((str(url), start, time.perf_counter(), took))

    AsyncTestClient.get = get  # type: ignore[method-assign,assignment]
    gc.callbacks.append(_on_gc)
    found = asyncio.run(bench.desk.run(log, rounds))
    gc.callbacks.remove(_on_gc)
    tracked = len(gc.get_objects())
    # The bench's still reads come first; once an append comes between reads they are
    # "after" reads: the last 4 * max(1, rounds // 4) reads of the four kinds.
    after_count = 4 * max(1, rounds // 4)
    measured = [r for r in requests if _kind(r[0]) in _KINDS]
    # Drop the warm-up reads (one of each) and the missions list.
    measured = measured[4:]
    still, after = measured[:-after_count], measured[-after_count:]
    print(f"events {found['events']:,}; tracked objects after the bench {tracked:,}")
    print(f"bench: p99 {found['p99_ms']} after {found['right_after_an_append_p99_ms']}")
    for label, group in (("still", still), ("after", after)):
        by_kind: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
        for url, start, end, cpu in group:
            by_kind[_kind(url)].append((end - start, start, end, cpu))
        for kind, samples in by_kind.items():
            times = sorted(s[0] for s in samples)
            cpus = sorted(s[3] for s in samples)
            cpu_p99 = cpus[min(len(cpus) - 1, int(0.99 * len(cpus)))]
            p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
            hit: dict[int, int] = defaultdict(int)
            for _, start, end, _cpu in samples:
                for generation in {g for g, s, e in _collections if s < end and e > start}:
                    hit[generation] += 1
            slowest = sorted(samples, reverse=True)[:4]
            shown = ", ".join(
                f"{1000 * took:.1f} (cpu {1000 * cpu:.1f}, gc {1000 * _gc_in(start, end):.1f})"
                for took, start, end, cpu in slowest
            )
            print(
                f"{label:5} {kind:15} n={len(times):3} p50 {1000 * statistics.median(times):6.2f}"
                f" p99 {1000 * p99:6.2f} cpu p50 {1000 * statistics.median(cpus):6.2f}"
                f" p99 {1000 * cpu_p99:6.2f} | reads with a gen0/1/2 collection: "
                f"{hit[0]}/{hit[1]}/{hit[2]} | slowest ms: {shown}"
            )
    for generation in (0, 1, 2):
        took = [e - s for g, s, e in _collections if g == generation]
        if took:
            print(
                f"gen{generation}: {len(took)} collections, total {1000 * sum(took):.0f} ms,"
                f" longest {1000 * max(took):.1f} ms,"
                f" median {1000 * statistics.median(took):.2f} ms"
            )


_KINDS = {"timeline", "response-times", "relations", "search"}


def _gc_in(start: float, end: float) -> float:
    return sum(min(e, end) - max(s, start) for _, s, e in _collections if s < end and e > start)


if __name__ == "__main__":
    main()
