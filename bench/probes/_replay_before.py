"""Rebuild every stream's folded state from the log and compare it with the live one.

The live states are kept by the store's writer as events are committed; replay folds the
whole log again with the same rules and reports every stream whose state, mission or
open flag differs. With ``repair`` it writes the rebuilt states back.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby

import msgspec

from incidents.store.protocol import EventStore, RecordedEvent, StreamRules, StreamSnapshot


class StreamDifference(msgspec.Struct, frozen=True):
    """A stream whose live state is not what the log folds to."""

    stream_id: str
    reason: str


class ReplayReport(msgspec.Struct, frozen=True):
    """What a replay found."""

    events: int
    streams: int
    differences: list[StreamDifference]
    repaired: bool = False


async def rebuild_snapshots(
    store: EventStore,
    rules: StreamRules,
    page_size: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, StreamSnapshot], int]:
    """Fold the whole log, page by page, into one snapshot per stream."""
    snapshots: dict[str, StreamSnapshot] = {}
    after = 0
    count = 0
    while page := await store.read_all(after=after, limit=page_size):
        # Events of one stream that follow each other in the log fold in one call.
        for stream_id, run in groupby(page, key=lambda event: event.stream_id):
            events: list[RecordedEvent] = list(run)
            snapshots[stream_id] = rules.apply(stream_id, snapshots.get(stream_id), events)
        after = page[-1].position
        count += len(page)
        if progress is not None:
            progress(len(page))
    return snapshots, count


async def replay(
    store: EventStore,
    rules: StreamRules,
    repair: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Rebuild all stream states and report (and optionally repair) every difference."""
    rebuilt, count = await rebuild_snapshots(store, rules, progress=progress)
    differences: list[StreamDifference] = []
    live_ids: set[str] = set()
    categories = sorted({stream_id.split("-", 1)[0] for stream_id in rebuilt})
    for category in categories:
        for row in await store.list_streams(category):
            live_ids.add(row.stream_id)
            expected = rebuilt.get(row.stream_id)
            if expected is None:
                differences.append(StreamDifference(row.stream_id, "no events in the log"))
            elif bytes(row.state) != expected.state:
                differences.append(StreamDifference(row.stream_id, "state differs"))
            elif row.mission != expected.mission or row.is_open != expected.is_open:
                differences.append(StreamDifference(row.stream_id, "index columns differ"))
    for stream_id in sorted(set(rebuilt) - live_ids):
        differences.append(StreamDifference(stream_id, "missing from the live states"))
    repairable = {d.stream_id: rebuilt[d.stream_id] for d in differences if d.stream_id in rebuilt}
    if repair and repairable:
        await store.replace_snapshots(repairable)
    return ReplayReport(count, len(rebuilt), differences, repaired=repair and bool(repairable))
