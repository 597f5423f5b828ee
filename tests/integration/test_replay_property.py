"""Property: for any sequence of appends, folding the log again gives the live states.

Random actions on notes, protests, incidents and a mission go through the service, the
same path as HTTP; some break rules and are refused, which must leave no trace. Then
``replay`` rebuilds every stream's state from the log and must find no difference, and the
mission tallies the store kept must be those counted afresh from the stream states.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.domain.rules import DomainRules
from incidents.http.bodies import EventIn
from incidents.projections.inline import inline_projections
from incidents.projections.missions import read_tallies, row_labels
from incidents.projections.replay import replay
from incidents.service import LogService
from incidents.store.protocol import StoreError
from tests.conftest import STORE_ADAPTERS, open_test_store
from tests.store_rules import recount

MISSION = "mission-az-paris"
AZ = {"state": "AZ", "body": "Embassy of Azerbaijan in France"}
FR = {"state": "FR", "body": "Ministry for Europe and Foreign Affairs"}
DEMANDS = ["investigation", "legal_assessment", "prosecution", "compensation", "apology"]

days = st.integers(min_value=0, max_value=2000).map(
    lambda d: f"{2020 + d // 365:04d}-{1 + (d % 365) // 31:02d}-{1 + d % 28:02d}T10:00:00Z"
)


def _event(type_: str, data: dict[str, Any], occurred_at: str | None = None) -> EventIn:
    raw: dict[str, Any] = {"type": type_, "data": data}
    if occurred_at is not None:
        raw["occurred_at"] = occurred_at
    return msgspec.convert(raw, EventIn)


note_events = st.one_of(
    st.tuples(st.just("NoteSent"), st.sampled_from([AZ, FR]), days).map(
        lambda t: _event(
            t[0],
            {
                "from": t[1],
                "to": FR if t[1] is AZ else AZ,
                "subject": "protection",
                "mission": MISSION,
            },
            t[2],
        )
    ),
    st.just(_event("NoteAcknowledged", {})),
    st.sampled_from(["accepted", "rejected", "noncommittal"]).map(
        lambda d: _event("ReplyReceived", {"from": FR, "disposition": d})
    ),
    st.just(_event("NoteWithdrawn", {"reason": "superseded"})),
)
protest_events = st.one_of(
    st.lists(st.sampled_from(DEMANDS), min_size=1, max_size=5, unique=True).map(
        lambda demands: _event(
            "ProtestLodged",
            {"by": AZ, "to": FR, "form": "note", "demands": demands, "mission": MISSION},
            "2022-09-19T09:00:00Z",
        )
    ),
    st.tuples(st.sampled_from(DEMANDS), st.sampled_from(["met", "partially_met", "rejected"])).map(
        lambda t: _event("DemandAnswered", {"demand": t[0], "outcome": t[1]})
    ),
    st.just(_event("ProtestResponseReceived", {"from": FR, "summary": "noted"})),
    st.just(_event("ProtestClosed", {"reason": "answered"})),
)
incident_events = st.one_of(
    st.just(
        _event(
            "IncidentReported",
            {"kind": "attack", "title": "Embassy stormed", "mission": MISSION},
            "2022-09-18T12:20:00Z",
        )
    ),
    st.just(_event("PoliceResponded", {"arrived_at": "2022-09-18T12:50:00Z"})),
    st.just(_event("DamageRecorded", {"description": "door broken"})),
    st.just(_event("IncidentClosed", {"reason": "prosecuted"})),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["note-a", "note-b", "note-c"]), note_events),
        st.tuples(st.sampled_from(["protest-a", "protest-b"]), protest_events),
        st.tuples(st.just("incident-a"), incident_events),
    ),
    min_size=5,
    max_size=40,
)


async def _run(adapter: str, steps: list[tuple[str, EventIn]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = await open_test_store(adapter, Path(directory), DomainRules(), inline_projections())
        try:
            service = LogService(store)
            mission = _event(
                "MissionRegistered",
                {
                    "sending_state": "AZ",
                    "receiving_state": "FR",
                    "city": "Paris",
                    "kind": "embassy",
                    "name": "Embassy of Azerbaijan in France",
                },
            )
            await service.append(MISSION, [mission])
            accepted = 1
            for stream_id, event in steps:
                try:
                    await service.append(stream_id, [event])
                    accepted += 1
                except StoreError:
                    pass  # refused by a rule: must leave no trace
            assert (await store.head()).position == accepted
            report = await replay(store, DomainRules())
            assert report.differences == []
            assert report.tally_differences == []
            assert report.events == accepted
            rows = await store.list_streams_after(limit=1000)
            assert await read_tallies(store) == recount(rows, row_labels)
        finally:
            await store.close()


@pytest.mark.parametrize("adapter", [a for a in STORE_ADAPTERS if a != "postgres"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=actions)
def test_replayed_states_equal_the_live_ones(
    adapter: str, steps: list[tuple[str, EventIn]]
) -> None:
    asyncio.run(_run(adapter, steps))
