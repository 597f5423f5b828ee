"""Live push: one feed per process follows the log and hands each committed batch to every
subscriber.

The feed waits on the store's ``watch`` (woken by this process's commits at once, by other
processes' through the store's own means: PostgreSQL's LISTEN/NOTIFY or SQLite's head poll,
each with a slow poll as a safety net), reads what was committed with one ``read_all`` and
encodes each event's Server-Sent Events frame once. Subscribers share those frames, so N
subscribers cost one read and one encoding of each batch, not N.

A subscriber first catches up from the store on its own (pages of stored events after its
cursor), then joins the feed at a position its catch-up has covered, in one step of the
event loop, and skips what it has already sent: no gap and no duplicate at the hand-over.
Each subscriber holds at most ``buffer_bytes`` of frames it has not sent; one that falls
further behind is cut off with a last event saying where to resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import msgspec

from incidents.store.protocol import (
    EventStore,
    RecordedEvent,
    StoreUnavailableError,
    category_of,
)

log = logging.getLogger(__name__)

# How many events one read of the log takes, in catch-up and in the feed.
PAGE = 1000
# The reconnection delay suggested to EventSource clients (the SSE ``retry`` field), in ms.
RETRY_MS = 3000
# How long the feed waits before watching again after the store could not be read.
FEED_RETRY_SECONDS = 1.0

_encode_event = msgspec.json.Encoder().encode


class EventFilter(msgspec.Struct, frozen=True):
    """Which events a subscriber wants; an empty field lets every value through.

    ``missions`` keeps the events of the mission's own stream and of every stream whose
    state names that mission.
    """

    types: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    streams: frozenset[str] = frozenset()
    missions: frozenset[str] = frozenset()

    @property
    def is_empty(self) -> bool:
        """Whether the filter lets every event through."""
        return not (self.types or self.categories or self.streams or self.missions)

    def matches(self, item: FeedItem) -> bool:
        """Whether ``item`` passes every non-empty field."""
        return (
            (not self.types or item.type in self.types)
            and (not self.categories or item.category in self.categories)
            and (not self.streams or item.stream_id in self.streams)
            and (not self.missions or item.mission in self.missions)
        )


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One committed event as subscribers see it: what filters read and its encoded frame."""

    position: int
    type: str
    category: str
    stream_id: str
    mission: str | None
    frame: bytes


def event_frame(event: RecordedEvent) -> bytes:
    """The event's SSE frame: its position as ``id`` and its envelope as JSON ``data``."""
    return b"id: %d\r\ndata: %s\r\n\r\n" % (event.position, _encode_event(event))


def control_frame(event: str, data: object, position: int | None = None) -> bytes:
    """A named SSE event (not a log event) with JSON data, optionally with an ``id``."""
    head = b"" if position is None else b"id: %d\r\n" % position
    return b"%sevent: %s\r\ndata: %s\r\n\r\n" % (head, event.encode(), _encode_event(data))


async def missions_of(store: EventStore, events: Sequence[RecordedEvent]) -> dict[str, str]:
    """The mission each of the events' streams concerns, by stream id (one ``get_streams``).

    A mission stream concerns itself; another stream the mission its state names, if any.
    """
    missions: dict[str, str] = {}
    others: set[str] = set()
    for event in events:
        if category_of(event.stream_id) == "mission":
            missions[event.stream_id] = event.stream_id
        else:
            others.add(event.stream_id)
    if others:
        rows = await store.get_streams(sorted(others))
        missions.update({sid: row.mission for sid, row in rows.items() if row.mission})
    return missions


async def feed_items(
    store: EventStore, events: Sequence[RecordedEvent], *, with_missions: bool
) -> list[FeedItem]:
    """Encode ``events`` for subscribers; look their missions up only when asked to."""
    missions = await missions_of(store, events) if with_missions else {}
    return [
        FeedItem(
            event.position,
            event.type,
            category_of(event.stream_id),
            event.stream_id,
            missions.get(event.stream_id),
            event_frame(event),
        )
        for event in events
    ]


class CutOff(msgspec.Struct, frozen=True):
    """The last event a subscriber that fell too far behind receives."""

    reason: str
    detail: str
    resume_after: int


@dataclass(eq=False)
class Subscription:
    """One subscriber's place in the feed: frames waiting to be sent, bounded in bytes."""

    filter: EventFilter
    # The last position the subscriber has covered; the feed hands it nothing at or before.
    covered: int
    buffer_bytes: int
    pending: deque[FeedItem] = field(default_factory=deque)
    pending_bytes: int = 0
    cut_off: bool = False
    closed: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, items: Sequence[FeedItem]) -> None:
        """Queue the items this subscriber wants; past the bound, cut it off instead."""
        if self.cut_off or self.closed:
            return
        matching = self.filter.is_empty
        added = 0
        for item in items:
            if item.position <= self.covered:
                continue
            if not matching and not self.filter.matches(item):
                continue
            self.pending.append(item)
            added += len(item.frame)
        if not added:
            return
        self.pending_bytes += added
        if self.pending_bytes > self.buffer_bytes:
            # What is queued is dropped at once: the subscriber resumes from what it was sent.
            self.pending.clear()
            self.pending_bytes = 0
            self.cut_off = True
        self.wake.set()

    def take(self) -> list[FeedItem]:
        """Everything queued, oldest first, and clear the wake-up."""
        items = list(self.pending)
        self.pending.clear()
        self.pending_bytes = 0
        self.wake.clear()
        return items

    def close(self) -> None:
        """End the subscription (the feed stops); the subscriber's stream then ends."""
        self.closed = True
        self.wake.set()


