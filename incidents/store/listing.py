"""``EventStore.list_streams`` once for every adapter: the arguments checked, then the
adapter's own listing of a :class:`StreamFilter`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

from incidents.store.plan import check_limit
from incidents.store.protocol import StreamRow

# Positions, versions and limits are 64-bit integers in both SQL engines; what callers
# pass is clamped into range, and this is "the last version" when reading backward.
BIGGEST = 2**62


def bound(value: int) -> int:
    """``value`` clamped to what a 64-bit column takes."""
    return max(-BIGGEST, min(value, BIGGEST))


class StreamFilter(NamedTuple):
    """What :meth:`ListsStreams.list_streams` was asked for (``limit`` already bounded)."""

    category: str
    mission: str | None
    is_open: bool | None
    after: str | None
    limit: int | None
    without_mission: bool


class ListsStreams(ABC):
    """``list_streams`` of the port, over the adapter's :meth:`_list_streams`."""

    async def list_streams(
        self,
        category: str,
        mission: str | None = None,
        is_open: bool | None = None,
        after: str | None = None,
        limit: int | None = None,
        *,
        without_mission: bool = False,
    ) -> list[StreamRow]:
        """Folded states of a category's streams, filtered on the index columns, by id;
        the first ``limit`` after ``after`` when given; ``without_mission``: only those
        that name no mission."""
        if without_mission and mission is not None:
            raise ValueError("without_mission lists streams that name no mission: no mission")
        if limit is not None:
            check_limit(limit)
            limit = bound(limit)
        return await self._list_streams(
            StreamFilter(category, mission, is_open, after, limit, without_mission)
        )

    @abstractmethod
    async def _list_streams(self, wanted: StreamFilter) -> list[StreamRow]:
        """The rows ``wanted`` names, by stream id."""
