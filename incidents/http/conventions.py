"""HTTP conventions every read keeps: HEAD, Allow, ETags, Cache-Control and Link headers.

- ``HEAD`` on every ``GET``: the request runs as a ``GET`` and the body is dropped, so the
  headers (Content-Length, ETag) are the ones the ``GET`` would send. Done by the one wrapper
  around the whole application (with request ids, in :mod:`incidents.http.observability`),
  so routes added later answer ``HEAD`` too.
- ``Allow`` (on ``OPTIONS`` and on ``405``) lists every method the path answers, ``HEAD``
  included where there is a ``GET``: the methods the OpenAPI document declares for it.
  Litestar's own ``OPTIONS`` answer names only the handlers registered before the first of
  a path's controllers, so ``GET /events`` went missing beside ``POST /events``.
- :func:`read_response`: a read's answer with an ``ETag`` (its version where it has one,
  else a digest of its JSON), ``304 Not Modified`` when ``If-None-Match`` names it
  (weak tags compare by their opaque part, ``*`` matches anything), ``Cache-Control`` (full
  pages of the log never change: immutable for a year, as KurrentDB serves them; anything
  else is revalidated), and ``Link`` headers to the next, previous and first pages.
  Its body depends on ``Accept`` (JSON, or CSV: see :mod:`incidents.http.csv_export`), so
  it says ``Vary: Accept`` (RFC 9110 12.5.5), and the CSV answer's tag is the JSON one's
  with ``.csv`` inside the quotes: a tag held for one representation never answers ``304``
  for the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response

from incidents.http.csv_export import VARY, wants_csv

# Full pages of the log: the same events forever.
IMMUTABLE = "public, max-age=31536000, immutable"
# Anything that can change: keep it, but ask (If-None-Match) before using it again.
REVALIDATE = "no-cache"

_encode = msgspec.json.Encoder().encode


def allowed_methods(methods: Iterable[str]) -> list[str]:
    """The methods a path answers, given those its handlers take: ``HEAD`` beside ``GET``,
    ``OPTIONS`` everywhere."""
    found = {method.strip().upper() for method in methods} | {"OPTIONS"}
    if "GET" in found:
        found.add("HEAD")
    return sorted(found)


# What a response may vary on once Litestar's CORS middleware has replaced its ``Vary``.
_VARY_UNDER_CORS = b"Accept, Accept-Encoding, Origin"


def vary_kept_under_cors(app: Any) -> Any:
    """An ASGI app that gives back the ``Vary`` that Litestar's CORS middleware replaces.

    For an allowed origin that middleware sets ``Vary: Origin`` in place of what the
    response said (``Accept`` on reads with several representations, ``Accept-Encoding``
    from compression), so a cache could serve CSV for JSON. Wrapped outside it, this names
    all three wherever the header is ``Origin`` alone: varying on a header a response did not
    depend on costs a cache a miss, never a wrong answer. Installed only with CORS on."""

    async def handle(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_vary(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (
                        name,
                        _VARY_UNDER_CORS
                        if name.lower() == b"vary" and value.lower() == b"origin"
                        else value,
                    )
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_vary)

    return handle


class AllowHeaders:
    """The ``Allow`` header of a path: every method it answers (``routes``: path template →
    handlers' methods, read when the first answer needs it, so routes added later count).

    Applied to ``OPTIONS`` answers and ``405``s by the wrapper around the whole app,
    :class:`incidents.http.observability.ServedRequests`, which also answers ``HEAD`` as
    ``GET`` without the body."""

    def __init__(self, routes: Mapping[str, Iterable[str]] | None = None) -> None:
        self._routes = routes
        self._allow: dict[str, bytes] = {}

    def __call__(self, scope: Any, sent: bytes) -> bytes:
        """The header for ``scope``'s route; ``sent`` (what Litestar wrote) completed with
        ``HEAD`` and ``OPTIONS`` for a path outside the routes."""
        if self._routes is not None and not self._allow:
            self._allow.update(
                (path, ", ".join(allowed_methods(methods)).encode())
                for path, methods in self._routes.items()
            )
        template = scope.get("path_template")
        if template in self._allow:
            return self._allow[template]
        return ", ".join(allowed_methods(sent.decode("latin-1").split(","))).encode()


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = _opaque(etag)
    return any(_opaque(tag) == wanted for tag in if_none_match.split(","))


def variant(etag: str, name: str) -> str:
    """The tag of another representation of what ``etag`` names: ``name`` inside the
    quotes, weakness kept (``W/"ab"`` → ``W/"ab.csv"``)."""
    return f'{etag[:-1]}.{name}"'


def page_link(request: Request[Any, Any, Any], **changes: str | int | None) -> str:
    """The request's URL with some query parameters changed (None removes one)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    query += [(k, str(v)) for k, v in changes.items() if v is not None]
    return f"{request.url.path}?{urlencode(query)}" if query else request.url.path


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _digest_tag(body: Any) -> str:
    """A digest of the body's JSON. A view stamped with the time it was made
    (``generated_at``) gets a weak tag over everything else: two answers that differ only in
    the stamp are the same view."""
    if isinstance(body, msgspec.Struct) and hasattr(body, "generated_at"):
        unstamped = msgspec.structs.replace(body, generated_at=_EPOCH)
        return 'W/"' + hashlib.blake2b(_encode(unstamped), digest_size=16).hexdigest() + '"'
    return '"' + hashlib.blake2b(_encode(body), digest_size=16).hexdigest() + '"'


def read_response(
    request: Request[Any, Any, Any],
    body: Any,
    *,
    etag: str | None = None,
    immutable: bool = False,
    links: Mapping[str, str | None] | None = None,
) -> Response[Any]:
    """``body`` with its ETag, Cache-Control and Link headers, or a 304 when the client
    holds it already."""
    if etag is None:
        etag = _digest_tag(body)
    if wants_csv(request):
        etag = variant(etag, "csv")
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if immutable else REVALIDATE,
        "Vary": VARY,
    }
    if links:
        rendered = [f'<{url}>; rel="{rel}"' for rel, url in links.items() if url is not None]
        if rendered:
            headers["Link"] = ", ".join(rendered)
    if matches(request.headers.get("if-none-match"), etag):
        return Response(None, status_code=304, headers=headers)
    return Response(body, headers=headers)
