"""Probe: run only the store side of bench.store_append_probe (for profilers)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from bench.store_append_probe import store_rate

if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    with tempfile.TemporaryDirectory() as scratch:
        rate = asyncio.run(store_rate(Path(scratch, "s.db"), seconds, 64))
    print(f"store {rate:,.0f} ev/s")
