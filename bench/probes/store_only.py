"""Probe: the store side of figure 1 alone (for profilers): single-event appends by
concurrent callers under DomainRules, events per second.

``python -m bench.probes.store_only [seconds] [writers]``
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from bench.append import store_rate, template_cases

if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    writers = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    with tempfile.TemporaryDirectory() as scratch:
        run = asyncio.run(store_rate(Path(scratch, "s.db"), template_cases(), writers, seconds))
    batch = f", {run.batch:.1f} appends a transaction" if run.batch else ""
    print(f"store {run.rate:,.0f} ev/s ({run.events:,} events{batch})")
