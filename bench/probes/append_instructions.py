"""Probe: figure 1's store side for a fixed number of events, for counting instructions.

``python -m bench.probes.append_instructions N`` opens the SQLite store under DomainRules
with the inline projections on a fresh file, warms up with 2,560 events from 64 concurrent
single-event appenders (figure 1's cases; past the states the writer trains its state
dictionary from, so that the training falls into neither count), then appends N more the
same way. Run it twice
under callgrind, which counts instructions the same on a loaded machine, and take the
difference::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python -m bench.probes.append_instructions 640
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python -m bench.probes.append_instructions 3200

(I(3200) - I(640)) / 2560 is the instructions one event costs the process (the event loop,
the writer thread and SQLite together), start-up and warm-up cancelled out. After the
warm-up, start-up's objects are frozen out of the collector's walks
(``gc.freeze``), so that a full collection of them does not fall into one count and not the
other.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
from pathlib import Path

from bench.append import Step, Walk, template_cases
from bench.world import META
from incidents.domain.rules import DomainRules
from incidents.projections.inline import inline_projections
from incidents.store.ids import new_event_id
from incidents.store.protocol import EventStore, ProposedEvent
from incidents.store.sqlite import SqliteEventStore

WRITERS = 64
WARM_UP = 2560


async def append_events(
    store: EventStore, walks: list[Walk], pending: list[list[tuple[str, Step]]], events: int
) -> None:
    """``events`` single-event appends from ``len(walks)`` concurrent appenders, each
    going on through its cases where it stopped."""
    share = [events // len(walks) + (i < events % len(walks)) for i in range(len(walks))]

    async def appender(index: int) -> None:
        for _ in range(share[index]):
            if not pending[index]:
                pending[index] = next(walks[index])[::-1]
            stream_id, step = pending[index].pop()
            event = ProposedEvent(new_event_id(), step.type, step.data, META, step.occurred_at)
            await store.append(stream_id, [event])

    await asyncio.gather(*(appender(i) for i in range(len(walks))))


async def run(events: int) -> None:
    """Open a fresh store, warm up, freeze what is alive, append ``events`` events."""
    cases = template_cases()
    walks = [Walk(cases, i, WRITERS) for i in range(WRITERS)]
    pending: list[list[tuple[str, Step]]] = [[] for _ in range(WRITERS)]
    with tempfile.TemporaryDirectory() as directory:
        store = await SqliteEventStore.open(
            str(Path(directory, "log.db")), DomainRules(), projections=inline_projections()
        )
        try:
            await append_events(store, walks, pending, WARM_UP)
            gc.collect()
            gc.freeze()
            await append_events(store, walks, pending, events)
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 3200))
