"""Streams and the global log: append, read a stream, read a stream's state, read the log.

Controllers only translate: parse, call the service or the store, map the result.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from litestar.response import ServerSentEvent, Stream
from litestar.response.base import ASGIResponse

from incidents.core.envelope import RecordedEvent
from incidents.domain.state import encode_state, is_open, mission_of
from incidents.http.auth import actor_of
from incidents.http.bodies import (
    MAX_VERSION,
    AppendBody,
    AppendedOut,
    AppendOut,
    AppendWarning,
    Category,
    EventTypeName,
    LogPageOut,
    MultiAppendBody,
    MultiAppendOut,
    StreamEventsOut,
    StreamStateOut,
)
from incidents.http.conventions import page_link, read_response
from incidents.http.csv_export import VARY, csv_stream, event_lines, wants_csv
from incidents.http.live import LiveOptions, live_response
from incidents.http.problems import (
    APPEND_PROBLEMS,
    QUERY_PROBLEMS,
    READ_PROBLEMS,
    STREAM_APPEND_PROBLEMS,
    ParameterError,
    PreconditionsDisagreeError,
)
from incidents.http.projections import AsOfQuery, DatesQuery, KnownAtQuery
from incidents.http.projections import moment as in_time
from incidents.live import LogFeed
from incidents.projections.in_time import Moment
from incidents.projections.reader import Projections
from incidents.service import LogService, ReferenceWarning, StreamNotFoundError
from incidents.store.protocol import (
    STREAM_ID_MAX_LENGTH,
    STREAM_ID_PATTERN,
    AppendResult,
    ExpectedVersion,
    StreamRow,
    category_of,
)

StreamIdPath = Annotated[
    str,
    PathParameter(
        pattern=STREAM_ID_PATTERN,
        max_length=STREAM_ID_MAX_LENGTH,
        description="<category>-<name>: lower-case ASCII letters, digits and '-'",
        examples=[Example(value="note-az-paris-2022-08-17")],
    ),
]

_encode_append_out = msgspec.json.Encoder().encode

# The append answers with an ASGIResponse, so its success bodies are documented here.
APPEND_SUCCESSES = {
    201: ResponseSpec(
        AppendOut,
        description="Appended: Location names the stream, ETag is its new version",
        generate_examples=False,
    ),
    200: ResponseSpec(
        AppendOut,
        description="Every event was stored before with the same content: their places, "
        "nothing stored",
        generate_examples=False,
    ),
}
# An If-Match version has at most as many digits as the largest version (2^53 - 1).
_VERSION_TAG = re.compile(r'"([0-9]{1,16})"|([0-9]{1,16})')


def parse_if_match(header: str | None) -> ExpectedVersion | None:
    """``If-Match: "<n>"`` means expected version n; ``*`` means the stream exists."""
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return "exists"
    if value.startswith("W/"):
        raise ParameterError(
            "header", "If-Match", "If-Match takes a strong ETag: the stream's version in quotes"
        )
    match = _VERSION_TAG.fullmatch(value)
    version = int(match.group(1) or match.group(2)) if match else MAX_VERSION + 1
    if version > MAX_VERSION:
        raise ParameterError(
            "header",
            "If-Match",
            'If-Match must be a stream version such as "3" (at most 2^53 - 1) or *',
        )
    return version


def _expected(body: AppendBody, if_match: str | None) -> ExpectedVersion:
    """The body's expected version, or the header's: they may not disagree."""
    from_header = parse_if_match(if_match)
    if from_header is None:
        return body.expected_version
    if body.expected_version not in ("any", from_header):
        raise PreconditionsDisagreeError(
            f"If-Match says {from_header!r} but expected_version says {body.expected_version!r}"
        )
    return from_header


def _service(request: Request[Any, Any, Any]) -> LogService:
    """The app's service, as the appends take it: from the app's state rather than as a
    dependency, so that Litestar has no dependency to resolve (and no exit stack to enter)
    for them."""
    service: LogService = request.app.state.service
    return service


def _checked(stream_id: str) -> str:
    # fullmatch: the pattern's "$" alone would let a final newline through.
    if len(stream_id) > STREAM_ID_MAX_LENGTH or not re.fullmatch(STREAM_ID_PATTERN, stream_id):
        raise ParameterError(
            "path",
            "stream_id",
            f"{stream_id!r} is not a stream id: <category>-<name>, lower-case ASCII letters, "
            "digits and '-', at most 128 characters",
        )
    return stream_id


def _out(result: AppendResult, warnings: list[AppendWarning] | None = None) -> AppendOut:
    return AppendOut(
        stream_id=result.stream_id,
        version=result.version,
        events=[AppendedOut(e.event_id, e.position, e.version) for e in result.events],
        warnings=warnings or [],
    )


def _warnings(found: list[ReferenceWarning], prefix: str = "") -> dict[int, list[AppendWarning]]:
    """The service's reference warnings by append, with pointers into the body."""
    by_append: dict[int, list[AppendWarning]] = {}
    for warning in found:
        at = f"/appends/{warning.append_index}" if prefix else ""
        by_append.setdefault(warning.append_index, []).append(
            AppendWarning(
                rule="reference-not-in-log",
                pointer=f"{at}/events/{warning.event_index}/data/{warning.field}",
                detail=f"{warning.stream_id!r} is not in the log (from before it began, or "
                "not recorded yet); the event was stored",
            )
        )
    return by_append


