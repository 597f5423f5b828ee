"""Stream ids: their syntax and the category each one names."""

from __future__ import annotations

import re

# The pattern as JSON Schema and OpenAPI write it; msgspec and Litestar check Struct fields
# and parameters with it through Python's ``re.search``, where ``$`` also matches before a
# final newline: ``(?!\n)`` closes that gap (in ECMA-262 it changes nothing). Python code
# checks ids with :func:`is_valid_stream_id`, a full match.
STREAM_ID_PATTERN = r"^[a-z]+-[a-z0-9][a-z0-9-]*$(?!\n)"
STREAM_ID_MAX_LENGTH = 128
# Python's ``$`` also matches before a final newline; fullmatch leaves no such gap.
_STREAM_ID = re.compile(r"[a-z]+-[a-z0-9][a-z0-9-]*")


def category_of(stream_id: str) -> str:
    """The part of a stream id before its first dash: it decides the accepted event types."""
    return stream_id.split("-", 1)[0]


def is_valid_stream_id(stream_id: str) -> bool:
    """Whether the whole id matches the contract's pattern and length."""
    return len(stream_id) <= STREAM_ID_MAX_LENGTH and _STREAM_ID.fullmatch(stream_id) is not None
