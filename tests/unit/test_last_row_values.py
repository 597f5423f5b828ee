"""LastRowValues: what a projection makes of the row a change starts from is made again
unless that row is the one its stream's last change ended with, in state, mission and open
flag."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from incidents.store.inline import LastRowValues
from incidents.store.protocol import StreamRow

AT = datetime(2026, 1, 1, tzinfo=UTC)


def row(
    stream_id: str, state: bytes, mission: str | None = "mission-a", is_open: bool = True
) -> StreamRow:
    return StreamRow(stream_id, "note", 1, msgspec.Raw(state), mission, is_open, 1, AT)


def counting(size: int = 1024) -> tuple[LastRowValues[bytes], list[str]]:
    made: list[str] = []

    def of(found: StreamRow) -> bytes:
        made.append(found.stream_id)
        return bytes(found.state) + (found.mission or "").encode() + bytes([found.is_open])

    return LastRowValues(of, size), made


def test_the_row_a_change_starts_from_is_not_made_again() -> None:
    values, made = counting()
    values.after(row("note-1", b'{"n":1}'))
    # The next change's row before: the same row, its state a copy of the bytes.
    assert values.before(row("note-1", bytes(bytearray(b'{"n":1}')))) == b'{"n":1}mission-a\x01'
    assert made == ["note-1"]


def test_a_row_that_differs_in_state_mission_or_open_flag_is_made_again() -> None:
    values, made = counting()
    values.after(row("note-1", b'{"n":1}'))
    assert values.before(row("note-1", b'{"n":2}')) == b'{"n":2}mission-a\x01'
    assert values.before(row("note-1", b'{"n":1}', mission="mission-b")) == (
        b'{"n":1}mission-b\x01'
    )
    assert values.before(row("note-1", b'{"n":1}', is_open=False)) == b'{"n":1}mission-a\x00'
    assert made == ["note-1"] * 4


def test_streams_are_kept_apart_and_the_first_kept_forgotten_past_the_bound() -> None:
    values, made = counting(size=2)
    for stream_id in ("note-1", "note-2", "note-3"):
        values.after(row(stream_id, stream_id.encode()))
    made.clear()
    for stream_id in ("note-3", "note-2", "note-1"):
        assert values.before(row(stream_id, stream_id.encode())).startswith(stream_id.encode())
    assert made == ["note-1"]
