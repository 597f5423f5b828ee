"""How the log writes down times the texts give loosely: local clocks, bare days, no date.

``occurred_at`` is always an instant in UTC. A text's local time is converted with the place's
IANA zone, kept in the event as ``occurred_zone``. A text that gives only a year, a month or
a day puts ``occurred_at`` at the start of that period in the place's zone and says so in
``occurred_precision``; ``unknown`` marks an ``occurred_at`` that is only a reference date
(the document's), never a claim of when the fact happened.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

Precision = Literal["year", "month", "day", "minute", "unknown"]

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

# The longest a period of each precision can last: a fact dated with that precision happened
# at most this long after its ``occurred_at`` (a day may last 25 hours across a DST change).
PERIOD_LENGTH: dict[str, timedelta] = {
    "minute": timedelta(minutes=1),
    "day": timedelta(hours=25),
    "month": timedelta(days=31, hours=1),
    "year": timedelta(days=366, hours=1),
}


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


def start_of(partial: str, zone: str | None = None) -> datetime:
    """The first instant, in UTC, of a year ("2020"), month ("2022-08") or day ("2022-08-17")
    in a zone (UTC when none is given)."""
    match = _PARTIAL_DATE.match(partial)
    if match is None:
        raise ValueError(f"{partial!r} is not a year, a year-month or a date")
    year, month, day = match.groups()
    local = datetime(int(year), int(month or 1), int(day or 1), tzinfo=_zone(zone) or UTC)
    return local.astimezone(UTC)


def precision_of(partial: str) -> Precision:
    """The precision a partial date gives: ``year``, ``month`` or ``day``."""
    match = _PARTIAL_DATE.match(partial)
    if match is None:
        raise ValueError(f"{partial!r} is not a year, a year-month or a date")
    _, month, day = match.groups()
    return "day" if day else "month" if month else "year"


def occurred_label(
    occurred_at: datetime, precision: Precision | None = None, zone: str | None = None
) -> str | None:
    """How to show an ``occurred_at`` no finer than the text gave it, on the place's calendar.

    ``2022-08-16T22:00Z`` with precision ``day`` in ``Europe/Paris`` reads ``2022-08-17``;
    ``unknown`` reads None (the time is only a reference date).
    """
    if precision == "unknown":
        return None
    local = occurred_at.astimezone(_zone(zone) or UTC)
    if precision == "year":
        return f"{local.year:04d}"
    if precision == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if precision == "day":
        return local.date().isoformat()
    return local.isoformat(timespec="minutes")


def latest_possible(occurred_at: datetime, precision: Precision | None) -> datetime | None:
    """The last instant a fact dated this way can have happened; None when it is unknown."""
    if precision == "unknown":
        return None
    if precision is None:
        return occurred_at
    return occurred_at + PERIOD_LENGTH[precision]
