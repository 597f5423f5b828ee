"""Figures 2 and 5: the service as a real granian process on 127.0.0.1.

Figure 2, appends over HTTP: wrk (``bench/post_event.lua``: 2 threads, 64 connections, one
realistic NoteSent per request, each to a fresh note stream) against the service on a fresh
SQLite file, and against the bare Litestar app of :mod:`bench.bare_app`, same granian flags
and worker count. Both servers run side by side; after a warm-up of each they take turns
under load for a few rounds, and the figure is the median of the per-round ratios. Where
wrk is not installed, :mod:`bench.loadgen` (Python, in its own process) stands in, and the
figure says so.

Figure 5, the service at scale: a server (1 worker) starts on an empty file; its worker's
RSS is read after a warm-up; :mod:`bench.generate` then writes the log into the same file
from this process (the store lets several processes share one file), first ``small``
events (the GETs measured there too, and the file copied aside), then up to the full size,
where the projection GETs' p99 and the RSS are measured. For the append p50 a second server
runs on the ``small``-event copy, and batches of appends alternate between the two servers,
so that whatever else the machine does hits both alike. Requests are sequential, over one
keep-alive connection, timed on the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from bench.generate import LogGenerator
from bench.report import Figure, Target
from bench.servers import BARE, HOST, SERVICE, Server, serve
from bench.world import CaseMaker, default_now, make_missions
from incidents.domain.events import encode_data
from incidents.http.projections import MISSIONS_PAGE, ROWS_PAGE

WRK_SCRIPT = Path(__file__).with_name("post_event.lua")


def note_body(seed: int = 3, mission: int = 0) -> bytes:
    """A realistic ``POST /streams/{id}/events`` body: one NoteSent, as a desk would post it,
    naming the ``mission``-th of the missions the seed makes."""
    rng = random.Random(seed)
    now = default_now()
    missions = make_missions(10, rng, now)
    planned = CaseMaker(rng, missions).note(missions[mission], now, "out", fate="open")[0]
    data = msgspec.json.decode(encode_data(planned.data))
    occurred = planned.at.isoformat().replace("+00:00", "Z")
    return msgspec.json.encode(
        {"events": [{"type": "NoteSent", "data": data, "occurred_at": occurred}]}
    )


def mission_body(seed: int = 3, mission: int = 0) -> tuple[str, bytes]:
    """The registration of the mission :func:`note_body` names (a note may name only a
    mission the log holds), with a fixed event id so that posting it again stores nothing."""
    rng = random.Random(seed)
    now = default_now()
    missions = make_missions(10, rng, now)
    planned = CaseMaker(rng, missions).mission_history(missions[mission], now)[0]
    data = msgspec.json.decode(encode_data(planned.data))
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, missions[mission].stream_id))
    event = {"type": "MissionRegistered", "data": data, "event_id": event_id}
    return missions[mission].stream_id, msgspec.json.encode({"events": [event]})


def register_mission(server: Server, mission: int = 0) -> str:
    """Register the mission the load's notes name, before the load; its stream id."""
    stream_id, body = mission_body(mission=mission)
    connection = _connect(server)
    try:
        path = f"/streams/{stream_id}/events"
        status, payload, _ = request(connection, "POST", path, body, server.authorization)
    finally:
        connection.close()
    if status not in (200, 201):
        raise RuntimeError(f"registering {stream_id} answered {status}: {payload[:300]!r}")
    return stream_id


# --- load ------------------------------------------------------------------------------------


def load_tool() -> str:
    """``wrk`` when it is installed, else ``loadgen`` (the Python stand-in)."""
    return "wrk" if shutil.which("wrk") else "loadgen"


