"""The errors of the log: a caller's mistake (``StoreError``) or a server fault
(``StoreUnavailableError`` and its kinds, one per way the database can fail)."""

from __future__ import annotations

from uuid import UUID

from incidents.core.envelope import ExpectedVersion


class StoreError(Exception):
    """Base of every error the store raises for a caller's mistake (never a server fault)."""


class ConcurrencyError(StoreError):
    """The stream is not at the version the caller expected."""

    def __init__(
        self, stream_id: str, expected: ExpectedVersion, current_version: int, append_index: int = 0
    ) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.current_version = current_version
        self.append_index = append_index
        super().__init__(
            f"stream {stream_id!r} is at version {current_version}, expected {expected!r}"
        )


class DuplicateEventError(StoreError):
    """An event id is already stored with other content, or only part of a batch is."""

    def __init__(self, event_id: UUID, reason: str, append_index: int = 0) -> None:
        self.event_id = event_id
        self.reason = reason
        self.append_index = append_index
        super().__init__(f"event {event_id}: {reason}")


class RuleViolation(StoreError):
    """An event breaks a domain rule; raised by the rules, passed on by the store.

    ``event_index`` is the event's index inside its stream's append; the store fills in
    ``append_index`` (which append of a multi-stream request) before re-raising.
    """

    def __init__(self, event_index: int, rule: str, detail: str, append_index: int = 0) -> None:
        self.event_index = event_index
        self.rule = rule
        self.detail = detail
        self.append_index = append_index
        super().__init__(f"event {event_index} breaks {rule}: {detail}")


class InvalidAppendError(StoreError, ValueError):
    """An append the store refuses before looking at the log: a request with no appends, an
    append with no events, a malformed stream id or expected version.

    Callers validate these first; the store checks again so a bad request never reaches the
    log. It is a ``ValueError`` too, since it is a programming mistake more than a conflict.
    """

    def __init__(self, detail: str, append_index: int = 0) -> None:
        self.detail = detail
        self.append_index = append_index
        super().__init__(detail)


class StoreUnavailableError(Exception):
    """The database could not serve the request (locked, closing, failing).

    The subclasses name the way it failed, so that HTTP can answer each as it deserves;
    this class itself covers the rest (a store that is closing, a fault of no known kind).
    """


class StoreBusyError(StoreUnavailableError):
    """Another writer held the lock longer than the store waits (busy or lock timeout)."""


class StorageFullError(StoreUnavailableError):
    """The disk (or the server's) has no room left for the write."""


class ReadOnlyStoreError(StoreUnavailableError):
    """The database or its file only allows reading."""


class CorruptStoreError(StoreUnavailableError):
    """The database file is damaged or is not a database of this store."""


class ConnectionLostError(StoreUnavailableError):
    """The connection to the database server went away (or never came)."""
