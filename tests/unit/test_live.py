"""The live feed on the memory store: catch-up then live, filters, one read per batch for any
number of subscribers, keep-alive, and the cut-off of a subscriber that falls behind."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from incidents.domain.rules import DomainRules
from incidents.live import EventFilter, LogFeed, subscriber_frames
from incidents.seeding import load_into
from incidents.service import LogService
from incidents.store.memory import MemoryEventStore
from incidents.store.protocol import ProposedEvent, RecordedEvent
from tests.store_rules import TallyRules

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
PROTEST = "protest-az-2022-09-19-paris-embassy-attack"
_EVENT = re.compile(rb"id: (\d+)\r\ndata: ")


class CountingStore(MemoryEventStore):
    """The memory store, counting reads of the global log."""

    reads = 0

    async def read_all(
        self,
        after: int = 0,
        limit: int = 1000,
        types: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        self.reads += 1
        return await super().read_all(after, limit, types, categories)


def event(type_: str = "Noted", mission: str | None = None) -> ProposedEvent:
    data = json.dumps({} if mission is None else {"mission": mission}).encode()
    return ProposedEvent(uuid.uuid4(), type_, data)


@pytest.fixture
async def store() -> AsyncIterator[CountingStore]:
    opened = CountingStore(TallyRules())
    yield opened
    await opened.close()


@pytest.fixture
async def feed(store: CountingStore) -> AsyncIterator[LogFeed]:
    started = LogFeed(store, buffer_bytes=1 << 20)
    await started.start()
    yield started
    await started.stop()


async def positions(frames: AsyncIterator[bytes], until: int) -> list[int]:
    """Positions of the event frames received until position ``until`` has come."""
    seen: list[int] = []
    async with asyncio.timeout(30):  # a failsafe; the loop ends on the event itself
        while not seen or seen[-1] < until:
            chunk = await anext(frames)
            seen.extend(int(m) for m in _EVENT.findall(chunk))
    return seen


async def joined(feed: LogFeed, count: int) -> None:
    """Wait until ``count`` subscribers have caught up and joined the feed."""
    async with asyncio.timeout(30):
        await feed.wait_for(lambda: feed.subscriber_count >= count)


async def test_stored_events_first_then_each_commit_once(
    store: CountingStore, feed: LogFeed
) -> None:
    # Given three stored events
    await store.append("note-a", [event(), event(), event()])
    # when a subscriber follows from position 1 while more are appended
    frames = subscriber_frames(feed, EventFilter(), 1, keepalive_seconds=60)
    assert (await anext(frames)).startswith(b": ")

    async def append_more() -> None:
        await joined(feed, 1)
        for _ in range(5):
            await store.append("note-b", [event(), event()])

    writer = asyncio.create_task(append_more())
    # then it receives 2..13, each once, in order
    assert await positions(frames, 13) == list(range(2, 14))
    await writer
    await frames.aclose()
    assert feed.subscriber_count == 0


async def test_commits_during_catch_up_are_neither_lost_nor_repeated(
    store: CountingStore, feed: LogFeed
) -> None:
    # Given a log longer than one catch-up page, still growing while subscribers catch up
    for _ in range(3):
        await store.append("note-a", [event() for _ in range(500)])

    async def keep_appending() -> None:
        for _ in range(200):
            await store.append("note-b", [event()])
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_appending())
    # when subscribers start from several places at once
    starts = [0, 700, 1499]
    streams = [subscriber_frames(feed, EventFilter(), s, keepalive_seconds=60) for s in starts]
    results = await asyncio.gather(*(positions(frames, 1700) for frames in streams))
    await writer
    # then each receives every position after its start exactly once, in order
    for start, seen in zip(starts, results, strict=True):
        assert seen == list(range(start + 1, 1701))


async def test_filters_keep_only_what_was_asked(store: CountingStore, feed: LogFeed) -> None:
    # Given streams of several categories and missions
    await store.append("mission-x", [event("Registered")])
    await store.append("note-a", [event("Sent", "mission-x"), event("Replied", "mission-x")])
    await store.append("note-b", [event("Sent", "mission-y")])
    await store.append("protest-c", [event("Lodged", "mission-x")])
    await store.append("note-d", [event("Sent")])
    cases = {
        EventFilter(types=frozenset({"Sent"})): [2, 4, 6, 7, 8],
        EventFilter(categories=frozenset({"protest", "mission"})): [1, 5, 10],
        EventFilter(streams=frozenset({"note-a"})): [2, 3, 7],
        EventFilter(missions=frozenset({"mission-x"})): [1, 2, 3, 5, 7, 10],
        EventFilter(types=frozenset({"Sent"}), missions=frozenset({"mission-y"})): [4, 8],
    }
    # when subscribers with filters follow the log from the start, stored events and live
    streams = {f: subscriber_frames(feed, f, 0, keepalive_seconds=60) for f in cases}
    for frames in streams.values():
        await anext(frames)
    live = asyncio.gather(*(positions(streams[f], cases[f][-1]) for f in cases))
    await joined(feed, len(cases))
    await store.append("note-a", [event("Sent", "mission-x")])  # 7
    await store.append("note-e", [event("Sent", "mission-y")])  # 8
    await store.append("note-z", [event("Other")])  # 9
    await store.append("mission-x", [event("Updated")])  # 10
    # then each receives exactly the matching events, stored and live
    assert dict(zip(cases, await live, strict=True)) == cases


async def test_any_number_of_subscribers_costs_one_read_per_batch(
    store: CountingStore, feed: LogFeed
) -> None:
    # Given fifty subscribers that have caught up
    streams = [subscriber_frames(feed, EventFilter(), 0, keepalive_seconds=60) for _ in range(50)]
    for frames in streams:
        await anext(frames)
    receiving = asyncio.gather(*(positions(frames, 2) for frames in streams))
    await joined(feed, 50)
    reads_before = store.reads
    # when one batch of two events is committed
    await store.append("note-a", [event(), event()])
    # then every subscriber receives it, and the log was read once for all of them
    assert await receiving == [[1, 2]] * 50
    assert store.reads - reads_before == 1


async def test_an_idle_stream_sends_keep_alive_comments(feed: LogFeed) -> None:
    # Given a subscriber on an idle log, with keep-alives every 10 ms
    frames = subscriber_frames(feed, EventFilter(), 0, keepalive_seconds=0.01)
    hint = await anext(frames)
    # then the stream opens with a retry hint, and comments follow while nothing happens
    assert b"retry: " in hint
    assert await anext(frames) == b": keep-alive\r\n\r\n"
    assert await anext(frames) == b": keep-alive\r\n\r\n"


async def test_a_subscriber_too_far_behind_is_cut_off_with_where_to_resume(
    store: CountingStore,
) -> None:
    # Given a feed that lets a subscriber fall 2 KiB behind, and a subscriber that took
    # positions 1 and 2
    feed = LogFeed(store, buffer_bytes=2048)
    await feed.start()
    frames = subscriber_frames(feed, EventFilter(), 0, keepalive_seconds=60)
    await anext(frames)
    receiving = asyncio.create_task(positions(frames, 2))
    await joined(feed, 1)
    await store.append("note-a", [event(), event()])
    assert await receiving == [1, 2]
    # when far more than 2 KiB is committed while it reads nothing
    for _ in range(40):
        await store.append("note-a", [event()])
    async with asyncio.timeout(30):
        await feed.wait_for(lambda: feed.position == 42)
    # then its next frame is the cut-off, naming position 2, and the stream ends there
    last = await anext(frames)
    assert last.startswith(b"id: 2\r\nevent: cut-off\r\ndata: ")
    body = json.loads(last.split(b"data: ", 1)[1])
    assert body["reason"] == "too-slow"
    assert body["resume_after"] == 2
    with pytest.raises(StopAsyncIteration):
        await anext(frames)
    assert feed.subscriber_count == 0
    await feed.stop()


async def test_stopping_the_feed_ends_every_stream(store: CountingStore, feed: LogFeed) -> None:
    frames = subscriber_frames(feed, EventFilter(), 0, keepalive_seconds=60)
    await anext(frames)
    waiting = asyncio.create_task(anext(frames))
    await joined(feed, 1)
    await feed.stop()
    with pytest.raises(StopAsyncIteration):
        await waiting


async def test_a_protest_reaches_the_subscribers_of_the_mission_it_was_handed_to(
    tmp_path: Path,
) -> None:
    # Given the seeds, where the protest of 19 September 2022 about the Paris embassy was
    # handed to France's ambassador in Baku
    store = MemoryEventStore(DomainRules())
    await load_into(LogService(store), SEEDS)
    feed = LogFeed(store, buffer_bytes=1 << 20)
    await feed.start()
    try:
        head = (await store.head()).position
        # when a subscriber follows the French embassy in Baku from the start
        wanted = EventFilter(missions=frozenset({"mission-fr-baku"}))
        frames = subscriber_frames(feed, wanted, 0, keepalive_seconds=60)
        await anext(frames)
        events = await store.read_all(0, head)
        protest = [e.position for e in events if e.stream_id == PROTEST]
        # then it receives the protest's events as well as its own stream's
        seen = await positions(frames, max(protest))
        assert set(protest) <= set(seen)
        own = [e.position for e in events if e.stream_id == "mission-fr-baku"]
        assert set(own) <= set(seen) and seen == sorted(seen)
    finally:
        await feed.stop()
        await store.close()
