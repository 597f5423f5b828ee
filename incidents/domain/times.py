"""How the log writes down times the texts give loosely: local clocks, bare days, no date.

``occurred_at`` is always an instant in UTC. A text's local time ("14:20 local time") is
converted with the place's IANA zone, which the event keeps in ``occurred_zone``. A text that
gives only a year, a month or a day puts ``occurred_at`` at the start of it as a calendar
date, midnight UTC ("On August 17" is ``2022-08-17T00:00:00Z``), and says so in
``occurred_precision``, so the date reads the same in every UTC-based view. ``unknown`` marks
an ``occurred_at`` that is only a reference date (the document's), never a claim of when the
fact happened.

Every time the domain accepts, an event's ``occurred_at`` as much as the instants its data
carries, lies in :data:`EARLIEST` <= t < :data:`LATEST`: the years 1000 to 2999, read both on
the time's own clock and in UTC. Past either end a time is refused (``ValueError``, which
msgspec reports as a validation error), so no view can overflow adding a reply window or a
day to one, and both engines store it exactly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

Precision = Literal["year", "month", "day", "minute", "unknown"]

_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")

# The range of times the domain accepts: from the first instant of the year 1000 UTC up to,
# not including, the first instant of 3000 UTC.
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
_FIRST_YEAR, _LAST_YEAR = EARLIEST.year, LATEST.year - 1


def check_in_range(value: datetime, name: str = "time") -> datetime:
    """``value`` if it lies in the domain's range (:data:`EARLIEST` to :data:`LATEST`);
    ValueError naming ``name`` if not."""
    # The year on the value's own clock first: a year 1 or 9999 time with an offset cannot
    # even be converted to UTC (OverflowError), so it is never compared as an instant.
    if not _FIRST_YEAR <= value.year <= _LAST_YEAR or not EARLIEST <= value < LATEST:
        raise ValueError(
            f"{name} {value.isoformat()} is outside the range the log accepts: from "
            "1000-01-01T00:00:00Z up to, not including, 3000-01-01T00:00:00Z"
        )
    return value


# How long a period of each precision lasts from its start.
PERIOD_LENGTH: dict[str, timedelta] = {
    "minute": timedelta(minutes=1),
    "day": timedelta(days=1),
    "month": timedelta(days=31),
    "year": timedelta(days=366),
}
# Clocks on Earth run from UTC-12 to UTC+14: a calendar date, read on the place's clock, may
# begin up to 14 hours before its UTC midnight and end up to 12 hours after.
_EARLIER_BY = timedelta(hours=14)
_LATER_BY = timedelta(hours=12)


@cache
def _zones() -> frozenset[str]:
    # Read once: the system's zone list does not change while the process runs.
    return frozenset(available_timezones())


def is_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone the system knows, such as ``Europe/Paris``."""
    return name in _zones()


def _zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    if not is_zone(name):
        raise ValueError(f"{name!r} is not an IANA time zone")
    return ZoneInfo(name)


def local_time(text: str, zone: str) -> datetime:
    """A wall-clock time in a zone, as a UTC instant.

    ``local_time("2022-09-18T14:20", "Europe/Paris")`` is 12:20 UTC.
    """
    naive = datetime.fromisoformat(text)
    if naive.tzinfo is not None:
        raise ValueError(f"{text!r} already has an offset; give the wall-clock time")
    return naive.replace(tzinfo=_zone(zone)).astimezone(UTC)


def start_of(partial: str) -> datetime:
    """The calendar start, midnight UTC, of a year ("2020"), a month ("2022-08") or a day
    ("2022-08-17")."""
    match = _PARTIAL_DATE.fullmatch(partial)
    if match is None:
        raise ValueError(f"{partial!r} is not a year, a year-month or a date")
    year, month, day = match.groups()
    return check_in_range(
        datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC), repr(partial)
    )


def precision_of(partial: str) -> Precision:
    """The precision a partial date gives: ``year``, ``month`` or ``day``."""
    match = _PARTIAL_DATE.fullmatch(partial)
    if match is None:
        raise ValueError(f"{partial!r} is not a year, a year-month or a date")
    _, month, day = match.groups()
    return "day" if day else "month" if month else "year"


def occurred_label(
    occurred_at: datetime, precision: Precision | None = None, zone: str | None = None
) -> str | None:
    """How to show an ``occurred_at`` no finer than the text gave it.

    A year, month or day reads as the calendar date (``2022-08-17`` for precision ``day``); a
    time reads on the place's clock (``2022-09-18T14:20+02:00`` in ``Europe/Paris``);
    ``unknown`` reads None, the time being only a reference date.
    """
    if precision == "unknown":
        return None
    if precision == "year":
        return f"{occurred_at.year:04d}"
    if precision == "month":
        return f"{occurred_at.year:04d}-{occurred_at.month:02d}"
    if precision == "day":
        return occurred_at.date().isoformat()
    return occurred_at.astimezone(_zone(zone) or UTC).isoformat(timespec="minutes")


def earliest_possible(
    occurred_at: datetime, precision: Precision | None, after: datetime | None = None
) -> datetime | None:
    """The first instant a fact dated this way can have happened, on any clock; None when
    it is unknown. A bound ``after`` (see :func:`span`) that comes later wins."""
    if precision == "unknown":
        first = None
    elif precision is None or precision == "minute":
        first = occurred_at
    else:
        first = occurred_at - _EARLIER_BY
    if after is not None and (first is None or after > first):
        return after
    return first


