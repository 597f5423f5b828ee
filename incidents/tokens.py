"""API tokens: who may read, write or manage tokens, kept in the log's own database.

A token reads ``inc_<id>_<secret>``: ``id`` (12 hex digits) names the row, ``secret`` is 32
random bytes (``secrets.token_urlsafe``). Only the SHA-256 of the secret is stored. The
secret is a high-entropy random value, not a password, so a fast hash is enough: nobody can
guess it from its digest, and a slow hash would only cost every request. The digest is
compared with :func:`hmac.compare_digest`, in constant time.

Roles rank ``reader`` < ``writer`` < ``admin``: a writer may read, an admin may do anything.

The table is the log's, made by its migrations like every other table: a token made on a
database that holds no log yet opens the log first, so that the migrations run.

Each process keeps the table in memory and reads it again at most every
``REFRESH_SECONDS``, so a token revoked by ``incidents tokens revoke`` in another process
stops working within that time, and a request costs a dictionary lookup.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

Role = Literal["reader", "writer", "admin"]
ROLES: tuple[Role, ...] = ("reader", "writer", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES)}

# How old (seconds) the in-memory copy of the table may be before a lookup reads it again.
REFRESH_SECONDS = 1.0
TOKEN_PREFIX = "inc_"
_TOKEN = re.compile(r"inc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
TOKEN_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}"
_TOKEN_NAME = re.compile(TOKEN_NAME_PATTERN)

# The table ``api_tokens`` is the log's: migration 5 of each engine
# (incidents/store/sql/<engine>/migrations/0005_api_tokens.sql) makes it.
_COLUMNS = "token_id, name, role, secret_sha256, created_at, revoked_at"


class Principal(msgspec.Struct, frozen=True):
    """Who a request acts as: the token's name and its role."""

    name: str
    role: Role

    def may(self, role: Role) -> bool:
        """Whether this principal's role is ``role`` or above it."""
        return _RANK[self.role] >= _RANK[role]


class TokenRecord(msgspec.Struct, frozen=True):
    """A token as ``incidents tokens list`` shows it: never its secret."""

    token_id: str
    name: str
    role: Role
    created_at: str
    revoked_at: str | None = None


class IssuedToken(msgspec.Struct, frozen=True):
    """A new token: ``token`` is shown this once and stored nowhere."""

    token: str
    record: TokenRecord


class _Row(msgspec.Struct, frozen=True):
    record: TokenRecord
    secret_sha256: str


