"""A real ``incidents serve`` process on a free port, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

# Generous: CI machines are shared, and a loaded one starts Python slowly.
STARTUP_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running ``incidents serve`` on a fresh SQLite file (one per test module)."""
    tmp_path = tmp_path_factory.mktemp("served")
    port = _free_port()
    env = {**os.environ, "INCIDENTS_REPLY_WINDOW_DAYS": "30"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "incidents.cli",
            "serve",
            "--port",
            str(port),
            "--database",
            f"sqlite:///{tmp_path / 'served.db'}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"incidents serve exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"incidents serve did not answer /health within {STARTUP_SECONDS} s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
