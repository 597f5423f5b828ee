"""Probe: our side of bench.commands alone (for profilers): commands per second.

``python -m bench.probes.commands_only [seconds] [callers]``
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from bench.commands import _openings, ours_rate

if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    callers = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    opened = _openings(max(200, int(seconds * 3000)), seed=5)
    with tempfile.TemporaryDirectory() as scratch:
        run = asyncio.run(ours_rate(Path(scratch, "c.db"), opened, callers, seconds))
    print(f"ours {run.rate:,.0f} commands/s ({run.commands:,} commands, {run.retries} retries)")
