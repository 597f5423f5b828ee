"""Slow and vanishing clients against a served process: they cost a bounded wait, no more."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServedProcess

pytestmark = pytest.mark.e2e

STALLED = 1100
# A failsafe only (the issue's bound): /health is asked once, and answers at once.
HEALTH_SECONDS = 2.0


def stalled_body(port: int, headers: dict[str, str]) -> socket.socket:
    """A connection that sends a POST's headers and one byte of its 100-byte body."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    sock.sendall(
        (
            "POST /streams/note-slow-1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\n{head}Content-Length: 100\r\n\r\n{{"
        ).encode()
    )
    return sock


def test_a_thousand_stalled_bodies_do_not_stop_health(tmp_path: Path) -> None:
    # Given a server whose body timeout is far longer than the check
    server = ServedProcess(tmp_path / "stalled.db", env={"INCIDENTS_BODY_READ_TIMEOUT": "60"})
    sockets: list[socket.socket] = []
    try:
        server.start()
        # when 1,100 clients each send headers and one byte of their body, then stall
        sockets = [stalled_body(server.port, server.headers) for _ in range(STALLED)]
        # then /health still answers, within the issue's bound
        started = time.monotonic()
        health = httpx.get(f"{server.base}/health", timeout=HEALTH_SECONDS)
        assert health.status_code == 200
        assert time.monotonic() - started < HEALTH_SECONDS
        assert health.json()["head_position"] == 0
    finally:
        for sock in sockets:
            sock.close()
        server.stop()


def test_a_stalled_body_gets_408_and_a_vanished_client_one_log_line(tmp_path: Path) -> None:
    # Given a server that waits one second for a body
    server = ServedProcess(tmp_path / "timeout.db", env={"INCIDENTS_BODY_READ_TIMEOUT": "1"})
    try:
        server.start()
        # when a client stalls mid-body, then it is answered 408, problem+json
        with stalled_body(server.port, server.headers) as sock:
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert b" 408 " in status_line, answer
        assert b"application/problem+json" in rest.lower()
        # and clients that hang up mid-body leave one line each in the log, no traceback
        for _ in range(5):
            stalled_body(server.port, server.headers).close()
        health = httpx.get(f"{server.base}/health", timeout=30)
        assert health.json()["head_position"] == 0
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    assert log.count("client disconnected before its body was complete") >= 1, log[-3000:]
