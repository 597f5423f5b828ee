"""Every rule of the log, through DomainRules.apply: given events, when one is appended, then
the state it folds to or the RuleViolation it raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import msgspec
import pytest

from incidents.domain.events import (
    CasualtiesReported,
    CompensationPaid,
    CorrespondenceSummarized,
    Count,
    DamageRecorded,
    DemandAnswered,
    EventData,
    HeadOfMissionAppointed,
    HeadOfMissionRecalled,
    HeadOfMissionReturned,
    IncidentClosed,
    IncidentCorrected,
    IncidentReported,
    InvestigationOpened,
    Location,
    MissionCorrected,
    MissionRegistered,
    Money,
    NoteAcknowledged,
    NoteCorrected,
    NoteSent,
    NoteWithdrawn,
    Party,
    PoliceResponded,
    ProsecutionStarted,
    ProtestClosed,
    ProtestCorrected,
    ProtestLodged,
    ProtestResponseReceived,
    ReplyReceived,
    ReportedReply,
    ResolutionAdopted,
    Source,
    StatementCorrected,
    StatementIssued,
    encode_data,
    type_name,
)
from incidents.domain.rules import DomainRules, HistoryRequiredError
from incidents.domain.state import (
    IncidentState,
    MissionState,
    NoteState,
    ProtestState,
    State,
    StatementState,
    decode_state,
)
from incidents.projections.missions import state_labels
from incidents.store.protocol import RecordedEvent, RuleViolation, StreamSnapshot, category_of

T0 = datetime(2022, 9, 18, 12, 20, tzinfo=UTC)
AZ_EMBASSY = Party(state="AZ", body="Embassy of Azerbaijan in France")
FR_MFA = Party(state="FR", body="Ministry of Foreign Affairs")
AZ_MFA = Party(state="AZ", body="Ministry of Foreign Affairs")
RULES = DomainRules()

# --- the tiny harness: a stream under test ------------------------------------------------

Event = EventData | tuple[EventData, datetime]


def recorded(
    stream_id: str, version: int, event: Event, event_id: UUID | None = None
) -> RecordedEvent:
    """A RecordedEvent as the store would hand it to the rules (default time: T0 + version min)."""
    data, at = event if isinstance(event, tuple) else (event, T0 + timedelta(minutes=version))
    return RecordedEvent(
        position=version,
        stream_id=stream_id,
        version=version,
        event_id=event_id or uuid5(UUID(int=0), f"{stream_id}/{version}"),
        type=type_name(data),
        data=msgspec.Raw(encode_data(data)),
        metadata=msgspec.Raw(b"{}"),
        occurred_at=at,
        recorded_at=at,
        hash="0" * 64,
    )


class Stream:
    """Given events appended one call at a time; when more are appended; then its state."""

    def __init__(self, stream_id: str, *given: Event) -> None:
        self.stream_id = stream_id
        self.snapshot: StreamSnapshot | None = None
        self.ids: list[UUID] = []
        self.log: list[RecordedEvent] = []
        for event in given:
            self.append(event)

    def append(self, *events: Event) -> StreamSnapshot:
        batch = [
            recorded(self.stream_id, len(self.ids) + index + 1, event)
            for index, event in enumerate(events)
        ]
        # As the store does: the history only for a batch holding a type that reads it.
        needs = any(RULES.needs_history(event.type) for event in batch)
        self.snapshot = RULES.apply(
            self.stream_id, self.snapshot, batch, list(self.log) if needs else None
        )
        self.ids.extend(event.event_id for event in batch)
        self.log.extend(batch)
        return self.snapshot

    def refused(self, *events: Event) -> RuleViolation:
        before = self.snapshot
        with pytest.raises(RuleViolation) as caught:
            self.append(*events)
        assert self.snapshot is before
        return caught.value

    @property
    def state(self) -> State:
        assert self.snapshot is not None
        return decode_state(category_of(self.stream_id), self.snapshot.state)


def note_sent(**overrides: Any) -> NoteSent:
    fields: dict[str, Any] = {"from_": AZ_EMBASSY, "to": FR_MFA, "subject": "security"}
    return NoteSent(**(fields | overrides))


def protest(*demands: Any) -> ProtestLodged:
    return ProtestLodged(
        by=AZ_MFA,
        to=Party(state="FR", title="ambassador"),
        form="note",
        demands=list(demands),
        mission="mission-az-fr",
    )


def incident(**overrides: Any) -> IncidentReported:
    fields: dict[str, Any] = {
        "kind": "attack",
        "title": "Embassy stormed",
        "mission": "mission-az-fr",
    }
    return IncidentReported(**(fields | overrides))


def mission() -> MissionRegistered:
    return MissionRegistered(
        sending_state="AZ", receiving_state="FR", city="Paris", kind="embassy", name="Embassy"
    )


def note_state(stream: Stream) -> NoteState:
    state = stream.state
    assert isinstance(state, NoteState)
    return state


def protest_state(stream: Stream) -> ProtestState:
    state = stream.state
    assert isinstance(state, ProtestState)
    return state


def incident_state(stream: Stream) -> IncidentState:
    state = stream.state
    assert isinstance(state, IncidentState)
    return state


def mission_state(stream: Stream) -> MissionState:
    state = stream.state
    assert isinstance(state, MissionState)
    return state


# --- category and opening -----------------------------------------------------------------


def test_a_type_of_another_category_is_refused() -> None:
    stream = Stream("protest-1")
    violation = stream.refused(note_sent())
    assert (violation.rule, violation.event_index) == ("type-not-in-category", 0)


def test_a_stream_of_an_unknown_category_is_refused() -> None:
    violation = Stream("letter-1").refused(note_sent())
    assert violation.rule == "unknown-category"


def test_a_type_not_in_the_catalogue_is_refused() -> None:
    event = msgspec.structs.replace(recorded("note-1", 1, note_sent()), type="NoteShredded")
    with pytest.raises(RuleViolation) as caught:
        RULES.apply("note-1", None, [event])
    assert caught.value.rule == "unknown-event-type"


def test_data_that_does_not_match_its_type_is_refused() -> None:
    event = msgspec.structs.replace(recorded("note-1", 1, note_sent()), data=msgspec.Raw(b"{}"))
    with pytest.raises(RuleViolation) as caught:
        RULES.apply("note-1", None, [event])
    assert caught.value.rule == "data-invalid"


@pytest.mark.parametrize(
    ("stream_id", "event"),
    [
        ("note-1", ReplyReceived(from_=FR_MFA, disposition="rejected")),
        ("protest-1", ProtestClosed(reason="settled")),
        ("incident-1", PoliceResponded(arrived_at=T0)),
        ("mission-1", HeadOfMissionAppointed(name="A")),
        ("statement-1", StatementCorrected(corrects=UUID(int=1), changes={"a": 1}, reason="r")),
    ],
)
def test_a_stream_must_open_with_its_opening_event(stream_id: str, event: EventData) -> None:
    violation = Stream(stream_id).refused(event)
    assert violation.rule == "opening-event-first"


def test_an_opening_event_comes_only_first() -> None:
    stream = Stream("note-1", note_sent())
    assert stream.refused(note_sent()).rule == "opening-event-repeated"


def test_a_statement_stream_holds_one_statement_or_resolution() -> None:
    stream = Stream("statement-1", StatementIssued(by=AZ_MFA, stance="rejects", summary="No."))
    violation = stream.refused(ResolutionAdopted(body=Party(state="FR", body="Senate"), title="R"))
    assert violation.rule == "opening-event-repeated"


def test_a_resolution_opens_a_statement_stream() -> None:
    senate = Party(state="FR", body="Senate")
    stream = Stream(
        "statement-1",
        ResolutionAdopted(body=senate, title="R", adopted_on="2022-11", calls_for=["sanctions"]),
    )
    state = stream.state
    assert isinstance(state, StatementState)
    assert (state.kind, state.body, state.calls_for, state.adopted_on) == (
        "resolution",
        senate,
        ["sanctions"],
        "2022-11",
    )
    assert stream.snapshot is not None and stream.snapshot.is_open is False


def test_the_first_broken_event_of_a_batch_is_named_and_nothing_is_folded() -> None:
    stream = Stream("note-1", note_sent())
    violation = stream.refused(
        NoteAcknowledged(), ReplyReceived(from_=FR_MFA, disposition="rejected"), NoteAcknowledged()
    )
    assert (violation.event_index, violation.rule) == (2, "note-already-answered")
    assert note_state(stream).status == "sent"


# --- notes --------------------------------------------------------------------------------


def test_a_sent_note_is_open_and_names_its_mission() -> None:
    stream = Stream("note-1", (note_sent(mission="mission-az-fr", reference="No. 1"), T0))
    state = note_state(stream)
    assert (state.status, state.sent_at, state.reference) == ("sent", T0, "No. 1")
    assert stream.snapshot == StreamSnapshot(stream.snapshot.state, "mission-az-fr", True)
    # and the mission tallies count it as a note from its sender, unanswered
    assert state_labels(state) == ("note:from:AZ", "note:unanswered:from:AZ")


def test_an_acknowledged_note_stays_unanswered() -> None:
    stream = Stream("note-1", note_sent())
    stream.append((NoteAcknowledged(), T0 + timedelta(days=1)))
    state = note_state(stream)
    assert (state.status, state.acknowledged_at) == ("acknowledged", T0 + timedelta(days=1))
    assert stream.snapshot is not None and stream.snapshot.is_open


@pytest.mark.parametrize("acknowledged_first", [True, False])
def test_a_reply_answers_the_note(acknowledged_first: bool) -> None:
    stream = Stream("note-1", note_sent(), *([NoteAcknowledged()] if acknowledged_first else []))
    stream.append(
        (
            ReplyReceived(from_=FR_MFA, disposition="noncommittal", summary="a"),
            T0 + timedelta(days=3),
        )
    )
    state = note_state(stream)
    assert state.status == "answered"
    assert state.answered_at == T0 + timedelta(days=3)
    assert state.reply is not None and (state.reply.from_, state.reply.disposition) == (
        FR_MFA,
        "noncommittal",
    )
    assert stream.snapshot is not None and not stream.snapshot.is_open


def test_a_note_is_acknowledged_once() -> None:
    stream = Stream("note-1", note_sent(), NoteAcknowledged())
    assert stream.refused(NoteAcknowledged()).rule == "note-already-acknowledged"


@pytest.mark.parametrize(
    "follow_up",
    [
        NoteAcknowledged(),
        ReplyReceived(from_=FR_MFA, disposition="accepted"),
        NoteWithdrawn(reason="moot"),
    ],
)
def test_nothing_but_a_correction_follows_an_answer(follow_up: EventData) -> None:
    stream = Stream("note-1", note_sent(), ReplyReceived(from_=FR_MFA, disposition="rejected"))
    assert stream.refused(follow_up).rule == "note-already-answered"


@pytest.mark.parametrize(
    "follow_up",
    [
        NoteAcknowledged(),
        ReplyReceived(from_=FR_MFA, disposition="accepted"),
        NoteWithdrawn(reason="again"),
    ],
)
def test_nothing_but_a_correction_follows_a_withdrawal(follow_up: EventData) -> None:
    stream = Stream("note-1", note_sent(), NoteWithdrawn(reason="superseded"))
    assert note_state(stream).withdrawn_reason == "superseded"
    assert stream.refused(follow_up).rule == "note-withdrawn"


def test_a_withdrawn_note_can_still_be_corrected() -> None:
    stream = Stream("note-1", note_sent(), NoteWithdrawn(reason="superseded"))
    stream.append(
        NoteCorrected(corrects=stream.ids[1], changes={"reason": "sent twice"}, reason="typo")
    )
    assert note_state(stream).withdrawn_reason == "sent twice"


def test_a_reply_cannot_be_due_before_the_note_is_sent() -> None:
    violation = Stream("note-1").refused((note_sent(reply_due_at=T0 - timedelta(days=1)), T0))
    assert violation.rule == "reply-due-before-sent"


def test_a_reply_cannot_come_before_the_note() -> None:
    stream = Stream("note-1", (note_sent(), T0))
    late = ReplyReceived(from_=FR_MFA, disposition="rejected")
    assert stream.refused((late, T0 - timedelta(hours=1))).rule == "occurred-before-opening"


def test_a_loosely_dated_follow_up_is_refused_only_when_certainly_earlier() -> None:
    stream = Stream("note-1", (note_sent(), T0))
    same_day = ReplyReceived(from_=FR_MFA, disposition="rejected", occurred_precision="day")
    stream.append((same_day, T0.replace(hour=0, minute=0)))
    assert note_state(stream).status == "answered"


# --- protests -----------------------------------------------------------------------------


def test_a_lodged_protest_has_every_demand_open() -> None:
    stream = Stream("protest-1", (protest("investigation", "compensation"), T0))
    state = protest_state(stream)
    assert state.status == "open" and state.lodged_at == T0
    assert [(d.demand, d.status) for d in state.demands] == [
        ("investigation", "open"),
        ("compensation", "open"),
    ]
    assert stream.snapshot == StreamSnapshot(stream.snapshot.state, "mission-az-fr", True)
    assert state_labels(state) == ("protest", "protest:open")


def test_a_partial_answer_keeps_the_demand_open_and_answerable() -> None:
    stream = Stream("protest-1", protest("investigation"))
    stream.append(DemandAnswered(demand="investigation", outcome="partially_met"))
    assert protest_state(stream).demands[0].status == "partially_met"
    stream.append(DemandAnswered(demand="investigation", outcome="met", summary="done"))
    demand = protest_state(stream).demands[0]
    assert (demand.status, demand.summary) == ("met", "done")


@pytest.mark.parametrize("outcome", ["met", "rejected"])
def test_a_met_or_rejected_demand_is_settled(outcome: str) -> None:
    stream = Stream("protest-1", protest("investigation"))
    stream.append(DemandAnswered(demand="investigation", outcome=outcome))  # type: ignore[arg-type]
    again = DemandAnswered(demand="investigation", outcome="met")
    assert stream.refused(again).rule == "demand-already-answered"


def test_a_demand_the_protest_did_not_make_is_refused() -> None:
    stream = Stream("protest-1", protest("investigation"))
    violation = stream.refused(DemandAnswered(demand="apology", outcome="rejected"))
    assert violation.rule == "demand-not-in-protest"


@pytest.mark.parametrize(
    "follow_up",
    [
        DemandAnswered(demand="investigation", outcome="met"),
        ProtestResponseReceived(from_=FR_MFA, summary="late"),
        ProtestClosed(reason="again"),
    ],
)
def test_nothing_but_a_correction_follows_a_closed_protest(follow_up: EventData) -> None:
    stream = Stream("protest-1", protest("investigation"), ProtestClosed(reason="dropped"))
    assert (protest_state(stream).status, protest_state(stream).closed_reason) == (
        "closed",
        "dropped",
    )
    assert stream.snapshot is not None and not stream.snapshot.is_open
    assert stream.refused(follow_up).rule == "protest-closed"


def test_responses_to_a_protest_are_kept_in_order() -> None:
    stream = Stream("protest-1", protest())
    stream.append(ProtestResponseReceived(from_=FR_MFA, summary="one"))
    stream.append(ProtestResponseReceived(from_=FR_MFA, summary="two"))
    assert [r.summary for r in protest_state(stream).responses] == ["one", "two"]


def test_a_corrected_outcome_reopens_nothing_it_should_not() -> None:
    stream = Stream("protest-1", protest("investigation"))
    stream.append(DemandAnswered(demand="investigation", outcome="met"))
    stream.append(
        ProtestCorrected(corrects=stream.ids[1], changes={"outcome": "partially_met"}, reason="r")
    )
    assert protest_state(stream).demands[0].status == "partially_met"
    stream.append(DemandAnswered(demand="investigation", outcome="rejected"))
    assert protest_state(stream).demands[0].status == "rejected"


def test_a_correction_cannot_drop_a_demand_already_answered() -> None:
    stream = Stream("protest-1", protest("investigation", "apology"))
    stream.append(DemandAnswered(demand="apology", outcome="rejected"))
    violation = stream.refused(
        ProtestCorrected(corrects=stream.ids[0], changes={"demands": ["investigation"]}, reason="r")
    )
    assert violation.rule == "demand-not-in-protest"


# --- incidents ----------------------------------------------------------------------------


def test_the_police_response_time_runs_from_the_incident() -> None:
    stream = Stream("incident-1", (incident(occurred_precision="minute"), T0))
    stream.append(
        (PoliceResponded(arrived_at=T0 + timedelta(minutes=30)), T0 + timedelta(minutes=30))
    )
    state = incident_state(stream)
    assert (state.police_arrived_at, state.response_minutes) == (T0 + timedelta(minutes=30), 30.0)


def test_the_first_police_arrival_counts() -> None:
    stream = Stream("incident-1", (incident(), T0))
    stream.append(PoliceResponded(arrived_at=T0 + timedelta(minutes=40)))
    stream.append(PoliceResponded(arrived_at=T0 + timedelta(minutes=10)))
    state = incident_state(stream)
    assert (state.response_minutes, len(state.police_responses)) == (10.0, 2)


def test_the_police_cannot_arrive_before_the_incident() -> None:
    stream = Stream("incident-1", (incident(), T0))
    violation = stream.refused(PoliceResponded(arrived_at=T0 - timedelta(minutes=1)))
    assert violation.rule == "police-before-incident"


def test_a_day_precise_incident_gives_no_response_time() -> None:
    stream = Stream(
        "incident-1", (incident(occurred_precision="day"), T0.replace(hour=0, minute=0))
    )
    stream.append(PoliceResponded(arrived_at=T0))
    assert incident_state(stream).response_minutes is None


def test_a_day_precise_incident_takes_police_arrivals_from_any_clock_of_that_day() -> None:
    nineteenth = datetime(2022, 9, 19, tzinfo=UTC)
    stream = Stream("incident-1", (incident(occurred_precision="day"), nineteenth))
    at_two_in_baku = datetime(2022, 9, 18, 22, tzinfo=UTC)
    stream.append((PoliceResponded(arrived_at=at_two_in_baku), nineteenth))
    assert incident_state(stream).police_arrived_at == at_two_in_baku
    too_early = PoliceResponded(arrived_at=datetime(2022, 9, 18, 9, tzinfo=UTC))
    assert stream.refused((too_early, nineteenth)).rule == "police-before-incident"


def test_an_undated_incident_checks_no_arrival_time() -> None:
    stream = Stream("incident-1", (incident(occurred_precision="unknown"), T0))
    stream.append(PoliceResponded(arrived_at=T0 - timedelta(days=3)))
    assert incident_state(stream).response_minutes is None


def test_an_incident_cannot_end_before_it_began() -> None:
    violation = Stream("incident-1").refused((incident(ended_at=T0 - timedelta(hours=1)), T0))
    assert violation.rule == "ended-before-occurred"


@pytest.mark.parametrize(
    "follow_up",
    [
        PoliceResponded(arrived_at=T0 + timedelta(hours=1)),
        DamageRecorded(description="door"),
        IncidentClosed(reason="again"),
    ],
)
def test_nothing_but_a_correction_follows_a_closed_incident(follow_up: EventData) -> None:
    stream = Stream("incident-1", (incident(), T0), IncidentClosed(reason="prosecuted"))
    assert stream.snapshot is not None and not stream.snapshot.is_open
    assert stream.refused(follow_up).rule == "incident-closed"
    stream.append(
        IncidentCorrected(corrects=stream.ids[1], changes={"reason": "settled"}, reason="r")
    )
    assert incident_state(stream).closed_reason == "settled"


def test_damage_casualties_and_measures_are_recorded() -> None:
    clerk = Party(state="FR", body="prefecture", title="clerk of the court")
    stream = Stream("incident-1", incident())
    stream.append(DamageRecorded(description="lock and door broken", documented_by=clerk))
    stream.append(CasualtiesReported(killed=None, injured=0, among="employees"))
    stream.append(InvestigationOpened(by=Party(state="FR", body="police")))
    stream.append(ProsecutionStarted(by=Party(state="FR", body="prosecutor")))
    stream.append(
        CompensationPaid(by=Party(state="FR"), amount=Money(amount="100.50", currency="EUR"))
    )
    state = incident_state(stream)
    assert state.damage[0].documented_by == clerk
    assert (state.casualties.killed, state.casualties.injured) == (None, 0)
    assert [len(state.investigations), len(state.prosecutions)] == [1, 1]
    assert state.compensations[0].amount == Money(amount="100.50", currency="EUR")


def test_casualty_reports_on_one_group_supersede_and_groups_add_up() -> None:
    stream = Stream("incident-1", incident(mission=None, location=Location(state="AZ")))
    stream.append(CasualtiesReported(killed=50, injured=None, among="AZ servicemen"))
    stream.append(CasualtiesReported(killed=80, injured=282, among="AZ servicemen"))
    stream.append(CasualtiesReported(killed=135, injured=None, among="AM servicemen"))
    casualties = incident_state(stream).casualties
    assert (casualties.killed, casualties.injured) == (215, 282)


def test_an_incident_away_from_a_mission_names_no_mission() -> None:
    stream = Stream("incident-1", incident(mission=None, location=Location(state="FR")))
    assert stream.snapshot is not None and stream.snapshot.mission is None
    assert stream.snapshot.is_open


def test_a_corrected_start_must_still_precede_the_police() -> None:
    stream = Stream("incident-1", (incident(), T0))
    arrival = PoliceResponded(arrived_at=T0 + timedelta(minutes=30))
    stream.append((arrival, T0 + timedelta(hours=2)))
    later = (T0 + timedelta(hours=1)).isoformat()
    violation = stream.refused(
        IncidentCorrected(corrects=stream.ids[0], changes={"occurred_at": later}, reason="r")
    )
    assert violation.rule == "police-before-incident"
    earlier = (T0 - timedelta(minutes=10)).isoformat()
    stream.append(
        IncidentCorrected(corrects=stream.ids[0], changes={"occurred_at": earlier}, reason="r")
    )
    state = incident_state(stream)
    assert (state.occurred_at, state.response_minutes) == (T0 - timedelta(minutes=10), 40.0)


# --- missions -----------------------------------------------------------------------------


def test_a_mission_is_always_open_and_is_its_own_mission() -> None:
    stream = Stream("mission-az-fr", mission())
    assert stream.snapshot == StreamSnapshot(stream.snapshot.state, "mission-az-fr", True)
    assert mission_state(stream).head_of_mission is None


def test_a_head_of_mission_is_appointed_recalled_and_returns() -> None:
    stream = Stream("mission-1", mission(), HeadOfMissionAppointed(name="A"))
    stream.append((HeadOfMissionRecalled(reason="consultations"), T0 + timedelta(days=5)))
    head = mission_state(stream).head_of_mission
    assert head is not None and (head.name, head.status, head.since) == (
        "A",
        "recalled",
        T0 + timedelta(days=5),
    )
    stream.append(HeadOfMissionReturned(name="A"))
    assert mission_state(stream).head_of_mission.status == "returned"  # type: ignore[union-attr]


def test_a_recall_needs_no_appointment_on_record() -> None:
    stream = Stream("mission-1", mission(), HeadOfMissionRecalled(reason="protest"))
    head = mission_state(stream).head_of_mission
    assert head is not None and (head.name, head.status) == (None, "recalled")


def test_a_recalled_head_is_not_recalled_again() -> None:
    stream = Stream("mission-1", mission(), HeadOfMissionRecalled())
    assert stream.refused(HeadOfMissionRecalled()).rule == "head-of-mission-already-recalled"


def test_only_a_recalled_head_returns() -> None:
    stream = Stream("mission-1", mission(), HeadOfMissionAppointed(name="A"))
    assert stream.refused(HeadOfMissionReturned()).rule == "head-of-mission-not-recalled"


def test_a_recall_names_the_head_on_record() -> None:
    stream = Stream("mission-1", mission(), HeadOfMissionAppointed(name="A"))
    assert stream.refused(HeadOfMissionRecalled(name="B")).rule == "head-of-mission-name-mismatch"


def test_a_successor_replaces_the_head() -> None:
    stream = Stream(
        "mission-1", mission(), HeadOfMissionAppointed(name="A"), HeadOfMissionRecalled()
    )
    stream.append(HeadOfMissionAppointed(name="B"))
    head = mission_state(stream).head_of_mission
    assert head is not None and (head.name, head.status) == ("B", "appointed")


def test_correspondence_known_only_in_bulk_is_kept_without_notes() -> None:
    summary = CorrespondenceSummarized(
        from_=AZ_EMBASSY,
        to=[FR_MFA, Party(state="FR", body="police")],
        subject="protection of the embassy",
        count=Count(value=50, qualifier="about"),
        since="2017",
        replies=[ReportedReply(summary="don't worry", disposition="noncommittal")],
    )
    stream = Stream("mission-1", mission(), summary)
    entry = mission_state(stream).correspondence[0]
    assert (entry.count, entry.since, len(entry.to)) == (Count(50, "about"), "2017", 2)


# --- corrections --------------------------------------------------------------------------


def test_a_correction_changes_the_folded_fields_and_keeps_the_log() -> None:
    stream = Stream("note-1", note_sent(subject="securty"))
    stream.append(
        NoteCorrected(
            corrects=stream.ids[0],
            changes={"subject": "security", "occurred_at": "2022-08-17T00:00:00+02:00"},
            reason="typo",
            sources=[Source(document="d", quote="q")],
        )
    )
    state = note_state(stream)
    assert (state.subject, state.sent_at) == ("security", datetime(2022, 8, 16, 22, tzinfo=UTC))
    assert [(c.corrects, c.fields) for c in state.corrections] == [
        (stream.ids[0], ["occurred_at", "subject"])
    ]
    assert b'"securty"' in bytes(stream.log[0].data)  # the log's data is never rewritten
    assert stream.snapshot is not None
    assert b'"securty"' not in stream.snapshot.state  # nor does the state carry it
    assert state.sources == [Source(document="d", quote="q")]


def test_a_correction_reads_events_appended_with_it() -> None:
    # given a note and its correction in one call, the history before the call being empty
    stream = Stream("note-1")
    sent = recorded("note-1", 1, note_sent(subject="securty"))
    fix = recorded(
        "note-1", 2, NoteCorrected(corrects=sent.event_id, changes={"subject": "x"}, reason="r")
    )
    snapshot = RULES.apply("note-1", None, [sent, fix], [])
    state = decode_state("note", snapshot.state)
    assert isinstance(state, NoteState) and state.subject == "x"
    assert stream.snapshot is None


def test_a_correction_without_the_history_is_a_callers_bug() -> None:
    stream = Stream("note-1", note_sent())
    fix = recorded(
        "note-1", 2, NoteCorrected(corrects=stream.ids[0], changes={"subject": "x"}, reason="r")
    )
    with pytest.raises(HistoryRequiredError):
        RULES.apply("note-1", stream.snapshot, [fix])
    assert RULES.needs_history("NoteCorrected") and not RULES.needs_history("NoteSent")


def test_corrections_of_one_event_apply_in_order() -> None:
    stream = Stream("statement-1", StatementIssued(by=AZ_MFA, stance="notes", summary="a"))
    for summary in ("b", "c"):
        stream.append(
            StatementCorrected(corrects=stream.ids[0], changes={"summary": summary}, reason="r")
        )
    state = stream.state
    assert isinstance(state, StatementState) and state.summary == "c"


def test_a_correction_names_an_event_of_its_stream() -> None:
    stream = Stream("note-1", note_sent())
    violation = stream.refused(
        NoteCorrected(corrects=UUID(int=7), changes={"subject": "x"}, reason="r")
    )
    assert violation.rule == "correction-target-unknown"


def test_a_correction_is_not_corrected() -> None:
    stream = Stream("mission-1", mission())
    stream.append(
        MissionCorrected(corrects=stream.ids[0], changes={"city": "Paris 16e"}, reason="r")
    )
    violation = stream.refused(
        MissionCorrected(corrects=stream.ids[1], changes={"reason": "x"}, reason="r")
    )
    assert violation.rule == "correction-of-correction"


@pytest.mark.parametrize(
    "changes",
    [
        {"no_such_field": 1},
        {"to": {"state": "XX"}},
        {"subject": None},
        {"type": "NoteWithdrawn"},
        {"occurred_at": "2022-08-17T00:00:00"},
    ],
)
def test_a_correction_must_leave_a_valid_event(changes: dict[str, Any]) -> None:
    stream = Stream("note-1", note_sent())
    violation = stream.refused(NoteCorrected(corrects=stream.ids[0], changes=changes, reason="r"))
    assert violation.rule == "correction-invalid"


def test_a_corrected_mission_changes_the_index_column() -> None:
    stream = Stream("note-1", note_sent(mission="mission-a"))
    snapshot = stream.append(
        NoteCorrected(corrects=stream.ids[0], changes={"mission": "mission-b"}, reason="r")
    )
    assert snapshot.mission == "mission-b"


# --- the snapshot -------------------------------------------------------------------------


def test_folding_is_deterministic_whatever_the_batching() -> None:
    events: list[Event] = [
        protest("investigation", "compensation"),
        DemandAnswered(demand="investigation", outcome="partially_met"),
        ProtestResponseReceived(from_=FR_MFA, summary="noted"),
        DemandAnswered(demand="compensation", outcome="rejected"),
    ]
    one_by_one = Stream("protest-1", *events).snapshot
    at_once = Stream("protest-1")
    at_once.append(*events)
    assert one_by_one == at_once.snapshot


def test_times_are_kept_in_utc() -> None:
    paris = T0.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    stream = Stream("note-1", (note_sent(), paris))
    assert b'"sent_at":"2022-09-18T12:20:00Z"' in stream.snapshot.state  # type: ignore[union-attr]


def test_last_event_at_is_the_latest_occurrence() -> None:
    stream = Stream("incident-1", (incident(), T0 + timedelta(days=2)))
    stream.append((DamageRecorded(description="d", occurred_precision="unknown"), T0))
    assert incident_state(stream).last_event_at == T0 + timedelta(days=2)


# --- bounds -------------------------------------------------------------------------------


def test_occurred_at_must_lie_within_the_bounds() -> None:
    bounded = incident(occurred_precision="unknown", occurred_before=T0)
    violation = Stream("incident-1").refused((bounded, T0 + timedelta(minutes=1)))
    assert violation.rule == "occurred-outside-bounds"
    stream = Stream("incident-1", (bounded, T0))
    state = incident_state(stream)
    assert (state.occurred_after, state.occurred_before) == (msgspec.UNSET, T0)


def test_a_follow_up_bounded_before_the_opening_is_certainly_earlier() -> None:
    stream = Stream(
        "incident-1", (incident(occurred_precision="day"), T0.replace(hour=0, minute=0))
    )
    earlier = T0 - timedelta(days=3)
    damage = DamageRecorded(
        description="door", occurred_precision="unknown", occurred_before=earlier
    )
    assert stream.refused((damage, earlier)).rule == "occurred-before-opening"
    # unbounded, the same unknown date is never compared
    stream.append((DamageRecorded(description="door", occurred_precision="unknown"), earlier))
    assert len(incident_state(stream).damage) == 1
