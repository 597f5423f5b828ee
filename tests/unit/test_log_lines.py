"""The JSON log lines' time stamp: the text ``datetime.isoformat`` writes, to the millisecond."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from incidents.http.observability import UtcMilliseconds


@given(st.lists(st.floats(min_value=0, max_value=4_102_444_800), min_size=1, max_size=20))
def test_stamps_are_written_as_datetime_writes_them(stamps: list[float]) -> None:
    write = UtcMilliseconds()
    for stamp in sorted(stamps) + stamps:
        expected = datetime.fromtimestamp(stamp, UTC).isoformat(timespec="milliseconds")
        assert write(stamp) == expected


def test_a_stamp_rounding_up_to_the_next_second_names_that_second() -> None:
    write = UtcMilliseconds()
    assert write(1_700_000_000.0) == "2023-11-14T22:13:20.000+00:00"
    assert write(1_700_000_000.9999996) == "2023-11-14T22:13:21.000+00:00"
