"""The id of the request being served, where the service and the logs can read it.

The HTTP layer sets it for each request (an incoming ``X-Request-ID``, or one it makes);
the service writes it into each appended event's metadata as ``correlation_id`` unless the
client set one, and every log line carries it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

CORRELATION_KEY = "correlation_id"


def with_correlation_id(metadata: dict[str, Any]) -> dict[str, Any]:
    """The metadata with the current request's id as ``correlation_id``, unless it has one
    (or no request is being served: the CLI's seeds carry none)."""
    current = request_id.get()
    if current is None or CORRELATION_KEY in metadata:
        return metadata
    return {**metadata, CORRELATION_KEY: current}
