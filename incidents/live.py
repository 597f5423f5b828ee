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
# How long the feed lets commits gather after one wakes it, before it reads them.
GATHER_SECONDS = 0.05
# How long the feed waits before watching again after the store could not be read.
FEED_RETRY_SECONDS = 1.0

_encode_event = msgspec.json.Encoder().encode


class EventFilter(msgspec.Struct, frozen=True):
    """Which events a subscriber wants; an empty field lets every value through.

    ``missions`` keeps the events of the mission's own stream and of every stream whose
    state names that mission (a protest also the mission it was handed to, as the mission's
    timeline and counts take it).
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
            and (not self.missions or not self.missions.isdisjoint(item.missions))
        )


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One committed event as subscribers see it: what filters read and its encoded frame."""

    position: int
    type: str
    category: str
    stream_id: str
    missions: tuple[str, ...]
    frame: bytes


def event_frame(event: RecordedEvent) -> bytes:
    """The event's SSE frame: its position as ``id`` and its envelope as JSON ``data``."""
    return b"id: %d\r\ndata: %s\r\n\r\n" % (event.position, _encode_event(event))


def control_frame(event: str, data: object, position: int | None = None) -> bytes:
    """A named SSE event (not a log event) with JSON data, optionally with an ``id``."""
    head = b"" if position is None else b"id: %d\r\n" % position
    return b"%sevent: %s\r\ndata: %s\r\n\r\n" % (head, event.encode(), _encode_event(data))


class _HandedVia(msgspec.Struct, frozen=True, gc=False):
    """What the feed reads of a protest's state besides its row: the mission it was handed
    to, when that is not the one it concerns."""

    via_mission: str | None = None


_handed_via = msgspec.json.Decoder(_HandedVia).decode


async def missions_of(
    store: EventStore, events: Sequence[RecordedEvent]
) -> dict[str, tuple[str, ...]]:
    """The missions each of the events' streams concerns, by stream id (one ``get_streams``).

    A mission stream concerns itself; another stream the mission its state names, if any,
    and a protest also the mission it was handed to.
    """
    missions: dict[str, tuple[str, ...]] = {}
    others: set[str] = set()
    for event in events:
        if category_of(event.stream_id) == "mission":
            missions[event.stream_id] = (event.stream_id,)
        else:
            others.add(event.stream_id)
    if others:
        rows = await store.get_streams(sorted(others))
        for stream_id, row in rows.items():
            named = (row.mission,) if row.mission else ()
            if row.category == "protest":
                via = _handed_via(row.state).via_mission
                if via and via != row.mission:
                    named = (*named, via)
            if named:
                missions[stream_id] = named
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
            missions.get(event.stream_id, ()),
            event_frame(event),
        )
        for event in events
    ]


class CutOff(msgspec.Struct, frozen=True):
    """The last event a subscriber that fell too far behind receives."""

    reason: str
    detail: str
    resume_after: int


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """What one read of the log gave the feed: its items, and all their frames joined once
    (what a subscriber with no filter is sent)."""

    items: list[FeedItem]
    frames: bytes

    @classmethod
    def of(cls, items: list[FeedItem]) -> FeedBatch:
        """A batch of ``items`` (at least one), in position order."""
        return cls(items, b"".join(item.frame for item in items))

    @property
    def first(self) -> int:
        """The position of its first event."""
        return self.items[0].position

    @property
    def last(self) -> int:
        """The position of its last event."""
        return self.items[-1].position


