"""Figure 1's store side on PostgreSQL under cProfile, with the writer's batches counted.

``python -m bench.probes.postgres_profile [SECONDS]`` runs 64 single-event appenders
against the PostgreSQL store (``BENCH_POSTGRES_URL``, a fresh schema dropped afterwards)
and prints events/s, batches, appends a batch, the time each batch spent in the writer, and
the functions that took the most time of their own.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench import postgres
from bench.append import drive_appenders, template_cases
from incidents.domain.rules import DomainRules
from incidents.settings import Settings
from incidents.store.factory import open_store


async def profile(seconds: float) -> None:
    """Run the appenders under the profiler and print what it found."""
    schema = postgres.fresh_schema("profile")
    store: Any = await open_store(postgres.schema_url(schema), DomainRules(), Settings())
    counts = {"batches": 0, "units": 0, "seconds": 0.0}
    write_units = store._write_units

    async def counted(units: Sequence[Any]) -> Any:
        started = time.perf_counter()
        written = await write_units(units)
        counts["batches"] += 1
        counts["units"] += len(units)
        counts["seconds"] += time.perf_counter() - started
        return written

    store._write_units = counted
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        events, elapsed = await drive_appenders(store, template_cases(), 64, seconds)
        profiler.disable()
    finally:
        await store.close()
        await postgres.drop_schema(schema)
    batches = max(1, int(counts["batches"]))
    print(
        f"{events / elapsed:,.0f} events/s; {batches} batches of "
        f"{counts['units'] / batches:.1f} appends, {1000 * counts['seconds'] / batches:.2f} ms "
        f"a batch in the writer, busy {counts['seconds'] / elapsed:.0%} of the time"
    )
    pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    asyncio.run(profile(float(sys.argv[1]) if len(sys.argv) > 1 else 8.0))
