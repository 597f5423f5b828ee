"""Figure 8: reads while 64 writers append, against the same reads on an idle server.

The service runs as a real granian process (one worker) on a fresh SQLite file holding a
few hundred notes of one mission. Sequential ``GET /projections/unanswered-notes?mission=``
requests for that mission over one keep-alive connection are timed on the client, first
with the server idle (the baseline), then while the load generator keeps 64 connections
appending notes (``bench/post_event.lua`` or :mod:`bench.loadgen`). The figure is the GET p99
under load; the target is under 50 ms.

The appended notes name another mission, so the read's answer is the same idle and under
load and the figure is what the appends cost a read: every GET still catches up with each
batch committed since the last one. Were they the read mission's, the answer would grow by
every note appended (17 MB after twelve seconds of load, 82 ms to serve with the server
idle), and the figure would measure the answer's size instead.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from bench.report import Figure, Target
from bench.served import append_latencies, load, note_body, register_mission, timed_requests
from bench.servers import SERVICE, serve

WRITERS = 64
READ_PATH = "/projections/unanswered-notes"
# The load's notes name the second of the bench's missions, the prefilled ones the first.
LOAD_MISSION = 1
TARGET_MS = 50.0


def figure_reads_under_writes(scratch: Path, seconds: float, warmup: float) -> Figure:
    """GET p99 while ``WRITERS`` connections append, and the idle GET p99 beside it."""
    database = scratch / "reads-under-writes.db"
    body_file = scratch / "reads-under-writes-note.json"
    body_file.write_bytes(note_body(mission=LOAD_MISSION))
    environment = {"INCIDENTS_DATABASE_URL": f"sqlite:///{database}"}
    with serve(SERVICE, 1, scratch / "reads-under-writes.log", environment) as server:
        # A log with notes to list: some appends before anything is timed.
        append_latencies(server, "prefill", 200, max(warmup, 1.0) * 5)
        read_mission = register_mission(server)
        register_mission(server, LOAD_MISSION)
        path = f"{READ_PATH}?mission={read_mission}"
        idle = timed_requests(server, "GET", [path], 100_000, seconds)
        summary: dict[str, Any] = {}

        def writers() -> None:
            summary.update(load(server, seconds + warmup * 2, "rw", body_file, WRITERS))

        loading = threading.Thread(target=writers, name="writers")
        loading.start()
        try:
            # The reads start once the writers have had their warm-up.
            loading.join(timeout=warmup)
            busy = timed_requests(server, "GET", [path], 100_000, seconds)
        finally:
            loading.join()
    ours = busy.percentile(0.99)
    baseline = idle.percentile(0.99)
    appends_per_second = float(summary.get("rate", 0.0))
    return Figure(
        key="8-reads-under-writes",
        title=f"GET {READ_PATH}?mission= p99 while {WRITERS} connections append",
        unit="ms",
        ours=ours,
        ours_label=f"p99 of {len(busy.seconds)} sequential GETs under load "
        f"({appends_per_second:,.0f} appends/s by {summary.get('tool', '?')})",
        baseline=baseline,
        baseline_label=f"p99 of {len(idle.seconds)} sequential GETs, server idle",
        ratio=ours / baseline if baseline else None,
        targets=[Target("<", TARGET_MS, of="value")],
        details={
            "get_statuses_under_load": busy.statuses,
            "get_statuses_idle": idle.statuses,
            "get_p50_ms_under_load": busy.percentile(0.5),
            "get_p50_ms_idle": idle.percentile(0.5),
            "answer_bytes_idle": idle.bytes,
            "answer_bytes_under_load": busy.bytes,
            "append_summary": summary,
        },
    )