class TokenError(ValueError):
    """A token request that cannot be done: an unknown role, a bad name, an unknown id."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def check_role(role: str) -> Role:
    """``role`` as a Role; TokenError if it is not one."""
    for known in ROLES:
        if role == known:
            return known
    raise TokenError(f"{role!r} is not a role: use one of {', '.join(ROLES)}")


def check_name(name: str) -> str:
    """``name`` if it is a token name (it becomes the ``actor`` of every event appended with
    the token): 1 to 64 letters, digits, ``.``, ``_``, ``@`` or ``-``; TokenError if not."""
    if _TOKEN_NAME.fullmatch(name) is None:
        raise TokenError(
            f"{name!r} is not a token name: 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def _row(values: Sequence[Any]) -> _Row:
    token_id, name, role, digest, created_at, revoked_at = values
    return _Row(TokenRecord(token_id, name, role, created_at, revoked_at), digest)


class TokenStore(ABC):
    """Tokens in one database: create, list, revoke, and authenticate a presented token."""

    def __init__(self) -> None:
        self._active: dict[str, _Row] = {}
        self._loaded_at = -REFRESH_SECONDS
        self._refresh_lock = asyncio.Lock()

    async def create(self, role: str, name: str | None = None) -> IssuedToken:
        """A new token with ``role``, named ``name`` (default ``<role>-<id>``)."""
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        record = TokenRecord(
            token_id,
            check_name(name if name is not None else f"{role}-{token_id}"),
            check_role(role),
            _now(),
        )
        await self._insert(_Row(record, _digest(secret)))
        self._loaded_at = -REFRESH_SECONDS
        return IssuedToken(f"{TOKEN_PREFIX}{token_id}_{secret}", record)

    async def records(self) -> list[TokenRecord]:
        """Every token, revoked ones too, oldest first."""
        return [row.record for row in await self._rows()]

    async def revoke(self, token_id: str) -> TokenRecord:
        """Revoke the token with id ``token_id``; TokenError if there is none or it already is."""
        rows = {row.record.token_id: row for row in await self._rows()}
        row = rows.get(token_id)
        if row is None:
            raise TokenError(f"no token has the id {token_id!r}")
        if row.record.revoked_at is not None:
            raise TokenError(f"token {token_id!r} was revoked at {row.record.revoked_at}")
        revoked_at = _now()
        await self._mark_revoked(token_id, revoked_at)
        self._loaded_at = -REFRESH_SECONDS
        revoked: TokenRecord = msgspec.structs.replace(row.record, revoked_at=revoked_at)
        return revoked

    async def has_tokens(self) -> bool:
        """Whether any token that is not revoked exists."""
        return any(row.record.revoked_at is None for row in await self._rows())

    async def authenticate(self, token: str) -> Principal | None:
        """The principal a presented token stands for, or None for an unknown, malformed or
        revoked token."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        token_id, secret = match.groups()
        if time.monotonic() - self._loaded_at >= REFRESH_SECONDS:
            await self._refresh()
        row = self._active.get(token_id)
        # The digest is computed and compared for unknown ids too, so that the time taken
        # says nothing about which ids exist.
        expected = row.secret_sha256 if row is not None else "0" * 64
        if not hmac.compare_digest(_digest(secret), expected) or row is None:
            return None
        return Principal(row.record.name, row.record.role)

    async def _refresh(self) -> None:
        async with self._refresh_lock:
            if time.monotonic() - self._loaded_at < REFRESH_SECONDS:
                return
            rows = await self._rows()
            self._active = {
                row.record.token_id: row for row in rows if row.record.revoked_at is None
            }
            self._loaded_at = time.monotonic()

    async def close(self) -> None:  # noqa: B027 (a store with nothing to close keeps this)
        """Release the connection, if the store holds one."""

    @abstractmethod
    async def _rows(self) -> list[_Row]: ...

    @abstractmethod
    async def _insert(self, row: _Row) -> None: ...

    @abstractmethod
    async def _mark_revoked(self, token_id: str, revoked_at: str) -> None: ...


async def _open_log(database_url: str) -> None:
    """Open the log at ``database_url`` and close it again: opening runs its migrations,
    the token table's among them, on a database that has no log yet."""
    from incidents.domain.rules import DomainRules
    from incidents.settings import Settings
    from incidents.store.factory import open_store

    store = await open_store(database_url, DomainRules(), Settings(database_url=database_url))
    await store.close()


class MemoryTokenStore(TokenStore):
    """Tokens held by the process, for ``memory://`` logs and unit tests."""

    def __init__(self) -> None:
        super().__init__()
        self._rows_held: list[_Row] = []

    async def _rows(self) -> list[_Row]:
        return list(self._rows_held)

    async def _insert(self, row: _Row) -> None:
        self._rows_held.append(row)

    async def _mark_revoked(self, token_id: str, revoked_at: str) -> None:
        self._rows_held = [
            _Row(msgspec.structs.replace(row.record, revoked_at=revoked_at), row.secret_sha256)
            if row.record.token_id == token_id
            else row
            for row in self._rows_held
        ]


