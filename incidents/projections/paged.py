"""The store's paged reads (``read_all``, ``list_streams``, ``list_streams_after``) read
to their end, a page at a time, as the held read models load and catch up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from incidents.store.protocol import RecordedEvent, StreamRow

T = TypeVar("T")
C = TypeVar("C")


async def pages(
    read: Callable[[C, int], Awaitable[Sequence[T]]],
    after: C,
    size: int,
    cursor: Callable[[T], C],
) -> AsyncIterator[Sequence[T]]:
    """Each page ``read(after, size)`` gives, up to the first shorter than ``size`` (the
    end), with ``after`` the ``cursor`` of the previous page's last item; an empty page is
    not given."""
    while True:
        page = await read(after, size)
        if page:
            yield page
            after = cursor(page[-1])
        if len(page) < size:
            return


def by_stream_id(row: StreamRow) -> str | None:
    """Where a read of stream rows goes on after ``row``."""
    return row.stream_id


def by_position(event: RecordedEvent) -> int:
    """Where a read of the log goes on after ``event``."""
    return event.position
