"""Who may do what: tokens, roles, ``actor`` from the token, failed attempts limited."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from incidents.domain.rules import DomainRules
from incidents.http.app import create_app
from incidents.http.auth import SESSION_COOKIE, tokens_of
from incidents.settings import Settings
from incidents.store.factory import open_store
from incidents.tokens import TOKEN_PREFIX, TokenError, open_tokens
from tests.integration.conftest import POSTGRES_URL, scratch_schema

Client = AsyncTestClient  # type: ignore[type-arg]

NOTE = {
    "events": [
        {
            "type": "NoteSent",
            "occurred_at": "2022-08-17T00:00:00Z",
            "data": {
                "from": {"state": "AZ", "body": "Embassy of Azerbaijan in France"},
                "to": {"state": "FR", "body": "Ministry for Europe and Foreign Affairs"},
                "subject": "security of the embassy",
            },
            "metadata": {"actor": "desk officer 7", "request": "r-1"},
        }
    ]
}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _head(app: Litestar) -> tuple[int, str]:
    head = await app.state.service.store.head()
    return head.position, head.hash


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Litestar]:
    """An app on a fresh SQLite file, reads not public."""
    yield create_app(Settings(database_url=f"sqlite:///{tmp_path / 'auth.db'}"))


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_without_a_token_reads_and_writes_are_401_with_a_bearer_challenge(
    app: Litestar,
) -> None:
    async with Client(app=app) as client:
        for response in (
            await client.get("/events"),
            await client.get("/projections/unanswered-notes"),
            await client.post("/streams/note-az-1/events", json=NOTE),
        ):
            _assert_problem(response, 401)
            assert response.headers["www-authenticate"] == "Bearer"
        assert await _head(app) == (0, "0" * 64)
        # /health stays open for liveness probes.
        assert (await client.get("/health")).status_code == 200


async def test_a_bad_token_is_401_and_stores_nothing(app: Litestar) -> None:
    async with Client(app=app) as client:
        issued = await tokens_of(app).create("writer", "desk")
        altered = issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")
        for token in (altered, "inc_000000000000_" + "x" * 43, "not-a-token", ""):
            response = await client.post(
                "/streams/note-az-1/events", json=NOTE, headers=_bearer(token)
            )
            body = _assert_problem(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer"), body
        basic = await client.get("/events", headers={"Authorization": "Basic ZGVzazpkZXNr"})
        _assert_problem(basic, 401)
        assert await _head(app) == (0, "0" * 64)


async def test_a_reader_may_read_but_not_write(app: Litestar) -> None:
    async with Client(app=app) as client:
        reader = await tokens_of(app).create("reader", "auditor")
        assert (await client.get("/events", headers=_bearer(reader.token))).status_code == 200
        response = await client.post(
            "/streams/note-az-1/events", json=NOTE, headers=_bearer(reader.token)
        )
        body = _assert_problem(response, 403)
        assert "writer" in body["detail"]
        assert await _head(app) == (0, "0" * 64)


async def test_a_writer_appends_and_the_token_name_is_the_actor(app: Litestar) -> None:
    async with Client(app=app) as client:
        writer = await tokens_of(app).create("writer", "paris-desk")
        response = await client.post(
            "/streams/note-az-1/events", json=NOTE, headers=_bearer(writer.token)
        )
        assert response.status_code == 201, response.text
        (event,) = (await client.get("/events", headers=_bearer(writer.token))).json()["events"]
        # The server's actor is the token's name; the client's own is kept beside it.
        metadata = event["metadata"]
        assert metadata["actor"] == "paris-desk"
        assert metadata["client_actor"] == "desk officer 7"
        assert metadata["request"] == "r-1"
        # A writer may not manage tokens.
        _assert_problem(await client.get("/tokens", headers=_bearer(writer.token)), 403)


async def test_public_reads_open_reads_only(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'public.db'}", public_reads=True)
    app = create_app(settings)
    async with Client(app=app) as client:
        assert (await client.get("/events")).status_code == 200
        assert (await client.get("/projections/open-protests")).status_code == 200
        _assert_problem(await client.post("/streams/note-az-1/events", json=NOTE), 401)
        assert await _head(app) == (0, "0" * 64)


async def test_an_admin_creates_lists_and_revokes_tokens_over_http(app: Litestar) -> None:
    async with Client(app=app) as client:
        admin = await tokens_of(app).create("admin", "ops")
        created = await client.post(
            "/tokens", json={"role": "writer", "name": "rome-desk"}, headers=_bearer(admin.token)
        )
        assert created.status_code == 201, created.text
        new = created.json()
        assert new["token"].startswith("inc_") and new["role"] == "writer"
        ok = await client.post(
            "/streams/note-az-1/events", json=NOTE, headers=_bearer(new["token"])
        )
        assert ok.status_code == 201, ok.text

        listed = (await client.get("/tokens", headers=_bearer(admin.token))).json()["tokens"]
        assert {t["name"] for t in listed} == {"ops", "rome-desk"}
        assert all("token" not in t and "secret_sha256" not in t for t in listed)

        revoked = await client.post(
            f"/tokens/{new['token_id']}/revoke", headers=_bearer(admin.token)
        )
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["revoked_at"]
        again = await client.post(f"/tokens/{new['token_id']}/revoke", headers=_bearer(admin.token))
        _assert_problem(again, 404)
        head = await _head(app)
        refused = await client.post(
            "/streams/note-az-2/events", json=NOTE, headers=_bearer(new["token"])
        )
        _assert_problem(refused, 401)
        assert await _head(app) == head


async def test_failed_attempts_from_one_address_are_limited(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'l.db'}", auth_failures_per_minute=5)
    app = create_app(settings)
    async with Client(app=app) as client:
        good = await tokens_of(app).create("reader", "auditor")
        for _ in range(5):
            _assert_problem(await client.get("/events", headers=_bearer("inc_bad")), 401)
        limited = await client.get("/events", headers=_bearer("inc_bad"))
        _assert_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        # While limited, even a good token from that address waits: guessing gains nothing.
        _assert_problem(await client.get("/events", headers=_bearer(good.token)), 429)


async def test_a_session_cookie_counts_for_reads_and_for_same_origin_writes(
    app: Litestar,
) -> None:
    async with Client(app=app) as client:
        writer = await tokens_of(app).create("writer", "desk")
        client.cookies.set(SESSION_COOKIE, writer.token)
        assert (await client.get("/events")).status_code == 200
        # A write from another origin (a page elsewhere posting with the cookie) is not.
        foreign = await client.post(
            "/streams/note-az-1/events", json=NOTE, headers={"Origin": "https://elsewhere.example"}
        )
        _assert_problem(foreign, 401)
        own = await client.post(
            "/streams/note-az-1/events", json=NOTE, headers={"Origin": "http://testserver.local"}
        )
        assert own.status_code == 201, own.text


async def test_tokens_are_stored_only_as_hashes(tmp_path: Path) -> None:
    path = tmp_path / "hashes.db"
    store = open_tokens(f"sqlite:///{path}")
    issued = await store.create("admin", "ops")
    # The id is hex; the secret after the first "_" may itself hold "_" (URL-safe base64).
    secret = issued.token.removeprefix(TOKEN_PREFIX).partition("_")[2]
    assert len(secret) >= 40
    assert secret.encode() not in path.read_bytes()
    with sqlite3.connect(path) as connection:
        (row,) = connection.execute("SELECT * FROM api_tokens").fetchall()
    assert issued.token not in row and secret not in row
    assert (await store.authenticate(issued.token)) is not None
    with pytest.raises(TokenError):
        await store.create("superuser")
    with pytest.raises(TokenError):
        await store.create("reader", "bad name\n")


@pytest.mark.postgres
async def test_tokens_live_in_the_postgres_schema_of_the_log() -> None:
    async with scratch_schema("test_tokens") as schema:
        store = open_tokens(f"{POSTGRES_URL}?schema={schema}")
        try:
            issued = await store.create("writer", "desk")
            principal = await store.authenticate(issued.token)
            assert principal is not None and principal.name == "desk"
            other = open_tokens(f"{POSTGRES_URL}?schema={schema}")
            try:
                assert [r.name for r in await other.records()] == ["desk"]
                await other.revoke(issued.record.token_id)
            finally:
                await other.close()
            store._loaded_at = -1.0  # the revocation is read at the next refresh
            assert await store.authenticate(issued.token) is None
        finally:
            await store.close()


async def _token_table_comes_from_the_migrations(database_url: str, versions: Any) -> None:
    """A token made on a database with no log makes the log, migration 5 (the token table)
    recorded; a log whose table came before migration 5 (its row taken out of
    ``schema_version``, the table and a token left) opens, and keeps the token."""
    tokens = open_tokens(database_url)
    issued = await tokens.create("writer", "desk")
    await tokens.close()
    assert (5, "api tokens") in await versions()
    await versions(forget=5)
    assert (5, "api tokens") not in await versions()
    store = await open_store(database_url, DomainRules(), Settings(database_url=database_url))
    await store.close()
    assert (5, "api tokens") in await versions()
    again = open_tokens(database_url)
    try:
        principal = await again.authenticate(issued.token)
    finally:
        await again.close()
    assert principal is not None and principal.name == "desk"


async def test_the_token_table_is_a_migration_of_the_sqlite_log(tmp_path: Path) -> None:
    path = tmp_path / "migrated.db"

    async def versions(forget: int | None = None) -> list[tuple[int, str]]:
        with sqlite3.connect(path) as connection:
            if forget is not None:
                connection.execute("DELETE FROM schema_version WHERE version = ?", (forget,))
            rows = connection.execute("SELECT version, description FROM schema_version")
            return [(int(version), str(description)) for version, description in rows]

    await _token_table_comes_from_the_migrations(f"sqlite:///{path}", versions)


@pytest.mark.postgres
async def test_the_token_table_is_a_migration_of_the_postgres_log() -> None:
    async with scratch_schema("test_tokens") as schema:

        async def versions(forget: int | None = None) -> list[tuple[int, str]]:
            connection = await asyncpg.connect(POSTGRES_URL)
            try:
                if forget is not None:
                    await connection.execute(
                        f'DELETE FROM "{schema}".schema_version WHERE version = $1', forget
                    )
                rows = await connection.fetch(
                    f'SELECT version, description FROM "{schema}".schema_version'
                )
            finally:
                await connection.close()
            return [(int(row[0]), str(row[1])) for row in rows]

        await _token_table_comes_from_the_migrations(f"{POSTGRES_URL}?schema={schema}", versions)


def test_tokens_commands_create_list_and_revoke(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from incidents.cli import main

    database = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    # A log that is not there has nothing to list, and listing does not create it.
    missing = runner.invoke(main, ["tokens", "list", "--database", database])
    assert missing.exit_code != 0 and not (tmp_path / "cli.db").exists()

    created = runner.invoke(
        main, ["tokens", "create", "--role", "writer", "--name", "desk", "--database", database]
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.splitlines()[0]
    assert token.startswith("inc_")
    listed = runner.invoke(main, ["tokens", "list", "--database", database])
    assert listed.exit_code == 0 and "desk" in listed.stdout and token not in listed.stdout
    token_id = listed.stdout.split()[0]
    revoked = runner.invoke(main, ["tokens", "revoke", token_id, "--database", database])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    again = runner.invoke(main, ["tokens", "revoke", token_id, "--database", database])
    assert again.exit_code != 0
    assert len(again.output.strip().splitlines()) <= 2
    bad = runner.invoke(
        main, ["tokens", "create", "--role", "writer", "--name", "a b", "--database", database]
    )
    assert bad.exit_code != 0 and "token name" in bad.output


async def test_an_admin_token_does_not_revoke_itself_over_http(app: Litestar) -> None:
    async with Client(app=app) as client:
        admin = await tokens_of(app).create("admin", "ops")
        response = await client.post(
            f"/tokens/{admin.record.token_id}/revoke", headers=_bearer(admin.token)
        )
        _assert_problem(response, 409)
        assert (await client.get("/tokens", headers=_bearer(admin.token))).status_code == 200
