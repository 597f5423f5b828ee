"""A stream's state as its row keeps it: compressed when that is smaller, read back as the
same JSON whichever way it was stored."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from incidents.store.stored_states import MAGIC, pack, unpack

_documents = st.dictionaries(
    st.text(max_size=12),
    st.one_of(st.integers(), st.text(max_size=40), st.lists(st.text(max_size=8), max_size=30)),
    max_size=20,
).map(msgspec.json.encode)


@given(_documents)
def test_a_packed_state_unpacks_to_the_same_json(state: bytes) -> None:
    assert unpack(pack(state)) == state


@given(_documents)
def test_json_stored_as_it_is_reads_as_it_is(state: bytes) -> None:
    # (a row written before states were compressed)
    assert unpack(state) == state


def test_a_long_state_is_stored_as_a_smaller_zstd_frame() -> None:
    state = msgspec.json.encode({"types": ["NoteSent", "ReplyReceived"] * 40, "count": 80})
    stored = pack(state)
    assert stored.startswith(MAGIC)
    assert len(stored) < len(state) // 2


def test_a_state_a_frame_would_not_shrink_stays_json() -> None:
    assert pack(b'{"count":1}') == b'{"count":1}'
