"""The seed files: valid bodies of POST /events that fold under the rules, quote their documents
verbatim, load idempotently, and hold the facts the documents give."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid5

import msgspec
import pytest

from incidents.domain.events import EVENT_TYPES, TYPES_BY_CATEGORY, decode_data, encode_data
from incidents.domain.rules import DomainRules
from incidents.domain.state import (
    IncidentState,
    MissionState,
    NoteState,
    ProtestState,
    State,
    StatementState,
    decode_state,
)
from incidents.store.protocol import (
    RecordedEvent,
    StreamSnapshot,
    category_of,
    is_valid_stream_id,
)

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
DOCUMENTS = SEEDS / "documents"
# In CI the shared documents sit beside the repository; in development they may live elsewhere.
SHARED_DOCUMENTS = ROOT.parent / "shared" / "seed-documents"
# Events whose document gives no date leave occurred_at to the log; this stands in for it.
LOAD_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seeds_build", SEEDS / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_files() -> list[Path]:
    names = json.loads((SEEDS / "index.json").read_text())
    return [SEEDS / name for name in names]


def appends() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in seed_files():
        for append in json.loads(path.read_text(encoding="utf-8"))["appends"]:
            yield path, append


def events() -> Iterator[tuple[str, dict[str, Any]]]:
    for _, append in appends():
        for event in append["events"]:
            yield append["stream_id"], event


def _collapsed(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def states() -> dict[str, State]:
    """Every seed stream folded through DomainRules, file by file, as the loader appends."""
    rules = DomainRules()
    snapshots: dict[str, StreamSnapshot] = {}
    versions: dict[str, int] = {}
    for _, append in appends():
        stream_id = append["stream_id"]
        batch = []
        for event in append["events"]:
            versions[stream_id] = versions.get(stream_id, 0) + 1
            at = event.get("occurred_at")
            occurred_at = datetime.fromisoformat(at) if at else LOAD_TIME
            batch.append(
                RecordedEvent(
                    position=0,
                    stream_id=stream_id,
                    version=versions[stream_id],
                    event_id=UUID(event["event_id"]),
                    type=event["type"],
                    data=msgspec.Raw(
                        encode_data(decode_data(event["type"], json.dumps(event["data"]).encode()))
                    ),
                    metadata=msgspec.Raw(json.dumps(event["metadata"]).encode()),
                    occurred_at=occurred_at,
                    recorded_at=LOAD_TIME,
                    hash="0" * 64,
                )
            )
        snapshots[stream_id] = rules.apply(stream_id, snapshots.get(stream_id), batch)
    return {sid: decode_state(category_of(sid), snap.state) for sid, snap in snapshots.items()}


# --- shape --------------------------------------------------------------------------------


def test_the_seed_files_are_what_build_py_writes() -> None:
    build = _build_module()
    rendered = build.rendered()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.json")}
    assert on_disk == rendered, "seeds are stale: run python seeds/build.py"


def test_the_index_lists_every_file_and_missions_come_first() -> None:
    names = [path.name for path in seed_files()]
    assert names == sorted(names)
    assert names[0] == "00_missions.json"
    assert set(names) == {p.name for p in SEEDS.glob("*.json")} - {"index.json"}


def test_every_file_is_a_post_events_body() -> None:
    for path in seed_files():
        body = json.loads(path.read_text(encoding="utf-8"))
        assert set(body) == {"appends"}
        for append in body["appends"]:
            assert set(append) == {"stream_id", "expected_version", "events"}
            assert append["expected_version"] == "any"
            assert is_valid_stream_id(append["stream_id"])
            for event in append["events"]:
                assert set(event) - {"occurred_at"} == {"event_id", "type", "data", "metadata"}
                assert event["metadata"]["source"] == "seed"
                if "occurred_at" in event:
                    assert event["occurred_at"].endswith("Z")
                    assert datetime.fromisoformat(event["occurred_at"]).tzinfo is not None
                else:
                    assert event["data"]["occurred_precision"] == "unknown"


def test_every_event_decodes_and_belongs_to_its_stream() -> None:
    for stream_id, event in events():
        assert event["type"] in EVENT_TYPES
        assert event["type"] in TYPES_BY_CATEGORY[category_of(stream_id)]
        decoded = decode_data(event["type"], json.dumps(event["data"]).encode())
        assert json.loads(encode_data(decoded)) == event["data"], "not in canonical form"


def test_a_stream_lives_in_one_file() -> None:
    files: dict[str, set[str]] = {}
    for path, append in appends():
        files.setdefault(append["stream_id"], set()).add(path.name)
    assert all(len(names) == 1 for names in files.values())


def test_event_ids_are_fixed_and_unique_so_loading_twice_stores_nothing() -> None:
    ids = [event["event_id"] for _, event in events()]
    assert len(ids) == len(set(ids))
    namespace = _build_module().NAMESPACE
    versions: dict[str, int] = {}
    for stream_id, event in events():
        versions[stream_id] = versions.get(stream_id, 0) + 1
        expected = uuid5(namespace, f"{stream_id}/{versions[stream_id]}")
        assert UUID(event["event_id"]) == expected


# --- provenance ---------------------------------------------------------------------------


def test_the_documents_travel_with_the_seeds() -> None:
    names = {p.name for p in DOCUMENTS.glob("*.txt")}
    assert len(names) == 5
    if SHARED_DOCUMENTS.is_dir():
        for shared in SHARED_DOCUMENTS.glob("*.txt"):
            assert (DOCUMENTS / shared.name).read_bytes() == shared.read_bytes()


def test_every_event_quotes_its_documents_verbatim() -> None:
    texts = {p.name: _collapsed(p.read_text(encoding="utf-8")) for p in DOCUMENTS.glob("*.txt")}
    for stream_id, event in events():
        sources = event["data"]["sources"]
        assert sources, f"{stream_id} {event['type']} cites no document"
        for source in sources:
            assert source["document"] in texts
            assert _collapsed(source["quote"]) in texts[source["document"]], (
                f"{stream_id}: not verbatim in {source['document']}: {source['quote']!r}"
            )


def test_all_five_documents_are_cited() -> None:
    cited = {s["document"] for _, e in events() for s in e["data"]["sources"]}
    assert cited == {p.name for p in DOCUMENTS.glob("*.txt")}


def test_an_unknown_or_derived_date_says_how_it_was_found() -> None:
    for stream_id, event in events():
        unknown = event["data"].get("occurred_precision") == "unknown"
        if unknown or "occurred_at" not in event:
            assert event["metadata"].get("date_basis"), f"{stream_id} {event['type']}"


# --- the rules hold -----------------------------------------------------------------------


def test_every_stream_folds_without_breaking_a_rule(states: dict[str, State]) -> None:
    assert len(states) == len({append["stream_id"] for _, append in appends()})


# --- the facts ----------------------------------------------------------------------------

PARIS_ATTACK = "incident-az-paris-2022-09-18-attack"
PROTEST = "protest-az-2022-09-19-paris-embassy-attack"


def test_the_paris_attack_began_at_1420_paris_time_and_the_police_took_30_minutes(
    states: dict[str, State],
) -> None:
    attack = states[PARIS_ATTACK]
    assert isinstance(attack, IncidentState)
    assert attack.occurred_at == datetime(2022, 9, 18, 12, 20, tzinfo=UTC)
    assert (attack.occurred_precision, attack.occurred_zone) == ("minute", "Europe/Paris")
    assert attack.police_arrived_at == datetime(2022, 9, 18, 12, 50, tzinfo=UTC)
    assert attack.response_minutes == 30.0
    assert attack.participants_estimate is not None
    assert (attack.participants_estimate.value, attack.participants_estimate.qualifier) == (
        150,
        "up_to",
    )
    assert attack.mission == "mission-az-paris"
    assert attack.status == "reported"


def test_the_paris_damage_was_documented_by_the_clerk_and_no_employee_was_injured(
    states: dict[str, State],
) -> None:
    attack = states[PARIS_ATTACK]
    assert isinstance(attack, IncidentState)
    (damage,) = attack.damage
    assert "lock and door" in damage.description and "balcony" in damage.description
    assert damage.documented_by is not None and damage.documented_by.title == "clerk of the court"
    assert (attack.casualties.killed, attack.casualties.injured) == (None, 0)


def test_the_protest_of_19_september_has_its_four_demands_open(states: dict[str, State]) -> None:
    protest = states[PROTEST]
    assert isinstance(protest, ProtestState)
    assert protest.status == "open"
    assert [(d.demand, d.status) for d in protest.demands] == [
        ("investigation", "open"),
        ("legal_assessment", "open"),
        ("prosecution", "open"),
        ("compensation", "open"),
    ]
    assert protest.lodged_at == datetime(2022, 9, 19, tzinfo=UTC)
    assert protest.occurred_precision == "day"
    assert (protest.by.state, protest.to.state) == ("AZ", "FR")
    assert (protest.mission, protest.about_incident) == ("mission-az-paris", PARIS_ATTACK)


def test_the_paris_embassy_has_unanswered_notes_to_the_french_authorities(
    states: dict[str, State],
) -> None:
    notes = [
        s
        for s in states.values()
        if isinstance(s, NoteState) and s.mission == "mission-az-paris" and s.to.state == "FR"
    ]
    unanswered = [n for n in notes if n.status in ("sent", "acknowledged")]
    assert [n.stream_id for n in unanswered] == ["note-az-paris-2022-08-17"]
    assert unanswered[0].sent_at == datetime(2022, 8, 17, tzinfo=UTC)
    mission = states["mission-az-paris"]
    assert isinstance(mission, MissionState)
    (bulk,) = mission.correspondence
    assert bulk.count is not None and (bulk.count.value, bulk.count.qualifier) == (50, "about")
    assert bulk.since == "2017"


def test_the_five_missions_are_registered(states: dict[str, State]) -> None:
    missions = {
        sid: (s.sending_state, s.receiving_state, s.city)
        for sid, s in states.items()
        if isinstance(s, MissionState)
    }
    assert missions == {
        "mission-az-paris": ("AZ", "FR", "Paris"),
        "mission-az-beirut": ("AZ", "LB", "Beirut"),
        "mission-az-tbilisi": ("AZ", "GE", "Tbilisi"),
        "mission-az-london": ("AZ", "GB", "London"),
        "mission-fr-baku": ("FR", "AZ", "Baku"),
    }
    baku = states["mission-fr-baku"]
    assert isinstance(baku, MissionState) and baku.head_of_mission is not None
    assert (baku.head_of_mission.status, baku.head_of_mission.name) == ("recalled", None)
    paris = states["mission-az-paris"]
    assert isinstance(paris, MissionState) and paris.head_of_mission is not None
    assert paris.head_of_mission.name == "Leyla Abdullayeva"


def test_undated_incidents_say_so(states: dict[str, State]) -> None:
    for stream_id in (
        "incident-az-beirut-2022-attack",
        "incident-az-tbilisi-2022-attempt",
        "incident-fr-natavan-monument-vandalism",
    ):
        incident = states[stream_id]
        assert isinstance(incident, IncidentState)
        assert incident.occurred_precision == "unknown"
    monument = states["incident-fr-natavan-monument-vandalism"]
    assert isinstance(monument, IncidentState)
    assert monument.mission is None and monument.location is not None
    assert monument.location.state == "FR"


def test_the_resolutions_and_the_statements_rejecting_them(states: dict[str, State]) -> None:
    senate = states["statement-fr-senate-resolution-2022"]
    assembly = states["statement-fr-national-assembly-resolution-2022-11-30"]
    assert isinstance(senate, StatementState) and isinstance(assembly, StatementState)
    assert (senate.kind, assembly.kind, assembly.adopted_on) == (
        "resolution",
        "resolution",
        "2022-11-30",
    )
    rejections = {
        s.about: s.issued_at
        for s in states.values()
        if isinstance(s, StatementState) and s.stance == "rejects"
    }
    assert rejections[senate.stream_id] == datetime(2022, 11, 16, tzinfo=UTC)
    assert assembly.stream_id in rejections


def test_the_2020_statements(states: dict[str, State]) -> None:
    france = states["statement-fr-le-drian-2020-11-10"]
    baku = states["statement-az-mfa-2020-11-11-le-drian"]
    assert isinstance(france, StatementState) and isinstance(baku, StatementState)
    assert france.by is not None and france.by.person == "Jean-Yves Le Drian"
    assert (baku.stance, baku.about) == ("rejects", france.stream_id)
    damage = states["incident-az-paris-2020-diaspora-damage"]
    assert isinstance(damage, IncidentState)
    assert (damage.occurred_precision, damage.repeated) == ("year", True)
