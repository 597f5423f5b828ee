"""Strict request bodies: JSON only, no duplicate keys, bounded depth, every error at once.

Litestar reads a handler's ``data`` through :meth:`StrictRequest.json`; this module makes that
read strict and validates the result against the handler's body type, so a client learns
every mistake of a body in one answer (``errors: [{pointer, detail}]``).

A body is decoded by msgspec first and kept when msgspec's own encoding of the result is
the body itself with its whitespace removed (``msgspec.json.format``), byte for byte: equal
texts hold the same keys in every object, so the body names no key twice, and msgspec
refuses NaN, Infinity and any depth Python cannot hold as the standard library's strict read
does. Any other body (a repeated key, an escape such as ``\\u00e9``, a number written
``1E2``, an error) is read again by the standard library with a hook that names the repeated
key, which gives the answer.

msgspec stops at the first error. When it finds one, the body is checked again against the
JSON Schema msgspec generates for the same type (jsonschema reports every error), and
msgspec's own error is kept for what a JSON Schema cannot say (time offsets, ISO codes).
The second pass runs only on bodies that fail, so a good body costs one decode.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import jsonschema
import msgspec
from litestar import Request
from litestar.exceptions import HTTPException

from incidents.http.bodies import without_data_tags
from incidents.http.problems import BadRequestError, DataRuleError, FieldError

# JSON's own media type and every ``+json`` suffix (RFC 6839): anything else is 415.
_JSON_MEDIA_TYPE = re.compile(r"application/([a-z0-9.!#$&^_-]+\+)?json", re.IGNORECASE)
# msgspec's error messages end with where they happened: "... - at `$.events[0].data`".
_MSGSPEC_PATH = re.compile(r"^(?P<detail>.*?)(?: - at `\$(?P<path>.*)`)?$", re.DOTALL)
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


class UnsupportedMediaTypeError(HTTPException):
    """The body is not JSON (415)."""

    status_code = 415


class DuplicateKeyError(ValueError):
    """A JSON object names one key twice."""


def _too_deep() -> BadRequestError:
    return BadRequestError(
        "the body nests arrays or objects too deeply",
        [FieldError(detail="nested too deeply", pointer="")],
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        keys = [key for key, _ in pairs]
        twice = next(key for index, key in enumerate(keys) if key in keys[:index])
        raise DuplicateKeyError(f"the key {twice!r} appears twice in one object")
    return value


_decode_any = msgspec.json.Decoder().decode
_encode_compact = msgspec.json.Encoder().encode


def decode_strict(body: bytes) -> Any:
    """Decode JSON, refusing duplicate keys, NaN and Infinity, and any depth Python cannot
    hold (400)."""
    try:
        value = _decode_any(body)
        if _encode_compact(value) == msgspec.json.format(body, indent=-1):
            return value
    except (msgspec.MsgspecError, ValueError, RecursionError):
        pass  # the standard library's read below says what is wrong, or takes the body
    try:
        return json.loads(body, object_pairs_hook=_object, parse_constant=_refuse_constant)
    except RecursionError:
        raise _too_deep() from None
    except DuplicateKeyError as error:
        raise BadRequestError(f"malformed JSON: {error}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequestError(f"malformed JSON: {error}") from None


def _pointer_token(part: str | int) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def pointer(parts: Iterator[str | int] | list[str | int]) -> str:
    """An RFC 6901 JSON Pointer to the value at ``parts``."""
    return "".join("/" + _pointer_token(part) for part in parts)


def _msgspec_error(error: msgspec.ValidationError) -> FieldError:
    match = _MSGSPEC_PATH.match(str(error))
    assert match is not None  # the pattern matches any text
    parts: list[str | int] = []
    for name, index, quoted in _PATH_PART.findall(match.group("path") or ""):
        parts.append(name or (int(index) if index else quoted))
    return FieldError(detail=match.group("detail"), pointer=pointer(parts))


# The formats msgspec's schemas name, checked as msgspec checks them (times need an offset).
_FORMATS = jsonschema.FormatChecker(formats=())
_decode_time = msgspec.json.Decoder(Annotated[datetime, msgspec.Meta(tz=True)]).decode
_decode_uuid = msgspec.json.Decoder(UUID).decode


@_FORMATS.checks("date-time", raises=msgspec.ValidationError)
def _is_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_decode_time(msgspec.json.encode(value)))


@_FORMATS.checks("uuid", raises=msgspec.ValidationError)
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(_decode_uuid(msgspec.json.encode(value)))


@functools.cache
def _validator(body_type: Any) -> jsonschema.protocols.Validator:
    schema = msgspec.json.schema(body_type)
    without_data_tags(schema.get("$defs", {}))
    validator_class = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)
    return validator_class(schema, format_checker=_FORMATS)


def _is_a_branch_for_another_shape(errors: list[jsonschema.ValidationError]) -> bool:
    """Whether a union branch fails because the value is not of its kind at all: another
    JSON type, or another value of a tag (``type``) than the branch's."""
    for error in errors:
        path = list(error.relative_path)
        if not path and error.validator in ("type", "const", "enum"):
            return True
        if len(path) == 1 and error.validator in ("const", "enum"):
            return True
    return False


