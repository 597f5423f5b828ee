"""Open the event store a database URL names: SQLite file, memory, or PostgreSQL."""

from __future__ import annotations

import importlib
from typing import cast

from incidents.settings import Settings
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


async def open_store(
    database_url: str, rules: StreamRules, settings: Settings | None = None
) -> EventStore:
    """Open the store for ``database_url`` with the domain's rules; close it when done.

    Understands ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``memory://`` and
    ``postgresql://...`` (or ``postgres://``). Raises ValueError for any other scheme.
    """
    settings = settings if settings is not None else Settings(database_url=database_url)
    scheme = database_url.partition(":")[0].lower()
    if scheme == "sqlite":
        return await SqliteEventStore.open(
            sqlite_path(database_url),
            rules,
            max_batch=settings.max_batch,
            batch_wait=settings.batch_wait,
            busy_timeout=settings.busy_timeout,
        )
    if scheme == "memory":
        return MemoryEventStore(rules)
    if scheme in ("postgresql", "postgres"):
        # Imported only when asked for, so SQLite deployments need nothing from asyncpg.
        postgres = importlib.import_module("incidents.store.postgres")
        store = await postgres.PostgresEventStore.open(database_url, rules, settings)
        return cast(EventStore, store)
    raise ValueError(
        f"unknown database URL scheme {scheme!r} in {database_url!r}: use sqlite:///path.db, "
        "memory:// or postgresql://..."
    )
