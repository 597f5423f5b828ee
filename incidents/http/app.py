"""``create_app(settings)``: the Litestar application, its resources and its error mapping."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.routes import HTTPRoute
from litestar.types.internal_types import PathParameterDefinition

import incidents
from incidents.domain.rules import DomainRules
from incidents.http import observability
from incidents.http.auth import (
    AUTH_EXCEPTION_HANDLERS,
    FailedAttempts,
    access_guard,
    authenticate,
)
from incidents.http.conventions import vary_kept_under_cors
from incidents.http.csv_export import check_format, negotiate
from incidents.http.dashboard.pages import TEMPLATES, dashboard_handlers
from incidents.http.dashboard.writing import WritingController, csrf_config
from incidents.http.decoding import StrictRequest
from incidents.http.desk import DeskController, SearchController, TimelineController
from incidents.http.faults import (
    FAULT_EXCEPTION_HANDLERS,
    Faults,
    quick_check,
    refuse_writes_when_corrupt,
)
from incidents.http.limits import LIMIT_EXCEPTION_HANDLERS, body_read_timeout_middleware
from incidents.http.live import LiveController, LiveOptions, streams_end_on_shutdown
from incidents.http.openapi import SCHEMA_PATH, FinishedDocument, OfflineReference
from incidents.http.problems import EXCEPTION_HANDLERS, ProblemTypeController
from incidents.http.projections import MissionController, ProjectionController
from incidents.http.query import refuse_unknown_query_parameters
from incidents.http.streams import LogController, StreamController
from incidents.http.tokens import TokenController
from incidents.live import LogFeed
from incidents.projections.desk_index import DeskIndex
from incidents.projections.inline import inline_projections
from incidents.projections.reader import Projections
from incidents.projections.search import SearchIndex
from incidents.service import LogService
from incidents.settings import Settings
from incidents.store.batching import GroupCommitFront
from incidents.store.factory import open_store, sqlite_path
from incidents.store.protocol import LogHead, StoreUnavailableError
from incidents.tokens import open_tokens

# The cycle collector's first threshold in a served process. A request allocates many
# containers and reference counting frees nearly all of them, so at Python's default (700)
# the collector would run every few appends and sweep the whole heap with the loop and the
# writer stopped; at 7,000 it runs about once a second under load (docs/benchmarks.md).
SERVED_GC_THRESHOLD = 7000


logger = logging.getLogger("incidents.http")


def _now() -> datetime:
    return datetime.now(UTC)


class Health(msgspec.Struct, frozen=True):
    """Liveness and the log's head."""

    status: str
    head_position: int
    head_hash: str


@get("/health", tags=["service"], summary="Liveness and the log's head", opt={"role": "public"})
async def get_health(
    request: Request[Any, Any, Any], service: NamedDependency[LogService]
) -> Health:
    """The process answers: liveness, with the log's head. When the log cannot be read now
    (a table locked by an administrator, the database away), the head it last read: a
    liveness probe must not restart a process that serves; ``/ready`` says the database's
    state."""
    try:
        head = await service.store.head()
    except StoreUnavailableError:
        last: LogHead | None = getattr(request.app.state, "last_head", None)
        if last is None:
            raise
        head = last
    request.app.state.last_head = head
    return Health("ok", head.position, head.hash)


async def _before_request(request: Request[Any, Any, Any]) -> None:
    """Who asks and who may ask, then what is asked: the token, the access check and the
    refusal of writes to a damaged database, then a query parameter the operation does not
    take and a bad ``format``. The checks are made here rather than as guards: Litestar
    copies the route handler for each guard it calls, on every request. (A coroutine, so
    that Litestar runs it on the loop rather than in a thread.)"""
    handler = request.route_handler
    await authenticate(request)
    await access_guard(request, handler)
    await refuse_writes_when_corrupt(request, handler)
    refuse_unknown_query_parameters(request)
    check_format(request)


def _cors(settings: Settings) -> CORSConfig | None:
    """CORS for the origins ``INCIDENTS_CORS_ORIGINS`` names; off when it names none."""
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "If-Match",
            "If-None-Match",
            "Last-Event-ID",
        ],
        expose_headers=["ETag", "Link", "Location", "Retry-After"],
    )


class _RouteMethods(Mapping[str, frozenset[str]]):
    """Path template → the methods its handlers take, read from the app's routes when asked
    (routes can be registered after the app is built)."""

    def __init__(self, app: Litestar) -> None:
        self._app = app

    def _methods(self) -> dict[str, frozenset[str]]:
        return {
            route.path_format: frozenset(route.methods)
            for route in self._app.routes
            if isinstance(route, HTTPRoute)
        }

    def __getitem__(self, path: str) -> frozenset[str]:
        return self._methods()[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._methods())

    def __len__(self) -> int:
        return len(self._methods())


