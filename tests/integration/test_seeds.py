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
# The time the log records the seeds at (never an event's occurred_at).
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
            occurred_at = datetime.fromisoformat(event["occurred_at"])
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
                # every event is dated by the seeds: none is left to the clock of the log
                assert set(event) == {"event_id", "type", "occurred_at", "data", "metadata"}
                assert event["metadata"]["source"] == "seed"
                assert event["occurred_at"].endswith("Z")
                assert datetime.fromisoformat(event["occurred_at"]).tzinfo is not None


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
        data = event["data"]
        loose = data.get("occurred_precision") == "unknown"
        if loose or "occurred_after" in data or "occurred_before" in data:
            assert event["metadata"].get("date_basis"), f"{stream_id} {event['type']}"


def test_a_bounded_date_lies_within_its_bounds_on_one_of_them() -> None:
    # the seeds put occurred_at on the later bound, or on the earlier where only it is known
    bounded = 0
    for stream_id, event in events():
        data = event["data"]
        after, before = data.get("occurred_after"), data.get("occurred_before")
        if after is None and before is None:
            continue
        bounded += 1
        assert event["occurred_at"] == (before or after), stream_id
        if after is not None and before is not None:
            assert after < before, stream_id
    assert bounded >= 20


def test_a_year_is_in_a_stream_id_only_where_the_dates_fix_it() -> None:
    # a stream whose opening event is open at one end may lie in any year on that side
    for stream_id, event in events():
        if event["type"] not in {"IncidentReported", "StatementIssued", "ResolutionAdopted"}:
            continue
        data = event["data"]
        if data.get("occurred_precision") != "unknown":
            continue
        after, before = data.get("occurred_after"), data.get("occurred_before")
        named = {part for part in stream_id.split("-") if len(part) == 4 and part.isdigit()}
        if after is None or before is None:
            assert not named, stream_id
        else:
            assert named <= {str(year) for year in range(int(after[:4]), int(before[:4]) + 1)}


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
    bulk, radicals = mission.correspondence
    assert bulk.count is not None and (bulk.count.value, bulk.count.qualifier) == (50, "about")
    assert bulk.since == "2017"
    # the embassy's reports on Dashnaksutun and ASALA, in the notes sent by 17 August 2022
    assert "Dashnaksutun" in radicals.subject and "ASALA" in radicals.subject
    assert radicals.count is None and radicals.precision == "unknown"
    assert radicals.before == datetime(2022, 8, 17, 22, tzinfo=UTC)


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
        "incident-az-tbilisi-attempt",
        "incident-fr-natavan-monument-vandalism",
    ):
        incident = states[stream_id]
        assert isinstance(incident, IncidentState)
        assert incident.occurred_precision == "unknown"
    monument = states["incident-fr-natavan-monument-vandalism"]
    assert isinstance(monument, IncidentState)
    # after the 2020 war's ceasefire, before COP29 opened (003 calls it upcoming)
    assert monument.occurred_after == datetime(2020, 11, 9, 21, tzinfo=UTC)
    assert monument.occurred_before == datetime(2024, 11, 10, 20, tzinfo=UTC)
    assert monument.mission is None and monument.location is not None
    assert monument.location.state == "FR"


def test_the_resolutions_and_the_statements_rejecting_them(states: dict[str, State]) -> None:
    senate = states["statement-fr-senate-resolution"]
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
    assert (damage.occurred_precision, damage.repeated) == ("unknown", True)
    # within the war: 27 September 2020 in Baku to the ceasefire at 00:00 Moscow time
    assert (damage.occurred_after, damage.occurred_before) == (
        datetime(2020, 9, 26, 20, tzinfo=UTC),
        datetime(2020, 11, 9, 21, tzinfo=UTC),
    )
    (recorded,) = damage.damage
    assert (recorded.after, recorded.before) == (damage.occurred_after, damage.occurred_before)
    ceasefire = states["statement-az-am-ru-2020-11-10-ceasefire"]
    assert isinstance(ceasefire, StatementState)
    assert ceasefire.issued_at == datetime(2020, 11, 9, 21, tzinfo=UTC)
    assert (ceasefire.occurred_precision, ceasefire.occurred_zone) == ("minute", "Europe/Moscow")


def test_the_placeholder_dates_are_bounds(states: dict[str, State]) -> None:
    beirut = states["incident-az-beirut-2022-attack"]
    london = states["incident-az-london-embassy"]
    assert isinstance(beirut, IncidentState) and isinstance(london, IncidentState)
    # Beirut: after the clashes began (12 September 2022 in Baku), before Paris at 14:20
    assert (beirut.occurred_after, beirut.occurred_before) == (
        datetime(2022, 9, 11, 20, tzinfo=UTC),
        datetime(2022, 9, 18, 12, 20, tzinfo=UTC),
    )
    # London: before the end of 17 August 2022 in Paris, no lower bound
    assert london.occurred_after is msgspec.UNSET
    assert london.occurred_before == datetime(2022, 8, 17, 22, tzinfo=UTC)
    for state in (beirut, london):
        assert state.occurred_precision == "unknown"


def test_document_003_is_bounded_by_the_war_and_cop29(states: dict[str, State]) -> None:
    baku = states["mission-fr-baku"]
    answer = states["statement-az-mfa-hajizadeh-ambassador-recall"]
    assert isinstance(baku, MissionState) and isinstance(answer, StatementState)
    head = baku.head_of_mission
    assert head is not None and head.status == "recalled"
    window = (datetime(2020, 11, 9, 21, tzinfo=UTC), datetime(2024, 11, 10, 20, tzinfo=UTC))
    assert (head.after, head.before) == window
    assert (answer.occurred_after, answer.occurred_before) == window
    assert head.since == answer.issued_at == window[1]


def test_the_crowd_stayed_an_hour_and_the_truce_closed_the_clashes(
    states: dict[str, State],
) -> None:
    attack = states[PARIS_ATTACK]
    assert isinstance(attack, IncidentState)
    assert attack.ended_at == datetime(2022, 9, 18, 13, 20, tzinfo=UTC)
    clashes = states["incident-am-az-border-2022-09-12-clashes"]
    assert isinstance(clashes, IncidentState)
    assert (clashes.status, clashes.closed_at) == ("closed", datetime(2022, 9, 14, tzinfo=UTC))


def test_the_renewed_fire_of_november_2022(states: dict[str, State]) -> None:
    midnight = states["incident-az-kalbajar-lachin-midnight-fire"]
    tuesday = states["incident-az-aghdam-2022-11-29-fire"]
    assert isinstance(midnight, IncidentState) and isinstance(tuesday, IncidentState)
    # at a midnight in Baku no later than the one that began Wednesday 30 November 2022
    assert midnight.occurred_before == datetime(2022, 11, 29, 20, tzinfo=UTC)
    assert midnight.occurred_precision == "unknown"
    assert (tuesday.occurred_at, tuesday.occurred_precision) == (
        datetime(2022, 11, 29, tzinfo=UTC),
        "day",
    )
