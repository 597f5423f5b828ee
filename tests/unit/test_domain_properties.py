"""Properties of the fold over random event sequences for note and protest streams.

Each generated event is appended alone; the rules refuse some. Whatever was accepted must fold
to the same bytes again (one by one, or in one batch), and the state must agree with a plain
model of the rules: a settled demand (met or rejected) is never open again and takes no more
answers, and nothing but corrections follows a closed protest or an answered note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, get_args
from uuid import UUID

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.domain.events import (
    Demand,
    DemandAnswered,
    EventData,
    NoteAcknowledged,
    NoteCorrected,
    NoteSent,
    NoteWithdrawn,
    Outcome,
    Party,
    ProtestClosed,
    ProtestCorrected,
    ProtestLodged,
    ProtestResponseReceived,
    ReplyReceived,
    decode_data,
)
from incidents.domain.rules import DomainRules
from incidents.domain.state import NoteState, ProtestState, decode_state
from incidents.store.protocol import RecordedEvent, RuleViolation, StreamSnapshot
from tests.unit.test_domain_rules import recorded

T0 = datetime(2022, 9, 19, tzinfo=UTC)
AZ = Party(state="AZ", body="Ministry of Foreign Affairs")
FR = Party(state="FR", title="ambassador")
DEMANDS: tuple[Demand, ...] = get_args(Demand)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
RULES = DomainRules()


@dataclass
class Run:
    """Events appended one at a time; the ones the rules accepted, and the snapshot."""

    stream_id: str
    accepted: list[RecordedEvent] = field(default_factory=list)
    snapshot: StreamSnapshot | None = None
    attempts: int = 0

    def offer(self, event: EventData) -> None:
        self.attempts += 1
        at = T0 + timedelta(minutes=self.attempts)
        candidate = recorded(self.stream_id, self.attempts, (event, at))
        try:
            history = list(self.accepted) if RULES.needs_history(candidate.type) else None
            self.snapshot = RULES.apply(self.stream_id, self.snapshot, [candidate], history)
        except RuleViolation:
            return
        self.accepted.append(candidate)

    def target(self, pick: int) -> RecordedEvent:
        originals = [e for e in self.accepted if not e.type.endswith("Corrected")]
        return originals[pick % len(originals)]

    def assert_deterministic(self) -> None:
        assert self.snapshot is not None
        at_once = RULES.apply(self.stream_id, None, self.accepted, [])
        assert at_once == self.snapshot
        assert RULES.apply(self.stream_id, None, self.accepted, []).state == at_once.state
        assert RULES.fold(self.stream_id, self.accepted) == at_once


def effective(accepted: list[RecordedEvent]) -> list[tuple[str, dict[str, Any]]]:
    """The accepted events that are not corrections, with their corrections' changes applied."""
    bodies = {e.event_id: (e.type, msgspec.json.decode(e.data)) for e in accepted}
    for event in accepted:
        if event.type.endswith("Corrected"):
            correction = msgspec.json.decode(event.data)
            bodies[UUID(correction["corrects"])][1].update(correction["changes"])
    return [bodies[e.event_id] for e in accepted if not e.type.endswith("Corrected")]


protest_actions = st.lists(
    st.one_of(
        st.tuples(st.just("answer"), st.sampled_from(DEMANDS), st.sampled_from(OUTCOMES)),
        st.tuples(st.just("respond")),
        st.tuples(st.just("close")),
        st.tuples(st.just("correct"), st.integers(0, 50), st.sampled_from(OUTCOMES)),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(
    demands=st.lists(st.sampled_from(DEMANDS), unique=True, max_size=len(DEMANDS)),
    actions=protest_actions,
)
def test_a_protest_folds_deterministically_and_settled_demands_stay_settled(
    demands: list[Demand], actions: list[tuple[Any, ...]]
) -> None:
    run = Run("protest-prop")
    run.offer(ProtestLodged(by=AZ, to=FR, form="note", demands=demands))
    for action in actions:
        if action[0] == "answer":
            run.offer(DemandAnswered(demand=action[1], outcome=action[2]))
        elif action[0] == "respond":
            run.offer(ProtestResponseReceived(from_=FR, summary="noted"))
        elif action[0] == "close":
            run.offer(ProtestClosed(reason="done"))
        else:
            target = run.target(action[1])
            changes = (
                {"outcome": action[2]} if target.type == "DemandAnswered" else {"summary": "fixed"}
            )
            run.offer(ProtestCorrected(corrects=target.event_id, changes=changes, reason="r"))
    run.assert_deterministic()
    assert run.snapshot is not None
    state = decode_state("protest", run.snapshot.state)
    assert isinstance(state, ProtestState)

    # The model: replay the effective history with the rules written out plainly.
    status = {demand: "open" for demand in demands}
    closed = False
    for type_, body in effective(run.accepted)[1:]:
        assert not closed, f"{type_} followed a closed protest"
        if type_ == "DemandAnswered":
            assert status[body["demand"]] not in ("met", "rejected"), "a settled demand answered"
            status[body["demand"]] = body["outcome"]
        closed = closed or type_ == "ProtestClosed"
    assert {d.demand: d.status for d in state.demands} == status
    for demand in state.demands:
        settled = demand.status in ("met", "rejected")
        assert not (settled and demand.status in ("open", "partially_met"))
        assert settled == (demand.outcome in ("met", "rejected"))
    assert state.status == ("closed" if closed else "open")
    assert run.snapshot.is_open is (not closed)


note_actions = st.lists(
    st.one_of(
        st.tuples(st.just("acknowledge")),
        st.tuples(st.just("reply"), st.sampled_from(["accepted", "rejected", "noncommittal"])),
        st.tuples(st.just("withdraw")),
        st.tuples(st.just("correct"), st.integers(0, 50)),
    ),
    max_size=15,
)


@settings(max_examples=200, deadline=None)
@given(actions=note_actions)
def test_a_note_folds_deterministically_and_ends_when_answered_or_withdrawn(
    actions: list[tuple[Any, ...]],
) -> None:
    run = Run("note-prop")
    run.offer(NoteSent(from_=AZ, to=FR, subject="security", mission="mission-az-fr"))
    for action in actions:
        if action[0] == "acknowledge":
            run.offer(NoteAcknowledged())
        elif action[0] == "reply":
            run.offer(ReplyReceived(from_=FR, disposition=action[1]))
        elif action[0] == "withdraw":
            run.offer(NoteWithdrawn(reason="moot"))
        else:
            target = run.target(action[1])
            body = decode_data(target.type, target.data)
            field_name = "subject" if isinstance(body, NoteSent) else "summary"
            if isinstance(body, NoteWithdrawn):
                field_name = "reason"
            run.offer(
                NoteCorrected(corrects=target.event_id, changes={field_name: "x"}, reason="r")
            )
    run.assert_deterministic()
    assert run.snapshot is not None
    state = decode_state("note", run.snapshot.state)
    assert isinstance(state, NoteState)

    status = "sent"
    for type_, _ in effective(run.accepted)[1:]:
        assert status not in ("answered", "withdrawn"), f"{type_} followed the note's end"
        if type_ == "NoteAcknowledged":
            assert status == "sent"
        status = {
            "NoteAcknowledged": "acknowledged",
            "ReplyReceived": "answered",
            "NoteWithdrawn": "withdrawn",
        }[type_]
    assert state.status == status
    assert run.snapshot.is_open is (status in ("sent", "acknowledged"))
    assert run.snapshot.mission == "mission-az-fr"
