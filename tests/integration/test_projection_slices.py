"""The read models decode only the fields their views read: the views come out exactly as
they do from the full states, over the seed cases and every mission filter."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from incidents.domain.rules import DomainRules
from incidents.domain.state import decode_state
from incidents.projections import reader, states
from incidents.projections.incidents_by_mission import IncidentFilter, incidents_view
from incidents.projections.inline import inline_projections
from incidents.projections.missions import missions_view
from incidents.projections.open_protests import ProtestFilter, open_protests
from incidents.projections.unanswered_notes import unanswered_notes
from incidents.seeding import load_into
from incidents.service import LogService
from incidents.store.memory import MemoryEventStore

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def full(rows: list[Any]) -> list[Any]:
    """The states as they were decoded before: whole."""
    return [decode_state(row.category, bytes(row.state)) for row in rows]


def whole(view: Any) -> Any:
    """A view of notes without where its page ends (asked whole, it has no next page)."""
    assert view.has_more is False
    return msgspec.structs.replace(view, next_after=None)


@pytest.fixture
async def seeded() -> MemoryEventStore:
    store = MemoryEventStore(DomainRules(), inline_projections())
    await load_into(LogService(store), SEEDS)
    return store


@pytest.mark.parametrize("page_size", [1, 2, 7, 2000])
async def test_each_view_is_the_same_from_the_slices_as_from_the_full_states(
    seeded: MemoryEventStore, page_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (the views read their rows a page at a time and add the pages up)
    monkeypatch.setattr(states, "PAGE_SIZE", page_size)
    projections = reader.Projections(seeded, 30, lambda: NOW)
    missions = await seeded.list_streams("mission")
    mission_ids: list[str | None] = [None, *(row.stream_id for row in missions), "mission-none"]
    assert len(mission_ids) > 3
    for mission in mission_ids:
        notes = await seeded.list_streams("note", mission=mission, is_open=True)
        protests = await seeded.list_streams("protest", mission=mission, is_open=True)
        incidents = await seeded.list_streams("incident", mission=mission)
        expected_notes = unanswered_notes(full(notes), full(missions), NOW, 30)
        protests_of, incidents_of = ProtestFilter(mission=mission), IncidentFilter(mission=mission)
        expected_protests = open_protests(full(protests), NOW, protests_of)
        expected_incidents = incidents_view(full(incidents), full(missions), incidents_of)
        assert whole(await projections.unanswered_notes(mission)) == expected_notes
        assert await projections.open_protests(protests_of) == expected_protests
        assert await projections.incidents(incidents_of) == expected_incidents
    # and with every other filter, alone and together
    all_protests = full(await seeded.list_streams("protest", is_open=True))
    all_incidents = full(await seeded.list_streams("incident"))
    parties = {p.state or p.body for s in all_protests for p in (s.by, s.to)} | {"nobody"}
    for party in parties:
        for named in ({"by": party}, {"to": party}, {"by": party, "to": party.lower()}):
            where = ProtestFilter(**named)
            assert await projections.open_protests(where) == open_protests(all_protests, NOW, where)
    since = datetime(2022, 9, 18, tzinfo=UTC)
    until = datetime(2022, 9, 19, tzinfo=UTC)
    hosts = {"az", "FR", "XX"} | {i.location.state for i in all_incidents if i.location}
    for host in hosts:
        for named in (
            {"host_state": host},
            {"host_state": host, "since": since},
            {"kind": "attack", "until": until},
            {"since": since, "until": until},
        ):
            where = IncidentFilter(**named)
            assert await projections.incidents(where) == incidents_view(
                all_incidents, full(missions), where
            )
    related = [
        row
        for category in ("incident", "protest", "note")
        for row in await seeded.list_streams(category)
    ]
    expected = missions_view(
        list(zip(missions, full(missions), strict=True)),
        related,
        full([row for row in related if row.category == "note"]),
        full([row for row in related if row.category == "protest"]),
    )
    assert await projections.missions() == expected
    # the seeds hold something for every view to show
    assert expected.missions and (await projections.unanswered_notes()).missions