class LogFeed:
    """One per process: reads each committed batch once and offers it to every subscriber."""

    def __init__(self, store: EventStore, buffer_bytes: int) -> None:
        self.store = store
        self.buffer_bytes = buffer_bytes
        # The last position handed to subscribers; None until the feed has read the head.
        self.position: int | None = None
        self._subscribers: set[Subscription] = set()
        # Set, and replaced, when the position moves or a subscriber joins or leaves.
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        """How many subscribers are joined right now."""
        return len(self._subscribers)

    async def start(self) -> None:
        """Start following the log; returns once the feed knows the head."""
        self._task = asyncio.create_task(self._run(), name="log-feed")
        started = asyncio.create_task(self.wait_for(lambda: self.position is not None))
        await asyncio.wait({started, self._task}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if self._task.done():
            self._task.result()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds, checked each time the position moves or a
        subscriber joins or leaves."""
        while not predicate():
            await self._changed.wait()

    def _moved(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def stop(self) -> None:
        """Stop following the log and end every subscription."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subscription in list(self._subscribers):
            subscription.close()
        self._subscribers.clear()

    def subscribe(self, event_filter: EventFilter, covered: int) -> Subscription | None:
        """Join the feed if a catch-up that has covered the log up to ``covered`` loses
        nothing by joining now (the feed has handed out nothing after it); else None.

        Called with no ``await`` between the check and the joining, so no batch slips in
        between.
        """
        if self.position is None or self.position > covered:
            return None
        subscription = Subscription(event_filter, covered, self.buffer_bytes)
        self._subscribers.add(subscription)
        self._moved()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Leave the feed (the subscriber went away or was cut off)."""
        self._subscribers.discard(subscription)
        self._moved()

    async def _run(self) -> None:
        while True:
            try:
                async for head in self.store.watch():
                    await self._read_up_to(head)
                return
            except StoreUnavailableError as error:
                log.warning("live feed: the log could not be read (%s); retrying", error)
                await asyncio.sleep(FEED_RETRY_SECONDS)

    async def _read_up_to(self, head: int) -> None:
        if self.position is None:
            # Subscribers catch up from the store; the feed starts at the head it first sees.
            self.position = head
            self._moved()
            return
        while self.position < head:
            events = await self.store.read_all(after=self.position, limit=PAGE)
            if not events:
                return
            with_missions = any(s.filter.missions for s in self._subscribers)
            items = await feed_items(self.store, events, with_missions=with_missions)
            self.position = events[-1].position
            for subscription in list(self._subscribers):
                subscription.offer(items)
            self._moved()


CUT_OFF_REASON = "too-slow"


async def subscriber_frames(
    feed: LogFeed,
    event_filter: EventFilter,
    after: int,
    keepalive_seconds: float,
) -> AsyncIterator[bytes]:
    """The SSE byte stream of one subscriber: stored events after ``after``, then live ones.

    Yields a ``retry`` hint first, keep-alive comments when nothing was sent for
    ``keepalive_seconds``, and ends with a ``cut-off`` event if the subscriber falls more than
    the feed's ``buffer_bytes`` behind.
    """
    store = feed.store
    yield b": incidents log\r\nretry: %d\r\n\r\n" % RETRY_MS
    cursor = after
    subscription: Subscription | None = None
    types = sorted(event_filter.types) or None
    categories = sorted(event_filter.categories) or None
    if event_filter.streams and not categories:
        categories = sorted({category_of(s) for s in event_filter.streams})
    with_missions = bool(event_filter.missions)
    while subscription is None:
        mark = feed.position
        events = await store.read_all(after=cursor, limit=PAGE, types=types, categories=categories)
        if events:
            items = await feed_items(store, events, with_missions=with_missions)
            frames = [item.frame for item in items if event_filter.matches(item)]
            cursor = events[-1].position
            if frames:
                yield b"".join(frames)
        if len(events) < PAGE and mark is not None:
            # A short page holds every match up to the head it read, which is at least
            # what the feed had handed out before the read began.
            cursor = max(cursor, mark)
            subscription = feed.subscribe(event_filter, cursor)
        elif mark is None:
            await feed.wait_for(lambda: feed.position is not None)
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscription.wake.wait(), keepalive_seconds)
            if subscription.cut_off:
                cut = CutOff(
                    CUT_OFF_REASON,
                    "this subscriber fell more than "
                    f"{subscription.buffer_bytes} bytes behind the log; reconnect with "
                    "Last-Event-ID (or after) set to resume_after",
                    subscription.covered,
                )
                yield control_frame("cut-off", cut, subscription.covered)
                return
            if subscription.closed:
                return
            items = subscription.take()
            if not items:
                yield b": keep-alive\r\n\r\n"
                continue
            subscription.covered = items[-1].position
            yield b"".join(item.frame for item in items)
    finally:
        feed.unsubscribe(subscription)
