"""Generate a realistic log fast, through the store's real append path.

``python -m bench.generate --events 200000 --database bench/out/log.db`` writes a world of
missions (``--missions``, default 200) and the cases around them (notes, incidents,
protests, statements; see :mod:`bench.world`) spread over the years up to now, in the order
they happened. Events go to ``SqliteEventStore.append_many`` under ``DomainRules`` in
chunks of about ``--chunk`` events (one append per stream in the chunk), with up to
``--inflight`` chunks submitted at once from concurrent tasks, so the group-commit writer
takes several per transaction. Hashes, versions and stream states are therefore the
store's own: ``incidents verify`` and ``incidents replay`` pass on the result.

Events of a case happen over weeks or months, so a stream's events lie far apart in the
log, as they would in production. Events that would happen after "now" are not written:
recent notes are still waiting for their reply.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from bench.world import CaseMaker, Mission, Planned, default_now, encoded, make_missions
from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.store.protocol import AppendRequest, EventStore, ProposedEvent
from incidents.store.sqlite import SqliteEventStore

START = datetime(2015, 1, 1, tzinfo=UTC)
# The cycle collector's first threshold while a log is written: the served process's
# (incidents.http.app.SERVED_GC_THRESHOLD). At the default 700 the collections took 5 of the
# 39 CPU seconds of a 200,000-event generation, two thirds of it in full collections, which
# walk all the generator keeps and grow with the log; at 7,000 they took 2.5 (measured in
# one run each; docs/benchmarks.md, "make bench-scale").
GENERATION_GC_THRESHOLD = 7000


@dataclass
class GeneratedLog:
    """What a generation wrote and how long it took (``streams``: all the world's so far)."""

    events: int
    streams: int
    seconds: float
    missions: list[str]
    types: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Events written per second."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def _mean_case_size(seed: int, missions: list[Mission], samples: int = 2000) -> float:
    """How many events a case has on average (a dry run on a side generator)."""
    maker = CaseMaker(random.Random(seed ^ 0x5EED), missions)
    at = START + timedelta(days=365)
    return sum(len(maker.case(at)) for _ in range(samples)) / samples


def planned_events(
    count: int, seed: int = 7, missions: int = 200, now: datetime | None = None
) -> tuple[list[Mission], Iterator[Planned]]:
    """The world's missions and up to ``count`` of its events, in the order they happened.

    Cases start at an even pace from START to ``now``, paced so that about ``count`` events
    happen before ``now``; each case's later events wait in a heap until their time comes.
    """
    now = now or default_now()
    rng = random.Random(seed)
    world = make_missions(missions, rng, START)
    maker = CaseMaker(rng, world)
    history = [event for mission in world for event in maker.mission_history(mission, now)]
    # Cases start evenly over the span; a little more than needed, so the count is reached.
    per_case = _mean_case_size(seed, world)
    cases = max(1, int((count - len(history)) / per_case * 1.08))
    span = (now - START).total_seconds()

    def events() -> Iterator[Planned]:
        heap: list[tuple[datetime, int, Planned]] = []
        serial = 0

        def push(planned: Planned) -> None:
            nonlocal serial
            if planned.at <= now:
                serial += 1
                heapq.heappush(heap, (planned.at, serial, planned))

        for planned in sorted(history, key=lambda p: p.at):
            push(planned)
        emitted = 0
        for index in range(cases):
            at = START + timedelta(seconds=span * (index + rng.random()) / cases)
            while heap and heap[0][0] <= at:
                yield heapq.heappop(heap)[2]
                emitted += 1
                if emitted >= count:
                    return
            for planned in maker.case(at):
                push(planned)
        while heap and emitted < count:
            yield heapq.heappop(heap)[2]
            emitted += 1

    return world, events()


async def write_events(
    store: EventStore,
    events: Iterator[Planned],
    chunk: int = 1000,
    inflight: int = 8,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, set[str], Counter[str]]:
    """Append the events in order, ``chunk`` at a time, ``inflight`` chunks at once.

    Chunks are submitted in order, and the store's writer takes its queue in order, so a
    stream's events are stored in the order they come. Raises the first error a chunk gets.
    """
    running: list[asyncio.Task[object]] = []
    streams: set[str] = set()
    types: Counter[str] = Counter()
    written = 0
    batch: dict[str, list[ProposedEvent]] = {}
    size = 0

    async def oldest() -> None:
        nonlocal written
        task = running.pop(0)
        results = await task
        assert isinstance(results, list)
        written += sum(len(result.events) for result in results)
        if progress is not None:
            progress(written)

    def submit() -> None:
        nonlocal batch, size
        appends = [AppendRequest(stream_id, proposed) for stream_id, proposed in batch.items()]
        running.append(asyncio.ensure_future(store.append_many(appends)))
        batch, size = {}, 0

    try:
        for planned in events:
            proposed = encoded(planned)
            batch.setdefault(planned.stream_id, []).append(proposed)
            streams.add(planned.stream_id)
            types[proposed.type] += 1
            size += 1
            if size >= chunk:
                submit()
                # Let the new task hand its chunk to the writer (and the writer's batcher
                # wake up), so the writer thread stores it while the next chunk is built.
                for _ in range(3):
                    await asyncio.sleep(0)
                while len(running) >= inflight:
                    await oldest()
        if batch:
            submit()
        while running:
            await oldest()
    finally:
        for task in running:
            task.cancel()
    return written, streams, types


@contextmanager
def collector_spaced() -> Iterator[None]:
    """Collect cycles less often for a while: what is alive now is frozen (never walked
    again), the first threshold raised; both undone at the end, so that the rest of a
    benchmark run measures under the interpreter's defaults."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GENERATION_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class LogGenerator:
    """One world's log, written in as many parts as wanted (e.g. 10k events, then the rest).

    The world and the pace of its cases are set for ``count`` events in all; each
    :meth:`write` continues where the last one stopped.
    """

    def __init__(
        self, count: int, seed: int = 7, missions: int = 200, now: datetime | None = None
    ) -> None:
        self.world, self._events = planned_events(count, seed, missions, now)
        self._streams: set[str] = set()

    @property
    def missions(self) -> list[str]:
        """The world's mission stream ids."""
        return [mission.stream_id for mission in self.world]

    async def write(
        self,
        path: Path,
        count: int,
        chunk: int = 1000,
        inflight: int = 8,
        progress: Callable[[int], None] | None = None,
    ) -> GeneratedLog:
        """Write the next ``count`` events into the SQLite log at ``path`` (opened here)."""
        store = await SqliteEventStore.open(
            str(path), DomainRules(), projections=inline_projections()
        )
        started = time.perf_counter()
        try:
            with collector_spaced():
                written, streams, types = await write_events(
                    store, islice(self._events, count), chunk, inflight, progress
                )
        finally:
            await store.close()
        seconds = time.perf_counter() - started
        self._streams |= streams
        return GeneratedLog(
            written, len(self._streams), seconds, self.missions, dict(sorted(types.items()))
        )


async def generate(
    path: Path,
    count: int,
    seed: int = 7,
    missions: int = 200,
    chunk: int = 1000,
    inflight: int = 8,
    progress: Callable[[int], None] | None = None,
) -> GeneratedLog:
    """Write ``count`` events of a generated world into the SQLite log at ``path``.

    Use a fresh file: a second world of the same seed would register the same missions.
    """
    return await LogGenerator(count, seed, missions).write(path, count, chunk, inflight, progress)


def main() -> None:
    """Generate a log from the command line and print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--missions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--inflight", type=int, default=8)
    options = parser.parse_args()
    step = max(1, options.events // 10)
    reported = [0]

    def progress(written: int) -> None:
        if written - reported[0] >= step:
            reported[0] = written
            print(f"  {written:,} events", flush=True)

    log = asyncio.run(
        generate(
            options.database,
            options.events,
            options.seed,
            options.missions,
            options.chunk,
            options.inflight,
            progress,
        )
    )
    print(
        f"wrote {log.events:,} events into {log.streams:,} streams of {len(log.missions)} "
        f"missions in {log.seconds:.1f} s ({log.rate:,.0f} events/s) to {options.database}"
    )
    for name, number in log.types.items():
        print(f"  {name:<26} {number:>9,}")


if __name__ == "__main__":
    main()
