"""What a slow or vanishing client may cost the server: a bounded wait for the body.

granian bounds the wait for headers (``header_read_timeout``) but not for the body: a client
that sends headers and then one byte a minute would hold its request open for ever. Here
the whole body must arrive within ``body_read_timeout`` seconds of the request's start, or
the request ends with 408 (problem+json) and nothing is stored. A client that disconnects
before its body is complete is logged in one line, with no traceback, and gets no answer.

Once the body is complete the receive channel is left alone: a streaming response (the live
feed) waits on it for the client's disconnect for as long as the stream lasts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.types import ASGIApp, ExceptionHandlersMap, Receive, ReceiveMessage, Scope, Send

from incidents.http.problems import problem

logger = logging.getLogger("incidents.http")


class ClientDisconnectedError(Exception):
    """The client disconnected before its body was complete."""


class BodyTimeoutError(Exception):
    """The body did not arrive within the body read timeout."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(f"the request body did not arrive within {timeout:g} s")


def body_read_timeout_middleware(timeout: float) -> Any:
    """A Litestar middleware factory bounding the time a request's body may take."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            deadline = asyncio.get_running_loop().time() + timeout
            complete = False

            async def bounded_receive() -> ReceiveMessage:
                nonlocal complete
                if complete:
                    return await receive()
                # A timeout on this task, not wait_for: that wraps each receive in a task.
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    raise BodyTimeoutError(timeout) from None
                if message["type"] == "http.disconnect":
                    raise ClientDisconnectedError
                if not message.get("more_body", False):
                    complete = True
                return message

            await app(scope, bounded_receive, send)

        return middleware

    return factory


def _timed_out(request: Request[Any, Any, Any], exc: BodyTimeoutError) -> Response[Any]:
    logger.info("%s: %s %s", exc, request.method, request.url.path)
    return problem(
        408,
        "/problems/request-timeout",
        "Request timeout",
        f"{exc}; nothing was stored",
        headers={"Connection": "close"},
    )


def _gone(request: Request[Any, Any, Any], _: ClientDisconnectedError) -> Response[Any]:
    # One line, no traceback: a client hanging up is not the server's failure.
    logger.info(
        "client disconnected before its body was complete: %s %s",
        request.method,
        request.url.path,
    )
    return problem(400, "/problems/bad-request", "Bad request", "the client disconnected")


LIMIT_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    BodyTimeoutError: _timed_out,
    ClientDisconnectedError: _gone,
}
