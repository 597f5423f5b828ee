"""The dashboard's sign-in and forms over HTTP: sessions, CSRF, errors beside their fields."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from incidents.cli import SEEDS_DIR
from incidents.http.app import create_app
from incidents.http.auth import tokens_of
from incidents.seeding import load_seeds
from incidents.settings import Settings

Client = AsyncTestClient  # type: ignore[type-arg]

NOTE = "note-az-paris-2022-08-17"
PROTEST = "protest-az-2022-09-19-paris-embassy-attack"
ORIGIN = "http://testserver.local"


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[Client, str, str]]:
    """A client of the seeded app, a writer's token and a reader's token."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'desk.db'}", public_reads=True, reply_window_days=30
    )
    await load_seeds(settings, SEEDS_DIR)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        writer = await tokens_of(app).create("writer", "desk-officer")
        reader = await tokens_of(app).create("reader", "analyst")
        yield client, writer.token, reader.token


def csrf_of(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match is not None, "the form carries no CSRF token"
    return match.group(1)


async def sign_in(client: Client, token: str) -> str:
    page = await client.get("/dashboard/sign-in", params={"next": f"/dashboard/notes/{NOTE}"})
    response = await client.post(
        "/dashboard/sign-in",
        data={
            "token": token,
            "next": f"/dashboard/notes/{NOTE}",
            "_csrf_token": csrf_of(page.text),
        },
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return str(response.headers.get("set-cookie", ""))


async def test_signing_in_keeps_the_token_in_a_strict_httponly_cookie(
    desk: tuple[Client, str, str],
) -> None:
    client, writer, _ = desk
    cookie = await sign_in(client, writer)
    assert "incidents_token=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    page = (await client.get(f"/dashboard/notes/{NOTE}")).text
    assert "Signed in as" in page and "desk-officer" in page
    assert 'action="/dashboard/notes/' + NOTE + '/reply"' in page


async def test_a_bad_token_is_refused_beside_its_field(desk: tuple[Client, str, str]) -> None:
    client, _, _ = desk
    page = await client.get("/dashboard/sign-in")
    response = await client.post(
        "/dashboard/sign-in",
        data={"token": "not-a-token", "_csrf_token": csrf_of(page.text)},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert 'id="e-token"' in response.text
    assert "incidents_token" not in response.headers.get("set-cookie", "")


async def test_a_form_without_its_csrf_token_is_refused(desk: tuple[Client, str, str]) -> None:
    client, writer, _ = desk
    await sign_in(client, writer)
    response = await client.post(
        f"/dashboard/notes/{NOTE}/reply",
        data={"from_state": "FR", "disposition": "accepted"},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert response.status_code == 403
    events = (await client.get(f"/streams/{NOTE}/events")).json()["events"]
    assert [event["type"] for event in events] == ["NoteSent"]


async def test_a_reply_goes_through_the_service_with_the_writer_as_actor(
    desk: tuple[Client, str, str],
) -> None:
    client, writer, _ = desk
    await sign_in(client, writer)
    page = await client.get(f"/dashboard/notes/{NOTE}")
    response = await client.post(
        f"/dashboard/notes/{NOTE}/reply",
        data={
            "from_state": "FR",
            "from_body": "Ministry of Foreign Affairs",
            "disposition": "noncommittal",
            "summary": "Acknowledged; no measure announced.",
            "occurred_on": "2022-09-20",
            "_csrf_token": csrf_of(page.text),
        },
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    events = (await client.get(f"/streams/{NOTE}/events")).json()["events"]
    reply = events[-1]
    assert reply["type"] == "ReplyReceived"
    assert reply["occurred_at"].startswith("2022-09-20")
    assert reply["metadata"]["actor"] == "desk-officer"
    assert reply["data"]["disposition"] == "noncommittal"


async def test_every_mistake_of_a_form_is_shown_beside_its_field(
    desk: tuple[Client, str, str],
) -> None:
    client, writer, _ = desk
    await sign_in(client, writer)
    page = await client.get(f"/dashboard/notes/{NOTE}")
    response = await client.post(
        f"/dashboard/notes/{NOTE}/reply",
        data={
            "from_state": "France",
            "disposition": "maybe",
            "occurred_on": "20/09/2022",
            "_csrf_token": csrf_of(page.text),
        },
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert response.status_code == 422
    for name in ("from_state", "disposition", "occurred_on"):
        assert f'id="e-{name}"' in response.text, name
        assert re.search(rf'id="f-{name}"[^>]*aria-invalid="true"', response.text), name
    # what was typed is shown again
    assert 'value="FRANCE"' in response.text
    events = (await client.get(f"/streams/{NOTE}/events")).json()["events"]
    assert len(events) == 1


async def test_a_rule_refusal_is_shown_beside_the_field_it_concerns(
    desk: tuple[Client, str, str],
) -> None:
    client, writer, _ = desk
    await sign_in(client, writer)
    page = await client.get(f"/dashboard/notes/{NOTE}")
    response = await client.post(
        f"/dashboard/notes/{NOTE}/reply",
        data={
            "from_state": "FR",
            "disposition": "accepted",
            "occurred_on": "2020-01-01",
            "_csrf_token": csrf_of(page.text),
        },
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert 'id="e-occurred_on"' in response.text


async def test_answering_a_demand_closes_it(desk: tuple[Client, str, str]) -> None:
    client, writer, _ = desk
    await sign_in(client, writer)
    page = await client.get(f"/dashboard/protests/{PROTEST}")
    response = await client.post(
        f"/dashboard/protests/{PROTEST}/answer",
        data={"demand": "investigation", "outcome": "met", "_csrf_token": csrf_of(page.text)},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    after = (await client.get(f"/dashboard/protests/{PROTEST}")).text
    row = re.search(r'<tr id="demand-investigation".*?</tr>', after, re.S)
    assert row is not None and "met" in row.group(0) and "<form" not in row.group(0)


async def test_lodging_a_protest_and_reporting_an_incident(desk: tuple[Client, str, str]) -> None:
    client, writer, _ = desk
    await sign_in(client, writer)
    form = await client.get("/dashboard/protests/new")
    response = await client.post(
        "/dashboard/protests/new",
        data={
            "by_state": "AZ",
            "by_body": "Ministry of Foreign Affairs",
            "to_state": "FR",
            "form": "note",
            "demands": ["investigation", "prosecution"],
            "mission": "mission-az-paris",
            "occurred_on": "2022-09-20",
            "_csrf_token": csrf_of(form.text),
        },
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    stream = response.headers["location"].rsplit("/", 1)[-1]
    lodged = (await client.get(f"/streams/{stream}/events")).json()["events"][0]
    assert lodged["data"]["demands"] == ["investigation", "prosecution"]
    form = await client.get("/dashboard/incidents/new")
    missing = await client.post(
        "/dashboard/incidents/new",
        data={"kind": "threat", "_csrf_token": csrf_of(form.text)},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert missing.status_code == 422
    assert 'id="e-title"' in missing.text and 'id="e-location_state"' in missing.text
    reported = await client.post(
        "/dashboard/incidents/new",
        data={
            "kind": "threat",
            "title": "A threatening call",
            "mission": "mission-az-paris",
            "occurred_on": "2022-09-21",
            "_csrf_token": csrf_of(form.text),
        },
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert reported.status_code == 303, reported.text
    incidents = (await client.get("/projections/incidents")).json()["incidents"]
    assert any(i["title"] == "A threatening call" for i in incidents)


async def test_a_reader_is_sent_to_sign_in_and_nothing_is_stored(
    desk: tuple[Client, str, str],
) -> None:
    client, _, reader = desk
    await sign_in(client, reader)
    page = await client.get(f"/dashboard/notes/{NOTE}")
    assert 'action="/dashboard/notes/' + NOTE + '/reply"' not in page.text
    response = await client.post(
        f"/dashboard/notes/{NOTE}/reply",
        data={"from_state": "FR", "disposition": "accepted", "_csrf_token": csrf_of(page.text)},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/sign-in")
    events = (await client.get(f"/streams/{NOTE}/events")).json()["events"]
    assert len(events) == 1
