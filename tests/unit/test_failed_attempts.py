"""Failed-attempt limiting: only addresses that presented an invalid token hold state, and
asking about any other leaves the table as it is (the common path: a valid token)."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from incidents.http.auth import FailedAttempts


class Watched(defaultdict[str, deque[float]]):
    """The table of failures, counting every entry made or removed."""

    def __init__(self) -> None:
        super().__init__(deque)
        self.changes = 0

    def __setitem__(self, key: str, value: deque[float]) -> None:
        self.changes += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.changes += 1
        super().__delitem__(key)

    def __missing__(self, key: str) -> Any:
        self.changes += 1
        return super().__missing__(key)


def test_asking_about_a_clean_address_touches_no_state() -> None:
    now = [1000.0]
    attempts = FailedAttempts(limit=2, clock=lambda: now[0])
    watched = Watched()
    attempts._failures = watched
    for _ in range(3):
        assert attempts.retry_after("10.0.0.1") is None
    assert watched.changes == 0
    assert dict(watched) == {}


def test_failures_still_limit_and_expire_after_a_minute() -> None:
    now = [1000.0]
    attempts = FailedAttempts(limit=2, clock=lambda: now[0])
    attempts.record("10.0.0.2")
    assert attempts.retry_after("10.0.0.2") is None
    now[0] += 10
    attempts.record("10.0.0.2")
    assert attempts.retry_after("10.0.0.2") == 50
    assert attempts.retry_after("10.0.0.3") is None
    now[0] += 61
    assert attempts.retry_after("10.0.0.2") is None
    # An address whose failures have all expired holds nothing any more.
    assert "10.0.0.2" not in attempts._failures
