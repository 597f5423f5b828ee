"""The conventions for loose times: local clocks, bare days, unknown dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidents.domain.times import (
    DATE_RULES,
    earliest_possible,
    is_zone,
    kept_as_of,
    latest_possible,
    local_time,
    occurred_label,
    precision_of,
    span,
    start_of,
)


def test_a_local_time_in_paris_in_september_is_two_hours_ahead_of_utc() -> None:
    assert local_time("2022-09-18T14:20", "Europe/Paris") == datetime(
        2022, 9, 18, 12, 20, tzinfo=UTC
    )


def test_a_local_time_must_be_a_wall_clock_time() -> None:
    with pytest.raises(ValueError):
        local_time("2022-09-18T14:20+02:00", "Europe/Paris")
    with pytest.raises(ValueError):
        local_time("2022-09-18T14:20", "Paris")


@pytest.mark.parametrize(
    ("partial", "start"),
    [
        ("2022-08-17", datetime(2022, 8, 17, tzinfo=UTC)),
        ("2022-11", datetime(2022, 11, 1, tzinfo=UTC)),
        ("2020", datetime(2020, 1, 1, tzinfo=UTC)),
    ],
)
def test_a_day_month_or_year_starts_at_its_calendar_midnight_utc(
    partial: str, start: datetime
) -> None:
    assert start_of(partial) == start


def test_precision_follows_the_partial_date() -> None:
    assert [precision_of(p) for p in ("2020", "2022-08", "2022-08-17")] == ["year", "month", "day"]
    with pytest.raises(ValueError):
        precision_of("17 August")


def test_a_label_shows_no_more_than_the_text_gave() -> None:
    start = start_of("2022-08-17")
    assert occurred_label(start, "day", "America/New_York") == "2022-08-17"
    assert occurred_label(start, "month") == "2022-08"
    assert occurred_label(start_of("2020"), "year", "Europe/Paris") == "2020"
    assert occurred_label(start, "unknown") is None
    minute = local_time("2022-09-18T14:20", "Europe/Paris")
    assert occurred_label(minute, "minute", "Europe/Paris") == "2022-09-18T14:20+02:00"
    assert occurred_label(minute) == "2022-09-18T12:20+00:00"


def test_a_loose_date_spans_its_period_on_any_clock() -> None:
    start = start_of("2022-08-17")
    assert earliest_possible(start, None) == latest_possible(start, None) == start
    assert earliest_possible(start, "unknown") is None and latest_possible(start, "unknown") is None
    # 17 August begins at 10:00 UTC on the 16th in UTC+14 and ends at 12:00 UTC on the 18th in
    # UTC-12.
    assert earliest_possible(start, "day") == datetime(2022, 8, 16, 10, tzinfo=UTC)
    assert latest_possible(start, "day") == datetime(2022, 8, 18, 12, tzinfo=UTC)
    assert latest_possible(start, "minute") == start + timedelta(minutes=1)


def test_zones_are_iana_names() -> None:
    assert is_zone("Europe/Paris") and is_zone("Asia/Baku")
    assert not is_zone("CEST")


def test_as_of_keeps_a_span_once_it_can_have_begun_or_once_it_has_ended() -> None:
    t = datetime(2022, 9, 19, 12, tzinfo=UTC)
    before, after = t - timedelta(days=1), t + timedelta(days=1)
    # a point: both rules from its instant on
    for rule in DATE_RULES:
        assert kept_as_of(span(t), t, rule) and not kept_as_of(span(t), before, rule)
    # a day: possible from its start, certain from its last instant
    day = span(datetime(2022, 9, 19, tzinfo=UTC), "day")
    assert kept_as_of(day, t, "possible") and not kept_as_of(day, t, "certain")
    assert kept_as_of(day, after, "certain")
    # bounded only later (Mustafayev appointed by 19 September): possible at any time,
    # certain from the bound
    by = span(t, "unknown", None, t)
    assert kept_as_of(by, datetime(1990, 1, 1, tzinfo=UTC), "possible")
    assert not kept_as_of(by, before, "certain") and kept_as_of(by, t, "certain")
    # bounded only earlier: possible from the bound, certain never
    since = span(t, "unknown", t, None)
    assert not kept_as_of(since, before, "possible") and kept_as_of(since, t, "possible")
    assert not kept_as_of(since, datetime(9999, 1, 1, tzinfo=UTC), "certain")
