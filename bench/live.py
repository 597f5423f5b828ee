"""Figure 6: the cost of live push.

A server (1 worker) on a fresh SQLite file takes appends from the load generator of figure 2
(64 connections, one NoteSent a request), in alternating rounds with no SSE subscriber and
with ``subscribers`` of them connected to ``GET /events/live`` from the head, read by a
process of their own (:func:`main`, which reads and drops what comes). The figure is the
median over rounds of the append rate with subscribers over the rate without; each round with
subscribers also checks they received every event appended meanwhile. Memory per subscriber
is the worker's RSS with them connected and idle, less its RSS before, over their number.

``python -m bench.live --port N --count 100`` is the subscribers' process: it connects them,
prints ``ready``, then reads until it gets a line on stdin, and prints a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import Figure, Target
from bench.served import (
    head_position,
    http_rounds,
    load,
    load_tool,
    note_body,
    register_mission,
)
from bench.servers import HOST, SERVICE, Server, serve

_ID = re.compile(rb"\nid: (\d+)\r\n")


class Subscribers:
    """The subscribers' process, started and stopped by the benchmark."""

    def __init__(self, server: Server, count: int) -> None:
        after = head_position(server)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.live",
                "--port",
                str(server.port),
                "--count",
                str(count),
                "--after",
                str(after),
                "--authorization",
                server.authorization,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.process.kill()
            raise RuntimeError(f"the subscribers did not connect: {line!r}")

    def stop(self) -> dict[str, Any]:
        """End the subscribers; what each received."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()
        summary: dict[str, Any] = json.loads(self.process.stdout.readline())
        self.process.wait(timeout=60)
        return summary


def figure_live(
    scratch: Path,
    seconds: float,
    warmup: float,
    subscribers: int = 100,
    connections: int = 64,
) -> list[Figure]:
    """Figure 6: append throughput with ``subscribers`` connected over without; memory per
    subscriber."""
    body_file = scratch / "live-body.json"
    body_file.write_bytes(note_body())
    tool = load_tool()
    rounds, round_seconds = http_rounds(seconds)
    database = scratch / "live.db"
    environment = {"INCIDENTS_DATABASE_URL": f"sqlite:///{database}"}
    without: list[float] = []
    with_: list[float] = []
    received: list[dict[str, Any]] = []
    with serve(SERVICE, 1, scratch / "live.log", environment) as server:
        register_mission(server)
        load(server, warmup, "warm", body_file, connections, tool)
        rss_before = server.rss()["VmRSS"]
        idle = Subscribers(server, subscribers)
        time.sleep(1.0)  # let the worker settle with them connected
        rss_with = server.rss()["VmRSS"]
        idle.stop()
        for round_ in range(rounds):
            for turn in ("none", "with") if round_ % 2 == 0 else ("with", "none"):
                prefix = f"{turn}{round_}"
                if turn == "none":
                    without.append(load(server, round_seconds, prefix, body_file)["rate"])
                    continue
                subscribed = Subscribers(server, subscribers)
                before = head_position(server)
                with_.append(load(server, round_seconds, prefix, body_file)["rate"])
                appended = head_position(server) - before
                summary = subscribed.stop()
                summary["appended"] = appended
                received.append(summary)
            print(
                f"    round {round_ + 1}: no subscriber {without[-1]:,.0f} req/s, "
                f"{subscribers} subscribers {with_[-1]:,.0f} req/s, "
                f"ratio {with_[-1] / without[-1]:.3f} ({tool})",
                flush=True,
            )
    for path in scratch.glob("live.db*"):
        path.unlink()
    ratios = [w / n for w, n in zip(with_, without, strict=True)]
    complete = all(r["least_events"] >= r["appended"] for r in received)
    if not complete:
        # Subscribers that received nothing cost nothing: the ratio would mean nothing.
        raise RuntimeError(f"SSE subscribers missed events: {received}")
    per_subscriber = (rss_with - rss_before) / subscribers
    return [
        Figure(
            key="6-live",
            title=f"HTTP appends with {subscribers} SSE subscribers / with none",
            unit="requests/s",
            ours=statistics.median(with_),
            ours_label=f"appends/s with {subscribers} subscribers on GET /events/live",
            baseline=statistics.median(without),
            baseline_label="appends/s with no subscriber, same server, alternating rounds",
            ratio=statistics.median(ratios),
            targets=[Target(">=", 0.8)],
            notes=[
                f"load: {tool}, {connections} connections, {rounds} alternating rounds of "
                f"{round_seconds} s (median ratio); the subscribers read in a process of "
                "their own on the same machine",
                "every subscriber received every event appended during its round (checked)",
            ],
            details={"rounds": ratios, "received": received},
        ),
        Figure(
            key="6-live-memory",
            title="Server memory per idle SSE subscriber",
            unit="KB",
            ours=per_subscriber,
            ours_label=f"(worker VmRSS with {subscribers} connected - before) / {subscribers}",
            notes=[f"VmRSS {rss_before / 1024:.0f} MB before, {rss_with / 1024:.0f} MB with"],
            details={"rss_before_kb": rss_before, "rss_with_kb": rss_with},
        ),
    ]


# --- the subscribers' process -----------------------------------------------------------------


async def _subscriber(
    port: int,
    after: int,
    authorization: str,
    connected: asyncio.Event,
    counts: list[int],
    index: int,
) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    credentials = f"Authorization: {authorization}\r\n" if authorization else ""
    writer.write(
        f"GET /events/live?after={after} HTTP/1.1\r\nHost: {HOST}\r\n{credentials}"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"GET /events/live answered {head.splitlines()[0]!r}")
    connected.set()
    tail = b""
    try:
        while chunk := await reader.read(65536):
            # Frames may be cut anywhere by chunked encoding: count ids over a seam.
            data = tail + chunk
            counts[index] += len(_ID.findall(data))
            tail = data[-64:]
            counts[index] -= len(_ID.findall(tail))
    finally:
        writer.close()


async def _run(port: int, count: int, after: int, authorization: str) -> dict[str, Any]:
    counts = [0] * count
    events = [asyncio.Event() for _ in range(count)]
    tasks = [
        asyncio.create_task(_subscriber(port, after, authorization, events[i], counts, i))
        for i in range(count)
    ]
    waiting: asyncio.Future[Any] = asyncio.gather(*(event.wait() for event in events))
    watched: list[asyncio.Future[Any]] = [waiting, *tasks]
    await asyncio.wait(watched, return_when=asyncio.FIRST_EXCEPTION, timeout=60)
    if not waiting.done():
        failed = [task.exception() for task in tasks if task.done() and task.exception()]
        print(f"failed: {failed[:1] or 'timeout'}", flush=True)
        sys.exit(1)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    # Let what was committed last reach everyone before counting.
    await asyncio.sleep(1.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"subscribers": count, "least_events": min(counts), "most_events": max(counts)}


def main() -> None:
    """Connect the subscribers, say ``ready``, read until told to stop, print a summary."""
    parser = argparse.ArgumentParser(description="SSE subscribers for figure 6")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--after", type=int, default=0)
    parser.add_argument("--authorization", default="", help="the Authorization header")
    options = parser.parse_args()
    reading = _run(options.port, options.count, options.after, options.authorization)
    try:
        import uvloop
    except ImportError:
        summary = asyncio.run(reading)
    else:
        summary = uvloop.run(reading)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
