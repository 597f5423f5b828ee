"""``GET /events/live``: the log as Server-Sent Events, stored events first, then live ones.

``GET /events`` with ``Accept: text/event-stream`` answers the same stream (see
``incidents/http/streams.py``). The feed behind it is one per process (``incidents/live.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from incidents.domain.events import MissionRef
from incidents.http.bodies import MAX_VERSION, Category, EventTypeName, StreamId
from incidents.http.problems import QUERY_PROBLEMS, ParameterError
from incidents.live import EventFilter, LogFeed, subscriber_frames


@dataclass
class LiveOptions:
    """How each subscriber's stream is kept healthy (from the settings)."""

    keepalive_seconds: float


@dataclass
class _Encoded(ServerSentEventMessage):
    """Frames the feed has encoded already: passed through as they are.

    The feed encodes each event once for every subscriber; ``ServerSentEventMessage``
    would encode it again per subscriber.
    """

    frames: bytes = b""

    def encode(self) -> bytes:
        return self.frames


@contextlib.contextmanager
def streams_end_on_shutdown(feed: LogFeed) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT end every live stream (:meth:`LogFeed.end`) before
    they reach the server's own handler.

    granian stops a worker by waiting for its open responses to finish, and a live stream
    never does by itself: without this, a worker with a subscriber would not stop until the
    subscriber left. Only a handler already set is wrapped (granian's worker sets its own);
    the handlers are put back on the way out.

    A worker process of a server (one with a parent) ignores SIGINT instead: Ctrl-C sends it
    to the whole process group, and the server's main process answers it by sending each
    worker SIGTERM, so a worker would be told to stop twice at once. granian 2.8.9's worker
    can deadlock on that second stop (its handler blocks for good in ``WorkerSignal.set``
    while holding the GIL; seen with gdb about once in 20 Ctrl-Cs), leaving the server
    hung. The SIGTERM alone stops it.
    """
    loop = asyncio.get_running_loop()
    # Each signal changed, with the handler it had.
    changed: list[tuple[signal.Signals, Any]] = []
    if multiprocessing.parent_process() is not None:
        with contextlib.suppress(ValueError):  # not the main thread: nothing to change
            changed.append((signal.SIGINT, signal.signal(signal.SIGINT, signal.SIG_IGN)))
    for number in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(number)
        if not callable(previous) or any(number == done for done, _ in changed):
            continue

        def handler(
            signum: int,
            frame: FrameType | None,
            previous: Callable[[int, FrameType | None], object] = previous,
        ) -> None:
            loop.call_soon_threadsafe(feed.end)
            previous(signum, frame)

        try:
            signal.signal(number, handler)
        except ValueError:  # not the main thread: nothing to wrap
            continue
        changed.append((number, previous))
    try:
        yield
    finally:
        for number, previous in changed:
            with contextlib.suppress(ValueError):
                signal.signal(number, previous)


def last_event_position(last_event_id: str | None, after: int) -> int:
    """Where a stream resumes: ``Last-Event-ID`` (a reconnecting EventSource) wins over
    ``after``; malformed is a 400."""
    if last_event_id is None:
        return after
    text = last_event_id.strip()
    if not text.isdigit() or len(text) > 19 or int(text) > MAX_VERSION:
        raise ParameterError(
            "header",
            "Last-Event-ID",
            f"Last-Event-ID must be a log position (a whole number), not {last_event_id!r}",
        )
    return int(text)


def live_response(
    feed: LogFeed,
    options: LiveOptions,
    after: int,
    last_event_id: str | None,
    types: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    streams: Sequence[str] | None = None,
    missions: Sequence[str] | None = None,
) -> ServerSentEvent:
    """The SSE response for one subscriber."""
    event_filter = EventFilter(
        frozenset(types or ()),
        frozenset(categories or ()),
        frozenset(streams or ()),
        frozenset(missions or ()),
    )
    start = last_event_position(last_event_id, after)

    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        frames = subscriber_frames(feed, event_filter, start, options.keepalive_seconds)
        async for chunk in frames:
            yield _Encoded(frames=chunk)

    return ServerSentEvent(messages())


class LiveController(Controller):
    """``/events/live``: push every committed event."""

    path = "/events/live"
    tags = ["log"]

    @get(
        "/",
        summary="Follow the log live (Server-Sent Events)",
        description="First the stored events after `after` (or after `Last-Event-ID`, which "
        "wins), then each event as it is committed. The SSE `id` is the position. A "
        "subscriber that falls too far behind receives a `cut-off` event naming the "
        "position to resume after, and the stream ends.",
        responses=QUERY_PROBLEMS,
        media_type="text/event-stream",
    )
    async def live(
        self,
        feed: NamedDependency[LogFeed],
        live_options: NamedDependency[LiveOptions],
        after: Annotated[int, QueryParameter(ge=0, le=MAX_VERSION)] = 0,
        type_: Annotated[list[EventTypeName] | None, QueryParameter(name="type")] = None,
        category: FromQuery[list[Category] | None] = None,
        stream: FromQuery[list[StreamId] | None] = None,
        mission: FromQuery[list[MissionRef] | None] = None,
        last_event_id: Annotated[str | None, HeaderParameter(name="Last-Event-ID")] = None,
    ) -> ServerSentEvent:
        """Stored events after a position, then live ones, filtered."""
        return live_response(
            feed, live_options, after, last_event_id, type_, category, stream, mission
        )
