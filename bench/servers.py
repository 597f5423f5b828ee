"""Real server processes for the HTTP figures: start, wait until ready, measure, stop.

Both the service and the bare baseline run under the granian CLI with the flags
``incidents serve`` gives granian (ASGI interface, a factory, no access log, its default
loop and threads), only ``--workers`` varying; they listen on 127.0.0.1 only. A server is
always stopped (SIGTERM to its process group, then SIGKILL) when the ``with`` block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
SERVICE = "incidents.http.app:app_factory"
BARE = "bench.bare_app:app_factory"
# The tuning flags both servers get.
GRANIAN_FLAGS: list[str] = []


def free_port() -> int:
    """A TCP port free on the loopback interface."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def granian_command(
    target: str, port: int, workers: int, flags: list[str] | None = None
) -> list[str]:
    """The granian command line both servers get, differing only in the target.

    ``flags`` replace the tuning flags both get (probes compare settings with them).
    """
    granian = Path(sys.executable).with_name("granian")
    return [
        str(granian),
        "--interface",
        "asgi",
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        *(GRANIAN_FLAGS if flags is None else flags),
        target,
    ]


@dataclass
class Server:
    """A running server process and where it listens."""

    process: subprocess.Popen[bytes]
    port: int
    workers: int
    log: Path
    # The Authorization header of a writer token of the served log ("" for the bare app).
    authorization: str = ""

    @property
    def base(self) -> str:
        """``host:port``."""
        return f"{HOST}:{self.port}"

    def worker_pids(self) -> list[int]:
        """The worker processes granian started (children of its main process)."""
        return children(self.process.pid)

    def rss(self) -> dict[str, int]:
        """VmRSS and VmHWM, in kB, summed over the worker processes."""
        totals = {"VmRSS": 0, "VmHWM": 0}
        for pid in self.worker_pids():
            for key, value in memory_of(pid).items():
                totals[key] += value
        return totals


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("PPid:"):
                if int(line.split()[1]) == pid:
                    found.append(int(entry.name))
                break
    return sorted(found)


def memory_of(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process in kB (zeros when it is gone)."""
    values = {"VmRSS": 0, "VmHWM": 0}
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return values
    for line in status.splitlines():
        key = line.split(":", 1)[0]
        if key in values:
            values[key] = int(line.split()[1])
    return values


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    """Poll ``GET /health`` until every worker can answer (or raise)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace").strip().splitlines()[-15:]
            raise RuntimeError(
                f"server exited with {server.process.returncode} (log: {server.log}); "
                + " | ".join(line.strip() for line in tail if line.strip())[-300:]
                + "\n"
                + "\n".join(tail)
            )
        try:
            connection = http.client.HTTPConnection(HOST, server.port, timeout=2)
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status == 200 and len(server.worker_pids()) >= server.workers:
                # Let every worker finish its start-up, not only the one that answered.
                time.sleep(0.5)
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on port {server.port} not ready within {timeout:g} s")


@contextlib.contextmanager
def serve(
    target: str,
    workers: int,
    log: Path,
    environment: dict[str, str] | None = None,
    flags: list[str] | None = None,
    cwd: Path | None = None,
) -> Iterator[Server]:
    """Run a granian server for ``target`` until the block ends.

    granian imports the target with its working directory first on ``sys.path``, so
    ``cwd`` decides which checkout is served (probes compare trees with it).
    """
    port = free_port()
    env = {**os.environ, **(environment or {})}
    authorization = ""
    if target == SERVICE and env.get("INCIDENTS_DATABASE_URL", "").startswith(
        ("sqlite:///", "postgresql://")
    ):
        authorization = f"Bearer {writer_token(env['INCIDENTS_DATABASE_URL'])}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            granian_command(target, port, workers, flags),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd,
        )
    server = Server(process, port, workers, log, authorization)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(process)


def writer_token(database_url: str) -> str:
    """A new writer token of the log at ``database_url``: the service wants one for appends,
    and reads carry it too, as a desk's client would."""
    from incidents.tokens import open_tokens

    async def create() -> str:
        tokens = open_tokens(database_url)
        try:
            return (await tokens.create("writer", "bench")).token
        finally:
            await tokens.close()

    return asyncio.run(create())


def stop(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left after ``grace``."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # Workers may outlive a killed main process in the same group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
