"""Deployment settings, read from the environment once and then frozen.

Every setting is a field of :class:`Settings` and is set by the ``INCIDENTS_<FIELD>``
environment variable; adding one is adding a field. ``from_env`` is strict: an
``INCIDENTS_*`` variable that names no field, or a value that does not fit its field, raises
:class:`SettingsError` naming the variable.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Annotated

import msgspec

DEFAULT_DATABASE_URL = "sqlite:///./incidents.db"
PREFIX = "INCIDENTS_"
DATABASE_SCHEMES = ("sqlite", "memory", "postgresql", "postgres")
# INCIDENTS_* variables that are not settings of the service: the test suite's.
OTHER_VARIABLES = frozenset({"INCIDENTS_TEST_POSTGRES_URL"})

Positive = Annotated[int, msgspec.Meta(ge=1)]
Seconds = Annotated[float, msgspec.Meta(ge=0)]


class SettingsError(ValueError):
    """A setting that names no field, or whose value does not fit it."""


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything a deployment may set. ``from_env`` reads ``INCIDENTS_*`` variables."""

    # sqlite:///relative.db, sqlite:////absolute.db, memory:// or postgresql://...
    database_url: str = DEFAULT_DATABASE_URL
    # The contract's body limit: 1 MiB, answered with 413 past it.
    max_body_bytes: Positive = 1024 * 1024
    # Days a note may wait for a reply before it counts as overdue, where neither the note
    # (reply_due_at) nor its mission says otherwise.
    reply_window_days: Positive = 30
    # Group commit: how many appends one transaction may take, and how long (seconds) the
    # writer waits for more once it has some. Zero waits for none beyond those queued.
    max_batch: Positive = 512
    batch_wait: Seconds = 0.0
    # How long (seconds) a write waits for another process's lock before it answers 503.
    busy_timeout: Seconds = 5.0
    # Live push: seconds between keep-alive comments on an idle event stream, and how many
    # bytes of frames a subscriber may fall behind before it is cut off.
    live_keepalive_seconds: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    live_buffer_bytes: Positive = 1024 * 1024
    # Whether reads need no token (``make serve`` turns this on); writes always need one.
    public_reads: bool = False
    # Invalid tokens one client address may present in a minute before it gets 429.
    auth_failures_per_minute: Positive = 20
    # What a slow client may hold: seconds for the headers (granian's header read timeout)
    # and for the whole body (then 408); whether connections are kept alive between
    # requests; how many requests one worker serves at once (granian's backpressure), the
    # rest waiting in the listen backlog.
    header_read_timeout: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    body_read_timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    keep_alive: bool = True
    max_connections: Positive = 4096
    # Signs the dashboard forms' CSRF tokens. Every worker must hold the same one:
    # ``incidents serve`` makes one for its workers when it is not set.
    csrf_secret: str | None = None
    # Origins a browser may call the API from (comma-separated, "*" for any); none by default.
    cors_origins: str = ""

    def __post_init__(self) -> None:
        scheme, colon, _ = self.database_url.partition(":")
        if not colon or scheme.lower() not in DATABASE_SCHEMES:
            raise ValueError(
                f"unknown database URL scheme {scheme!r}: use sqlite:///path.db, memory:// "
                "or postgresql://user@host/db"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``INCIDENTS_*`` variables, with keyword overrides (not None) on top.

        Raises SettingsError naming the variable that is unknown (with the nearest known
        one) or whose value does not fit.
        """
        env = os.environ if environ is None else environ
        known = {variable(name): name for name in cls.__struct_fields__}
        values: dict[str, object] = {}
        for key, raw in env.items():
            if not key.startswith(PREFIX) or key in OTHER_VARIABLES:
                continue
            if key not in known:
                raise SettingsError(unknown_variable(key, list(known)))
            values[known[key]] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name, value in values.items():
            # One field at a time, so the error names the variable that is wrong.
            try:
                msgspec.convert({name: value}, cls, strict=False)
            except msgspec.ValidationError as error:
                reason = str(error).split(" - at `$", 1)[0]
                raise SettingsError(f"{variable(name)}={value!r} is not valid: {reason}") from None
        return msgspec.convert(values, cls, strict=False)


def variable(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"{PREFIX}{field.upper()}"


def unknown_variable(key: str, known: list[str]) -> str:
    """The message for an ``INCIDENTS_*`` variable that names no setting."""
    # Compared without the prefix, which every name shares.
    names = {name.removeprefix(PREFIX): name for name in known}
    nearest = difflib.get_close_matches(key.removeprefix(PREFIX), list(names), n=1, cutoff=0.6)
    hint = f"did you mean {names[nearest[0]]}?" if nearest else f"known: {', '.join(sorted(known))}"
    return f"unknown setting {key}: {hint}"
