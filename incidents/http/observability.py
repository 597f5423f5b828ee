"""What operators watch: ``/metrics``, ``/ready``, request ids and JSON logs.

Metrics are prometheus-client's. Under ``incidents serve`` every granian worker writes its
values to files in ``PROMETHEUS_MULTIPROC_DIR`` (the command makes and empties that
directory) and a scrape of any worker adds them all up; without the variable (tests, a
single embedded app) the process's own registry is read.

Each request gets an id: an incoming ``X-Request-ID`` when it is sane, else a new one. It is
echoed in the response, written on every log line of the request, and stored in the
metadata of the events the request appends (``correlation_id``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import uuid_utils
from litestar import Litestar, Request, Response, get
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.logging.config import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from incidents.correlation import request_id
from incidents.http.conventions import AllowHeaders
from incidents.live import LogFeed
from incidents.projections.reader import Projections
from incidents.service import LogService
from incidents.settings import Settings
from incidents.store.batching import Outcome
from incidents.store.factory import postgres_schema, sqlite_path
from incidents.store.protocol import ConcurrencyError, RuleViolation, StoreUnavailableError

METRICS_PREFIX = "incidents"


class _RouteSeries:
    """One route's labelled children for one method: in progress, and by status the request
    count, the latency and (5xx) the error count."""

    __slots__ = ("by_status", "in_progress")

    def __init__(self, in_progress: Any) -> None:
        self.in_progress = in_progress
        self.by_status: dict[int, tuple[Any, Any, Any | None]] = {}


class RouteMetricsMiddleware:
    """Litestar's Prometheus middleware, the same metrics and labels, with each route's
    labelled children looked up once per (method, route, status) and kept.

    Litestar's own builds a Request, parses the URL it then ignores (``group_path``) and calls
    ``labels()`` four times a request, each converting and locking; as a Litestar
    ``AbstractMiddleware`` it also matches its exclusions against each request's path. Here
    the metrics are Litestar's (made by its middleware), a route's exclusion is decided
    once, by its path template, and a request costs one dictionary look-up besides the
    observations. A config with extra labels, exemplars or excluded methods takes Litestar's
    middleware unchanged.
    """

    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        self.app = app
        self._litestar = PrometheusMiddleware(app, config)
        self._app_name = config.app_name
        self._plain = bool(
            config.group_path
            and not config.labels
            and not config.exemplars
            and not config.excluded_http_methods
            and not config.exclude_opt_key
        )
        self._routes: dict[tuple[str, str], _RouteSeries | None] = {}

    def _labels(self, method: str, path: str, status: int) -> dict[str, str | int | float]:
        return {"method": method, "path": path, "status_code": status, "app_name": self._app_name}

    def _route(self, method: str, path: str) -> _RouteSeries | None:
        """The route's children, or None when the config excludes its path template."""
        key = (method, path)
        if key not in self._routes:
            pattern = self._litestar.exclude_pattern
            if pattern is not None and pattern.search(path):
                self._routes[key] = None
            else:
                labels = self._labels(method, path, 200)
                gauge = self._litestar.requests_in_progress(labels)
                self._routes[key] = _RouteSeries(gauge.labels(*labels.values()))
        return self._routes[key]

    def _finished(self, route: _RouteSeries, method: str, path: str, status: int) -> Any:
        children = route.by_status.get(status)
        if children is None:
            labels = self._labels(method, path, status)
            values = [*labels.values()]
            errors = (
                self._litestar.requests_error_count(labels).labels(*values)
                if status >= HTTP_500_INTERNAL_SERVER_ERROR
                else None
            )
            children = (
                self._litestar.request_count(labels).labels(*values),
                self._litestar.request_time(labels).labels(*values),
                errors,
            )
            route.by_status[status] = children
        return children

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._plain:
            await self._litestar(scope, receive, send)
            return
        if scope["type"] not in self._litestar.scopes:
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["type"] == ScopeType.HTTP else scope["type"]
        path = scope["path_template"]
        route = self._routes.get((method, path)) or self._route(method, path)
        if route is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 200
        duration = 0.0

        async def timed_send(message: Message) -> None:
            nonlocal status, duration
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                duration = time.perf_counter() - started
            await send(message)

        route.in_progress.inc()
        try:
            await self.app(scope, receive, timed_send)
        finally:
            route.in_progress.dec()
            count, seconds, errors = self._finished(route, method, path, status)
            if errors is not None:
                errors.inc()
            count.inc()
            seconds.observe(duration)


