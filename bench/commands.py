"""Figure 3: durable "load a stream's state, decide, append one event" commands per second.

A pool of open notes and protests is made first (not timed). Then ``callers`` concurrent
callers take streams from a shared queue and run one command each time:

*Ours* (asyncio tasks, one process): ``store.get_stream`` → ``decode_state`` → decide (a sent
note is acknowledged, an acknowledged one answered; a protest gets its first open demand
answered, and is closed when none is left) → ``encode_data`` → ``store.append`` with
``expected_version`` = the version loaded, retried from the load on ``ConcurrencyError``.
The store's writer runs ``DomainRules`` on it again and group-commits (WAL, synchronous=FULL).

*eventsourcing* (a pool of ``callers`` threads, as the library is synchronous):
``repository.get`` → the same decision on the aggregate → the aggregate's method → ``save``
(one durable SQLite transaction; a conflict is retried from the load).

A stream that can take another command goes back to the end of the queue, so no two callers
hold the same stream at once; retries are counted all the same.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from bench.es_app import Note, Protest, open_application, run_threads, synchronous_setting
from bench.report import Figure, Target
from bench.world import META, CaseMaker, make_missions
from incidents.domain.events import (
    DemandAnswered,
    EventData,
    NoteAcknowledged,
    Party,
    ProtestClosed,
    ProtestLodged,
    ReplyReceived,
    encode_data,
    type_name,
)
from incidents.domain.rules import DomainRules
from incidents.domain.state import NoteState, ProtestState, State, decode_state
from incidents.projections.inline import inline_projections
from incidents.store.ids import new_event_id
from incidents.store.protocol import AppendRequest, ConcurrencyError, ProposedEvent
from incidents.store.sqlite import SqliteEventStore

MAX_COMMANDS = 2_000_000


@dataclass
class CommandRun:
    """Commands per second, and how many conflicts were retried."""

    rate: float
    commands: int
    retries: int


def _openings(count: int, seed: int) -> list[tuple[str, EventData, UUID, datetime]]:
    """``count`` notes and ``count`` protests, just opened (their first event only)."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=400)
    missions = make_missions(60, rng, start)
    maker = CaseMaker(rng, missions)
    opened = []
    for index in range(count):
        mission = rng.choice(missions)
        at = start + timedelta(minutes=index)
        for planned in (maker.note(mission, at, fate="open")[0], maker.protest(mission, at)[0]):
            opened.append((planned.stream_id, planned.data, planned.event_id, planned.at))
    return opened


def decide(state: State) -> EventData | None:
    """The command's decision: the next event the stream should get, or None."""
    if isinstance(state, NoteState):
        if state.status == "sent":
            return NoteAcknowledged(by=state.to, summary="Receipt acknowledged.")
        if state.status == "acknowledged":
            return ReplyReceived(
                from_=state.to,
                disposition="partially_accepted",
                summary="The ministry states that additional police patrols were assigned.",
            )
        return None
    if isinstance(state, ProtestState) and state.status == "open":
        for demand in state.demands:
            if demand.status == "open":
                return DemandAnswered(
                    demand=demand.demand,
                    outcome="met",
                    by=state.to,
                    summary="The ministry informed the embassy of the steps taken.",
                )
        return ProtestClosed(reason="The sending state considers the matter settled.")
    return None


_FINAL = (ReplyReceived, ProtestClosed)


async def ours_rate(
    path: Path, opened: list[tuple[str, EventData, UUID, datetime]], callers: int, seconds: float
) -> CommandRun:
    """Commands per second through our store, ``callers`` concurrent asyncio tasks."""
    store = await SqliteEventStore.open(str(path), DomainRules(), projections=inline_projections())
    try:
        for start in range(0, len(opened), 1000):
            await store.append_many(
                [
                    AppendRequest(
                        stream_id,
                        [ProposedEvent(event_id, type_name(data), encode_data(data), META, at)],
                        "no_stream",
                    )
                    for stream_id, data, event_id, at in opened[start : start + 1000]
                ]
            )
        queue = deque(stream_id for stream_id, *_ in opened)
        done = [0] * callers
        retries = [0] * callers
        stop = time.perf_counter() + seconds

        async def caller(index: int) -> None:
            while time.perf_counter() < stop and sum(done) < MAX_COMMANDS and queue:
                stream_id = queue.popleft()
                while True:
                    row = await store.get_stream(stream_id)
                    assert row is not None
                    event = decide(decode_state(row.category, bytes(row.state)))
                    if event is None:
                        break
                    proposed = ProposedEvent(
                        new_event_id(), type_name(event), encode_data(event), META
                    )
                    try:
                        await store.append(stream_id, [proposed], row.version)
                    except ConcurrencyError:
                        retries[index] += 1
                        continue
                    done[index] += 1
                    if not isinstance(event, _FINAL):
                        queue.append(stream_id)
                    break

        started = time.perf_counter()
        await asyncio.gather(*(caller(i) for i in range(callers)))
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    return CommandRun(sum(done) / elapsed, sum(done), sum(retries))