def _leaf_errors(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    """The errors to report for one: in a union, those of the one branch the value is meant
    for (the branch its tag names, or the only one of its JSON type)."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        meant = [b for b in branches.values() if not _is_a_branch_for_another_shape(b)]
        if len(meant) == 1:
            for sub in meant[0]:
                yield from _leaf_errors(sub)
            return
    yield error


def _located(error: jsonschema.ValidationError) -> FieldError:
    where = list(error.absolute_path)
    if error.validator in ("anyOf", "oneOf") and isinstance(error.instance, dict):
        tag = error.instance.get("type")
        if tag is not None:
            return FieldError(
                detail=f"{tag!r} is not one of the types taken here",
                pointer=pointer([*where, "type"]),
            )
    return FieldError(detail=str(error.message), pointer=pointer(where))


def _overlaps(a: str, b: str) -> bool:
    """Whether one pointer is the other or inside it."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _schema_errors(value: Any, body_type: Any) -> list[FieldError]:
    found: list[FieldError] = []
    for error in _validator(body_type).iter_errors(value):
        for leaf in _leaf_errors(error):
            where = list(leaf.absolute_path)
            if leaf.validator == "required" and isinstance(leaf.validator_value, list):
                missing = [
                    name
                    for name in leaf.validator_value
                    if isinstance(leaf.instance, dict) and name not in leaf.instance
                ]
                found.extend(
                    FieldError(detail="required", pointer=pointer([*where, name]))
                    for name in missing
                )
            elif leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict):
                schema = leaf.schema if isinstance(leaf.schema, dict) else {}
                allowed = schema.get("properties", {})
                found.extend(
                    FieldError(detail="not a field of this object", pointer=pointer([*where, name]))
                    for name in leaf.instance
                    if name not in allowed
                )
            else:
                found.append(_located(leaf))
    return found


def validate(value: Any, body_type: Any) -> Any:
    """``value`` converted to ``body_type``, or a 400 listing every error in it."""
    try:
        return msgspec.convert(value, body_type)
    except msgspec.ValidationError as error:
        first = _msgspec_error(error)
        found = _schema_errors(value, body_type)
        if not found:
            # The document's schema takes the body: what msgspec refuses is a rule between
            # fields (a party needs a state or a body), answered as a broken rule.
            raise DataRuleError(first) from None
        # msgspec's one error is kept when it says what the schema cannot (a time's offset).
        if not any(_overlaps(first.pointer or "", e.pointer or "") for e in found):
            found.append(first)
        found.sort(key=lambda e: e.pointer or "")
        raise BadRequestError(
            f"the body does not match its schema: {len(found)} error(s)", found
        ) from None
    except RecursionError:
        raise _too_deep() from None


class StrictRequest(Request[Any, Any, Any]):
    """A request whose JSON body is decoded strictly and validated in full."""

    async def json(self) -> Any:
        """The body decoded, then converted to the handler's ``data`` type."""
        media_type, _ = self.content_type
        if not _JSON_MEDIA_TYPE.fullmatch(media_type):
            raise UnsupportedMediaTypeError(
                detail=f"the body must be application/json (or a +json type), not {media_type!r}"
            )
        value = decode_strict(await self.body())
        data = self.route_handler.parsed_fn_signature.parameters.get("data")
        if data is None:
            return value
        return validate(value, data.annotation)
