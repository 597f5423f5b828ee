"""The read models held in memory, kept out of Python's cyclic garbage collector's walks.

At 1,000,000 events the held read models (:class:`~incidents.projections.states.CurrentStates`,
:class:`~incidents.projections.desk_index.DeskIndex`) keep about a million tracked objects
and dicts of hundreds of thousands of entries. The collector stops the whole process while
it walks a generation, visiting every container in it and every object those refer to, so
whichever read it falls in waits for all of it (docs/benchmarks.md, 2026-12-07 "The desk's
read tails"):

- a collection of the oldest generation walks everything held: 0.2 s of CPU for a desk
  loaded at 200,000 events, about 1 s at 1,000,000. It comes when the objects promoted
  since the last one outnumber a quarter of those it kept: rarely in steady reads, a dozen
  times while a load grows;
- a full collection also untracks each dict whose keys and values are all untracked (a
  stream id to a tuple of mission names, say); the first tuple put in it afterwards (a new
  stream caught up with) tracks it again *in the youngest generation*, whose next two
  collections walk all of it: 166 ms and 94 ms for a read right after an append at
  1,000,000 events.

:class:`Settler` takes what is held out of those walks. Told how many entries a load or a
catch-up has put into a held model (:meth:`Settler.kept`), once it has been told of
``every`` since it last settled (and at the end of a load at least that big,
:meth:`Settler.loaded`), it collects the two young generations (milliseconds) and moves
every object alive into the collector's permanent generation (:func:`gc.freeze`), which
collections no longer walk; a dict frozen while tracked is never untracked again. It does
not run a full collection first: that would untrack the big dicts just before they are
frozen. A frozen object is still freed when its last reference goes, as the slices a
catch-up replaces are; it is never collected as part of a reference cycle, and the held
models make none. What else is alive at that moment and later dies in a cycle (the app,
the request being served) stays: each settle costs at most that, once per ``every`` entries.

A model smaller than ``every`` entries (a test's log) never freezes anything.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

# Entries put into a held model between two settles: a load of 1,000,000 events settles
# every ten of its pages, so each collection its growth sets off walks a few tens of
# thousands of objects at most.
SETTLE_EVERY = 10_000


def _collect_young() -> object:
    return gc.collect(1)


class Settler:
    """Counts the entries put into a held model and freezes what is alive every ``every``;
    see the module's docstring."""

    def __init__(
        self,
        every: int = SETTLE_EVERY,
        collect: Callable[[], object] = _collect_young,
        freeze: Callable[[], None] = gc.freeze,
    ) -> None:
        self._every = every
        self._collect = collect
        self._freeze = freeze
        self._pending = 0

    def kept(self, entries: int) -> None:
        """Count ``entries`` more put into the model; settle once ``every`` have been."""
        self._pending += entries
        if self._pending >= self._every:
            self._settle()

    def loaded(self, entries: int) -> None:
        """A load of ``entries`` ended: settle what it made since the last settle, if it
        was at least ``every`` big (a model loaded whole is replaced in one go at its end)."""
        if entries >= self._every and self._pending:
            self._settle()

    def _settle(self) -> None:
        self._pending = 0
        self._collect()
        self._freeze()
