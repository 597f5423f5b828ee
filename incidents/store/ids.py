"""Event ids: UUIDv7 (time-ordered), which Python 3.11's uuid module does not make."""

from uuid import UUID

import uuid_utils.compat


def new_event_id() -> UUID:
    """A fresh UUIDv7 as a standard :class:`uuid.UUID`."""
    return uuid_utils.compat.uuid7()
