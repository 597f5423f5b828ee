"""Fixtures shared across the test suite.

``store`` is one fresh event store per adapter in ``STORE_ADAPTERS``, so the contract suite
runs over each; adding an adapter means one name there and one branch in ``open_test_store``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from incidents.store.inline import InlineProjection
from incidents.store.memory import MemoryEventStore
from incidents.store.protocol import EventStore, StreamRules
from incidents.store.sqlite import SqliteEventStore
from tests.store_rules import TallyRules

STORE_ADAPTERS = ("memory", "sqlite", "postgres")

# A bound on a wait for something that should happen at once: it only ends a hung test,
# and is never a measure of speed (the machine running the tests may be heavily loaded).
FAILSAFE_SECONDS = 60.0


async def open_test_store(
    adapter: str,
    directory: Path,
    rules: StreamRules,
    projections: Sequence[InlineProjection] = (),
) -> EventStore:
    """A fresh, empty store of the named adapter (files, if any, go in ``directory``),
    keeping ``projections``."""
    if adapter == "memory":
        return MemoryEventStore(rules, projections)
    if adapter == "sqlite":
        path = str(directory / "store.db")
        return await SqliteEventStore.open(path, rules, projections=projections)
    if adapter == "postgres":
        # A schema of its own on 127.0.0.1:5432, dropped on close; skips when no server.
        from tests.integration.test_store_postgres import open_scratch_store

        return await open_scratch_store(rules, projections)
    raise ValueError(f"no test store for adapter {adapter!r}")


@pytest.fixture(params=STORE_ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    """An empty event store under TallyRules, closed after the test; keeping the inline
    projections a ``@pytest.mark.keeps(make, ...)`` marker makes, if any."""
    marker = request.node.get_closest_marker("keeps")
    projections = [] if marker is None else [make() for make in marker.args]
    opened = await open_test_store(request.param, tmp_path, TallyRules(), projections)
    try:
        yield opened
    finally:
        await opened.close()
