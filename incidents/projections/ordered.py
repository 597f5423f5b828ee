"""Where each stream comes in a view, held in order and indexed by the values it filters on.

``/projections/open-protests`` and ``/projections/incidents`` list every stream that matches
(tens of thousands at 1,000,000 events), sorted, with counts over all of them. Built from the
store on each request, that would cost about a second at 1,000,000 events. :class:`Ordered` holds
what it takes to answer without reading them, and :mod:`incidents.projections.states` keeps
it current with the log:

- each stream's *entry*: its order key (which ends with its stream id), its *tags* (the
  values a view filters on, such as ``("mission", "mission-fr-baku")``) and a small value
  its totals count (a protest's open demands);
- the order keys sorted, of all entries and of each tag's, so that a page is a bisect and a
  slice;
- running totals (the view's counts) of all entries and of each tag's, so that a view
  filtered by at most one value needs no pass over its entries.

A view filtered by several values, or by a range of keys, walks the smallest list that
applies and checks the other tags of each entry: the cost is that list's length, not the
log's. A page names its streams; the reader then reads their states from the store, so the
states themselves are not held: about 0.4 KB a stream is, against 1.4 KB (an incident) to
2.6 KB (a protest) for the views' slices of their states.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

# A value a view filters on: (what is filtered, the value).
Tag = tuple[str, str]
Tags = tuple[Tag, ...]


class Totals(Protocol):
    """A view's counts over a set of entries, moved one entry at a time."""

    def add(self, key: Any, tags: Tags, value: Any, sign: int) -> None:
        """Count an entry in (sign 1) or out (sign -1)."""


K = TypeVar("K", bound=tuple[Any, ...])
V = TypeVar("V")
TotalsT = TypeVar("TotalsT", bound=Totals)


class Page(Generic[TotalsT]):
    """The streams of one page of a view, in the view's order, and the totals of all that
    match."""

    __slots__ = ("has_more", "stream_ids", "totals")

    def __init__(self, stream_ids: list[str], totals: TotalsT, has_more: bool) -> None:
        self.stream_ids = stream_ids
        self.totals = totals
        self.has_more = has_more


