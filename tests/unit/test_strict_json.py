"""Strict JSON bodies: what ``decode_strict`` takes is what the standard library reads, and a
key named twice, in any spelling, is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.http.decoding import decode_strict
from incidents.http.problems import BadRequestError

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES, st.booleans(), st.booleans())
def test_any_json_reads_as_the_standard_library_reads_it(
    value: Any, ascii_only: bool, spaced: bool
) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only, indent=1 if spaced else None).encode()
    read = decode_strict(body)
    assert read == json.loads(body)
    assert json.dumps(read) == json.dumps(json.loads(body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"a": 1, "b": 2, "a": 1}',
        b'{"x": [{"events": []}, {"k": {"n": 1, "n": 1}}]}',
        b'{"a": 1, "\\u0061": 2}',
        b'{"\\u00e9": 1, "\xc3\xa9": 1}',
    ],
)
def test_a_key_named_twice_is_refused_naming_it(body: bytes) -> None:
    with pytest.raises(BadRequestError, match="twice"):
        decode_strict(body)


@pytest.mark.parametrize(
    "body", [b"[NaN]", b'{"a": Infinity}', b"[-Infinity]", b"[1] x", b"", b'["\xff"]']
)
def test_what_is_not_json_is_refused(body: bytes) -> None:
    with pytest.raises(BadRequestError, match="malformed JSON"):
        decode_strict(body)


def test_a_body_deeper_than_python_holds_is_refused() -> None:
    with pytest.raises(BadRequestError, match="too deeply"):
        decode_strict(b"[" * 100_000 + b"]" * 100_000)
