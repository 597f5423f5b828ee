"""The port's reads whose arguments every adapter takes the same way, written once
(:class:`ListsStreams`): each is checked here, then handed to the adapter's own read."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

from incidents.store.plan import check_limit
from incidents.store.protocol import Direction, RecordedEvent, StreamRow

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
    """``read_stream``, ``read_all`` and ``list_streams`` of the port, over the adapter's
    :meth:`_read_stream`, :meth:`_read_all` and :meth:`_list_streams`."""

    async def read_stream(
        self,
        stream_id: str,
        from_version: int | None = None,
        direction: Direction = "forward",
        limit: int = 100,
    ) -> list[RecordedEvent]:
        """Events of one stream from a version (inclusive) in either direction."""
        check_limit(limit)
        return await self._read_stream(stream_id, from_version, direction, limit)

    async def read_all(
        self,
        after: int = 0,
        limit: int = 1000,
        types: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        """The global log in position order, strictly after ``after``, optionally filtered.

        None or an empty sequence for ``types`` or ``categories`` means no filter.
        """
        check_limit(limit)
        return await self._read_all(after, limit, types or (), categories or ())

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
    async def _read_stream(
        self, stream_id: str, from_version: int | None, direction: Direction, limit: int
    ) -> list[RecordedEvent]:
        """:meth:`read_stream`, its limit checked."""

    @abstractmethod
    async def _read_all(
        self, after: int, limit: int, types: Sequence[str], categories: Sequence[str]
    ) -> list[RecordedEvent]:
        """:meth:`read_all`, its limit checked, no filter an empty sequence."""

    @abstractmethod
    async def _list_streams(self, wanted: StreamFilter) -> list[StreamRow]:
        """The rows ``wanted`` names, by stream id."""