class Ordered(Generic[K, V, TotalsT]):
    """Entries by stream id, their keys sorted, overall and per tag, with totals.

    An entry is ``(key, tags, value)``; ``key[-1]`` is the stream id, which makes every key
    unique. ``totals`` makes a new, empty set of counts.
    """

    def __init__(self, totals: Callable[[], TotalsT]) -> None:
        self._new_totals = totals
        self._entries: dict[str, tuple[K, Tags, V]] = {}
        self._lists: dict[Tag | None, list[K]] = {None: []}
        self._totals: dict[Tag | None, TotalsT] = {None: totals()}
        # One tuple for each set of tags in use (most entries share theirs with others).
        self._tag_sets: dict[Tags, Tags] = {}

    def load(self, entries: Iterable[tuple[K, Tags, V]]) -> None:
        """Hold ``entries`` in place of what is held: one sort per list."""
        self._entries.clear()
        self._tag_sets.clear()
        self._lists = {None: []}
        self._totals = {None: self._new_totals()}
        for key, tags, value in entries:
            tags = self._tag_sets.setdefault(tags, tags)
            self._entries[key[-1]] = (key, tags, value)
            for tag in (None, *tags):
                self._lists.setdefault(tag, []).append(key)
                self._counts(tag).add(key, tags, value, 1)
        for keys in self._lists.values():
            keys.sort()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, tag: Tag) -> bool:
        return tag in self._lists

    def key_of(self, stream_id: str) -> K | None:
        """The order key of a held stream (None if it is not held)."""
        entry = self._entries.get(stream_id)
        return None if entry is None else entry[0]

    def put(self, stream_id: str, entry: tuple[K, Tags, V] | None) -> None:
        """Hold ``entry`` for the stream in place of what was held (None: hold nothing)."""
        old = self._entries.pop(stream_id, None)
        if old is not None:
            key, tags, value = old
            for tag in (None, *tags):
                keys = self._lists[tag]
                del keys[bisect_left(keys, key)]
                self._totals[tag].add(key, tags, value, -1)
                if not keys and tag is not None:
                    del self._lists[tag], self._totals[tag]
        if entry is not None:
            key, tags, value = entry
            if key[-1] != stream_id:
                raise ValueError(f"the key of {stream_id!r} must end with its stream id")
            tags = self._tag_sets.setdefault(tags, tags)
            self._entries[stream_id] = (key, tags, value)
            for tag in (None, *tags):
                insort(self._lists.setdefault(tag, []), key)
                self._counts(tag).add(key, tags, value, 1)

    def select(
        self,
        tags: Collection[Tag],
        low: Any = None,
        high: Any = None,
        prefix: Callable[[K], Any] | None = None,
        keep: Callable[[V], bool] | None = None,
        beyond: Tag | None = None,
    ) -> tuple[Sequence[K], TotalsT]:
        """The keys, in order, of the entries that carry every tag in ``tags`` and, with
        ``prefix``, whose ``prefix(key)`` lies in ``[low, high]`` (a bound may be None);
        with their totals. What is returned must not be changed.

        ``keep`` filters the entries further by their value; ``beyond`` names a tag whose
        entries are considered outside the range too (each still subject to ``keep``)."""
        if any(tag not in self._lists for tag in tags):
            return [], self._new_totals()
        base: Tag | None = min(tags, key=lambda tag: len(self._lists[tag])) if tags else None
        keys = self._lists[base]
        ranged = prefix is not None and (low is not None or high is not None)
        rest = [tag for tag in tags if tag != base]
        if not rest and not ranged and keep is None:
            return keys, self._totals[base]
        start, stop = 0, len(keys)
        if prefix is not None and low is not None:
            start = bisect_left(keys, low, key=prefix)
        if prefix is not None and high is not None:
            stop = bisect_right(keys, high, key=prefix)
        candidates: Sequence[K] = keys[start:stop]
        if beyond is not None and ranged and prefix is not None and beyond in self._lists:
            outside = [
                key
                for key in self._lists[beyond]
                if (low is not None and prefix(key) < low)
                or (high is not None and prefix(key) > high)
            ]
            if outside:
                candidates = sorted([*candidates, *outside])
                rest = list(tags)
        chosen: list[K] = []
        totals = self._new_totals()
        entries = self._entries
        for key in candidates:
            _, carried, value = entries[key[-1]]
            if all(tag in carried for tag in rest) and (keep is None or keep(value)):
                chosen.append(key)
                totals.add(key, carried, value, 1)
        return chosen, totals

    def page(
        self,
        tags: Collection[Tag],
        after: K | None,
        limit: int | None,
        *,
        newest_first: bool = False,
        low: Any = None,
        high: Any = None,
        prefix: Callable[[K], Any] | None = None,
        keep: Callable[[V], bool] | None = None,
        beyond: Tag | None = None,
    ) -> Page[TotalsT]:
        """The ``limit`` (all when None) streams of :meth:`select` that come after the key
        ``after`` in key order, or, ``newest_first``, in reverse key order."""
        keys, totals = self.select(tags, low, high, prefix, keep, beyond)
        if newest_first:
            end = len(keys) if after is None else bisect_left(keys, after)
            start = 0 if limit is None else max(0, end - limit)
            chosen = keys[start:end][::-1]
            has_more = start > 0
        else:
            start = 0 if after is None else bisect_right(keys, after)
            end = len(keys) if limit is None else min(len(keys), start + limit)
            chosen = keys[start:end]
            has_more = end < len(keys)
        return Page([key[-1] for key in chosen], totals, has_more)

    def _counts(self, tag: Tag | None) -> TotalsT:
        totals = self._totals.get(tag)
        if totals is None:
            totals = self._totals[tag] = self._new_totals()
        return totals
