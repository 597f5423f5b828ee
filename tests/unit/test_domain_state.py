"""Stream states: JSON documents that round-trip and index columns the store filters on."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from incidents.domain.events import Party
from incidents.domain.state import (
    STATE_TYPES,
    DemandState,
    IncidentState,
    MissionState,
    NoteState,
    ProtestState,
    StatementState,
    decode_state,
    encode_state,
    is_open,
    mission_of,
)

AT = datetime(2022, 9, 18, 12, 20, tzinfo=UTC)
AZ = Party(state="AZ")
FR = Party(state="FR")


def _note(status: str = "sent") -> NoteState:
    return NoteState(
        "note-1",
        status=status,
        from_=AZ,
        to=FR,
        subject="s",
        sent_at=AT,
        last_event_at=AT,  # type: ignore[arg-type]
    )


def test_a_state_round_trips_through_its_json_document() -> None:
    state = ProtestState(
        "protest-1",
        status="open",
        by=AZ,
        to=FR,
        form="note",
        lodged_at=AT,
        last_event_at=AT,
        demands=[DemandState(demand="investigation")],
        mission="mission-az-fr",
    )
    encoded = encode_state(state)
    assert decode_state("protest", encoded) == state
    assert encode_state(decode_state("protest", encoded)) == encoded
    assert encoded.startswith(b'{"stream_id":"protest-1","status":"open"')


def test_a_note_state_writes_from_as_from() -> None:
    assert b'"from":{"state":"AZ"}' in encode_state(_note())


def test_an_unknown_category_has_no_state() -> None:
    with pytest.raises(KeyError):
        decode_state("letter", b"{}")
    with pytest.raises(msgspec.ValidationError):
        decode_state("note", b'{"stream_id":"note-1"}')


@pytest.mark.parametrize(
    ("status", "open_"),
    [("sent", True), ("acknowledged", True), ("answered", False), ("withdrawn", False)],
)
def test_a_note_is_open_until_answered_or_withdrawn(status: str, open_: bool) -> None:
    assert is_open(_note(status)) is open_


def test_index_columns_of_every_category() -> None:
    mission = MissionState(
        "mission-az-fr",
        sending_state="AZ",
        receiving_state="FR",
        city="Paris",
        kind="embassy",
        name="n",
        registered_at=AT,
        last_event_at=AT,
    )
    incident = IncidentState(
        "incident-1", status="reported", kind="attack", title="t", occurred_at=AT, last_event_at=AT
    )
    statement = StatementState("statement-1", kind="statement", issued_at=AT, last_event_at=AT)
    assert (is_open(mission), mission_of(mission)) == (True, "mission-az-fr")
    assert (is_open(incident), mission_of(incident)) == (True, None)
    assert is_open(msgspec.structs.replace(incident, status="closed")) is False
    assert (is_open(statement), mission_of(statement)) == (False, None)
    assert set(STATE_TYPES) == {"mission", "incident", "note", "protest", "statement"}
