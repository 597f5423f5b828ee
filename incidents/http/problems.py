"""Every error as ``application/problem+json`` (RFC 9457), mapped in this one place.

Each problem has ``type`` (a path under ``/problems/`` that docs/api.md explains), ``title``,
``status`` and ``detail``, plus the fields the contract names: ``current_version`` on a
wrong expected version, ``event_index``/``append_index`` and ``rule`` on a broken rule, and
``errors: [{pointer | parameter | header, detail}]`` on every validation error (400). Each
``type`` answers ``GET`` with a short page that explains it (:class:`ProblemTypeController`).
Problem details never carry driver text, hosts or paths: those go to the server's log.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

import msgspec
from litestar import Controller, MediaType, Request, Response, get
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from msgspec import Meta

from incidents.projections.in_time import PastCursorError
from incidents.projections.reader import CursorError
from incidents.service import StreamNotFoundError
from incidents.store.protocol import (
    ConcurrencyError,
    DuplicateEventError,
    InvalidAppendError,
    RuleViolation,
    StoreUnavailableError,
)

logger = logging.getLogger("incidents.http")

PROBLEM_MEDIA_TYPE = "application/problem+json"

# The slug of each status's problem type, under /problems/.
PROBLEM_SLUGS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    411: "length-required",
    412: "precondition-failed",
    413: "body-too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "too-many-requests",
    500: "internal-error",
    503: "service-unavailable",
}

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


class FieldError(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One thing wrong with a request: where (one of pointer, parameter, header) and what."""

    detail: Annotated[str, Meta(description="What is wrong there")]
    pointer: Annotated[
        str | None,
        Meta(description="RFC 6901 JSON Pointer into the body, as /events/0/data/sent_at"),
    ] = None
    parameter: Annotated[str | None, Meta(description="The query or path parameter, by name")] = (
        None
    )
    header: Annotated[str | None, Meta(description="The request header, by name")] = None


class BadRequestError(Exception):
    """The request is malformed (400); ``errors`` says where, when it is known."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        self.detail = detail
        self.errors = errors or []
        super().__init__(detail)


class ParameterError(BadRequestError):
    """A query, path or header parameter is malformed (400)."""

    def __init__(self, location: str, name: str, detail: str) -> None:
        where = {"header": name} if location == "header" else {"parameter": name}
        super().__init__(detail, [FieldError(detail=detail, **where)])


class DataRuleError(Exception):
    """The body matches its schema but breaks a rule between fields of one value (422)."""

    def __init__(self, error: FieldError) -> None:
        self.error = error
        super().__init__(error.detail)


class PreconditionsDisagreeError(Exception):
    """If-Match and expected_version name versions that cannot both hold (412)."""


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem, as documented in the OpenAPI document.

    The optional fields appear on the problems that carry them (docs/api.md).
    """

    type: Annotated[str, Meta(description="A path under /problems/ that explains it")]
    title: Annotated[str, Meta(description="The kind of problem, the same for every instance")]
    status: Annotated[int, Meta(description="The HTTP status")]
    detail: Annotated[str, Meta(description="What went wrong in this request")]
    errors: Annotated[
        list[FieldError] | None,
        Meta(description="Every validation error of the request (400), all at once"),
    ] = None
    current_version: int | None = None
    expected_version: int | str | None = None
    stream_id: str | None = None
    event_id: str | None = None
    rule: str | None = None
    event_index: int | None = None
    append_index: int | None = None


def problem_spec(description: str) -> ResponseSpec:
    """A problem answer as the OpenAPI document describes it."""
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )


# What each kind of operation may answer besides success, for the OpenAPI document.
READ_PROBLEMS = {
    400: problem_spec("A query parameter or stream id is malformed"),
    404: problem_spec("The stream has no events"),
}
APPEND_PROBLEMS = {
    400: problem_spec("Malformed JSON, or a body or event data that does not match its schema"),
    409: problem_spec("Wrong expected version, or an event id stored with other content"),
    413: problem_spec("The body is over the size limit"),
    415: problem_spec("The body is not application/json (or a +json type)"),
    422: problem_spec("An event breaks a domain rule; nothing was stored"),
    503: problem_spec("The log stayed locked past the busy timeout; nothing was stored"),
}
STREAM_APPEND_PROBLEMS = {
    **APPEND_PROBLEMS,
    412: problem_spec("If-Match and expected_version name versions that cannot both hold"),
}
QUERY_PROBLEMS = {400: problem_spec("A query parameter is malformed")}
PAGE_PROBLEMS = {
    **QUERY_PROBLEMS,
    422: problem_spec("after names no row of this view to go on from"),
}


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