def latest_possible(
    occurred_at: datetime, precision: Precision | None, before: datetime | None = None
) -> datetime | None:
    """The last instant a fact dated this way can have happened, on any clock; None when it
    is unknown. A bound ``before`` that comes earlier wins."""
    if precision == "unknown":
        last = None
    elif precision is None:
        last = occurred_at
    elif precision == "minute":
        last = occurred_at + PERIOD_LENGTH[precision]
    else:
        last = occurred_at + PERIOD_LENGTH[precision] + _LATER_BY
    if before is not None and (last is None or before < last):
        return before
    return last


# --- bounds -------------------------------------------------------------------------------
#
# A text may give no date for a fact but still fence it in: "after the 2020 war", "before the
# note of 17 August". The event then carries ``occurred_after`` and ``occurred_before``
# (either may be missing: an open end), instants in UTC, both inclusive, and its
# ``occurred_at`` lies between them (the seeds put it on the earlier bound, or on the later
# one when only that is known). The precision says how exactly ``occurred_at`` is meant;
# the bounds say what is certain whatever the precision.

# A fact's possible instants, first and last; None is an open end.
Span = tuple[datetime | None, datetime | None]
# How ``since``/``until`` and ``as_of`` treat a fact known only within a span: ``certain``
# keeps it when the whole span lies in the range (by ``as_of``: has ended by then),
# ``possible`` when any part of it does (by ``as_of``: can have begun by then).
DateRule = Literal["certain", "possible"]
DATE_RULES: tuple[DateRule, ...] = ("certain", "possible")


def _calendar_end(start: datetime, precision: Precision) -> datetime:
    """The last instant (to the microsecond) of the UTC calendar period starting at
    ``start``."""
    if precision == "year":
        following = start.replace(year=start.year + 1, month=1, day=1)
    elif precision == "month":
        following = start.replace(
            year=start.year + start.month // 12, month=start.month % 12 + 1, day=1
        )
    else:
        following = start + PERIOD_LENGTH[precision]
    return following - timedelta(microseconds=1)


def span(
    occurred_at: datetime,
    precision: Precision | None = None,
    after: datetime | None = None,
    before: datetime | None = None,
) -> Span:
    """The instants a fact dated this way may have happened at, as the views read them.

    A time without a precision, or to the minute, is a point; a year, month or day is its
    calendar period in UTC (the views' clock); ``unknown`` is open at both ends. The bounds,
    where given, narrow that: the result is the overlap.
    """
    first: datetime | None
    last: datetime | None
    if precision == "unknown":
        first, last = None, None
    elif precision in (None, "minute"):
        first, last = occurred_at, occurred_at
    else:
        first, last = occurred_at, _calendar_end(occurred_at, precision)
    if after is not None and (first is None or after > first):
        first = after
    if before is not None and (last is None or before < last):
        last = before
    return first, last


def in_range(
    bounds: Span,
    since: datetime | None,
    until: datetime | None,
    rule: DateRule = "certain",
) -> bool:
    """Whether a fact with these possible instants passes ``since``/``until`` (inclusive).

    ``certain``: the whole span lies in the range, so an open end fails any bound on its
    side. ``possible``: the span and the range overlap, so an open end passes.
    """
    first, last = bounds
    if since is not None and until is not None and since > until:
        return False  # an empty range holds nothing
    if rule == "certain":
        if since is not None and (first is None or first < since):
            return False
        return not (until is not None and (last is None or last > until))
    if since is not None and last is not None and last < since:
        return False
    return not (until is not None and first is not None and first > until)


def kept_as_of(bounds: Span, as_of: datetime, rule: DateRule) -> bool:
    """Whether a fact with these possible instants counts as having occurred by ``as_of``.

    ``possible``: its span can have begun by then (an open start always can). ``certain``:
    its whole span ends by then (an open end never does). A point is kept by both from its
    instant on.
    """
    first, last = bounds
    if rule == "possible":
        return first is None or first <= as_of
    return last is not None and last <= as_of


def _instant_label(instant: datetime, zone: str | None) -> str:
    if zone is None and instant.hour == instant.minute == instant.second == 0:
        return instant.date().isoformat()
    return instant.astimezone(_zone(zone) or UTC).isoformat(timespec="minutes")


def bounds_label(after: datetime | None, before: datetime | None, zone: str | None = None) -> str:
    """A bounded date as an ISO 8601 interval, ``..`` for an open end (as ISO 8601-2 writes
    it): ``2020-11-09T21:00+00:00/2024-11-10T20:00+00:00``, ``../2022-08-17T22:00+00:00``.
    A bound at midnight UTC reads as its date."""
    first = ".." if after is None else _instant_label(after, zone)
    last = ".." if before is None else _instant_label(before, zone)
    return f"{first}/{last}"


def date_label(
    occurred_at: datetime,
    precision: Precision | None = None,
    zone: str | None = None,
    after: datetime | None = None,
    before: datetime | None = None,
) -> str | None:
    """How a view shows a date: :func:`occurred_label` for a date the text gives, the bounds
    (:func:`bounds_label`) for one it only fences in; None when neither is known."""
    if after is not None or before is not None:
        return bounds_label(after, before, zone)
    return occurred_label(occurred_at, precision, zone)