def operation_id(
    handler: HTTPRouteHandler, method: Any, _: list[str | PathParameterDefinition]
) -> str:
    """A readable operationId: the handler function's name in camelCase (appendToStream)."""
    first, *rest = handler.handler_name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application; the store opens when it starts and closes when it stops."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        store = await open_store(
            settings.database_url, DomainRules(), settings, projections=inline_projections()
        )
        if isinstance(store, GroupCommitFront):
            store.batch_observer = observability.observe_batch
        app.state.settings = settings
        app.state.service = LogService(store, _now)
        app.state.projections = Projections(store, settings.reply_window_days, _now)
        app.state.feed = LogFeed(store, settings.live_buffer_bytes)
        app.state.desk = DeskIndex(store, settings.reply_window_days, _now)
        app.state.search = SearchIndex(store)
        sampler = asyncio.create_task(observability.sample_subscribers(app.state.feed))
        app.state.tokens = open_tokens(settings.database_url, settings.busy_timeout)
        if settings.database_url.partition(":")[0].lower() == "sqlite":
            found = await asyncio.to_thread(quick_check, sqlite_path(settings.database_url))
            if found is not None:
                logger.critical("the database file is damaged (PRAGMA quick_check): %s", found)
                app.state.faults.corrupt = found
        try:
            await app.state.feed.start()
            with streams_end_on_shutdown(app.state.feed):
                yield
        finally:
            sampler.cancel()
            await app.state.feed.stop()
            await app.state.tokens.close()
            await store.close()
            observability.forget_this_worker()

    live_options = LiveOptions(settings.live_keepalive_seconds)

    def provided(name: str) -> Provide:
        # A provider that asks for ``state`` has Litestar build and validate a State for it
        # on every request: each reads the app's state directly instead.
        return Provide(lambda: getattr(app.state, name), sync_to_thread=False)

    app = Litestar(
        route_handlers=[
            StreamController,
            LogController,
            LiveController,
            ProjectionController,
            MissionController,
            TimelineController,
            DeskController,
            SearchController,
            ProblemTypeController,
            TokenController,
            get_health,
            observability.ready,
            observability.metrics,
            *dashboard_handlers(WritingController, csrf_config(settings.csrf_secret)),
        ],
        template_config=TEMPLATES,
        request_class=StrictRequest,
        # Answers of 1 KiB or more are gzipped for clients that accept it, at level 1: the
        # relations view (279 KB of JSON at 200,000 events) takes 17 ms at Litestar's
        # default 9 and 2.5 ms at 1, for 37 KB instead of 26.
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1024, gzip_compress_level=1
        ),
        cors_config=_cors(settings),
        before_request=_before_request,
        after_request=negotiate,
        middleware=[
            observability.METRICS_MIDDLEWARE,
            body_read_timeout_middleware(settings.body_read_timeout),
        ],
        logging_config=observability.json_logging(),
        lifespan=[lifespan],
        dependencies={
            **{
                name: provided(name)
                for name in ("service", "projections", "feed", "desk", "search")
            },
            "live_options": Provide(lambda: live_options, sync_to_thread=False),
        },
        exception_handlers={
            **EXCEPTION_HANDLERS,
            **AUTH_EXCEPTION_HANDLERS,
            **LIMIT_EXCEPTION_HANDLERS,
            **FAULT_EXCEPTION_HANDLERS,
        },
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Incidents log",
            version=incidents.__version__,
            description="An event-sourced log of incidents against diplomatic missions, "
            "the notes missions and ministries exchange, protests and their responses.",
            path=SCHEMA_PATH,
            render_plugins=[OfflineReference(), FinishedDocument()],
            use_handler_docstrings=True,
            operation_id_creator=operation_id,
        ),
    )
    # Request ids and the access line; HEAD on every GET, routes added later included
    # (Litestar's router would answer 405), and Allow naming every method of a path.
    observability.install_served_requests(app, _RouteMethods(app))
    app.state.faults = Faults()
    if app.cors_config is not None:
        app.asgi_handler = vary_kept_under_cors(app.asgi_handler)
    app.state.public_reads = settings.public_reads
    app.state.failed_attempts = FailedAttempts(settings.auth_failures_per_minute)
    return app


def tune_collector_for_serving() -> None:
    """Move what start-up built out of the collector's sight and let it run less often.

    Modules, routes, the OpenAPI document and the domain's catalogues live as long as the
    process; frozen, they are never traversed again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(SERVED_GC_THRESHOLD)


def app_factory() -> Litestar:
    """Entry point for the ASGI server: settings from the environment."""
    app = create_app()
    tune_collector_for_serving()
    return app