class StoreFault(NamedTuple):
    """How the service answers a fault of its database: the line the server's log gets (at
    ``level``, naming the request and the driver's words) and the problem the client gets
    (never the driver's words: they may name hosts, ports and paths)."""

    level: int
    logged: str
    status: int
    slug: str
    title: str
    detail: str
    retry_after: str | None = None

    def problem(self) -> Response[dict[str, Any]]:
        """The problem the client gets."""
        headers = None if self.retry_after is None else {"Retry-After": self.retry_after}
        return problem(
            self.status, f"/problems/{self.slug}", self.title, self.detail, headers=headers
        )

    def log(self, request: Request[Any, Any, Any], exc: Exception) -> None:
        """The server's log line."""
        logger.log(
            self.level, "%s on %s %s: %s", self.logged, request.method, request.url.path, exc
        )

    def handler(self) -> Callable[[Request[Any, Any, Any], Exception], Response[Any]]:
        """An exception handler that logs and answers so."""

        def answer(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
            self.log(request, exc)
            return self.problem()

        return answer


_unavailable = StoreFault(
    logging.WARNING,
    "store unavailable",
    503,
    "store-busy",
    "The log is busy",
    "the log could not take the request in time; nothing was stored, retry the request",
    retry_after="1",
).handler()


_encode_errors = msgspec.to_builtins


def _bad_request(_: Request[Any, Any, Any], exc: BadRequestError) -> Response[dict[str, Any]]:
    extra: dict[str, Any] = {"errors": _encode_errors(exc.errors)} if exc.errors else {}
    return problem(400, "/problems/bad-request", "Bad request", exc.detail, **extra)


def _invalid_append(_: Request[Any, Any, Any], exc: InvalidAppendError) -> Response[dict[str, Any]]:
    return problem(
        400, "/problems/bad-request", "Bad request", exc.detail, append_index=exc.append_index
    )


def _unknown_cursor(
    _: Request[Any, Any, Any], exc: CursorError | PastCursorError
) -> Response[dict[str, Any]]:
    errors = [FieldError(detail=str(exc), parameter="after")]
    return problem(
        422,
        "/problems/unknown-cursor",
        "Unknown cursor",
        str(exc),
        errors=_encode_errors(errors),
    )


def _data_rule(_: Request[Any, Any, Any], exc: DataRuleError) -> Response[dict[str, Any]]:
    return problem(
        422,
        "/problems/rules/data-invalid",
        "Event breaks a domain rule",
        f"{exc.error.pointer}: {exc.error.detail}",
        rule="data-invalid",
        errors=_encode_errors([exc.error]),
    )


def _disagree(
    _: Request[Any, Any, Any], exc: PreconditionsDisagreeError
) -> Response[dict[str, Any]]:
    return problem(
        412,
        "/problems/precondition-failed",
        "Precondition failed",
        str(exc),
        errors=_encode_errors([FieldError(detail=str(exc), header="If-Match")]),
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
    if isinstance(exc, ValidationException):
        extra["errors"] = _encode_errors(_litestar_errors(request, exc))
    elif isinstance(exc, ProblemDetailsException) and isinstance(exc.extra, dict):
        extra.update(exc.extra)
    title = _TITLES.get(status, "Client error")
    return problem(
        status,
        f"/problems/{PROBLEM_SLUGS.get(status, 'client-error')}",
        title,
        exc.detail or title,
        headers=exc.headers,
        **extra,
    )


def _aliases(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The handler's parameters: Python name → the name a client uses (``type_`` → ``type``)."""
    aliases: dict[str, str] = {}
    try:
        parameters = request.route_handler.parsed_fn_signature.parameters
    except Exception:  # no handler was matched (an unknown path)
        return aliases
    for name, field in parameters.items():
        definition = field.kwarg_definition
        alias = (
            getattr(definition, "name", None)
            or getattr(definition, "query", None)
            or getattr(definition, "header", None)
        )
        aliases[name] = alias or name
    return aliases


def _litestar_errors(request: Request[Any, Any, Any], exc: ValidationException) -> list[FieldError]:
    """Litestar's own validation errors (parameters, a missing body) in this API's shape."""
    found: list[FieldError] = []
    aliases = _aliases(request)
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid"))
        key = str(item.get("key", ""))
        key = aliases.get(key, key)
        source = item.get("source")
        if source == "header":
            found.append(FieldError(detail=message, header=key))
        elif source in ("query", "path", "cookie"):
            found.append(FieldError(detail=message, parameter=key))
        else:
            found.append(FieldError(detail=message or "the body is missing", pointer=""))
    return found or [FieldError(detail=exc.detail or "invalid", pointer="")]


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        "/problems/internal-error",
        "Internal server error",
        "the server failed; the error is in its log",
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ConcurrencyError: _concurrency,
    DuplicateEventError: _duplicate,
    RuleViolation: _rule,
    StoreUnavailableError: _unavailable,
    BadRequestError: _bad_request,
    InvalidAppendError: _invalid_append,
    StreamNotFoundError: _not_found,
    CursorError: _unknown_cursor,
    PastCursorError: _unknown_cursor,
    DataRuleError: _data_rule,
    PreconditionsDisagreeError: _disagree,
    HTTPException: _http,
    Exception: _internal,
}


# What each problem type means, served at its ``type`` URI.
PROBLEM_PAGES: dict[str, tuple[str, str]] = {
    "bad-request": (
        "Bad request",
        "The request is malformed: JSON that does not parse, a key twice in one object, a body "
        "or parameter that does not match its schema, or a query parameter the operation does "
        "not take. errors lists every mistake found, each with a JSON Pointer into the body "
        "(pointer), a parameter name (parameter) or a header name (header).",
    ),
    "not-found": ("Not found", "No resource answers at this path."),
    "unknown-cursor": (
        "Unknown cursor",
        "A page's after names no row the view can go on from: pass the next_after of the "
        "previous page as it was given.",
    ),
    "stream-not-found": (
        "Stream not found",
        "The stream has no events. Streams begin with their first event; none is ever deleted.",
    ),
    "method-not-allowed": ("Method not allowed", "The path does not take this method."),
    "not-acceptable": ("Not acceptable", "The server cannot answer in a type Accept allows."),
    "conflict": ("Conflict", "The request conflicts with the log's current state."),
    "wrong-expected-version": (
        "Wrong expected version",
        "The stream is not at the version the request expected (expected_version or "
        "If-Match). current_version says where it is: read it, decide again, retry.",
    ),
    "duplicate-event-id": (
        "Event id already used",
        "An event with this event_id is stored with other content. Re-sending the same "
        "event with the same content is an idempotent retry (200); other content is refused.",
    ),
    "length-required": ("Length required", "The request must say how long its body is."),
    "precondition-failed": ("Precondition failed", "A condition of the request does not hold."),
    "body-too-large": (
        "Request body too large",
        "The body is over the size limit (INCIDENTS_MAX_BODY_BYTES, 1 MiB by default).",
    ),
    "unsupported-media-type": (
        "Unsupported media type",
        "Bodies are JSON: send Content-Type: application/json (or a +json type).",
    ),
    "unprocessable": ("Unprocessable", "The request is well-formed but cannot be carried out."),
    "too-many-requests": ("Too many requests", "Slow down and retry after Retry-After seconds."),
    "store-busy": (
        "The log is busy",
        "The log could not take the request within its busy timeout. Nothing was stored; "
        "retry after Retry-After seconds.",
    ),
    "service-unavailable": ("Service unavailable", "Retry after Retry-After seconds."),
    "internal-error": (
        "Internal server error",
        "The server failed. Nothing the client sent caused it on purpose; the error is in the "
        "server's log.",
    ),
    "client-error": ("Client error", "The request cannot be answered as it is."),
}
_RULE_PAGE = (
    "An event breaks the domain rule {rule}: the problem's detail says how, event_index names "
    "the event and append_index the append. Nothing was stored. docs/events.md lists every "
    "rule."
)
_RULE_NAME = re.compile(r"[a-z][a-z-]{0,63}")
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{text}</p>
<p>Problems are answered as application/problem+json (RFC 9457); this page is the problem
type <code>{path}</code>.</p></body></html>
"""


class ProblemTypeController(Controller):
    """``/problems/...``: what each problem ``type`` means, as a short page."""

    path = "/problems"
    tags = ["service"]
    include_in_schema = False

    @get("/{slug:str}", media_type=MediaType.HTML, sync_to_thread=False)
    def problem_type(self, slug: Annotated[str, PathParameter(max_length=64)]) -> str:
        """The page of a problem type."""
        page = PROBLEM_PAGES.get(slug)
        if page is None:
            raise NotFoundException(f"no problem type {slug!r}")
        title, text = page
        return _PAGE.format(title=title, text=html.escape(text), path=f"/problems/{slug}")

    @get("/rules/{rule:str}", media_type=MediaType.HTML, sync_to_thread=False)
    def rule(self, rule: Annotated[str, PathParameter(max_length=64)]) -> str:
        """The page of a broken domain rule."""
        if not _RULE_NAME.fullmatch(rule):
            raise NotFoundException(f"no rule {rule!r}")
        return _PAGE.format(
            title=f"Broken rule: {rule}",
            text=_RULE_PAGE.format(rule=rule),
            path=f"/problems/rules/{rule}",
        )
