"""Open the event store a database URL names: SQLite file, memory, or PostgreSQL."""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from incidents.settings import Settings
from incidents.store.inline import InlineProjection
from incidents.store.memory import MemoryEventStore
from incidents.store.protocol import EventStore, StreamRules
from incidents.store.sqlite import SqliteEventStore

_SQLITE_PREFIX = "sqlite:///"


def sqlite_path(database_url: str) -> str:
    """The file path of a ``sqlite:///`` URL: ``sqlite:///rel.db`` is relative to the working
    directory, ``sqlite:////abs/file.db`` absolute. ValueError for anything else."""
    if not database_url.startswith(_SQLITE_PREFIX):
        raise ValueError(f"a SQLite URL starts with {_SQLITE_PREFIX!r}: {database_url!r}")
    path = database_url[len(_SQLITE_PREFIX) :]
    if not path or path == ":memory:" or path.endswith("/"):
        # Several connections must share the file (WAL), which :memory: cannot do.
        raise ValueError(f"a SQLite URL must name a file: {database_url!r}")
    return path


def postgres_schema(database_url: str) -> tuple[str, str | None]:
    """Split a ``postgresql://`` URL's ``schema`` query parameter from the rest: the URL for
    the driver (whose other parameters asyncpg takes as server settings) and the schema that
    holds the log (None: the default). ValueError if ``schema`` is given twice or empty."""
    parts = urlsplit(database_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for name, value in query if name == "schema"]
    if not schemas:
        return database_url, None
    if len(schemas) > 1 or not schemas[0]:
        raise ValueError(f"name one schema in the database URL: {database_url!r}")
    rest = urlencode([(name, value) for name, value in query if name != "schema"])
    return urlunsplit(parts._replace(query=rest)), schemas[0]


async def open_store(
    database_url: str,
    rules: StreamRules,
    settings: Settings | None = None,
    projections: Sequence[InlineProjection] = (),
) -> EventStore:
    """Open the store for ``database_url`` with the domain's rules and the inline
    projections it is to keep in the append's transaction; close it when done.

    Understands ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``memory://`` and
    ``postgresql://...`` (or ``postgres://``; ``?schema=name`` puts the log in that schema,
    created if missing, instead of ``public``). Raises ValueError for any other scheme.
    """
    settings = settings if settings is not None else Settings(database_url=database_url)
    scheme = database_url.partition(":")[0].lower()
    if scheme == "sqlite":
        # The log, its WAL and its shared-memory file are created readable by their owner
        # only: evidence is not for every local user to read.
        previous = os.umask(0o077)
        try:
            return await SqliteEventStore.open(
                sqlite_path(database_url),
                rules,
                max_batch=settings.max_batch,
                batch_wait=settings.batch_wait,
                busy_timeout=settings.busy_timeout,
                projections=projections,
            )
        finally:
            os.umask(previous)
    if scheme == "memory":
        return MemoryEventStore(rules, projections)
    if scheme in ("postgresql", "postgres"):
        # Imported only when asked for, so SQLite deployments need nothing from asyncpg.
        postgres = importlib.import_module("incidents.store.postgres")
        url, schema = postgres_schema(database_url)
        store = await postgres.PostgresEventStore.open(
            url, rules, settings, schema=schema, projections=projections
        )
        return cast(EventStore, store)
    raise ValueError(
        f"unknown database URL scheme {scheme!r} in {database_url!r}: use sqlite:///path.db, "
        "memory:// or postgresql://..."
    )
