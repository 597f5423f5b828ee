"""Places held in order follow every change: each selection and page is what sorting and
filtering all of them gives, with the same totals."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.projections.ordered import Ordered, Tag, Tags

COLOURS = ["red", "green", "blue"]
SIZES = ["s", "m"]


class Item:
    def __init__(self, stream_id: str, rank: int, colour: str, size: str | None) -> None:
        self.stream_id, self.rank, self.colour, self.size = stream_id, rank, colour, size


class Count:
    def __init__(self) -> None:
        self.count = 0
        self.colours: Counter[str] = Counter()

    def add(self, key: Any, tags: Tags, colour: str, sign: int) -> None:
        self.count += sign
        self.colours[colour] += sign


def key(item: Item) -> tuple[int, str]:
    return (item.rank, item.stream_id)


def tags(item: Item) -> frozenset[Tag]:
    found = {("colour", item.colour)}
    if item.size is not None:
        found.add(("size", item.size))
    return frozenset(found)


def entry(item: Item) -> tuple[tuple[int, str], Tags, str]:
    return key(item), tuple(sorted(tags(item))), item.colour


items = st.builds(
    Item,
    st.sampled_from([f"s{n}" for n in range(12)]),
    st.integers(0, 5),
    st.sampled_from(COLOURS),
    st.none() | st.sampled_from(SIZES),
)
# A change: the stream's new item, or None to hold nothing for it.
changes = st.tuples(st.sampled_from([f"s{n}" for n in range(12)]), st.none() | items)
filters = st.lists(
    st.sampled_from([("colour", c) for c in COLOURS] + [("size", s) for s in SIZES]),
    max_size=2,
    unique=True,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(items, max_size=8),
    st.lists(changes, max_size=25),
    filters,
    st.none() | st.integers(0, 5),
    st.none() | st.integers(0, 5),
    st.none() | st.integers(1, 4),
    st.booleans(),
)
def test_a_selection_is_every_matching_item_in_order_with_its_totals(
    loaded: list[Item],
    moves: list[tuple[str, Item | None]],
    wanted: list[Tag],
    low: int | None,
    high: int | None,
    limit: int | None,
    newest_first: bool,
) -> None:
    # given items loaded at once, then changed, added and let go one at a time
    held: Ordered[tuple[int, str], str, Count] = Ordered(Count)
    truth: dict[str, Item] = {}
    for item in loaded:
        truth[item.stream_id] = item
    held.load([entry(item) for item in truth.values()])
    for stream_id, item in moves:
        if item is not None:
            item = Item(stream_id, item.rank, item.colour, item.size)
            truth[stream_id] = item
        else:
            truth.pop(stream_id, None)
        held.put(stream_id, None if item is None else entry(item))

    # when a selection is asked for, with or without a range of ranks
    prefix = (lambda k: k[0]) if low is not None or high is not None else None
    keys, totals = held.select(wanted, low, high, prefix)

    # then it is what filtering and sorting everything gives
    expected = sorted(
        key(item)
        for item in truth.values()
        if tags(item) >= set(wanted)
        and (low is None or item.rank >= low)
        and (high is None or item.rank <= high)
    )
    assert list(keys) == expected
    assert totals.count == len(expected)
    assert +totals.colours == Counter(truth[k[-1]].colour for k in expected)
    assert len(held) == len(truth)
    assert all(held.key_of(s) == key(i) for s, i in truth.items())

    # and following its pages from the start gives every one of them once, in order
    order = expected[::-1] if newest_first else expected
    walked: list[str] = []
    after = None
    while True:
        page = held.page(
            wanted, after, limit, newest_first=newest_first, low=low, high=high, prefix=prefix
        )
        assert page.totals.count == len(expected)
        walked.extend(page.stream_ids)
        if not page.has_more:
            break
        assert page.stream_ids and len(walked) <= len(expected)
        after = held.key_of(page.stream_ids[-1])
    assert walked == [k[-1] for k in order]


def test_a_value_no_item_carries_selects_nothing() -> None:
    held: Ordered[tuple[int, str], str, Count] = Ordered(Count)
    held.put("s1", entry(Item("s1", 1, "red", None)))
    keys, totals = held.select([("colour", "red"), ("size", "s")])
    assert list(keys) == [] and totals.count == 0
    held.put("s1", None)
    assert ("colour", "red") not in held
    keys, totals = held.select([])
    assert list(keys) == [] and totals.count == 0
    extra: Any = held.select([("colour", "red")])
    assert list(extra[0]) == []
    with pytest.raises(ValueError, match="must end with its stream id"):
        held.put("s2", entry(Item("s1", 1, "red", None)))