class StreamController(Controller):
    """``/streams/{stream_id}``: one stream's events and state."""

    path = "/streams"
    tags = ["streams"]

    @post(
        "/{stream_id:str}/events",
        status_code=201,
        responses={**APPEND_SUCCESSES, **STREAM_APPEND_PROBLEMS},
        summary="Append events to a stream",
        description="All events are appended atomically, in order, or none are. "
        'If-Match: "<n>" is another way to say expected_version n. '
        "Re-sending stored event ids with the same content answers 200 and stores nothing.",
    )
    async def append_to_stream(
        self,
        request: Request[Any, Any, Any],
        stream_id: StreamIdPath,
        data: JSONBody[AppendBody],
        if_match: Annotated[
            str | None,
            HeaderParameter(
                name="If-Match",
                max_length=64,
                pattern=r'^(\*|"[0-9]{1,16}"|[0-9]{1,16})$',
                description='"<n>": the stream must be at version n (as expected_version n); '
                "*: the stream must exist",
            ),
        ] = None,
    ) -> ASGIResponse:
        """Append to one stream."""
        service = _service(request)
        found = await service.references_outside_the_log([(stream_id, data.events)])
        result = await service.append(
            _checked(stream_id), data.events, _expected(data, if_match), actor_of(request)
        )
        # Encoded here and handed to the server as it is: a Response would be serialised
        # and its headers merged layer by layer, a tenth of what an append costs the loop.
        return ASGIResponse(
            body=_encode_append_out(_out(result, _warnings(found).get(0))),
            status_code=201 if result.created else 200,
            headers={"Location": f"/streams/{stream_id}", "ETag": f'"{result.version}"'},
        )

    @get("/{stream_id:str}/events", summary="Read a stream's events", responses=READ_PROBLEMS)
    async def read_stream_events(
        self,
        request: Request[Any, Any, Any],
        stream_id: StreamIdPath,
        service: NamedDependency[LogService],
        from_version: Annotated[
            int | None,
            QueryParameter(
                ge=1,
                le=MAX_VERSION,
                description="The version to start at, inclusive; by default the first event "
                "(forward) or the last (backward)",
            ),
        ] = None,
        direction: Annotated[
            Literal["forward", "backward"],
            QueryParameter(description="Read towards newer (forward) or older (backward) events"),
        ] = "forward",
        limit: Annotated[
            int, QueryParameter(ge=1, le=1000, description="The most events a page holds")
        ] = 100,
        known_at: KnownAtQuery = None,
    ) -> Response[StreamEventsOut]:
        """Events of one stream from a version, forward or backward; with ``known_at``
        those recorded by then (a page may then hold fewer than ``limit``)."""
        moment = in_time(None, known_at)
        events = await service.store.read_stream(
            _checked(stream_id), from_version, direction, limit
        )
        if not events:
            if await service.store.stream_version(stream_id) == 0:
                raise StreamNotFoundError(stream_id)
            empty = StreamEventsOut(stream_id, direction, [], None, moment.known_at)
            return read_response(request, empty)
        last = events[-1].version
        step = 1 if direction == "forward" else -1
        more = len(events) == limit and (direction == "forward" or last > 1)
        kept = [e for e in events if moment.keeps(e)]
        if not more and not kept and moment.known_at is not None and from_version is None:
            raise StreamNotFoundError(stream_id)
        page = StreamEventsOut(
            stream_id, direction, kept, last + step if more else None, moment.known_at
        )
        start = events[0].version
        # Versions have no gaps: the page before this one is ``limit`` versions back.
        before = start - limit if direction == "forward" else start + limit
        links = {
            "next": page_link(request, from_version=page.next_version) if more else None,
            "prev": page_link(request, from_version=max(1, before))
            if (direction == "forward" and start > 1) or direction == "backward"
            else None,
            "first": page_link(request, from_version=None, direction="forward"),
        }
        # A full page names its first version: the same events forever.
        immutable = len(events) == limit and (direction == "forward" or from_version is not None)
        return read_response(request, page, immutable=immutable, links=links)

    @get("/{stream_id:str}", summary="A stream's current state", responses=READ_PROBLEMS)
    async def get_stream_state(
        self,
        request: Request[Any, Any, Any],
        stream_id: StreamIdPath,
        service: NamedDependency[LogService],
        projections: NamedDependency[Projections],
        if_none_match: Annotated[
            str | None,
            HeaderParameter(
                name="If-None-Match",
                max_length=1024,
                description="ETags the client holds (weak or strong, or *): 304 when one matches",
            ),
        ] = None,
        as_of: AsOfQuery = None,
        known_at: KnownAtQuery = None,
        dates: DatesQuery = None,
    ) -> Response[StreamStateOut]:
        """The stream's folded state with its version; ``ETag`` is that version. With
        ``as_of``/``known_at``, the state folded from the events kept at that moment."""
        moment = in_time(as_of, known_at, dates)
        if not moment.is_now:
            folded = await projections.past.stream(_checked(stream_id), moment)
            if folded is None:
                raise StreamNotFoundError(stream_id)
            past = StreamRow(
                folded.stream_id,
                category_of(folded.stream_id),
                folded.version,
                msgspec.Raw(encode_state(folded.state)),
                mission_of(folded.state),
                is_open(folded.state),
                folded.last_position,
                folded.updated_at,
            )
            return read_response(request, _state_out(past, moment))
        row = await service.store.get_stream(_checked(stream_id))
        if row is None:
            raise StreamNotFoundError(stream_id)
        return read_response(request, _state_out(row), etag=f'"{row.version}"')


