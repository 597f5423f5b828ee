"""The in_time projection on the real engines: every view at any moment is the same read
from its versions as folded from the events, on SQLite and on PostgreSQL (corrections,
events recorded out of their occurred order and appends of several events included)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.domain.rules import DomainRules
from incidents.domain.times import DateRule
from incidents.projections.in_time import Moment, PastViews
from incidents.projections.inline import inline_projections
from incidents.store.factory import open_store
from tests.integration.conftest import fresh_log
from tests.unit.test_views_in_time import NOW, Operation, day, fill, operations, rules, same_views


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_views_read_from_the_index_equal_the_fold(engine: str, tmp_path: Path) -> None:
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        ops=operations,
        moments=st.lists(
            st.tuples(
                st.one_of(st.none(), st.integers(-1, 42)),
                st.one_of(st.none(), st.integers(0, 40)),
                rules,
            ),
            min_size=1,
            max_size=4,
        ),
    )
    def check(ops: list[Operation], moments: list[tuple[int | None, int | None, DateRule]]) -> None:
        async def run() -> None:
            async with fresh_log(engine, tmp_path) as url:
                store = await open_store(url, DomainRules(), projections=inline_projections())
                try:
                    await fill(store, ops)
                    events = await store.read_all(0, 10_000)
                    folding = PastViews(store, 30, lambda: NOW, indexed=False)
                    indexed = PastViews(store, 30, lambda: NOW, indexed=True)
                    for as_of, known, rule in moments:
                        known_at = None
                        if known is not None:
                            known_at = events[min(known, len(events) - 1)].recorded_at
                        moment = Moment(None if as_of is None else day(as_of), known_at, rule)
                        await same_views(folding, indexed, moment)
                finally:
                    await store.close()

        for old in tmp_path.glob("http.db*"):
            old.unlink()
        asyncio.run(run())

    check()
