"""Faults named for what they are: a full disk is 507, a read-only or damaged database 503
saying so, and after a damaged file is found the service refuses every write.

The store's adapters translate their drivers' errors into the kinds of
:mod:`incidents.core.errors`; this module answers each kind. A SQLite file is checked with
``PRAGMA quick_check`` when the app starts, and any request that meets a corrupt database
marks it: from then on writes are refused (503, naming the cause) until the file is repaired
and the service restarted, so nothing is appended to a log whose earlier pages may be lost.
The driver's own words go to the log, never to the client.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ExceptionHandlersMap

from incidents.core.errors import (
    ConnectionLostError,
    CorruptStoreError,
    ReadOnlyStoreError,
    StorageFullError,
)
from incidents.http.problems import StoreFault

logger = logging.getLogger("incidents.http")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Faults:
    """What the app has learnt about its database: the cause, once it is found corrupt."""

    def __init__(self) -> None:
        self.corrupt: str | None = None


def quick_check(path: str) -> str | None:
    """None if SQLite's ``PRAGMA quick_check`` finds the file sound, else what it reports."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            rows = connection.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as error:
        return str(error)
    found = [str(row[0]) for row in rows]
    return None if found == ["ok"] else "; ".join(found[:3])


def _faults(request: ASGIConnection[Any, Any, Any, Any]) -> Faults:
    faults: Faults = request.app.state.faults
    return faults


async def refuse_writes_when_corrupt(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """A guard: once the database is known corrupt, every write is refused (a coroutine, so
    that Litestar runs it on the loop rather than in a thread)."""
    if connection.scope.get("method", "GET") in _SAFE_METHODS:
        return
    if _faults(connection).corrupt is not None:
        raise CorruptStoreError("the database file is damaged")


_FULL = StoreFault(
    logging.ERROR,
    "storage full",
    507,
    "storage-full",
    "Insufficient storage",
    "the database has no room left for the write; nothing was stored",
)
_READ_ONLY = StoreFault(
    logging.ERROR,
    "read-only database",
    503,
    "store-read-only",
    "The log is read-only",
    "the database only allows reading (its file, its directory or the server says so); "
    "nothing was stored",
)
_CORRUPT = StoreFault(
    logging.CRITICAL,
    "database found corrupt",
    503,
    "store-corrupt",
    "The log's database is damaged",
    "the database file is damaged: the service refuses every write until it is restored "
    "from a backup (docs/security.md); nothing was stored",
)
_LOST = StoreFault(
    logging.WARNING,
    "database connection lost",
    503,
    "store-connection-lost",
    "The log's database does not answer",
    "the connection to the database was lost; nothing was stored, retry the request",
    retry_after="1",
)


def _corrupt(request: Request[Any, Any, Any], exc: CorruptStoreError) -> Response[Any]:
    faults = _faults(request)
    if faults.corrupt is None:  # logged once: when it is found
        faults.corrupt = str(exc)
        _CORRUPT.log(request, exc)
    return _CORRUPT.problem()


FAULT_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    StorageFullError: _FULL.handler(),
    ReadOnlyStoreError: _READ_ONLY.handler(),
    CorruptStoreError: _corrupt,
    ConnectionLostError: _LOST.handler(),
}
