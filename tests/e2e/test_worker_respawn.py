"""A served process whose worker dies keeps serving: granian starts the worker again."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServedProcess, note_sent

pytestmark = pytest.mark.e2e

# A failsafe, not a timing: the loop below ends as soon as the new worker answers.
FAILSAFE_SECONDS = 90


def _children(pid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return {int(child) for child in listing.read().split()}


def _started(server: ServedProcess) -> int:
    """How many times the server has logged a worker started."""
    return server.log.read_text(errors="replace").count("Started worker-")


def test_a_killed_worker_is_started_again_and_the_server_keeps_serving(tmp_path: Path) -> None:
    # Given a server with two workers
    server = ServedProcess(tmp_path / "respawn.db", workers=2)
    with server.running():
        assert server.process is not None
        workers = _children(server.process.pid)
        assert len(workers) >= 2, workers
        # when one worker is killed outright
        victim = min(workers)
        started = _started(server)
        os.kill(victim, signal.SIGKILL)
        # then another takes its place (granian logs it started once it serves), the server
        # process lives on and appends still work
        deadline = time.monotonic() + FAILSAFE_SECONDS
        while True:
            assert server.process.poll() is None, server.log.read_text(errors="replace")
            now = _children(server.process.pid)
            if victim not in now and len(now) >= len(workers) and _started(server) > started:
                break
            assert time.monotonic() < deadline, f"no worker replaced {victim}: {now}"
            time.sleep(0.2)
        with httpx.Client(base_url=server.base, headers=server.headers, timeout=30) as client:
            for _ in range(4):
                assert client.get("/health").status_code == 200
            response = client.post(
                f"/streams/note-{uuid.uuid4().hex[:16]}/events",
                json=note_sent(),
            )
            assert response.status_code == 201, response.text
