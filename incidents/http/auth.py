"""Who a request acts as, and what each role may do.

:func:`authenticate` (first in the app's ``before_request`` hook) reads ``Authorization:
Bearer <token>`` (or, for a browser session, the :data:`SESSION_COOKIE`), looks the token up
in the log's token store and puts a :class:`~incidents.tokens.Principal` in the request's
scope as ``user`` (None for a request without a token). It is a hook rather than Litestar's
authentication middleware: a middleware is one more layer every request and every message
of its answer pass through, with a connection object of its own built for each request.

A token that is presented and not valid is 401 at once, and counts against the client's
address: past ``auth_failures_per_minute`` failures in a minute, any request from it
that presents a token is 429 until the minute is over, so a token cannot be guessed by trying.

:func:`access_guard` (on the whole app) decides: reads need ``reader`` unless
``INCIDENTS_PUBLIC_READS`` is true, writes need ``writer``, and a handler may name its own role
in ``opt={"role": ...}`` (``"admin"`` for token management, ``"public"`` for ``/health``).
:data:`require_reader`, :data:`require_writer` and :data:`require_admin` are the same checks
as guards for one route. No principal where one is needed is 401 with
``WWW-Authenticate: Bearer``; a role too low is 403.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any, Final

from litestar import Litestar, Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ExceptionHandlersMap

from incidents.http.problems import problem
from incidents.tokens import Principal, Role, TokenStore

# The cookie a browser session carries: the token itself, set HttpOnly by the dashboard's
# sign-in. It counts for reads, and for writes only from the service's own origin.
SESSION_COOKIE: Final = "incidents_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FAILURE_WINDOW_SECONDS = 60.0


class AuthenticationRequiredError(Exception):
    """No valid token where the route needs one (401)."""

    def __init__(self, detail: str, invalid_token: bool = False) -> None:
        self.detail = detail
        self.invalid_token = invalid_token
        super().__init__(detail)


class RoleTooLowError(Exception):
    """The token's role is below what the route needs (403)."""

    def __init__(self, principal: Principal, needed: Role) -> None:
        self.principal = principal
        self.needed = needed
        super().__init__(
            f"token {principal.name!r} has the role {principal.role!r}; this needs {needed!r}"
        )


class TooManyFailuresError(Exception):
    """Too many invalid tokens from one address (429)."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__("too many invalid tokens from this address")


class FailedAttempts:
    """Invalid tokens presented per client address over the last minute."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def _recent(self, address: str) -> deque[float]:
        # get, not [] (a defaultdict): an address that failed nothing makes no entry.
        failures = self._failures.get(address)
        if failures is None:
            return deque()
        cutoff = self._clock() - _FAILURE_WINDOW_SECONDS
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return deque()
        return failures

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None if it may now."""
        failures = self._recent(address)
        if len(failures) < self.limit:
            return None
        return max(1, round(failures[0] + _FAILURE_WINDOW_SECONDS - self._clock()))

    def record(self, address: str) -> None:
        """One more invalid token from ``address``."""
        self._failures[address].append(self._clock())


def presented_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token a request presents: its bearer token, else its session cookie where that
    counts (any read; a write only with an ``Origin`` equal to the service's own)."""
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationRequiredError(
                "the Authorization header must read 'Bearer <token>'", invalid_token=True
            )
        return token.strip()
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    if connection.scope.get("method", "GET") in _SAFE_METHODS:
        return cookie
    origin = connection.headers.get("origin")
    own = f"{connection.url.scheme}://{connection.url.netloc}"
    return cookie if origin == own else None


def tokens_of(app: Litestar) -> TokenStore:
    """The token store the app opened (for a sign-in page checking a token)."""
    tokens: TokenStore = app.state.tokens
    return tokens


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Put the presented token's Principal in the scope as ``user`` (None when none is
    presented, and for ``OPTIONS``); 401 or 429 when it does not hold. Once a request."""
    scope = connection.scope
    if "user" in scope:
        return
    if scope.get("method") == "OPTIONS":
        scope["user"] = scope["auth"] = None
        return
    client = scope.get("client")
    address = client[0] if client else "unknown"
    failures: FailedAttempts = connection.app.state.failed_attempts
    try:
        token = presented_token(connection)
    except AuthenticationRequiredError:
        failures.record(address)
        raise
    if token is None:
        scope["user"] = scope["auth"] = None
        return
    wait = failures.retry_after(address)
    if wait is not None:
        raise TooManyFailuresError(wait)
    principal = await tokens_of(connection.app).authenticate(token)
    if principal is None:
        failures.record(address)
        raise AuthenticationRequiredError(
            "the token is not valid: unknown, revoked or malformed", invalid_token=True
        )
    scope["user"] = principal
    scope["auth"] = token


def _check(connection: ASGIConnection[Any, Any, Any, Any], needed: Role) -> None:
    principal = connection.scope.get("user")
    if principal is None:
        if needed == "reader" and connection.app.state.public_reads:
            return
        raise AuthenticationRequiredError(f"this needs a token with the role {needed!r}")
    assert isinstance(principal, Principal)
    if not principal.may(needed):
        raise RoleTooLowError(principal, needed)


def requires(
    role: Role,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """A guard letting through principals with ``role`` or above."""

    # Guards are coroutines: Litestar runs a plain function guard in a worker thread, a
    # hand-off that cost more than the check itself on every request.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # A route's guards run before the app's before_request hook authenticates.
        await authenticate(connection)
        _check(connection, role)

    guard.__name__ = f"require_{role}"
    return guard


require_reader = requires("reader")
require_writer = requires("writer")
require_admin = requires("admin")


async def access_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The app's default: the handler's ``opt["role"]``, else reader for reads and writer
    for writes; the OpenAPI documents and ``"public"`` handlers need nothing (a coroutine,
    so that Litestar runs it on the loop rather than in a thread)."""
    method = connection.scope.get("method", "GET")
    if method == "OPTIONS":
        return
    role = handler.opt.get("role")
    if role == "public":
        return
    openapi = connection.app.openapi_config
    if openapi is not None and openapi.path and connection.scope["path"].startswith(openapi.path):
        return
    _check(connection, role or ("reader" if method in _SAFE_METHODS else "writer"))


def actor_of(request: Request[Any, Any, Any]) -> str | None:
    """The name of the token a request acts with (the ``actor`` of what it appends)."""
    principal = request.scope.get("user")
    return principal.name if isinstance(principal, Principal) else None


def _unauthenticated(_: Request[Any, Any, Any], exc: AuthenticationRequiredError) -> Response[Any]:
    challenge = 'Bearer error="invalid_token"' if exc.invalid_token else "Bearer"
    return problem(
        401,
        "/problems/unauthorized",
        "Authentication required",
        f"{exc.detail}; send 'Authorization: Bearer <token>'",
        headers={"WWW-Authenticate": challenge},
    )


def _forbidden(_: Request[Any, Any, Any], exc: RoleTooLowError) -> Response[Any]:
    return problem(403, "/problems/forbidden", "Role too low", str(exc), role=exc.needed)


def _too_many(_: Request[Any, Any, Any], exc: TooManyFailuresError) -> Response[Any]:
    return problem(
        429,
        "/problems/too-many-failed-attempts",
        "Too many requests",
        f"{exc}; wait {exc.retry_after} s before presenting a token again",
        headers={"Retry-After": str(exc.retry_after)},
    )


AUTH_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    AuthenticationRequiredError: _unauthenticated,
    RoleTooLowError: _forbidden,
    TooManyFailuresError: _too_many,
}
