"""The body read timeout's receive channel: a body that stalls past the deadline ends in
:class:`BodyTimeoutError`; any other cancellation stays a cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from incidents.http.limits import BodyTimeoutError, ClientDisconnectedError, _BoundedReceive

# A failsafe only: each test waits on the event itself.
FAILSAFE = 30.0


async def never() -> Any:
    await asyncio.Event().wait()


def bounded(receive: Any, seconds_left: float) -> _BoundedReceive:
    loop = asyncio.get_running_loop()
    return _BoundedReceive(receive, loop.time() + seconds_left, 5.0)


async def test_a_body_stalled_past_its_deadline_is_a_body_timeout() -> None:
    with pytest.raises(BodyTimeoutError, match="within 5 s"):
        await asyncio.wait_for(bounded(never, 0.0)(), FAILSAFE)


async def test_a_task_cancelled_while_it_waits_stays_cancelled() -> None:
    task = asyncio.create_task(bounded(never, FAILSAFE)())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_parts_of_a_body_pass_then_the_channel_is_left_alone() -> None:
    messages = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.request", "body": b"}", "more_body": False},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Any:
        return messages.pop(0)

    channel = bounded(receive, FAILSAFE)
    assert [(await channel())["type"] for _ in range(3)] == [
        "http.request",
        "http.request",
        "http.disconnect",
    ]


async def test_a_disconnect_before_the_body_is_complete_is_named() -> None:
    async def receive() -> Any:
        return {"type": "http.disconnect"}

    with pytest.raises(ClientDisconnectedError):
        await bounded(receive, FAILSAFE)()
