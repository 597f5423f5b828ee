"""A real ``incidents serve`` process on a free port, for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from incidents.tokens import open_tokens

# Generous: CI machines are shared, and a loaded one starts Python slowly.
STARTUP_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _admin_token(database_url: str) -> str:
    """A new admin token of the log at ``database_url``, made in a thread of its own (the
    caller may be inside a running loop)."""

    async def create() -> str:
        tokens = open_tokens(database_url)
        try:
            return (await tokens.create("admin", "tests")).token
        finally:
            await tokens.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, create()).result()


def note_sent(event_id: str | None = None) -> dict[str, object]:
    """The body of an append that opens a note (``POST /streams/{id}/events``), the event
    carrying ``event_id`` when one is given (a caller that tracks what was acknowledged)."""
    event: dict[str, object] = {
        "type": "NoteSent",
        "occurred_at": "2022-08-17T00:00:00Z",
        "data": {
            "from": {"state": "AZ", "body": "Embassy of Azerbaijan in France"},
            "to": {"state": "FR", "body": "Ministry for Europe and Foreign Affairs"},
            "subject": "security of the embassy",
        },
    }
    if event_id is not None:
        event["event_id"] = event_id
    return {"events": [event]}


class ServedProcess:
    """``incidents serve`` on a SQLite file, in a process group of its own.

    Its output goes to a log file beside the database (a pipe nobody reads would fill up
    and stall the server). ``token`` is an admin token of that log, made before the first
    start; ``headers`` carry it.
    """

    def __init__(
        self,
        database: Path,
        workers: int = 1,
        url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database = database
        self.workers = workers
        # Another database than the file (a PostgreSQL URL); ``database`` then only names
        # where the log file goes.
        self.url = url or f"sqlite:///{database}"
        self.env = env or {}
        self.token = _admin_token(self.url)
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.log = database.with_suffix(".log")
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start the server and wait until it answers ``/health``; returns its base URL."""
        env = {**os.environ, "INCIDENTS_REPLY_WINDOW_DAYS": "30", **self.env}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "incidents.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--database",
                    self.url,
                    "--workers",
                    str(self.workers),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"incidents serve exited with {self.process.returncode}:\n"
                    + self.log.read_text(errors="replace")
                )
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return self.base
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"incidents serve did not answer /health within {STARTUP_SECONDS} s")
            time.sleep(0.1)

    @contextmanager
    def running(self) -> Iterator[ServedProcess]:
        """The server started for the block and stopped after it."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        """Stop gracefully, or kill after ten seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


@pytest.fixture(scope="module")
def served_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    """A running ``incidents serve`` on a fresh SQLite file (one per test module)."""
    server = ServedProcess(tmp_path_factory.mktemp("served") / "served.db")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def served(served_process: ServedProcess) -> str:
    """The base URL of the module's served process."""
    return served_process.base


@pytest.fixture(scope="module")
def served_headers(served_process: ServedProcess) -> dict[str, str]:
    """Headers carrying an admin token of the module's served process."""
    return served_process.headers
