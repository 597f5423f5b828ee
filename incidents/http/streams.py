"""Streams and the global log: append, read a stream, read a stream's state, read the log.

Controllers only translate: parse, call the service or the store, map the result.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromQuery, HeaderParameter, JSONBody, PathParameter, QueryParameter
from litestar.response.base import ASGIResponse
from msgspec import Meta

from incidents.http.problems import APPEND_PROBLEMS, QUERY_PROBLEMS, READ_PROBLEMS
from incidents.service import (
    EVENT_TYPE_PATTERN,
    MAX_INT64,
    AppendBody,
    BadRequestError,
    Category,
    LogService,
    MultiAppendBody,
    StreamNotFoundError,
)
from incidents.store.protocol import (
    STREAM_ID_MAX_LENGTH,
    STREAM_ID_PATTERN,
    AppendResult,
    RecordedEvent,
    is_valid_stream_id,
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
EventTypeName = Annotated[str, Meta(pattern=EVENT_TYPE_PATTERN, max_length=64)]


class AppendedOut(msgspec.Struct, frozen=True):
    """Where one appended event landed."""

    event_id: UUID
    position: int
    version: int


class AppendOut(msgspec.Struct, frozen=True):
    """The answer to an append: the stream's new version and each event's place."""

    stream_id: str
    version: int
    events: list[AppendedOut]


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


class MultiAppendOut(msgspec.Struct, frozen=True):
    """The answer to ``POST /events``: one entry per append, in request order."""

    appends: list[AppendOut]


class StreamEventsOut(msgspec.Struct, frozen=True):
    """A page of one stream's events; ``next_version`` continues in the same direction."""

    stream_id: str
    direction: str
    events: list[RecordedEvent]
    next_version: int | None


class LogPageOut(msgspec.Struct, frozen=True):
    """A page of the global log; pass ``next_after`` as ``after`` for the next page."""

    events: list[RecordedEvent]
    next_after: int
    has_more: bool


class StreamStateOut(msgspec.Struct, frozen=True):
    """A stream's current state as its projection sees it."""

    stream_id: str
    category: str
    version: int
    state: msgspec.Raw
    mission: str | None
    is_open: bool
    last_position: int
    updated_at: str


def _checked(stream_id: str) -> str:
    if not is_valid_stream_id(stream_id):
        raise BadRequestError(
            f"{stream_id!r} is not a stream id: <category>-<name>, lower-case ASCII letters, "
            "digits and '-', at most 128 characters"
        )
    return stream_id


def _out(result: AppendResult) -> AppendOut:
    return AppendOut(
        stream_id=result.stream_id,
        version=result.version,
        events=[AppendedOut(e.event_id, e.position, e.version) for e in result.events],
    )


class StreamController(Controller):
    """``/streams/{stream_id}``: one stream's events and state."""

    path = "/streams"
    tags = ["streams"]

    @post(
        "/{stream_id:str}/events",
        status_code=201,
        responses={**APPEND_SUCCESSES, **APPEND_PROBLEMS},
        summary="Append events to a stream",
        description="All events are appended atomically, in order, or none are. "
        'If-Match: "<n>" is another way to say expected_version n. '
        "Re-sending stored event ids with the same content answers 200 and stores nothing.",
    )
    async def append(
        self,
        stream_id: StreamIdPath,
        data: JSONBody[AppendBody],
        service: NamedDependency[LogService],
        if_match: Annotated[str | None, HeaderParameter(name="If-Match")] = None,
    ) -> ASGIResponse:
        """Append to one stream."""
        result = await service.append(_checked(stream_id), data, if_match)
        # Encoded here and handed to the server as it is: a Response would be serialised
        # and its headers merged layer by layer, a tenth of what an append costs the loop.
        return ASGIResponse(
            body=_encode_append_out(_out(result)),
            status_code=201 if result.created else 200,
            headers={"Location": f"/streams/{stream_id}", "ETag": f'"{result.version}"'},
        )

    @get("/{stream_id:str}/events", summary="Read a stream's events", responses=READ_PROBLEMS)
    async def read_events(
        self,
        stream_id: StreamIdPath,
        service: NamedDependency[LogService],
        from_version: Annotated[int | None, QueryParameter(ge=1, le=MAX_INT64)] = None,
        direction: FromQuery[Literal["forward", "backward"]] = "forward",
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> StreamEventsOut:
        """Events of one stream from a version, forward or backward."""
        events = await service.store.read_stream(
            _checked(stream_id), from_version, direction, limit
        )
        if not events:
            if await service.store.stream_version(stream_id) == 0:
                raise StreamNotFoundError(stream_id)
            return StreamEventsOut(stream_id, direction, [], None)
        last = events[-1].version
        step = 1 if direction == "forward" else -1
        more = len(events) == limit and (direction == "forward" or last > 1)
        return StreamEventsOut(stream_id, direction, events, last + step if more else None)

    @get("/{stream_id:str}", summary="A stream's current state", responses=READ_PROBLEMS)
    async def state(
        self,
        stream_id: StreamIdPath,
        service: NamedDependency[LogService],
        if_none_match: Annotated[str | None, HeaderParameter(name="If-None-Match")] = None,
    ) -> Response[Any]:
        """The stream's folded state with its version; ``ETag`` is that version."""
        row = await service.store.get_stream(_checked(stream_id))
        if row is None:
            raise StreamNotFoundError(stream_id)
        etag = f'"{row.version}"'
        if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
            return Response(None, status_code=304, headers={"ETag": etag})
        body = StreamStateOut(
            stream_id=row.stream_id,
            category=row.category,
            version=row.version,
            state=row.state,
            mission=row.mission,
            is_open=row.is_open,
            last_position=row.last_position,
            updated_at=row.updated_at.isoformat().replace("+00:00", "Z"),
        )
        return Response(body, headers={"ETag": etag})


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
    async def append_many(
        self, data: JSONBody[MultiAppendBody], service: NamedDependency[LogService]
    ) -> Response[MultiAppendOut]:
        """Append to several streams in one transaction."""
        results = await service.append_many(data)
        created = any(result.created for result in results)
        return Response(
            MultiAppendOut([_out(result) for result in results]),
            status_code=201 if created else 200,
        )

    @get("/", summary="Read the global log", responses=QUERY_PROBLEMS)
    async def read_all(
        self,
        request: Request[Any, Any, Any],
        service: NamedDependency[LogService],
        after: Annotated[int, QueryParameter(ge=0, le=MAX_INT64)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
        type_: Annotated[list[EventTypeName] | None, QueryParameter(name="type")] = None,
        category: FromQuery[list[Category] | None] = None,
    ) -> Response[LogPageOut]:
        """The log in position order after a position, filtered by type and category."""
        events = await service.store.read_all(after, limit, type_, category)
        next_after = events[-1].position if events else after
        has_more = len(events) == limit
        headers = {}
        if has_more:
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "after"]
            link = urlencode([("after", str(next_after)), *query])
            headers["Link"] = f'</events?{link}>; rel="next"'
        return Response(LogPageOut(events, next_after, has_more), headers=headers)
