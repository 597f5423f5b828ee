"""Bounded dates: the span a date claims, how it reads, and the since/until rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.domain.events import IncidentReported, decode_data, encode_data
from incidents.domain.times import (
    DATE_RULES,
    DateRule,
    Precision,
    bounds_label,
    date_label,
    in_range,
    span,
)

SEPT_18 = datetime(2022, 9, 18, tzinfo=UTC)


def test_a_day_spans_its_utc_calendar_day_and_a_month_its_month() -> None:
    assert span(SEPT_18, "day") == (SEPT_18, datetime(2022, 9, 18, 23, 59, 59, 999999, tzinfo=UTC))
    feb = datetime(2024, 2, 1, tzinfo=UTC)
    assert span(feb, "month")[1] == datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    dec = datetime(2022, 12, 1, tzinfo=UTC)
    assert span(dec, "month")[1] == datetime(2022, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert span(SEPT_18, "minute") == (SEPT_18, SEPT_18) == span(SEPT_18, None)


def test_an_unknown_date_is_open_unless_bounded() -> None:
    assert span(SEPT_18, "unknown") == (None, None)
    after = datetime(2022, 9, 11, 20, tzinfo=UTC)
    assert span(SEPT_18, "unknown", after=after) == (after, None)
    # bounds narrow a period, never widen it
    assert span(SEPT_18, "day", after=after)[0] == SEPT_18


def test_a_bounded_date_reads_as_an_interval_never_as_its_occurred_at() -> None:
    after = datetime(2022, 9, 11, 20, tzinfo=UTC)
    before = datetime(2022, 9, 18, 12, 20, tzinfo=UTC)
    assert date_label(before, "unknown", None, after, before) == (
        "2022-09-11T20:00+00:00/2022-09-18T12:20+00:00"
    )
    assert bounds_label(None, datetime(2022, 8, 18, tzinfo=UTC)) == "../2022-08-18"
    assert bounds_label(after, None, "Asia/Baku") == "2022-09-12T00:00+04:00/.."
    assert date_label(SEPT_18, "unknown") is None
    assert date_label(SEPT_18, "day") == "2022-09-18"


def test_bounds_are_optional_fields_stored_in_utc_and_must_be_in_order() -> None:
    body = (
        b'{"kind": "attack", "title": "t", "mission": "mission-az-paris",'
        b' "occurred_precision": "unknown", "occurred_before": "2022-09-18T14:20:00+02:00"}'
    )
    event = decode_data("IncidentReported", body)
    assert isinstance(event, IncidentReported)
    assert event.occurred_before == datetime(2022, 9, 18, 12, 20, tzinfo=UTC)
    assert b'"occurred_before":"2022-09-18T12:20:00Z"' in encode_data(event)
    # an event without bounds encodes as it did before they existed
    plain = decode_data(
        "IncidentReported", b'{"kind": "attack", "title": "t", "mission": "mission-a"}'
    )
    assert b"occurred_" not in encode_data(plain)
    with pytest.raises(msgspec.ValidationError):
        decode_data(
            "IncidentReported",
            b'{"kind": "attack", "title": "t", "mission": "mission-a",'
            b' "occurred_after": "2022-09-19T00:00:00Z",'
            b' "occurred_before": "2022-09-18T00:00:00Z"}',
        )


def test_the_september_2022_filter_and_the_undated_incidents() -> None:
    since, until = datetime(2022, 9, 1, tzinfo=UTC), datetime(2022, 9, 30, 23, 59, tzinfo=UTC)
    beirut = span(SEPT_18, "unknown", datetime(2022, 9, 11, 20, tzinfo=UTC), SEPT_18)
    tbilisi = span(SEPT_18, "unknown", datetime(2022, 9, 11, 20, tzinfo=UTC), None)
    letters = span(SEPT_18, "unknown", None, datetime(2022, 8, 17, 22, tzinfo=UTC))
    assert in_range(beirut, since, until, "certain")
    assert not in_range(tbilisi, since, until, "certain")
    assert in_range(tbilisi, since, until, "possible")
    assert not in_range(letters, since, until, "possible")


# --- the property: in_range equals a filter over the instants a date allows ---------------

# A grid of 6-hour steps over three months; queries and bounds fall on it, and the universe
# reaches a day beyond every query on each side, standing in for an open end.
ORIGIN = datetime(2022, 1, 1, tzinfo=UTC)
STEP = timedelta(hours=6)
STEPS = 4 * 90
UNIVERSE = (ORIGIN - timedelta(days=1), ORIGIN + STEP * STEPS + timedelta(days=1))


def _grid(index: int) -> datetime:
    return ORIGIN + STEP * index


def _possible_instants(
    occurred_at: datetime,
    precision: Precision | None,
    after: datetime | None,
    before: datetime | None,
) -> set[datetime]:
    """Every grid instant (and the period's last instant) a date allows, by enumeration."""
    if precision == "unknown":
        first, last = UNIVERSE
    elif precision in (None, "minute"):
        first = last = occurred_at
    elif precision == "day":
        first, last = occurred_at, occurred_at + timedelta(days=1, microseconds=-1)
    else:  # month
        following = occurred_at.replace(month=occurred_at.month % 12 + 1)
        if occurred_at.month == 12:
            following = following.replace(year=occurred_at.year + 1)
        first, last = occurred_at, following - timedelta(microseconds=1)
    points = {first, last}
    moment = UNIVERSE[0]
    while moment <= UNIVERSE[1]:
        if first <= moment <= last:
            points.add(moment)
        moment += STEP
    return {p for p in points if (after is None or p >= after) and (before is None or p <= before)}


@st.composite
def dated(draw: st.DrawFn) -> tuple[datetime, Precision | None, datetime | None, datetime | None]:
    precision = draw(st.sampled_from([None, "minute", "day", "month", "unknown"]))
    if precision == "month":
        at = datetime(2022, draw(st.integers(1, 3)), 1, tzinfo=UTC)
    elif precision == "day":
        at = ORIGIN + timedelta(days=draw(st.integers(0, 89)))
    else:
        at = _grid(draw(st.integers(0, STEPS)))
    after = draw(st.none() | st.integers(0, STEPS).map(_grid))
    before = draw(st.none() | st.integers(0, STEPS).map(_grid))
    # a valid event: bounds in order, occurred_at between them
    if after is not None and after > at:
        after = None if precision != "unknown" else after
    if before is not None and before < at:
        before = None if precision != "unknown" else before
    if after is not None and before is not None and before < after:
        before = None
    return at, precision, after, before


@given(
    dated(),
    st.none() | st.integers(0, STEPS).map(_grid),
    st.none() | st.integers(0, STEPS).map(_grid),
    st.sampled_from(DATE_RULES),
)
def test_since_until_with_bounds_equal_the_reference_filter(
    date: tuple[datetime, Precision | None, datetime | None, datetime | None],
    since: datetime | None,
    until: datetime | None,
    rule: DateRule,
) -> None:
    at, precision, after, before = date
    instants = _possible_instants(at, precision, after, before)
    low = since or UNIVERSE[0] - timedelta(days=1)
    high = until or UNIVERSE[1] + timedelta(days=1)
    inside = [low <= moment <= high for moment in instants]
    expected = all(inside) if rule == "certain" else any(inside)
    assert in_range(span(at, precision, after, before), since, until, rule) == expected