@dataclass(eq=False)
class Subscription:
    """One subscriber's place in the feed: frames waiting to be sent, bounded in bytes."""

    filter: EventFilter
    # The last position the subscriber was sent (or has covered); where a cut-off resumes.
    covered: int
    buffer_bytes: int
    # Frames queued, each with the last position it holds; ``queued`` is the last of all.
    pending: deque[tuple[int, bytes]] = field(default_factory=deque)
    pending_bytes: int = 0
    queued: int = -1
    cut_off: bool = False
    closed: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.queued = max(self.queued, self.covered)

    def offer(self, batch: FeedBatch) -> None:
        """Queue what this subscriber wants of the batch; past the bound, cut it off."""
        if self.cut_off or self.closed or batch.last <= self.queued:
            return
        if self.filter.is_empty and batch.first > self.queued:
            chunk = batch.frames  # shared by every subscriber with no filter
        else:
            chunk = b"".join(
                item.frame
                for item in batch.items
                if item.position > self.queued and self.filter.matches(item)
            )
        self.queued = batch.last
        if not chunk:
            return
        self.pending.append((batch.last, chunk))
        self.pending_bytes += len(chunk)
        if self.pending_bytes > self.buffer_bytes:
            # What is queued is dropped at once: the subscriber resumes from what it was sent.
            self.pending.clear()
            self.pending_bytes = 0
            self.cut_off = True
        self.wake.set()

    def take(self) -> tuple[int, bytes] | None:
        """Everything queued as one chunk, with the last position it holds (None when
        nothing is), and clear the wake-up."""
        self.wake.clear()
        if not self.pending:
            return None
        last = self.pending[-1][0]
        chunk = (
            self.pending[0][1]
            if len(self.pending) == 1
            else b"".join(frames for _, frames in self.pending)
        )
        self.pending.clear()
        self.pending_bytes = 0
        return last, chunk

    def close(self) -> None:
        """End the subscription (the feed stops); the subscriber's stream then ends."""
        self.closed = True
        self.wake.set()


class LogFeed:
    """One per process: reads each committed batch once and offers it to every subscriber."""

    def __init__(
        self, store: EventStore, buffer_bytes: int, gather_seconds: float = GATHER_SECONDS
    ) -> None:
        self.store = store
        self.buffer_bytes = buffer_bytes
        self.gather_seconds = gather_seconds
        # The last position handed to subscribers; None until the feed has read the head.
        self.position: int | None = None
        self._subscribers: set[Subscription] = set()
        # Set once the server is stopping: every stream ends, none starts.
        self.ending = False
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

    def end(self) -> None:
        """End every subscriber's stream, and any that is still catching up, at once (the
        server is stopping: it waits for open responses to finish)."""
        self.ending = True
        for subscription in list(self._subscribers):
            subscription.close()
        self._moved()

    async def stop(self) -> None:
        """Stop following the log and end every subscription."""
        self.end()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._subscribers.clear()

    def subscribe(self, event_filter: EventFilter, covered: int) -> Subscription | None:
        """Join the feed if a catch-up that has covered the log up to ``covered`` loses
        nothing by joining now (the feed has handed out nothing after it); else None.

        Called with no ``await`` between the check and the joining, so no batch slips in
        between.
        """
        if self.position is None or self.position > covered or self.ending:
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
        if self.position >= head:
            return
        # Commits that come while it waits are read with this one: under a steady load the
        # feed wakes its subscribers a few times a second rather than once per commit.
        await asyncio.sleep(self.gather_seconds)
        while True:
            events = await self.store.read_all(after=self.position, limit=PAGE)
            if not events:
                return
            with_missions = any(s.filter.missions for s in self._subscribers)
            batch = FeedBatch.of(await feed_items(self.store, events, with_missions=with_missions))
            self.position = batch.last
            for subscription in list(self._subscribers):
                subscription.offer(batch)
            self._moved()
            if len(events) < PAGE:
                return


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
        if feed.ending:
            return
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
            await feed.wait_for(lambda: feed.position is not None or feed.ending)
    try:
        while True:
            # A timer, not wait_for's task per wait: this runs for every subscriber on
            # every batch.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(keepalive_seconds):
                    await subscription.wake.wait()
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
            taken = subscription.take()
            if taken is None:
                yield b": keep-alive\r\n\r\n"
                continue
            subscription.covered, chunk = taken
            yield chunk
    finally:
        feed.unsubscribe(subscription)
