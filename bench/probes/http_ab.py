"""Probe: figure 2's load against server variants in turns, with CPU time per request.

``python -m bench.probes.http_ab ROUNDS SECONDS VARIANT...`` where each VARIANT is
``label=target[@tree][+flags][%NAME=value...]``: ``target`` is ``bare`` or ``ours`` (or a
``module:factory``), ``tree`` a checkout served from (its working directory and first on
PYTHONPATH: the code before a change, say ``git archive HEAD incidents bench | tar -x -C
/tmp/before``; without one, this checkout), and the flags, comma-separated, replace
:data:`bench.servers.GRANIAN_FLAGS` (``+--loop,uvloop,--runtime-threads,2``); each
``%NAME=value`` is set in the server's environment (``%INCIDENTS_BATCH_WAIT=0.001``). Every
round starts each variant fresh (the service on a new SQLite file), warms it for 2 s,
then runs wrk as figure 2 does, and reads the worker's CPU time per thread from /proc.
It prints one line per run and, at the end, each variant's median requests/s, its ratio
to the first variant's median, and the CPU microseconds per request of the event loop's
thread, the busiest other thread (the store's writer in the service) and the rest
(granian's Rust threads, the readers).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.served import load, note_body
from bench.servers import BARE, SERVICE, serve

TARGETS = {"bare": BARE, "ours": SERVICE}


@dataclass
class Variant:
    """One server configuration and what its runs measured."""

    label: str
    target: str
    tree: str | None
    flags: list[str] | None
    environment: dict[str, str] = field(default_factory=dict)
    rates: list[float] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)


def parse(spec: str) -> Variant:
    """``label=target[@tree][+flags][%NAME=value...]``."""
    spec, *assignments = spec.split("%")
    label, _, rest = spec.partition("=")
    rest, _, flags = rest.partition("+")
    target, _, tree = rest.partition("@")
    return Variant(
        label,
        TARGETS.get(target, target),
        tree or None,
        [flag for flag in flags.split(",") if flag] if flags else None,
        dict(assignment.split("=", 1) for assignment in assignments),
    )


def thread_ticks(pid: int) -> dict[int, tuple[str, int]]:
    """Each thread of ``pid``: its name and CPU clock ticks (user + system)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(task.name)] = (comm, int(fields[11]) + int(fields[12]))
    return found


def cpu_per_request(
    pid: int, before: dict[int, tuple[str, int]], requests: int
) -> dict[str, float]:
    """Microseconds of CPU per request: the loop's thread, the busiest other, the rest."""
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    after = thread_ticks(pid)
    used = {tid: ticks - before.get(tid, (name, 0))[1] for tid, (name, ticks) in after.items()}
    loop = used.pop(pid, 0)
    busiest = max(used.values(), default=0)
    rest = sum(used.values()) - busiest
    return {
        "loop": loop * tick_us / requests,
        "busiest": busiest * tick_us / requests,
        "rest": rest * tick_us / requests,
    }


def run(variant: Variant, seconds: float, scratch: Path, round_: int) -> None:
    """Serve the variant on a fresh file, warm it, load it, record rate and CPU."""
    environment = {
        "INCIDENTS_DATABASE_URL": f"sqlite:///{scratch}/{variant.label}-{round_}.db",
        **variant.environment,
    }
    tree = Path(variant.tree) if variant.tree else None
    if tree:
        environment["PYTHONPATH"] = str(tree)
    log = scratch / f"{variant.label}-{round_}.log"
    body = scratch / "body.json"
    with serve(variant.target, 1, log, environment, variant.flags, tree) as server:
        load(server, 2, f"warm{round_}", body)
        (worker,) = server.worker_pids()
        before = thread_ticks(worker)
        result = load(server, seconds, f"run{round_}", body)
        cpu = cpu_per_request(worker, before, result["requests"])
    variant.rates.append(result["rate"])
    variant.cpu.append(cpu)
    print(
        f"round {round_ + 1} {variant.label:12s} {result['rate']:8,.0f} req/s  cpu us/req "
        + " ".join(f"{k} {v:5.0f}" for k, v in cpu.items())
        + f"  p50 {result['latency_p50_us'] / 1000:.1f} ms, errors {result['status_errors']}",
        flush=True,
    )


def main() -> None:
    """Run every variant ROUNDS times in alternating order, then print their medians."""
    rounds, seconds, *specs = sys.argv[1:]
    variants = [parse(spec) for spec in specs]
    out = Path(__file__).parents[1] / "out"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as directory:
        scratch = Path(directory)
        (scratch / "body.json").write_bytes(note_body())
        for round_ in range(int(rounds)):
            order = variants if round_ % 2 == 0 else variants[::-1]
            for variant in order:
                run(variant, float(seconds), scratch, round_)
    first = statistics.median(variants[0].rates)
    for variant in variants:
        rate = statistics.median(variant.rates)
        cpu = {k: statistics.median(c[k] for c in variant.cpu) for k in variant.cpu[0]}
        print(
            f"{variant.label:12s} median {rate:8,.0f} req/s  x{rate / first:.3f}  cpu us/req "
            + " ".join(f"{k} {v:5.0f}" for k, v in cpu.items())
        )


if __name__ == "__main__":
    main()
