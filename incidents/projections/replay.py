"""Rebuild every stream's folded state from the log and compare it with the live one.

The live states are kept by the store's writer as events are committed; replay folds the
whole log again with the same rules and reports every stream whose state, mission or
open flag differs. With ``repair`` it writes the rebuilt states back, and indexes every
version in time afresh when the store keeps that index.

How the log is read is the store's: ``EventStore.fold_streams`` hands each stream's events,
first to last, to the fold given here and compares the result with the live rows (through
the port's paged reads, or SQLite's file read in ranges over worker processes). Replay adds
up the rebuilt streams' labels per mission to compare with the mission tallies, when the
store keeps them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import msgspec

from incidents.projections.in_time_index import NAME as IN_TIME
from incidents.projections.missions import MissionTallies, read_tallies, stored_labels
from incidents.store.folding import Counts, FoldedEvent, FoldOptions
from incidents.store.protocol import (
    EventStore,
    RuleViolation,
    StreamRules,
    StreamSnapshot,
    category_of,
)


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
    # Missions whose per-mission tallies (the missions view's counts) are not what the
    # rebuilt streams add up to; a repair counts every mission's tallies afresh.
    tally_differences: list[StreamDifference] = msgspec.field(default_factory=list)


class RulesFolder:
    """The rules as a store's :class:`~incidents.store.folding.StreamFolder`: a stream
    folded whole (the rules' ``fold``, when they have one: every event in the log was
    accepted when it was appended, so it need not be decided again; else ``apply`` from no
    snapshot), and, with ``tallies``, its labels counted under its mission."""

    def __init__(self, rules: StreamRules, tallies: bool) -> None:
        self.rules = rules
        self.tallies = tallies
        self._fold: Callable[[str, Sequence[FoldedEvent]], StreamSnapshot] | None = getattr(
            rules, "fold", None
        )

    def __getstate__(self) -> tuple[StreamRules, bool]:
        return self.rules, self.tallies

    def __setstate__(self, state: tuple[StreamRules, bool]) -> None:
        self.__init__(*state)  # type: ignore[misc]

    def fold(self, stream_id: str, events: Sequence[FoldedEvent]) -> StreamSnapshot:
        if self._fold is not None:
            return self._fold(stream_id, events)
        return self.rules.apply(stream_id, None, events)  # type: ignore[arg-type]

    def count(self, counts: Counts, stream_id: str, snapshot: StreamSnapshot) -> None:
        if not self.tallies or snapshot.mission is None:
            return
        labels = stored_labels(category_of(stream_id), snapshot.state, snapshot.is_open)
        if labels:
            bucket = counts.setdefault(snapshot.mission, {})
            for label in labels:
                bucket[label] = bucket.get(label, 0) + 1


async def _keeps_tallies(store: EventStore) -> bool:
    try:
        await read_tallies(store)
    except ValueError:
        return False
    return True


async def _rebuild_in_time(store: EventStore) -> None:
    """Index every version afresh, if the store keeps the index: a state that folds
    otherwise than it was stored means the versions before it may have been summarised by
    the same wrong fold, and replacing the snapshots changes only each stream's last one."""
    with contextlib.suppress(ValueError):  # the store does not keep the index
        await store.rebuild(IN_TIME)


async def _tally_differences(store: EventStore, rebuilt: Counts) -> list[StreamDifference]:
    """Missions whose live tallies differ from what the rebuilt streams add up to."""
    live = {tally.mission: tally.counts for tally in await read_tallies(store)}
    return [
        StreamDifference(mission, "mission tallies differ")
        for mission in sorted(set(live) | set(rebuilt), key=str.encode)
        if live.get(mission, {}) != rebuilt.get(mission, {})
    ]


async def replay(
    store: EventStore,
    rules: StreamRules,
    repair: bool = False,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int | None = None,
) -> ReplayReport:
    """Rebuild all stream states and report (and optionally repair) every difference.

    Differences come in stream id order: a live row with no events in the log ("no events
    in the log"), a state that differs ("state differs"), equal states whose ``mission`` or
    ``is_open`` differ ("index columns differ"); then, by stream id, the streams with
    events but no live row ("missing from the live states"). ``workers``: how many
    processes a store that can split the work uses (SQLite; None: its choice). A repair
    writes the rebuilt snapshots back, then counts the mission tallies afresh from the
    streams: the rows it replaces are not what the tallies were counted from.
    """
    tallies = await _keeps_tallies(store)
    folded = await store.fold_streams(
        RulesFolder(rules, tallies), FoldOptions(repair, workers, progress)
    )
    if folded.violation is not None:
        raise RuleViolation(*folded.violation)
    differences = [StreamDifference(i, reason) for i, reason in folded.differences]
    differences.extend(StreamDifference(i, "missing from the live states") for i in folded.missing)
    tally_differences = await _tally_differences(store, folded.counts) if tallies else []
    repairing = repair and bool(folded.repairable or tally_differences)
    if repairing:
        await store.replace_snapshots(folded.repairable)
        if tallies:
            await store.rebuild(MissionTallies.name)
        if folded.repairable:
            await _rebuild_in_time(store)
    return ReplayReport(folded.events, folded.streams, differences, repairing, tally_differences)


__all__ = ["ReplayReport", "RulesFolder", "StreamDifference", "replay"]
