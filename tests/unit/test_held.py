"""The settler freezes what is alive once a held model has been given enough entries, young
garbage collected first, and never for a model smaller than that."""

from __future__ import annotations

import gc

from incidents.projections.held import Settler


def _recording(every: int) -> tuple[Settler, list[str]]:
    calls: list[str] = []
    settler = Settler(
        every, collect=lambda: calls.append("collect"), freeze=lambda: calls.append("freeze")
    )
    return settler, calls


def test_settles_each_time_every_entries_have_been_kept() -> None:
    settler, calls = _recording(10)
    for _ in range(9):
        settler.kept(1)
    assert calls == []
    settler.kept(1)
    assert calls == ["collect", "freeze"]
    settler.kept(25)
    assert calls == ["collect", "freeze"] * 2
    settler.kept(9)
    assert calls == ["collect", "freeze"] * 2


def test_a_big_load_settles_at_its_end_a_small_one_never() -> None:
    settler, calls = _recording(10)
    settler.kept(4)
    settler.loaded(4)
    assert calls == []
    settler.kept(3)
    settler.loaded(27)
    assert calls == ["collect", "freeze"]
    settler.loaded(27)  # nothing kept since
    assert calls == ["collect", "freeze"]


def test_the_default_freezes_without_untracking_a_held_dict() -> None:
    # a full collection before the freeze would untrack a dict of untracked values, and
    # the first tracked value put in it would put it back in the youngest generation
    held = {str(n): (str(n),) for n in range(3)}
    gc.collect()
    held["new"] = (str(len(held)),)  # a tuple made now: tracked
    assert gc.is_tracked(held)
    frozen = gc.get_freeze_count()
    try:
        Settler(every=1).kept(1)
        assert gc.get_freeze_count() > frozen
        gc.collect()
        assert gc.is_tracked(held)
    finally:
        gc.unfreeze()