def es_rate(
    path: Path, opened: list[tuple[str, EventData, UUID, datetime]], callers: int, seconds: float
) -> tuple[CommandRun, str]:
    """Commands per second through the eventsourcing library, ``callers`` threads."""
    app = open_application(path)
    try:
        setting = synchronous_setting(app)
        aggregates: list[Note | Protest] = []
        for _, data, _, _ in opened:
            payload: dict[str, Any] = msgspec.json.decode(encode_data(data))
            if isinstance(data, ProtestLodged):
                aggregates.append(Protest(list(data.demands), payload))
            else:
                aggregates.append(Note(payload))
        for start in range(0, len(aggregates), 500):
            app.save(*aggregates[start : start + 500])
        queue = deque(aggregate.id for aggregate in aggregates)
        bodies = {
            name: msgspec.json.decode(encode_data(event))
            for name, event in {
                "ack": NoteAcknowledged(summary="Receipt acknowledged."),
                "reply": ReplyReceived(
                    from_=Party(state="FR", body="Ministry of Foreign Affairs"),
                    disposition="partially_accepted",
                    summary="The ministry states that additional police patrols were assigned.",
                ),
                "answer": DemandAnswered(
                    demand="investigation",
                    outcome="met",
                    summary="The ministry informed the embassy of the steps taken.",
                ),
                "close": ProtestClosed(reason="The sending state considers the matter settled."),
            }.items()
        }
        done = [0] * callers
        retries = [0] * callers
        stop = time.perf_counter() + seconds

        def caller(index: int) -> None:
            while time.perf_counter() < stop and sum(done) < MAX_COMMANDS:
                try:
                    aggregate_id = queue.popleft()
                except IndexError:
                    return
                while True:
                    aggregate: Aggregate = app.repository.get(aggregate_id)
                    final = False
                    if isinstance(aggregate, Note):
                        if aggregate.status == "sent":
                            aggregate.acknowledge(bodies["ack"])
                        elif aggregate.status == "acknowledged":
                            aggregate.reply(bodies["reply"])
                            final = True
                        else:
                            break
                    elif isinstance(aggregate, Protest):
                        if aggregate.closed:
                            break
                        if aggregate.open_demands:
                            aggregate.answer(aggregate.open_demands[0], "met", bodies["answer"])
                        else:
                            aggregate.close(bodies["close"])
                            final = True
                    try:
                        app.save(aggregate)
                    except RecordConflictError:
                        retries[index] += 1
                        continue
                    done[index] += 1
                    if not final:
                        queue.append(aggregate_id)
                    break

        elapsed = run_threads(caller, callers)
    finally:
        app.close()
    return CommandRun(sum(done) / elapsed, sum(done), sum(retries)), setting


def figure_commands(scratch: Path, seconds: float, rounds: int, callers: int = 64) -> Figure:
    """Figure 3: alternate eventsourcing and our rounds; the median of per-round ratios."""
    # Enough open streams that neither side runs out: about 5 commands per pair.
    opened = _openings(max(200, int(seconds * 3000)), seed=5)
    ours: list[CommandRun] = []
    theirs: list[CommandRun] = []
    setting = "-"
    for round_ in range(rounds):
        run, setting = es_rate(scratch / f"fig3-es-{round_}.db", opened, callers, seconds)
        theirs.append(run)
        ours.append(
            asyncio.run(ours_rate(scratch / f"fig3-ours-{round_}.db", opened, callers, seconds))
        )
        print(
            f"    round {round_ + 1}: eventsourcing {theirs[-1].rate:,.0f} cmd/s, ours "
            f"{ours[-1].rate:,.0f} cmd/s, ratio {ours[-1].rate / theirs[-1].rate:.2f}",
            flush=True,
        )
        for path in scratch.glob(f"fig3-*-{round_}.db*"):
            path.unlink()
    ratios = [o.rate / t.rate for o, t in zip(ours, theirs, strict=True)]
    return Figure(
        key="3",
        title=f"Load state, decide, append one event: {callers} concurrent callers, durable",
        unit="commands/s",
        ours=statistics.median(o.rate for o in ours),
        ours_label="get_stream + decode_state + decide + append(expected_version), asyncio",
        baseline=statistics.median(t.rate for t in theirs),
        baseline_label=f"eventsourcing {callers} threads: repository.get + method + save",
        ratio=statistics.median(ratios),
        targets=[Target(">=", 5)],
        notes=[
            f"{rounds} alternating rounds of {seconds:g} s (eventsourcing, ours, ...)",
            f"eventsourcing's SQLite connection: journal_mode/synchronous = {setting} (2 = FULL)",
            f"conflicts retried: ours {sum(o.retries for o in ours)}, "
            f"eventsourcing {sum(t.retries for t in theirs)}",
        ],
        details={
            "rounds": [
                {"ours": o.rate, "eventsourcing": t.rate, "ratio": o.rate / t.rate}
                for o, t in zip(ours, theirs, strict=True)
            ],
            "open_streams": len(opened),
            "seconds": seconds,
            "callers": callers,
        },
    )