# Requests by route template and status, with their latency.
PROMETHEUS = PrometheusConfig(
    app_name="incidents",
    prefix=METRICS_PREFIX,
    group_path=True,
    exclude=["^/metrics$", "^/static/"],
    buckets=[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
)

# The middleware counting them, installed on the app.
METRICS_MIDDLEWARE = DefineMiddleware(RouteMetricsMiddleware, config=PROMETHEUS)

APPENDS = Counter(
    "incidents_appends",
    "Stream appends the writer committed (an idempotent retry counts, storing nothing)",
)
EVENTS_APPENDED = Counter("incidents_events_appended", "Events stored by committed appends")
CONFLICTS = Counter(
    "incidents_append_conflicts", "Appends refused: the stream was not at the expected version"
)
RULE_REFUSALS = Counter(
    "incidents_rule_refusals", "Appends refused by a domain rule, by rule", ["rule"]
)
APPEND_FAILURES = Counter(
    "incidents_append_failures", "Appends refused or lost for another reason, by error", ["error"]
)
BATCH_APPENDS = Histogram(
    "incidents_batch_appends",
    "Appends per group-commit transaction",
    buckets=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
)
BATCH_SECONDS = Histogram(
    "incidents_batch_commit_seconds",
    "Seconds one group-commit transaction took, from hand-over to commit",
    buckets=[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
)
SSE_SUBSCRIBERS = Gauge(
    "incidents_sse_subscribers",
    "Clients connected to the live event feed",
    multiprocess_mode="livesum",
)
# Read at each scrape by the worker that answers it: the most recent value wins.
PROJECTION_LAG = Gauge(
    "incidents_projection_lag_events",
    "Events the read models held in memory have yet to fold (they catch up at each read)",
    multiprocess_mode="mostrecent",
)
HEAD_POSITION = Gauge(
    "incidents_log_head_position",
    "Position of the log's last event",
    multiprocess_mode="mostrecent",
)
DATABASE_BYTES = Gauge(
    "incidents_database_bytes",
    "Size of the database on disk (SQLite: the file and its WAL; PostgreSQL: the database)",
    multiprocess_mode="mostrecent",
)


# How often each worker writes its live feed's subscriber count into the shared gauge.
SUBSCRIBERS_SAMPLE_SECONDS = 1.0


async def sample_subscribers(feed: LogFeed) -> None:
    """Keep this worker's share of ``incidents_sse_subscribers`` current, until cancelled."""
    while True:
        SSE_SUBSCRIBERS.set(feed.subscriber_count)
        await asyncio.sleep(SUBSCRIBERS_SAMPLE_SECONDS)


def observe_batch(outcomes: Sequence[Outcome], seconds: float) -> None:
    """Count one group-commit transaction: its size, its time and each append's outcome."""
    BATCH_APPENDS.observe(len(outcomes))
    BATCH_SECONDS.observe(seconds)
    for outcome in outcomes:
        if isinstance(outcome, ConcurrencyError):
            CONFLICTS.inc()
        elif isinstance(outcome, RuleViolation):
            RULE_REFUSALS.labels(outcome.rule).inc()
        elif isinstance(outcome, BaseException):
            APPEND_FAILURES.labels(type(outcome).__name__).inc()
        else:
            APPENDS.inc(len(outcome))
            EVENTS_APPENDED.inc(sum(len(result.events) for result in outcome if result.created))


class DatabaseFacts(msgspec.Struct, frozen=True):
    """What a look at the database itself tells: its schema version and size."""

    schema_version: int | None
    latest_version: int | None
    size_bytes: int | None


def _sqlite_facts(path: str) -> DatabaseFacts:
    from incidents.store.migrations import LATEST_VERSION

    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    try:
        row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
    finally:
        connection.close()
    size = sum(os.path.getsize(name) for name in (path, f"{path}-wal") if os.path.exists(name))
    return DatabaseFacts(int(row[0] or 0), LATEST_VERSION, size)


async def _postgres_facts(database_url: str) -> DatabaseFacts:
    import asyncpg

    from incidents.store.postgres import LATEST_VERSION

    url, schema = postgres_schema(database_url)
    connection = await asyncpg.connect(url, timeout=5)
    try:
        version = await connection.fetchval(
            f'SELECT max(version) FROM "{schema or "public"}".schema_version'
        )
        size = await connection.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await connection.close()
    return DatabaseFacts(int(version or 0), LATEST_VERSION, int(size))


async def database_facts(database_url: str) -> DatabaseFacts:
    """The database's schema version (and the one this code knows) and its size on disk;
    None for what an in-memory log does not have."""
    scheme = database_url.partition(":")[0].lower()
    if scheme == "sqlite":
        return await asyncio.to_thread(_sqlite_facts, sqlite_path(database_url))
    if scheme in ("postgresql", "postgres"):
        return await _postgres_facts(database_url)
    return DatabaseFacts(None, None, None)


def projection_lag(projections: Projections, head: int) -> int:
    """Events the held read models have not folded yet (0 before their first read)."""
    held = projections.states
    try:
        return max(0, head - held.position)
    except RuntimeError:
        return 0


@get("/metrics", include_in_schema=False, opt={"role": "public"})
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every worker's metrics in Prometheus' text format, with the log's gauges read now."""
    app = request.app
    settings: Settings = app.state.settings
    service: LogService = app.state.service
    head = (await service.store.head()).position
    HEAD_POSITION.set(head)
    PROJECTION_LAG.set(projection_lag(app.state.projections, head))
    try:
        size = (await database_facts(settings.database_url)).size_bytes
    except Exception:  # a scrape still answers when the size cannot be read; /ready says why
        size = None
    if size is not None:
        DATABASE_BYTES.set(size)
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # A registry of its own each scrape, as prometheus-client's multiprocess docs say.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


class ReadyCheck(msgspec.Struct, frozen=True):
    """One readiness check and what it found."""

    ok: bool
    detail: str


class Readiness(msgspec.Struct, frozen=True):
    """``/ready``: ready when the database answers, its schema is current and the read
    models have caught up with the log."""

    status: str
    database: ReadyCheck
    migrations: ReadyCheck
    caught_up: ReadyCheck


@get(
    "/ready",
    tags=["service"],
    summary="Readiness: database, migrations, read models",
    opt={"role": "public"},
)
async def ready(
    service: NamedDependency[LogService],
    projections: NamedDependency[Projections],
    request: Request[Any, Any, Any],
) -> Response[Readiness]:
    """200 when the service can take traffic, 503 (with the failing checks) when not."""
    settings: Settings = request.app.state.settings
    try:
        head = (await service.store.head()).position
        database = ReadyCheck(True, f"log head at position {head}")
    except StoreUnavailableError as error:
        head = None
        database = ReadyCheck(False, str(error))
    try:
        facts = await database_facts(settings.database_url)
        if facts.schema_version is None:
            migrations = ReadyCheck(True, "in-memory log: no schema")
        elif facts.schema_version == facts.latest_version:
            migrations = ReadyCheck(True, f"schema version {facts.schema_version}")
        else:
            migrations = ReadyCheck(
                False,
                f"schema version {facts.schema_version}, this code expects {facts.latest_version}",
            )
    except Exception as error:  # any driver's failure: not ready, and say why
        migrations = ReadyCheck(False, f"{type(error).__name__}: {error}")
    if head is None:
        caught_up = ReadyCheck(False, "the log cannot be read")
    else:
        try:
            async with projections.states.current() as states:
                position = states.position
            caught_up = (
                ReadyCheck(True, f"read models at position {position}")
                if position >= head
                else ReadyCheck(False, f"read models at {position}, log at {head}")
            )
        except StoreUnavailableError as error:
            caught_up = ReadyCheck(False, str(error))
    is_ready = database.ok and migrations.ok and caught_up.ok
    body = Readiness("ready" if is_ready else "not ready", database, migrations, caught_up)
    return Response(body, status_code=200 if is_ready else 503)


# A client's id is kept when it is short and printable; anything else gets a fresh one.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_REQUEST_ID_HEADER = b"x-request-id"

access_log = logging.getLogger("incidents.access")


class _AccessRecords:
    """The access log's records, each made as a copy of one record of the access logger
    made at the first line, with its time, arguments, request id and fields set.

    ``Logger.makeRecord`` builds every attribute of a record again for each line (the file
    name split, the level's name looked up, ``extra`` checked key by key); an access line's
    differ only in those set here. The records go through ``Logger.handle`` as any other, so
    the handlers and filters configured (and pytest's ``caplog``) see them unchanged."""

    def __init__(self) -> None:
        self._template: dict[str, Any] = {}
        self._class: type[logging.LogRecord] = logging.LogRecord
        self._created = 0.0
        self._relative = 0.0

    def make(self, args: tuple[Any, ...], rid: str, fields: dict[str, Any]) -> logging.LogRecord:
        """A record of the access logger at INFO: ``"%s %s %s" % args`` with the fields."""
        if not self._template:
            first = access_log.makeRecord(
                access_log.name, logging.INFO, __file__, 0, "%s %s %s", (), None
            )
            self._template = dict(first.__dict__)
            self._class = type(first)
            self._created, self._relative = first.created, first.relativeCreated
        now = time.time()
        record = self._class.__new__(self._class)
        record.__dict__ = {
            **self._template,
            "created": now,
            "msecs": int((now - int(now)) * 1000) + 0.0,
            "relativeCreated": self._relative + (now - self._created) * 1000,
            "args": args,
            "request_id": rid,
            "fields": fields,
        }
        return record


_access_records = _AccessRecords()


def _log_access(scope: HTTPScope, rid: str, status: int, started: float) -> None:
    """One access line (the record is made without walking the stack for the caller's file
    and line, which the JSON lines do not write)."""
    method, path = scope["method"], scope["path"]
    client = scope.get("client")
    fields = {
        "method": method,
        "path": path,
        "query": scope.get("query_string", b"").decode("latin-1"),
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "client": client[0] if client else "",
    }
    access_log.handle(_access_records.make((method, path, status), rid, fields))


class ServedRequests:
    """The one ASGI wrapper around the whole app (404s too), one coroutine and one wrapped
    ``send`` a request: gives each request its id, echoes it in ``X-Request-ID`` and writes
    one access log line when the response is sent; answers ``HEAD`` as ``GET`` without the
    body, and names every method of the path in ``Allow`` on ``OPTIONS`` and ``405``
    (:mod:`incidents.http.conventions`)."""

    def __init__(self, app: ASGIApp, allow: AllowHeaders) -> None:
        self.app = app
        self.allow = allow

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope["headers"]:
            if name == _REQUEST_ID_HEADER:
                incoming = value.decode("latin-1")
                if _SANE_REQUEST_ID.match(incoming):
                    rid = incoming
                break
        if not rid:
            # A fresh id is a UUIDv7 as text, made without a uuid.UUID in between.
            rid = str(uuid_utils.uuid7())
        echoed = (_REQUEST_ID_HEADER, rid.encode("latin-1"))
        method = scope["method"]
        head = method == "HEAD"
        # HEAD runs as GET, so the headers (Content-Length, ETag) are the GET's.
        served: Scope = {**scope, "method": "GET"} if head else scope
        allow = self.allow
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        finished = False

        async def send_wrapped(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                if method == "OPTIONS" or status == 405:
                    headers = [
                        (name, allow(served, value) if name.lower() == b"allow" else value)
                        for name, value in message.get("headers", ())
                        if name.lower() != _REQUEST_ID_HEADER
                    ]
                else:
                    headers = [
                        header
                        for header in message.get("headers", ())
                        if header[0].lower() != _REQUEST_ID_HEADER
                    ]
                headers.append(echoed)
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                if finished:
                    return
                finished = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        try:
            await self.app(served, receive, send_wrapped)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                _log_access(scope, rid, status, started)
            request_id.reset(token)


_encode_log = msgspec.json.Encoder().encode


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request it was logged in, when it is made
    (a handler that formats later, on another thread, still writes the right id)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


_MILLISECONDS = tuple(f".{ms:03d}+00:00" for ms in range(1000))


class UtcMilliseconds:
    """A time stamp as ``datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")``
    writes it, the date and time to the second made once for each second: a served process
    writes a line a request, hundreds in a second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, stamp: float) -> str:
        """``stamp`` (seconds since the epoch) in ISO 8601, UTC, to the millisecond."""
        # datetime rounds a stamp to the microsecond, half to even, then writes the
        # milliseconds cut short.
        fraction, whole = math.modf(stamp)
        second, micro = int(whole), round(fraction * 1e6)
        if micro >= 1_000_000:
            second, micro = second + 1, micro - 1_000_000
        elif micro < 0:
            second, micro = second - 1, micro + 1_000_000
        if second != self._second:
            self._text = datetime.fromtimestamp(second, UTC).isoformat()[:19]
            self._second = second
        return self._text + _MILLISECONDS[micro // 1000]


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id and the record's
    ``fields`` (an access line's method, path, status and duration)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._time = UtcMilliseconds()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid is not None:
            line["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode_log(line).decode()


def json_logging() -> LoggingConfig:
    """Litestar's logging set up to write JSON lines to stderr, the access log included.

    The lines name no thread or process, so records are made without looking them up (a
    record is made for every request's access line)."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    return LoggingConfig(
        formatters={"json": {"()": JsonFormatter}},
        filters={"request_id": {"()": RequestIdFilter}},
        handlers={
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            },
        },
        root={"handlers": ["console"], "level": "INFO"},
        loggers={
            "litestar": {"level": "INFO", "propagate": True},
            "incidents": {"level": "INFO", "propagate": True},
        },
        # Server faults are logged where they are answered (problems.py); a client's
        # mistake is an access line with its 4xx, not a traceback.
        log_exceptions="never",
    )


def install_served_requests(app: Litestar, routes: Mapping[str, Iterable[str]]) -> None:
    """Wrap the app's request handling (routing and its errors included) in
    :class:`ServedRequests`, whose ``Allow`` headers name the methods ``routes`` gives a
    path template (read at the first answer that needs them, so routes added later count)."""
    app.asgi_handler = ServedRequests(app.asgi_handler, AllowHeaders(routes))


def forget_this_worker() -> None:
    """A stopping worker's live gauges (SSE subscribers) leave the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
