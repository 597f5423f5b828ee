"""The service as a real process: ``incidents serve`` on a free port, seeds over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from incidents.seeding import seed_files

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"

pytestmark = pytest.mark.e2e


def test_seeds_posted_over_http_show_in_the_projections(
    served: str, served_headers: dict[str, str]
) -> None:
    # Given a served log, when every seed file is posted to POST /events
    with httpx.Client(base_url=served, headers=served_headers, timeout=10) as client:
        stored = 0
        for path in seed_files(SEEDS):
            response = client.post(
                "/events", content=path.read_bytes(), headers={"content-type": "application/json"}
            )
            assert response.status_code == 201, response.text
            stored += sum(len(a["events"]) for a in response.json()["appends"])
        # and posted again, then nothing new is stored (200, same positions)
        for path in seed_files(SEEDS):
            again = client.post(
                "/events", content=path.read_bytes(), headers={"content-type": "application/json"}
            )
            assert again.status_code == 200, again.text
        assert client.get("/health").json()["head_position"] == stored

        # then the September 2022 protest is open with its four demands open
        protests = client.get("/projections/open-protests").json()
        demands = {
            frozenset(p["open_demands"]) for p in protests["protests"] if p["by"]["state"] == "AZ"
        }
        assert frozenset({"investigation", "legal_assessment", "prosecution", "compensation"}) in (
            demands
        )

        # and the embassy in Paris has notes to the French authorities unanswered
        notes = client.get("/projections/unanswered-notes").json()
        paris = [m for m in notes["missions"] if m["mission"] and m["receiving_state"] == "FR"]
        assert paris, notes
        assert paris[0]["sending_state"] == "AZ"
        assert paris[0]["sent"]["count"] >= 1
        assert all(n["to"]["state"] == "FR" for n in paris[0]["sent"]["notes"])
        # and beside them, the "about 50 notes and letters" the ambassador reports in bulk
        (bulk,) = [b for b in paris[0]["reported_in_bulk"] if b.get("count")]
        assert bulk["count"] == {"value": 50, "qualifier": "about"}
        assert {party["state"] for party in bulk["to"]} == {"FR"}
