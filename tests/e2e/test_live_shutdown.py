"""A server stopping (SIGTERM, or Ctrl-C's SIGINT to its process group) ends its open live
streams and exits, instead of waiting for their subscribers to leave."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ServedProcess

# Failsafes only: each wait ends on the event itself (the stream's end, the exit). An open
# stream sends a keep-alive every 15 s, so a read alone would never time out.
FAILSAFE_SECONDS = 60


@pytest.mark.parametrize("how", ["SIGTERM to the server", "SIGINT to its process group"])
def test_stopping_the_server_ends_open_live_streams(tmp_path: Path, how: str) -> None:
    server = ServedProcess(tmp_path / "live.db")
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as connection:
            connection.settimeout(FAILSAFE_SECONDS)
            connection.sendall(
                b"GET /events/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer " + server.token.encode() + b"\r\n\r\n"
            )
            received = b""
            while b"retry:" not in received:  # the stream is open and has started
                chunk = connection.recv(4096)
                assert chunk, "the stream ended before it started"
                received += chunk
            assert received.startswith(b"HTTP/1.1 200")
            assert server.process is not None
            if how.startswith("SIGTERM"):
                os.kill(server.process.pid, signal.SIGTERM)
            else:
                os.killpg(server.process.pid, signal.SIGINT)
            # The stream ends (the chunked body's last chunk, then the connection closes)...
            deadline = time.monotonic() + FAILSAFE_SECONDS
            while chunk := connection.recv(4096):
                received += chunk
                if time.monotonic() > deadline:
                    pytest.fail(f"the live stream was still open {FAILSAFE_SECONDS} s on")
            assert received.endswith(b"0\r\n\r\n")
        # ...and the server exits of its own accord.
        assert server.process.wait(timeout=FAILSAFE_SECONDS) == 0
    finally:
        server.kill()
