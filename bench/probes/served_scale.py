"""Probe: figure 5's requests against a server on a log that already exists.

``python -m bench.probes.served_scale EMPTY_OR_NEW.db FULL.db [samples]`` serves each file
in turn (granian, one worker, as bench.served), warms it with the same requests, then times
the projection GETs and single-event appends, and reads the worker's RSS after them. The
bench itself grows one server's log from empty to full; this compares two servers instead.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from bench.served import _get_paths, append_latencies, measure_gets
from bench.servers import SERVICE, serve


def main() -> None:
    """Serve each file in turn, time the same requests on both, and print the comparison."""
    empty, full = Path(sys.argv[1]), Path(sys.argv[2])
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    import sqlite3

    connection = sqlite3.connect(f"file:{full}?mode=ro", uri=True)
    missions = [
        row[0]
        for row in connection.execute("SELECT stream_id FROM streams WHERE category = 'mission'")
    ]
    connection.close()
    paths = _get_paths(missions, random.Random(7))
    results = {}
    for label, database in (("empty", empty), ("full", full)):
        environment = {"INCIDENTS_DATABASE_URL": f"sqlite:///{database}"}
        with serve(SERVICE, 1, Path(f"/tmp/served-{label}.log"), environment) as server:
            measure_gets(server, paths, 5, 30)
            append_latencies(server, f"warm{label}", 20, 10)
            gets = measure_gets(server, paths, samples, 30)
            appends = append_latencies(server, label, samples, 30)
            rss = server.rss()
        results[label] = (gets, appends, rss)
        for template, latencies in gets.items():
            print(
                f"{label:5s} GET {template:42s} p50 {latencies.percentile(0.5):8.2f} ms"
                f" p99 {latencies.percentile(0.99):8.2f} ms ({len(latencies.seconds)} requests,"
                f" {latencies.bytes:,.0f} bytes)"
            )
        print(
            f"{label:5s} append p50 {appends.percentile(0.5):.2f} ms p99"
            f" {appends.percentile(0.99):.2f} ms; VmRSS {rss['VmRSS'] / 1024:.0f} MB,"
            f" VmHWM {rss['VmHWM'] / 1024:.0f} MB"
        )
    (_, small, rss_empty), (_, large, rss_full) = results["empty"], results["full"]
    print(
        f"append p50 full/empty {large.percentile(0.5) / small.percentile(0.5):.2f};"
        f" RSS growth {(rss_full['VmRSS'] - rss_empty['VmRSS']) / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
