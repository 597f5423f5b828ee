"""The conventions for loose times: local clocks, bare days, unknown dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from incidents.domain.times import (
    is_zone,
    latest_possible,
    local_time,
    occurred_label,
    precision_of,
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
    ("partial", "zone", "start"),
    [
        ("2022-08-17", "Europe/Paris", datetime(2022, 8, 16, 22, tzinfo=UTC)),
        ("2022-09-19", "Asia/Baku", datetime(2022, 9, 18, 20, tzinfo=UTC)),
        ("2020", "Europe/Paris", datetime(2019, 12, 31, 23, tzinfo=UTC)),
        ("2022-11", None, datetime(2022, 11, 1, tzinfo=UTC)),
    ],
)
def test_a_day_month_or_year_starts_on_the_places_calendar(
    partial: str, zone: str | None, start: datetime
) -> None:
    assert start_of(partial, zone) == start


def test_precision_follows_the_partial_date() -> None:
    assert [precision_of(p) for p in ("2020", "2022-08", "2022-08-17")] == ["year", "month", "day"]
    with pytest.raises(ValueError):
        precision_of("17 August")


def test_a_label_shows_no_more_than_the_text_gave() -> None:
    start = start_of("2022-08-17", "Europe/Paris")
    assert occurred_label(start, "day", "Europe/Paris") == "2022-08-17"
    assert occurred_label(start, "month", "Europe/Paris") == "2022-08"
    assert occurred_label(start_of("2020", "Europe/Paris"), "year", "Europe/Paris") == "2020"
    assert occurred_label(start, "unknown") is None
    minute = local_time("2022-09-18T14:20", "Europe/Paris")
    assert occurred_label(minute, "minute", "Europe/Paris") == "2022-09-18T14:20+02:00"


def test_a_loose_date_may_have_happened_until_its_period_ends() -> None:
    start = datetime(2022, 8, 17, tzinfo=UTC)
    assert latest_possible(start, None) == start
    assert latest_possible(start, "unknown") is None
    latest_day = latest_possible(start, "day")
    assert latest_day is not None and latest_day > datetime(2022, 8, 17, 23, 59, tzinfo=UTC)


def test_zones_are_iana_names() -> None:
    assert is_zone("Europe/Paris") and is_zone("Asia/Baku")
    assert not is_zone("CEST")