def load(
    server: Server,
    seconds: float,
    prefix: str,
    body_file: Path,
    connections: int = 64,
    tool: str | None = None,
) -> dict[str, Any]:
    """Run the load generator against ``server``; its JSON summary."""
    tool = tool or load_tool()
    if tool == "wrk":
        command = [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            f"http://{server.base}",
            "--",
            prefix,
            str(body_file),
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--port",
            str(server.port),
            "--connections",
            str(connections),
            "--seconds",
            str(seconds),
            "--prefix",
            prefix,
            "--body",
            str(body_file),
        ]
    # Both load generators send this header with every request (the service's token).
    env = {**os.environ, "BENCH_AUTHORIZATION": server.authorization}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True, env=env
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{tool} printed no summary: {done.stdout} {done.stderr}")
    summary: dict[str, Any] = json.loads(lines[-1])
    summary["tool"] = tool
    summary["rate"] = summary["requests"] / (summary["duration_us"] / 1e6)
    return summary


def head_position(server: Server) -> int:
    """The log's head position, from ``GET /health``."""
    status, body, _ = request(_connect(server), "GET", "/health")
    return int(json.loads(body)["head_position"]) if status == 200 else -1


def http_rounds(seconds: float) -> tuple[int, int]:
    """The measured time split into alternating rounds: (rounds, whole seconds each).

    Up to four rounds of at least two seconds; a second at the least (wrk counts whole
    seconds).
    """
    rounds = max(1, min(4, int(seconds // 2)))
    return rounds, max(1, math.ceil(seconds / rounds))


@contextlib.contextmanager
def sqlite_log(scratch: Path, workers: int) -> Iterator[str]:
    """A fresh SQLite file for figure 2's service, deleted afterwards: its URL."""
    database = scratch / f"http-{workers}.db"
    try:
        yield f"sqlite:///{database}"
    finally:
        for path in scratch.glob(f"http-{workers}.db*"):
            path.unlink()


def figure_http(
    scratch: Path,
    seconds: float,
    warmup: float,
    workers_list: list[int],
    connections: int = 64,
    log: Callable[[Path, int], contextlib.AbstractContextManager[str]] = sqlite_log,
    key: str = "2",
    engine: str = "SQLite",
) -> list[Figure]:
    """Figure 2 for each worker count: the service's appends/s over the bare app's.

    Both servers run side by side and take turns under load (bare, ours, ours, bare, ...),
    so that what else the machine does hits both alike; the figure is the median of the
    per-round ratios. ``log`` gives the service's database URL for a worker count (a fresh
    SQLite file unless told otherwise) and cleans it up afterwards.
    """
    body_file = scratch / "note-body.json"
    body_file.write_bytes(note_body())
    tool = load_tool()
    rounds, round_seconds = http_rounds(seconds)
    figures = []
    for workers in workers_list:
        bares: list[dict[str, Any]] = []
        ours_runs: list[dict[str, Any]] = []
        stored = 0
        with (
            log(scratch, workers) as url,
            serve(BARE, workers, scratch / f"bare-{workers}.log") as bare_server,
            serve(
                SERVICE,
                workers,
                scratch / f"ours-{workers}.log",
                {"INCIDENTS_DATABASE_URL": url},
            ) as server,
        ):
            register_mission(server)
            load(bare_server, warmup, "warm", body_file, connections, tool)
            load(server, warmup, "warm", body_file, connections, tool)
            for round_ in range(rounds):
                for turn in ("bare", "ours") if round_ % 2 == 0 else ("ours", "bare"):
                    if turn == "bare":
                        bares.append(
                            load(bare_server, round_seconds, "run", body_file, connections, tool)
                        )
                        continue
                    before = head_position(server)
                    ours_runs.append(
                        load(server, round_seconds, f"run{round_}", body_file, connections, tool)
                    )
                    stored += head_position(server) - before
                print(
                    f"    {workers} worker(s), round {round_ + 1}: bare "
                    f"{bares[-1]['rate']:,.0f} req/s, ours {ours_runs[-1]['rate']:,.0f} req/s, "
                    f"ratio {ours_runs[-1]['rate'] / bares[-1]['rate']:.3f} ({tool})",
                    flush=True,
                )
        ours, bare = _summed(ours_runs), _summed(bares)
        ratios = [o["rate"] / b["rate"] for o, b in zip(ours_runs, bares, strict=True)]
        errors = {
            key: ours.get(key, 0)
            for key in (
                "status_errors",
                "connect_errors",
                "read_errors",
                "write_errors",
                "timeouts",
            )
        }
        notes = [
            f"load: {tool}, {connections} connections, {warmup:g} s warm-up each, then "
            f"{rounds} alternating rounds of {round_seconds} s per server (median ratio)"
            + ("" if tool == "wrk" else " (Python stand-in: wrk is not installed)"),
            f"non-2xx responses (wrk counts status >= 400): ours {ours['status_errors']}, "
            f"bare {bare['status_errors']}; socket errors ours "
            f"{sum(errors.values()) - errors['status_errors']}",
            f"events stored during the measured rounds: {stored:,} for {ours['requests']:,} "
            "requests answered",
            "latency p50/p99, medians over the rounds: ours "
            f"{_median_of(ours_runs, 'latency_p50_us') / 1000:.1f}/"
            f"{_median_of(ours_runs, 'latency_p99_us') / 1000:.1f} ms, bare "
            f"{_median_of(bares, 'latency_p50_us') / 1000:.1f}/"
            f"{_median_of(bares, 'latency_p99_us') / 1000:.1f} ms",
        ]
        figures.append(
            Figure(
                key=f"{key}-w{workers}",
                title=f"HTTP POST /streams/{{id}}/events, {connections} connections, "
                f"granian {workers} worker(s), {engine}",
                unit="requests/s",
                ours=statistics.median(run["rate"] for run in ours_runs),
                ours_label=f"the service, {engine} store, durable",
                baseline=statistics.median(run["rate"] for run in bares),
                baseline_label="bare Litestar POST decoding AppendBody and returning it",
                ratio=statistics.median(ratios),
                targets=[Target(">=", 0.5)],
                notes=notes,
                details={
                    "ours": ours,
                    "bare": bare,
                    "rounds": [
                        {"ours": o["rate"], "bare": b["rate"], "ratio": o["rate"] / b["rate"]}
                        for o, b in zip(ours_runs, bares, strict=True)
                    ],
                    "stored": stored,
                    "errors": errors,
                },
            )
        )
    return figures


def _summed(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The load generator's counts added up over rounds, and the rate over their time."""
    total: dict[str, Any] = {
        key: sum(run[key] for run in runs)
        for key, value in runs[0].items()
        if isinstance(value, int) and not key.startswith("latency_")
    }
    total["tool"] = runs[0]["tool"]
    total["rate"] = total["requests"] / (total["duration_us"] / 1e6)
    return total


def _median_of(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


# --- sequential requests ---------------------------------------------------------------------


def _connect(server: Server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(HOST, server.port, timeout=120)


def request(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    authorization: str = "",
) -> tuple[int, bytes, float]:
    """One request on a keep-alive connection: status, body, seconds taken."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if authorization:
        headers["Authorization"] = authorization
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    return response.status, payload, time.perf_counter() - started


@dataclass
class Latencies:
    """Client-side latencies of one kind of request."""

    seconds: list[float]
    statuses: dict[int, int]
    bytes: float
    # The first warm-up request, unmeasured otherwise (a view's first read loads what the
    # server then holds for it).
    first: float | None = None

    def percentile(self, share: float) -> float:
        """The latency (ms) below which ``share`` of the requests fall (nearest rank)."""
        ordered = sorted(self.seconds)
        rank = max(0, min(len(ordered), math.ceil(share * len(ordered))) - 1)
        return ordered[rank] * 1000


def timed_requests(
    server: Server,
    method: str,
    paths: list[str],
    count: int,
    seconds: float,
    bodies: list[bytes] | None = None,
    warmup: int = 3,
) -> Latencies:
    """Up to ``count`` requests (rotating over ``paths``) within ``seconds``, after a warm-up."""
    connection = _connect(server)
    try:
        warm_until = time.perf_counter() + seconds / 2
        first: float | None = None
        for index in range(warmup):
            body = bodies[index % len(bodies)] if bodies else None
            _, _, elapsed = request(
                connection, method, paths[index % len(paths)], body, server.authorization
            )
            first = elapsed if first is None else first
            if time.perf_counter() > warm_until:
                break  # a slow endpoint: its warm-up must not take the measurement's time
        taken: list[float] = []
        statuses: dict[int, int] = {}
        sizes = 0
        stop = time.perf_counter() + seconds
        index = warmup
        while len(taken) < count and time.perf_counter() < stop:
            body = bodies[index % len(bodies)] if bodies else None
            status, payload, elapsed = request(
                connection, method, paths[index % len(paths)], body, server.authorization
            )
            taken.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1
            sizes += len(payload)
            index += 1
    finally:
        connection.close()
    return Latencies(taken, statuses, sizes / max(1, len(taken)), first)


def append_latencies(server: Server, tag: str, count: int, seconds: float) -> Latencies:
    """Sequential single-event appends, each a NoteSent to a fresh note stream."""
    register_mission(server)
    body = note_body()
    paths = [f"/streams/note-p50-{tag}-{i}/events" for i in range(count + 3)]
    return timed_requests(server, "POST", paths, count, seconds, [body])


def snapshot(database: Path, copy: Path) -> None:
    """A consistent copy of a live SQLite log (the backup API, not a file copy)."""
    source = sqlite3.connect(database)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def alternate_appends(
    full: Server, small: Server, samples: int, seconds: float, rounds: int = 6
) -> tuple[Latencies, Latencies]:
    """Sequential appends to both servers, ``rounds`` alternating batches each."""
    per_round = max(1, samples // rounds)
    both: list[Latencies] = [Latencies([], {}, 0.0), Latencies([], {}, 0.0)]
    for round_ in range(rounds):
        for side, server in enumerate((full, small)):
            batch = append_latencies(server, f"r{round_}", per_round, seconds / rounds)
            both[side].seconds.extend(batch.seconds)
            for status, number in batch.statuses.items():
                both[side].statuses[status] = both[side].statuses.get(status, 0) + number
    return both[0], both[1]


# --- figure 5 --------------------------------------------------------------------------------

ENDPOINTS = (
    ("/missions/{mission}/unanswered-notes", True),
    ("/projections/open-protests?mission={mission}", True),
    ("/projections/missions", False),
    ("/projections/unanswered-notes", False),
    ("/projections/open-protests", False),
    ("/projections/incidents", False),
    ("/projections/incidents?mission={mission}", True),
)
# The views that come a page at a time are measured at their first page, of the default size.
FIRST_PAGES = {
    "/projections/open-protests?mission={mission}": f"the first page, of the default size "
    f"({ROWS_PAGE} protests, oldest first; count and open_demands of all)",
    "/projections/unanswered-notes": f"the first page, of the default size ({MISSIONS_PAGE} "
    "missions with unanswered notes, each with all its notes)",
    "/projections/open-protests": f"the first page, of the default size ({ROWS_PAGE} "
    "protests, oldest first; count and open_demands of all)",
    "/projections/incidents": f"the first page, of the default size ({ROWS_PAGE} incidents, "
    "newest first; counts by mission, host state and month of all)",
    "/projections/incidents?mission={mission}": f"the first page, of the default size "
    f"({ROWS_PAGE} incidents, newest first; the counts of all)",
}


# The same views at a past moment: as_of a year before the generator's "now", and known_at
# the time the log held its first ``small`` events. Targets: issue 11.
IN_TIME = (
    ("/missions/{mission}/unanswered-notes?as_of={as_of}", True, 50.0),
    ("/missions/{mission}/unanswered-notes?known_at={known_at}", True, 50.0),
    ("/projections/open-protests?as_of={as_of}", False, 250.0),
    ("/projections/incidents?known_at={known_at}", False, 250.0),
    ("/projections/unanswered-notes?as_of={as_of}&known_at={known_at}", False, 250.0),
)


def _in_time_paths(
    missions: list[str], rng: random.Random, as_of: str, known_at: str
) -> dict[str, list[str]]:
    chosen = rng.sample(missions, min(20, len(missions)))
    return {
        template: [
            template.format(mission=m, as_of=as_of, known_at=known_at)
            for m in (chosen if per_mission else chosen[:1])
        ]
        for template, per_mission, _ in IN_TIME
    }


def _first_ms(latencies: Latencies) -> float | None:
    return None if latencies.first is None else latencies.first * 1000


def _get_paths(missions: list[str], rng: random.Random) -> dict[str, list[str]]:
    chosen = rng.sample(missions, min(20, len(missions)))
    return {
        template: [template.format(mission=m) for m in chosen] if per_mission else [template]
        for template, per_mission in ENDPOINTS
    }


def measure_gets(
    server: Server, paths: dict[str, list[str]], count: int, seconds: float
) -> dict[str, Latencies]:
    """Each projection endpoint, ``count`` times at most, ``seconds`` at most."""
    return {
        template: timed_requests(server, "GET", rotation, count, seconds)
        for template, rotation in paths.items()
    }


def figure_scale(
    scratch: Path,
    events: int,
    small: int,
    samples: int,
    seconds: float,
    seed: int = 7,
) -> tuple[list[Figure], Path]:
    """Figure 5; returns the figures and the generated log (for figure 4)."""
    database = scratch / "log.db"
    for path in scratch.glob("log.db*"):
        path.unlink()
    generator = LogGenerator(events, seed)
    paths = _get_paths(generator.missions, random.Random(seed))
    environment = {"INCIDENTS_DATABASE_URL": f"sqlite:///{database}"}
    step = max(1, events // 5)
    reported = [0]

    def progress(written: int) -> None:
        if written - reported[0] >= step:
            reported[0] = written
            seconds = time.perf_counter() - writing
            print(
                f"    generated {small + written:,} events ({written / seconds:,.0f} events/s "
                f"since the first {small:,})",
                flush=True,
            )

    with serve(SERVICE, 1, scratch / "scale.log", environment) as server:
        # Warm the empty service with the same requests it gets later, then read its RSS.
        measure_gets(server, paths, 5, seconds)
        append_latencies(server, "warm", 20, seconds)
        rss_empty = server.rss()
        first = asyncio.run(generator.write(database, small))
        known_at = _rfc3339(datetime.now(UTC))
        gets_small = measure_gets(server, paths, samples, seconds)
        copy = scratch / "log-small.db"
        snapshot(database, copy)
        writing = time.perf_counter()
        rest = asyncio.run(generator.write(database, events - small, progress=progress))
        gets_full = measure_gets(server, paths, samples, seconds)
        as_of = _rfc3339(default_now() - timedelta(days=365))
        in_time_paths = _in_time_paths(generator.missions, random.Random(seed), as_of, known_at)
        gets_in_time = measure_gets(server, in_time_paths, samples, seconds)
        # The small log's server runs beside the full one, and appends alternate between
        # them in rounds, so that noise on the machine hits both p50s alike.
        small_environment = {"INCIDENTS_DATABASE_URL": f"sqlite:///{copy}"}
        with serve(SERVICE, 1, scratch / "scale-small.log", small_environment) as beside:
            appends_full, appends_small = alternate_appends(server, beside, samples, seconds)
        rss_full = server.rss()
        pids = server.worker_pids()
    generated = first.events + rest.events
    file_bytes = sum(path.stat().st_size for path in scratch.glob("log.db*"))
    generation_seconds = first.seconds + rest.seconds
    size = f"{generated:,}"
    figures = []
    for template, latencies in gets_full.items():
        small_p99 = gets_small[template].percentile(0.99)
        figures.append(
            Figure(
                key=f"5-get {template.replace('={mission}', '')}",
                title=f"GET {template} p99 with {size} events in the log",
                unit="ms",
                ours=latencies.percentile(0.99),
                ours_label=f"p99 of {len(latencies.seconds)} sequential requests, client-side",
                targets=[Target("<", 5, of="value")],
                notes=[
                    f"p50 {latencies.percentile(0.5):.2f} ms; response {latencies.bytes:,.0f} "
                    f"bytes; statuses {latencies.statuses}",
                    f"at {small:,} events: p99 {small_p99:.2f} ms",
                    *(
                        [f"first read after the log grew (unmeasured warm-up): {first_read:.0f} ms"]
                        if (first_read := _first_ms(latencies)) is not None
                        else []
                    ),
                    *([FIRST_PAGES[template]] if template in FIRST_PAGES else []),
                ],
                details={
                    "p50_ms": latencies.percentile(0.5),
                    "p99_ms": latencies.percentile(0.99),
                    "max_ms": max(latencies.seconds) * 1000,
                    "requests": len(latencies.seconds),
                    "statuses": latencies.statuses,
                    "bytes": latencies.bytes,
                    "small_p99_ms": small_p99,
                    "first_ms": _first_ms(latencies),
                },
            )
        )
    for template, per_mission, bound in IN_TIME:
        latencies = gets_in_time[template]
        figures.append(
            Figure(
                key=f"5-in-time {template.split('?')[0].replace('/{mission}', '')} "
                f"{template.split('?')[1].replace('={as_of}', '').replace('={known_at}', '')}",
                title=f"GET {template} p99 with {size} events in the log",
                unit="ms",
                ours=latencies.percentile(0.99),
                ours_label=f"p99 of {len(latencies.seconds)} sequential requests, client-side",
                targets=[Target("<", bound, of="value")],
                notes=[
                    f"as_of={as_of}, known_at={known_at} (when the log held {small:,} events)",
                    f"p50 {latencies.percentile(0.5):.2f} ms; response {latencies.bytes:,.0f} "
                    f"bytes; statuses {latencies.statuses}",
                    "per mission" if per_mission else "the first page, of the default size",
                ],
                details={
                    "p50_ms": latencies.percentile(0.5),
                    "p99_ms": latencies.percentile(0.99),
                    "requests": len(latencies.seconds),
                    "statuses": latencies.statuses,
                },
            )
        )
    p50_full, p50_small = appends_full.percentile(0.5), appends_small.percentile(0.5)
    figures.append(
        Figure(
            key="5-append",
            title=f"Append p50 over HTTP at {size} events / at {small:,} events",
            unit="ms",
            ours=p50_full,
            ours_label=f"p50 of {len(appends_full.seconds)} sequential POSTs at {size} events",
            baseline=p50_small,
            baseline_label=f"p50 of {len(appends_small.seconds)} at {small:,}, a server beside "
            "it, alternating batches",
            ratio=p50_full / p50_small,
            targets=[Target("<=", 1.2)],
            notes=[
                f"statuses at {size}: {appends_full.statuses}; at {small:,}: "
                f"{appends_small.statuses}",
                f"p99 {appends_full.percentile(0.99):.2f} ms at {size}, "
                f"{appends_small.percentile(0.99):.2f} ms at {small:,}",
            ],
        )
    )
    growth = (rss_full["VmRSS"] - rss_empty["VmRSS"]) / 1024
    figures.append(
        Figure(
            key="5-rss",
            title=f"Server RSS growth from an empty log to {size} events",
            unit="MB",
            ours=growth,
            ours_label="VmRSS of the granian worker after the same requests, full - empty",
            targets=[Target("<", 100, of="value")],
            notes=[
                f"VmRSS {rss_empty['VmRSS'] / 1024:.0f} MB empty, {rss_full['VmRSS'] / 1024:.0f}"
                f" MB at {size}; peak (VmHWM) {rss_full['VmHWM'] / 1024:.0f} MB; worker pids "
                f"{pids}",
            ],
            details={"empty_kb": rss_empty, "full_kb": rss_full},
        )
    )
    figures.append(
        Figure(
            key="5-generate",
            title=f"Generating the log: {size} events through the store's append path",
            unit="events/s",
            ours=generated / generation_seconds,
            ours_label=f"{generation_seconds:.1f} s in all, append_many of ~1000-event chunks, "
            "8 in flight",
            notes=[
                f"the file: {file_bytes / 1e6:,.0f} MB with its WAL, "
                f"{file_bytes / generated:,.0f} bytes per event",
                f"{len(generator.missions)} missions, {rest.streams:,} streams; "
                f"types: {json.dumps(_merge(first.types, rest.types))}",
            ],
            details={"seconds": generation_seconds, "events": generated, "bytes": file_bytes},
        )
    )
    return figures, database


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _merge(*counts: dict[str, int]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for count in counts:
        for key, value in count.items():
            merged[key] = merged.get(key, 0) + value
    return dict(sorted(merged.items()))
