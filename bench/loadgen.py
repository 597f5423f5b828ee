"""A small HTTP/1.1 load generator, used for figure 2 where wrk is not installed.

``python -m bench.loadgen --port P --connections 64 --seconds 10 --prefix run --body FILE``
keeps ``--connections`` keep-alive connections to 127.0.0.1 busy, each POSTing the body to
a fresh ``note-<prefix>-c<connection>-<n>`` stream per request (like bench/post_event.lua),
and prints one JSON line with the same keys as the wrk script. It runs in a process of its
own, so it does not share the servers' or the benchmark's event loop; being Python, it
generates less load than wrk does and is reported as such.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"
MAX_REQUESTS = 5_000_000


@dataclass
class Tally:
    """What the connections saw."""

    requests: int = 0
    bytes: int = 0
    status_errors: int = 0
    non_2xx: int = 0
    read_errors: int = 0
    connect_errors: int = 0
    latencies: list[float] = field(default_factory=list)


async def _response(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Read one response; return its status and size."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split()[1])
    length = 0
    chunked = False
    size = len(status_line)
    while True:
        line = await reader.readline()
        size += len(line)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            chunk_size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(chunk_size + 2)
            size += chunk_size
            if chunk_size == 0:
                break
    elif length:
        await reader.readexactly(length)
        size += length
    return status, size


async def _connection(
    port: int, prefix: str, index: int, body: bytes, stop: float, tally: Tally
) -> None:
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        tally.connect_errors += 1
        return
    head = f"Host: {HOST}:{port}\r\nContent-Type: application/json\r\n"
    authorization = os.environ.get("BENCH_AUTHORIZATION")
    if authorization:
        head += f"Authorization: {authorization}\r\n"
    number = 0
    try:
        while time.perf_counter() < stop and tally.requests < MAX_REQUESTS:
            number += 1
            path = f"/streams/note-{prefix}-c{index}-{number}/events"
            request = (
                f"POST {path} HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
            )
            started = time.perf_counter()
            writer.write(request)
            status, size = await _response(reader)
            tally.latencies.append(time.perf_counter() - started)
            tally.requests += 1
            tally.bytes += size
            if status > 399:
                tally.status_errors += 1
            if not 200 <= status < 300:
                tally.non_2xx += 1
    except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
        tally.read_errors += 1
    finally:
        writer.close()


async def run(
    port: int, connections: int, seconds: float, prefix: str, body: bytes
) -> dict[str, Any]:
    """Load the server for ``seconds``; the summary wrk's script would print."""
    tally = Tally()
    started = time.perf_counter()
    stop = started + seconds
    await asyncio.gather(
        *(_connection(port, prefix, i, body, stop, tally) for i in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(tally.latencies) or [0.0]
    return {
        "requests": tally.requests,
        "duration_us": int(elapsed * 1e6),
        "bytes": tally.bytes,
        "connect_errors": tally.connect_errors,
        "read_errors": tally.read_errors,
        "write_errors": 0,
        "status_errors": tally.status_errors,
        "non_2xx": tally.non_2xx,
        "timeouts": 0,
        "latency_p50_us": int(latencies[len(latencies) // 2] * 1e6),
        "latency_p99_us": int(latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1e6),
        "latency_mean_us": statistics.fmean(latencies) * 1e6,
    }


def main() -> None:
    """Parse the options, run, print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--prefix", default="run")
    parser.add_argument("--body", required=True)
    options = parser.parse_args()
    with open(options.body, "rb") as file:
        body = file.read()
    load = run(options.port, options.connections, options.seconds, options.prefix, body)
    try:
        import uvloop
    except ImportError:
        summary = asyncio.run(load)
    else:
        summary = uvloop.run(load)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