def _state_out(row: StreamRow, moment: Moment | None = None) -> StreamStateOut:
    """A stream's row as the contract gives it; ``moment`` the past one it was folded for."""
    return StreamStateOut(
        stream_id=row.stream_id,
        category=row.category,
        version=row.version,
        state=row.state,
        mission=row.mission,
        is_open=row.is_open,
        last_position=row.last_position,
        updated_at=row.updated_at.isoformat().replace("+00:00", "Z"),
        as_of=None if moment is None else moment.as_of,
        known_at=None if moment is None else moment.known_at,
    )


CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"


class CloudEventOut(msgspec.Struct, frozen=True):
    """One event of the log as a CloudEvent 1.0 (JSON format): ``id`` is the event id,
    ``source`` the service's URL, ``subject`` the stream, ``time`` when it occurred; the
    extensions ``position``, ``version`` and ``hash`` place it in the log."""

    id: str
    source: str
    type: str
    subject: str
    time: str
    data: msgspec.Raw
    position: int
    version: int
    hash: str
    specversion: str = "1.0"
    datacontenttype: str = "application/json"


def cloud_event(event: RecordedEvent, source: str) -> CloudEventOut:
    """A recorded event as a CloudEvent."""
    return CloudEventOut(
        id=str(event.event_id),
        source=source,
        type=event.type,
        subject=event.stream_id,
        time=event.occurred_at.isoformat().replace("+00:00", "Z"),
        data=event.data,
        position=event.position,
        version=event.version,
        hash=event.hash,
    )


