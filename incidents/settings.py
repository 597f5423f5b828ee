"""Deployment settings, read from the environment once and then frozen."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

DEFAULT_DATABASE_URL = "sqlite:///./incidents.db"


class Settings(msgspec.Struct, frozen=True):
    """Everything a deployment may set. ``from_env`` reads ``INCIDENTS_*`` variables."""

    database_url: str = DEFAULT_DATABASE_URL
    # The contract's body limit: 1 MiB, answered with 413 past it.
    max_body_bytes: int = 1024 * 1024
    # Days a note may wait for a reply before it counts as overdue, where neither the note
    # (reply_due_at) nor its mission says otherwise.
    reply_window_days: int = 30
    # Group commit: how many appends one transaction may take, and how long (seconds) the
    # writer waits for more once it has some. Zero waits for none beyond those queued.
    max_batch: int = 512
    batch_wait: float = 0.0
    # How long (seconds) a write waits for another process's lock before it answers 503.
    busy_timeout: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``INCIDENTS_*`` variables, with keyword overrides on top."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            raw = env.get(f"INCIDENTS_{field.name.upper()}")
            if raw is not None:
                values[field.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return msgspec.convert(values, cls, strict=False)
