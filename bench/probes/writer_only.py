"""Probe: the SQLite writer's batch alone (no event loop), 64 single-event units a batch.

``python -m bench.probes.writer_only [batches] [rules]`` prints microseconds per event
for each phase of ``_Writer.write`` (rules: counting, the default, or domain).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.store_append_probe import DATA, CountingRules
from incidents.store import sqlite as store_sqlite
from incidents.store.ids import new_event_id
from incidents.store.protocol import AppendRequest, ProposedEvent


class _Done:
    def done(self) -> bool:
        return False


PHASES: dict[str, float] = {"_plan": 0.0, "_stage": 0.0, "_persist": 0.0}


def _timed(name: str) -> None:
    inner = getattr(store_sqlite._Writer, name)

    def timed(*args: object, **kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            PHASES[name] += time.perf_counter() - start

    setattr(store_sqlite._Writer, name, staticmethod(timed) if name == "_stage" else timed)


def main() -> None:
    if "phases" in sys.argv:
        for name in PHASES:
            _timed(name)
    batches = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rules = CountingRules()
    with tempfile.TemporaryDirectory() as scratch:
        writer = store_sqlite._Writer.connect(str(Path(scratch, "w.db")), rules, 5.0)
        if "nosync" in sys.argv:
            # Leaves the fsync out, to see the Python and SQL work alone.
            writer._connection.execute("PRAGMA synchronous = OFF")
        total = 0.0
        for batch in range(batches):
            units = [
                store_sqlite._Unit(
                    _Done(),  # type: ignore[arg-type]
                    [
                        AppendRequest(
                            f"note-w{i}", [ProposedEvent(new_event_id(), "NoteSent", DATA)]
                        )
                    ],
                )
                for i in range(64)
            ]
            start = time.perf_counter()
            outcomes, _ = writer.write(units)
            if batch >= 20:
                total += time.perf_counter() - start
            assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
        writer.close()
    per_event = 1e6 * total / ((batches - 20) * 64)
    print(f"writer {per_event:.2f} us/event ({per_event * 64:.0f} us/batch of 64)")
    if "phases" in sys.argv:
        events = batches * 64
        print("  " + ", ".join(f"{k[1:]} {1e6 * v / events:.2f}" for k, v in PHASES.items()))


if __name__ == "__main__":
    main()