class SqliteTokenStore(TokenStore):
    """Tokens in the ``api_tokens`` table of the log's SQLite file.

    Each call opens a short-lived connection in a thread: calls are rare (a refresh a
    second at most), and no connection is left to a closed loop.
    """

    def __init__(self, database_url: str, path: str, busy_timeout: float = 5.0) -> None:
        super().__init__()
        self._database_url = database_url
        self._path = path
        self._busy_timeout = busy_timeout
        self._has_table = False

    def _connect(self) -> sqlite3.Connection:
        # The file is the log's; a token table in a file just created must not be readable
        # by others either.
        previous = os.umask(0o077)
        try:
            connection = sqlite3.connect(
                self._path, timeout=self._busy_timeout, isolation_level=None
            )
        finally:
            os.umask(previous)
        return connection

    def _run(self, statement: str, parameters: Sequence[object] = ()) -> list[Any]:
        with closing(self._connect()) as connection:
            return connection.execute(statement, parameters).fetchall()

    async def _write(self, statement: str, parameters: Sequence[object]) -> None:
        if not self._has_table and not await asyncio.to_thread(self._exists):
            await _open_log(self._database_url)
        self._has_table = True
        await asyncio.to_thread(self._run, statement, parameters)

    def _exists(self) -> bool:
        if not os.path.exists(self._path):
            return False
        uri = f"file:{self._path}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=self._busy_timeout)) as connection:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'api_tokens'"
            ).fetchone()
        return found is not None

    def _read(self) -> list[_Row]:
        # Listing never creates a file or a table: a log without the table has no tokens.
        if not self._exists():
            return []
        uri = f"file:{self._path}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=self._busy_timeout)) as connection:
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM api_tokens ORDER BY created_at, token_id"
            ).fetchall()
        return [_row(values) for values in rows]

    async def _rows(self) -> list[_Row]:
        return await asyncio.to_thread(self._read)

    async def _insert(self, row: _Row) -> None:
        record = row.record
        await self._write(
            f"INSERT INTO api_tokens ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (record.token_id, record.name, record.role, row.secret_sha256, record.created_at, None),
        )

    async def _mark_revoked(self, token_id: str, revoked_at: str) -> None:
        await self._write(
            "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
            (revoked_at, token_id),
        )


class PostgresTokenStore(TokenStore):
    """Tokens in the ``api_tokens`` table of the log's PostgreSQL schema.

    Each call connects for itself: calls are rare (a refresh a second at most), and no
    connection outlives the loop that made it or sits idle for the server to drop.
    """

    def __init__(self, database_url: str, url: str, schema: str | None) -> None:
        super().__init__()
        self._database_url = database_url
        self._url = url
        self._schema = schema or "public"
        self._table = f'"{self._schema}".api_tokens'
        self._has_table = False

    async def _connect(self) -> Any:
        import asyncpg

        return await asyncpg.connect(self._url, timeout=10)

    async def _fetch(self, statement: str, *parameters: object) -> list[Any]:
        connection = await self._connect()
        try:
            exists = await connection.fetchval("SELECT to_regclass($1)", self._table)
            if exists is None:
                return []
            return list(await connection.fetch(statement, *parameters))
        finally:
            await connection.close()

    async def _write(self, statement: str, *parameters: object) -> None:
        connection = await self._connect()
        try:
            if not self._has_table:
                if await connection.fetchval("SELECT to_regclass($1)", self._table) is None:
                    await _open_log(self._database_url)
                self._has_table = True
            await connection.execute(statement, *parameters)
        finally:
            await connection.close()

    async def _rows(self) -> list[_Row]:
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM {self._table} ORDER BY created_at, token_id"
        )
        return [_row(tuple(values)) for values in rows]

    async def _insert(self, row: _Row) -> None:
        record = row.record
        await self._write(
            f"INSERT INTO {self._table} ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, NULL)",
            record.token_id,
            record.name,
            record.role,
            row.secret_sha256,
            record.created_at,
        )

    async def _mark_revoked(self, token_id: str, revoked_at: str) -> None:
        await self._write(
            f"UPDATE {self._table} SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL",
            revoked_at,
            token_id,
        )


def open_tokens(database_url: str, busy_timeout: float = 5.0) -> TokenStore:
    """The token store of the log ``database_url`` names (the same URLs as the event store)."""
    from incidents.store.factory import postgres_schema, sqlite_path

    scheme = database_url.partition(":")[0].lower()
    if scheme == "sqlite":
        return SqliteTokenStore(database_url, sqlite_path(database_url), busy_timeout)
    if scheme == "memory":
        return MemoryTokenStore()
    if scheme in ("postgresql", "postgres"):
        url, schema = postgres_schema(database_url)
        return PostgresTokenStore(database_url, url, schema)
    raise ValueError(f"unknown database URL scheme {scheme!r}")