class LogController(Controller):
    """``/events``: the global log and atomic multi-stream appends."""

    path = "/events"
    tags = ["log"]

    @post(
        "/",
        status_code=201,
        responses=APPEND_PROBLEMS,
        summary="Append to several streams atomically",
        description="Commits every append or none of them.",
    )
    async def append_to_streams(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[MultiAppendBody],
    ) -> Response[MultiAppendOut]:
        """Append to several streams in one transaction."""
        service = _service(request)
        parts = [(part.stream_id, part.events) for part in data.appends]
        found = _warnings(await service.references_outside_the_log(parts), "/appends")
        results = await service.append_many(data.appends, actor_of(request))
        created = any(result.created for result in results)
        return Response(
            MultiAppendOut([_out(result, found.get(i)) for i, result in enumerate(results)]),
            status_code=201 if created else 200,
        )

    @get(
        "/",
        summary="Read the global log",
        description="With `Accept: text/event-stream` the same events come as the live "
        "stream of `GET /events/live` (`limit` does not apply to a stream: 400).",
        responses=QUERY_PROBLEMS,
    )
    async def read_log(
        self,
        request: Request[Any, Any, Any],
        service: NamedDependency[LogService],
        feed: NamedDependency[LogFeed],
        live_options: NamedDependency[LiveOptions],
        after: Annotated[
            int,
            QueryParameter(
                ge=0, le=MAX_VERSION, description="The position to read after (0: from the start)"
            ),
        ] = 0,
        limit: Annotated[
            int, QueryParameter(ge=1, le=10_000, description="The most events a page holds")
        ] = 1000,
        type_: Annotated[
            list[EventTypeName] | None,
            QueryParameter(
                name="type", min_items=1, description="Only events of these types (repeatable)"
            ),
        ] = None,
        category: Annotated[
            list[Category] | None,
            QueryParameter(
                min_items=1, description="Only events of streams of these categories (repeatable)"
            ),
        ] = None,
        last_event_id: Annotated[
            str | None,
            HeaderParameter(
                name="Last-Event-ID",
                description="With text/event-stream: the last position the client received",
            ),
        ] = None,
        known_at: KnownAtQuery = None,
    ) -> Response[LogPageOut] | ServerSentEvent | Stream:
        """The log in position order after a position, filtered by type and category; with
        ``known_at`` only the events recorded by then (a page may hold fewer than ``limit``:
        follow ``next_after`` while ``has_more``). As CSV, the whole log after ``after``."""
        moment = in_time(None, known_at)
        if "text/event-stream" in request.headers.get("accept", ""):
            for name in ("limit", "known_at"):
                if name in request.query_params:
                    raise ParameterError("query", name, f"{name} does not apply to an event stream")
            stream = live_response(feed, live_options, after, last_event_id, type_, category)
            stream.headers["Vary"] = VARY
            return stream
        if last_event_id is not None:
            # As on the event stream: the last position the client holds, winning over after.
            if not re.fullmatch(r"[0-9]{1,16}", last_event_id):
                raise ParameterError(
                    "header", "Last-Event-ID", "Last-Event-ID must be a log position"
                )
            after = int(last_event_id)
        if wants_csv(request):
            capped = limit if "limit" in request.query_params else None
            known = moment.keeps if moment.known_at is not None else None
            return csv_stream(event_lines(service.store, after, capped, type_, category, known))
        read = await service.store.read_all(after, limit, type_, category)
        next_after = read[-1].position if read else after
        has_more = len(read) == limit
        events = [event for event in read if moment.keeps(event)]
        if moment.known_at is not None and read and not moment.keeps(read[-1]):
            # Positions are recorded in order: nothing after this one was known then.
            has_more = False
        unfiltered = not (type_ or category or known_at)
        links = {
            "next": page_link(request, after=next_after) if has_more else None,
            # Positions have no gaps: unfiltered, the page before starts limit positions back.
            "prev": page_link(request, after=max(0, after - limit))
            if unfiltered and after > 0
            else None,
            "first": page_link(request, after=None),
        }
        # A full page of the log names where it starts and ends: the same events forever.
        immutable = len(read) == limit and known_at is None
        if CLOUDEVENTS_BATCH in request.headers.get("accept", ""):
            base = str(request.base_url).rstrip("/")
            batch = [cloud_event(event, base) for event in events]
            response = read_response(request, batch, immutable=immutable, links=links)
            response.media_type = CLOUDEVENTS_BATCH
            return response
        page = LogPageOut(events, next_after, has_more, moment.known_at)
        return read_response(request, page, immutable=immutable, links=links)
