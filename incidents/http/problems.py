"""Every error as ``application/problem+json`` (RFC 9457), mapped in this one place.

Each problem has ``type`` (a path under ``/problems/`` that docs/api.md explains), ``title``,
``status`` and ``detail``, plus the fields the contract names: ``current_version`` on a
wrong expected version, ``event_index``/``append_index`` and ``rule`` on a broken rule.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from incidents.service import BadRequestError, StreamNotFoundError
from incidents.store.protocol import (
    ConcurrencyError,
    DuplicateEventError,
    InvalidAppendError,
    RuleViolation,
    StoreUnavailableError,
)

logger = logging.getLogger("incidents.http")

PROBLEM_MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    411: "Length required",
    412: "Precondition failed",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable event",
    429: "Too many requests",
    503: "Service unavailable",
}


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem, as documented in the OpenAPI document.

    The optional fields appear on the problems that carry them (docs/api.md).
    """

    type: str
    title: str
    status: int
    detail: str
    current_version: int | None = None
    expected_version: int | str | None = None
    stream_id: str | None = None
    event_id: str | None = None
    rule: str | None = None
    event_index: int | None = None
    append_index: int | None = None
    pointer: str | None = None


def _spec(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )


# What each kind of operation may answer besides success, for the OpenAPI document.
READ_PROBLEMS = {
    400: _spec("A query parameter or stream id is malformed"),
    404: _spec("The stream has no events"),
}
APPEND_PROBLEMS = {
    400: _spec("Malformed JSON, or a body or event data that does not match its schema"),
    409: _spec("Wrong expected version, or an event id stored with other content"),
    413: _spec("The body is over the size limit"),
    422: _spec("An event breaks a domain rule; nothing was stored"),
    503: _spec("The log stayed locked past the busy timeout; nothing was stored"),
}
QUERY_PROBLEMS = {400: _spec("A query parameter is malformed")}


def problem(
    status: int,
    type_: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """A problem+json response."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _concurrency(_: Request[Any, Any, Any], exc: ConcurrencyError) -> Response[dict[str, Any]]:
    return problem(
        409,
        "/problems/wrong-expected-version",
        "Wrong expected version",
        str(exc),
        stream_id=exc.stream_id,
        expected_version=exc.expected,
        current_version=exc.current_version,
        append_index=exc.append_index,
    )


def _duplicate(_: Request[Any, Any, Any], exc: DuplicateEventError) -> Response[dict[str, Any]]:
    return problem(
        409,
        "/problems/duplicate-event-id",
        "Event id already used",
        str(exc),
        event_id=str(exc.event_id),
        append_index=exc.append_index,
    )


def _rule(_: Request[Any, Any, Any], exc: RuleViolation) -> Response[dict[str, Any]]:
    return problem(
        422,
        f"/problems/rules/{exc.rule}",
        "Event breaks a domain rule",
        f"event {exc.event_index} of append {exc.append_index}: {exc.detail}",
        rule=exc.rule,
        event_index=exc.event_index,
        append_index=exc.append_index,
    )


def _unavailable(_: Request[Any, Any, Any], exc: StoreUnavailableError) -> Response[dict[str, Any]]:
    return problem(
        503,
        "/problems/store-busy",
        "The log is busy",
        f"{exc}; nothing was stored, retry the request",
        headers={"Retry-After": "1"},
    )


def _bad_request(_: Request[Any, Any, Any], exc: BadRequestError) -> Response[dict[str, Any]]:
    extra: dict[str, Any] = {"pointer": exc.pointer} if exc.pointer else {}
    return problem(400, "/problems/bad-request", "Bad request", exc.detail, **extra)


def _invalid_append(_: Request[Any, Any, Any], exc: InvalidAppendError) -> Response[dict[str, Any]]:
    return problem(
        400, "/problems/bad-request", "Bad request", exc.detail, append_index=exc.append_index
    )


def _not_found(_: Request[Any, Any, Any], exc: StreamNotFoundError) -> Response[dict[str, Any]]:
    return problem(
        404, "/problems/stream-not-found", "Stream not found", str(exc), stream_id=exc.stream_id
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        return _internal(request, exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        extra["errors"] = exc.extra
    elif isinstance(exc, ProblemDetailsException) and isinstance(exc.extra, dict):
        extra.update(exc.extra)
    title = _TITLES.get(status, "Client error")
    return problem(
        status,
        "about:blank" if status != 400 else "/problems/bad-request",
        title,
        exc.detail or title,
        headers=exc.headers,
        **extra,
    )


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500, "about:blank", "Internal server error", "the server failed; the error is in its log"
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ConcurrencyError: _concurrency,
    DuplicateEventError: _duplicate,
    RuleViolation: _rule,
    StoreUnavailableError: _unavailable,
    BadRequestError: _bad_request,
    InvalidAppendError: _invalid_append,
    StreamNotFoundError: _not_found,
    HTTPException: _http,
    Exception: _internal,
}
