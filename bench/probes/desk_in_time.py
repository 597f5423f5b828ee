"""Probe: what the desk's statements, response-times and relations views cost at a moment
(``?as_of=``): the time to get every note, protest, incident, statement and mission state at
that moment (:func:`incidents.projections.desk_index.states_at`), in process, no HTTP;
and beside it the open protests and incidents views at the same moment (the ``in_time``
index's reads, or by ``certain`` a fold). A log generated with ``bench.generate`` (seed 11,
50 missions) is written to PATH first when PATH holds no events. ``rule`` is the moment's
dates rule (``possible``, the default, or ``certain``).

``python -m bench.probes.desk_in_time PATH EVENTS [rounds] [rule]``
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.generate import planned_events, write_events
from incidents.domain.rules import DomainRules
from incidents.domain.times import DateRule
from incidents.projections.desk_index import states_at
from incidents.projections.in_time import Moment, PastViews
from incidents.projections.inline import inline_projections
from incidents.settings import Settings
from incidents.store.factory import open_store

# A day inside the generated log's span.
AS_OF = datetime(2022, 1, 1, tzinfo=UTC)


async def probe(path: Path, events: int, rounds: int, rule: DateRule = "possible") -> None:
    """Write the log if needed, then time ``states_at`` ``rounds`` times."""
    settings = Settings(database_url=f"sqlite:///{path}")
    store = await open_store(settings.database_url, DomainRules(), settings, inline_projections())
    try:
        if (await store.head()).position == 0:
            _, planned = planned_events(events, seed=11, missions=50)
            await write_events(store, planned, chunk=500)
        past = PastViews(store, settings.reply_window_days, lambda: datetime.now(UTC))
        moment = Moment(as_of=AS_OF, rule=rule)
        times, views = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            states = await states_at(past, moment)
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            await past.open_protests(moment, limit=50)
            await past.incidents(moment, limit=50)
            views.append(time.perf_counter() - start)
        head = (await store.head()).position
        streams = sum(len(held) for held in states.values())
        print(
            f"{head:,} events, {streams:,} streams at {AS_OF:%Y-%m-%d} ({rule}): states_at "
            f"median {statistics.median(times):.2f} s, max {max(times):.2f} s; open protests "
            f"and incidents pages median {statistics.median(views):.3f} s, max "
            f"{max(views):.3f} s over {rounds} rounds"
        )
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(
        probe(
            Path(sys.argv[1]),
            int(sys.argv[2]),
            int(sys.argv[3]) if len(sys.argv) > 3 else 5,
            "certain" if len(sys.argv) > 4 and sys.argv[4] == "certain" else "possible",
        )
    )
