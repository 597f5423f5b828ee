"""``incidents serve`` on a port already in use fails at once, whatever SO_REUSEPORT allows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from incidents.exits import ExitCode
from tests.e2e.conftest import ServedProcess

pytestmark = pytest.mark.e2e

# A failsafe only: the command fails before it starts any server.
FAILSAFE_SECONDS = 60


def serve(port: int, database: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "incidents.cli",
            "serve",
            "--port",
            str(port),
            "--database",
            database,
        ],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=FAILSAFE_SECONDS,
        check=False,
    )


def assert_refused(done: subprocess.CompletedProcess[str], port: int) -> None:
    assert done.returncode == ExitCode.ADDRESS, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"error: cannot serve on 127.0.0.1:{port}: Address already in use",
        "  another process holds this port: stop it, or choose another with --port",
    ]
    assert "Listening" not in done.stdout + done.stderr


@pytest.fixture(params=[False, True], ids=["plain", "reuseport"])
def held_port(request: pytest.FixtureRequest) -> Iterator[int]:
    """A port held by a listening socket, set with SO_REUSEPORT (as granian binds) or not."""
    with socket.socket() as holder:
        if request.param:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_port_held_by_a_socket_is_refused(held_port: int, tmp_path: Path) -> None:
    done = serve(held_port, f"sqlite:///{tmp_path / 'log.db'}")
    assert_refused(done, held_port)
    # Refused before the database was touched.
    assert not (tmp_path / "log.db").exists()


def test_a_second_server_on_the_port_of_a_running_one_is_refused(tmp_path: Path) -> None:
    # Given a running service on a port
    first = ServedProcess(tmp_path / "first.db")
    base = first.start()
    try:
        # When a second is started on the same port, then it fails at once
        assert_refused(serve(first.port, "memory://"), first.port)
        # and the first one still answers on that address
        for _ in range(10):
            answer = httpx.get(f"{base}/health", timeout=10)
            assert answer.status_code == 200
        assert first.process is not None and first.process.poll() is None
    finally:
        first.stop()
