"""Event bodies: the registry, canonical encoding without the tag, and validation on decode."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
import pytest

from incidents.domain.events import (
    CATEGORY_OF_TYPE,
    CORRECTION_TYPES,
    EVENT_TYPES,
    OPENING_TYPES,
    TYPES_BY_CATEGORY,
    EventData,
    NoteCorrected,
    NoteSent,
    Party,
    UnknownEventType,
    decode_data,
    encode_data,
    type_name,
)

PARTY = {"state": "AZ", "body": "Ministry of Foreign Affairs", "person": "A", "title": "t"}
FR = {"state": "FR"}
AT = "2022-09-18T12:50:00Z"
CORRECTION = {"corrects": str(UUID(int=1)), "changes": {"b": 2, "a": [1]}, "reason": "typo"}

# One full body per type: a type added without an example fails test_every_type_has_an_example.
EXAMPLES: dict[str, dict[str, Any]] = {
    "MissionRegistered": {
        "sending_state": "AZ",
        "receiving_state": "FR",
        "city": "Paris",
        "kind": "embassy",
        "name": "Azerbaijani embassy in Paris",
        "address": "rue",
        "reply_window_days": 30,
    },
    "HeadOfMissionAppointed": {"name": "R. M.", "title": "Ambassador", "reason": "r"},
    "HeadOfMissionRecalled": {"name": "R. M.", "reason": "r", "by": FR},
    "HeadOfMissionReturned": {"name": "R. M.", "reason": "r"},
    "CorrespondenceSummarized": {
        "from": PARTY,
        "to": [FR, {"state": "FR", "body": "police"}],
        "subject": "security",
        "count": {"value": 50, "qualifier": "about"},
        "since": "2017",
        "until": "2022-09",
        "replies": [{"summary": "don't worry", "from": FR, "disposition": "noncommittal"}],
    },
    "MissionCorrected": CORRECTION,
    "IncidentReported": {
        "kind": "attack",
        "title": "Embassy stormed",
        "mission": "mission-az-fr",
        "location": {"state": "FR", "city": "Paris", "address": "a", "description": "d"},
        "summary": "s",
        "participants_estimate": {"value": 150, "qualifier": "up_to"},
        "perpetrators": "p",
        "reported_by": PARTY,
        "ended_at": AT,
        "attempted": True,
        "repeated": True,
        "sources": [{"document": "001.txt", "quote": "q"}],
        "occurred_precision": "minute",
        "occurred_zone": "Europe/Paris",
    },
    "PoliceResponded": {"arrived_at": AT, "by": FR, "summary": "s"},
    "DamageRecorded": {"description": "door broken", "documented_by": FR},
    "CasualtiesReported": {"killed": None, "injured": 0, "among": "staff", "reported_by": PARTY},
    "InvestigationOpened": {"by": FR, "summary": "s"},
    "ProsecutionStarted": {"by": FR, "summary": "s"},
    "CompensationPaid": {
        "by": FR,
        "to": PARTY,
        "amount": {"amount": "1000.50", "currency": "EUR"},
        "summary": "s",
    },
    "IncidentClosed": {"reason": "r"},
    "IncidentCorrected": CORRECTION,
    "NoteSent": {
        "from": PARTY,
        "to": FR,
        "subject": "security",
        "mission": "mission-az-fr",
        "reference": "No. 187/2022",
        "form": "note_verbale",
        "summary": "s",
        "reply_due_at": AT,
        "about_incident": "incident-paris-2022",
        "in_reply_to": "note-earlier",
        "channel": "by hand",
        "recipients": [{"state": "FR", "body": "Ministry of the Interior"}],
    },
    "NoteAcknowledged": {"by": FR, "summary": "s"},
    "ReplyReceived": {
        "from": FR,
        "disposition": "noncommittal",
        "summary": "s",
        "reference": "r",
        "reply_note": "note-reply",
    },
    "NoteWithdrawn": {"reason": "r"},
    "NoteCorrected": CORRECTION,
    "ProtestLodged": {
        "by": PARTY,
        "to": FR,
        "form": "note",
        "demands": ["investigation", "compensation"],
        "summary": "s",
        "about_incident": "incident-paris-2022",
        "mission": "mission-az-fr",
        "via_mission": "mission-fr-az",
        "demand_details": {"investigation": "thorough"},
    },
    "DemandAnswered": {"demand": "investigation", "outcome": "met", "by": FR, "summary": "s"},
    "ProtestResponseReceived": {"from": FR, "summary": "s"},
    "ProtestClosed": {"reason": "r"},
    "ProtestCorrected": CORRECTION,
    "StatementIssued": {
        "by": PARTY,
        "stance": "rejects",
        "summary": "s",
        "title": "t",
        "about": "statement-senate-2022",
        "related": ["statement-other"],
        "mission": "mission-az-fr",
    },
    "ResolutionAdopted": {
        "body": {"state": "FR", "body": "Senate"},
        "title": "t",
        "adopted_on": "2022-11-15",
        "calls_for": ["sanctions"],
        "summary": "s",
        "about": "a",
    },
    "StatementCorrected": CORRECTION,
}


def test_every_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(EVENT_TYPES)


def test_the_registry_is_consistent() -> None:
    assert set().union(*TYPES_BY_CATEGORY.values()) == set(EVENT_TYPES)
    assert set(TYPES_BY_CATEGORY) == {"mission", "incident", "note", "protest", "statement"}
    for category, openings in OPENING_TYPES.items():
        assert openings <= TYPES_BY_CATEGORY[category]
        assert CORRECTION_TYPES[category] in TYPES_BY_CATEGORY[category]
    for name, cls in EVENT_TYPES.items():
        assert cls.__struct_config__.tag == name
        assert CATEGORY_OF_TYPE[name] in TYPES_BY_CATEGORY


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_body_round_trips_exactly(name: str) -> None:
    body = EXAMPLES[name]
    event = decode_data(name, json.dumps(body).encode())
    assert type_name(event) == name
    encoded = encode_data(event)
    assert json.loads(encoded) == body
    assert decode_data(name, encoded) == event


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_encode_data_is_msgspec_json_without_the_tag(name: str) -> None:
    event = decode_data(name, json.dumps(EXAMPLES[name]).encode())
    tagged = msgspec.json.encode(event, order="deterministic")
    assert tagged.startswith(b'{"type":"' + name.encode() + b'",')
    assert encode_data(event) == b"{" + tagged[len(name) + 11 :]
    assert b'"type"' not in encode_data(event)


def test_a_body_with_only_defaults_encodes_as_an_empty_object() -> None:
    assert encode_data(decode_data("NoteAcknowledged", b"{}")) == b"{}"
    assert encode_data(decode_data("NoteAcknowledged", b'{"sources": []}')) == b"{}"


def test_equal_content_gives_equal_bytes() -> None:
    one = NoteCorrected(corrects=UUID(int=1), changes={"b": {"y": 1, "x": 2}, "a": 1}, reason="r")
    two = NoteCorrected(corrects=UUID(int=1), changes={"a": 1, "b": {"x": 2, "y": 1}}, reason="r")
    assert encode_data(one) == encode_data(two)
    assert encode_data(one).index(b'"a"') < encode_data(one).index(b'"b"')


def test_times_are_written_in_utc() -> None:
    body = {"arrived_at": "2022-09-18T14:50:00+02:00"}
    event = decode_data("PoliceResponded", json.dumps(body).encode())
    assert encode_data(event) == b'{"arrived_at":"2022-09-18T12:50:00Z"}'
    assert encode_data(msgspec.convert(body, EVENT_TYPES["PoliceResponded"])) == encode_data(event)


def test_the_tag_may_be_sent_but_must_match() -> None:
    assert decode_data("IncidentClosed", b'{"type":"IncidentClosed","reason":"r"}')
    with pytest.raises(msgspec.ValidationError):
        decode_data("IncidentClosed", b'{"type":"NoteSent","reason":"r"}')


def test_an_unknown_type_is_named() -> None:
    with pytest.raises(UnknownEventType) as caught:
        decode_data("NoteShredded", b"{}")
    assert caught.value.type_name == "NoteShredded"


def _refused(name: str, body: dict[str, Any]) -> str:
    with pytest.raises(msgspec.ValidationError) as caught:
        decode_data(name, json.dumps(body).encode())
    return str(caught.value)


def _note(**changes: Any) -> dict[str, Any]:
    return EXAMPLES["NoteSent"] | changes


def test_an_unknown_field_is_refused() -> None:
    assert "unknown field" in _refused("NoteSent", _note(cc="x"))


def test_a_required_field_is_required() -> None:
    body = dict(EXAMPLES["NoteSent"])
    del body["subject"]
    assert "subject" in _refused("NoteSent", body)


@pytest.mark.parametrize("code", ["XX", "fr", "FRA", "ZZ"])
def test_a_state_that_is_not_iso_3166_is_refused(code: str) -> None:
    _refused("NoteSent", _note(to={"state": code}))


def test_an_iso_3166_state_is_accepted() -> None:
    event = decode_data("NoteSent", json.dumps(_note(to={"state": "FR"})).encode())
    assert isinstance(event, NoteSent) and event.to == Party(state="FR")


def test_a_party_without_a_state_needs_a_body() -> None:
    assert decode_data("NoteSent", json.dumps(_note(to={"body": "OSCE Minsk Group"})).encode())
    _refused("NoteSent", _note(to={"person": "someone"}))
    with pytest.raises(ValueError):
        Party(person="someone")


@pytest.mark.parametrize(
    ("name", "field"), [("PoliceResponded", "arrived_at"), ("NoteSent", "reply_due_at")]
)
def test_a_time_without_an_offset_is_refused(name: str, field: str) -> None:
    body = EXAMPLES[name] | {field: "2022-09-18T14:50:00"}
    assert "timezone" in _refused(name, body)


def test_the_zone_must_be_an_iana_zone() -> None:
    _refused("IncidentClosed", {"reason": "r", "occurred_zone": "Paris"})
    event = decode_data("IncidentClosed", b'{"reason":"r","occurred_zone":"Asia/Baku"}')
    assert isinstance(event, EventData) and event.occurred_zone == "Asia/Baku"


def test_the_precision_is_one_of_the_catalogue() -> None:
    _refused("IncidentClosed", {"reason": "r", "occurred_precision": "week"})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mission", "incident-paris"),
        ("about_incident", "mission-az-fr"),
        ("in_reply_to", "Note 1"),
    ],
)
def test_stream_references_have_their_category(field: str, value: str) -> None:
    _refused("NoteSent", _note(**{field: value}))


def test_counts_keep_their_qualifier() -> None:
    body = EXAMPLES["IncidentReported"] | {"participants_estimate": {"value": 150}}
    event = decode_data("IncidentReported", json.dumps(body).encode())
    assert b'"participants_estimate":{"value":150}' in encode_data(event)
    _refused("IncidentReported", body | {"participants_estimate": {"value": 1, "qualifier": "ca"}})
    _refused("IncidentReported", body | {"participants_estimate": {"value": -1}})


def test_an_incident_needs_a_mission_or_a_state() -> None:
    body = dict(EXAMPLES["IncidentReported"])
    del body["mission"]
    assert decode_data("IncidentReported", json.dumps(body).encode())
    _refused("IncidentReported", body | {"location": {"city": "Paris"}})


def test_a_protest_lists_each_demand_once_and_details_only_its_own() -> None:
    body = EXAMPLES["ProtestLodged"]
    _refused("ProtestLodged", body | {"demands": ["apology", "apology"]})
    _refused("ProtestLodged", body | {"demand_details": {"apology": "x"}})
    _refused("ProtestLodged", body | {"demands": ["regret"]})


def test_a_currency_must_be_iso_4217() -> None:
    body = EXAMPLES["CompensationPaid"]
    _refused("CompensationPaid", body | {"amount": {"amount": "1", "currency": "XYZ"}})
    _refused("CompensationPaid", body | {"amount": {"amount": "1e3", "currency": "EUR"}})


def test_a_correction_changes_something() -> None:
    _refused("NoteCorrected", CORRECTION | {"changes": {}})


def test_a_partial_date_is_a_year_a_month_or_a_day() -> None:
    for good in ("2022", "2022-11", "2022-11-30"):
        assert decode_data(
            "ResolutionAdopted", json.dumps({"body": FR, "title": "t", "adopted_on": good}).encode()
        )
    for bad in ("22", "2022-13", "2022-11-31T00:00", "November 2022"):
        _refused("ResolutionAdopted", {"body": FR, "title": "t", "adopted_on": bad})


def test_event_bodies_are_immutable() -> None:
    event = decode_data("IncidentClosed", b'{"reason":"r"}')
    with pytest.raises(AttributeError):
        event.reason = "other"  # type: ignore[misc]


def test_constructed_times_are_normalised_too() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2022, 9, 18, 14, 50, tzinfo=ZoneInfo("Europe/Paris"))
    event = EVENT_TYPES["PoliceResponded"](arrived_at=local)  # type: ignore[call-arg]
    assert event.arrived_at == datetime(2022, 9, 18, 12, 50, tzinfo=UTC)  # type: ignore[attr-defined]
    assert event.arrived_at.tzinfo is UTC  # type: ignore[attr-defined]
