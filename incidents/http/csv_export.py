"""CSV for every projection and for ``GET /events``: ``Accept: text/csv`` or ``?format=csv``.

RFC 4180 (Python's :mod:`csv` with CRLF line ends, fields quoted where they need it), a header
row first, UTF-8. A view's rows are its list of records (``incidents``, ``protests``,
``statements``...); a view with two such lists (``by_host_state`` and ``by_ministry``) gives
the rows of both, in that order, with a first column ``table`` naming the list. Nested values
are flattened by one rule:

- an object's fields become columns named by their path, joined with ``.``
  (``to.state``, ``occurred.label``);
- a list is one cell holding its JSON text (``["investigation","compensation"]``), empty
  when the list is;
- null is an empty cell, ``true``/``false`` are written so, times as RFC 3339 in UTC;
- the header is every column in the order the rows first give it; a view with no row
  gives the columns its record type declares (an object's fields by their paths, an
  optional object's too), so that its CSV still has a header row.

A record with no list at all (``GET /streams/{stream_id}``) is one row.

``GET /events`` as CSV streams the whole log after ``after`` (``limit``, when given, caps it),
a page of the store at a time, so an export of any size runs in constant memory; its columns
are fixed: ``position, stream_id, version, event_id, type, occurred_at, recorded_at, hash``,
then ``data`` and ``metadata`` as their JSON text.

Every answer whose body depends on ``Accept`` says so: ``Vary: Accept``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from itertools import takewhile
from typing import Any

import msgspec
import msgspec.inspect
from litestar import Request, Response
from litestar.response import Stream

from incidents.http.problems import ParameterError
from incidents.store.protocol import EventStore, RecordedEvent

CSV_MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8"
FORMATS = ("json", "csv")
# The header of every answer whose body depends on the request's Accept (RFC 9110 12.5.5).
VARY = "Accept"
EVENT_COLUMNS = (
    "position",
    "stream_id",
    "version",
    "event_id",
    "type",
    "occurred_at",
    "recorded_at",
    "hash",
    "data",
    "metadata",
)
# Events a streamed export reads from the store at a time.
EXPORT_PAGE = 2000

_json = msgspec.json.Encoder()


def wants_csv(request: Request[Any, Any, Any]) -> bool:
    """Whether the request asks for CSV: ``?format=csv``, or ``text/csv`` in ``Accept``
    without ``format=json``."""
    chosen = request.query_params.get("format")
    if chosen is not None:
        return bool(chosen == "csv")
    return "text/csv" in request.headers.get("accept", "")


def check_format(request: Request[Any, Any, Any]) -> None:
    """``before_request``: ``format`` is ``json`` or ``csv``, and only on a read (400)."""
    chosen = request.query_params.getall("format", [])
    if not chosen:
        return
    if request.method not in ("GET", "HEAD"):
        raise ParameterError("query", "format", "format applies to reads only")
    if len(chosen) > 1 or chosen[0] not in FORMATS:
        raise ParameterError("query", "format", "format is json or csv")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return _json.encode(value).decode() if value else ""
    return str(value)


def flatten(record: Any, prefix: str = "") -> dict[str, str]:
    """A record (a dict of builtins) as flat cells, by the module's rule."""
    cells: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            cells.update(flatten(value, f"{name}."))
        else:
            cells[name] = _cell(value)
    return cells


def _raw(value: Any) -> Any:
    """``enc_hook``: JSON the store keeps as it was written (a stream's state, an event's
    data) as the builtins it holds."""
    if isinstance(value, msgspec.Raw):
        return msgspec.json.decode(value)
    raise NotImplementedError(type(value))


def rows_of(view: Any) -> list[dict[str, str]]:
    """The flat rows of a view: its lists of records (see the module's docstring); a
    record that holds no list (a stream's state) is its one row."""
    data = msgspec.to_builtins(view, enc_hook=_raw)
    if not any(isinstance(value, list) for value in data.values()):
        return [flatten(data)]
    tables = [
        (name, value)
        for name, value in data.items()
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
    ]
    if not tables:
        tables = [
            (name, value) for name, value in data.items() if isinstance(value, list) and not value
        ][:1]
    named = len(tables) > 1
    rows = []
    for name, records in tables:
        for record in records:
            cells = flatten(record)
            rows.append({"table": name, **cells} if named else cells)
    return rows


def _struct_of(kind: msgspec.inspect.Type) -> msgspec.inspect.StructType | None:
    """The Struct a field holds: itself, or the one of an optional (a union with None)."""
    if isinstance(kind, msgspec.inspect.StructType):
        return kind
    if isinstance(kind, msgspec.inspect.UnionType):
        structs = [t for t in kind.types if isinstance(t, msgspec.inspect.StructType)]
        return structs[0] if len(structs) == 1 else None
    return None


def _columns(kind: msgspec.inspect.StructType, prefix: str = "") -> list[str]:
    """The columns a record of ``kind`` flattens to, as far as its type tells them."""
    columns: list[str] = []
    for field in kind.fields:
        name = f"{prefix}{field.encode_name}"
        nested = _struct_of(field.type)
        columns.extend(_columns(nested, f"{name}.") if nested is not None else [name])
    return columns


def declared_header(view: Any) -> list[str]:
    """The header of a view with no row: the columns of its lists' record types (with
    ``table`` first when it has two such lists, as :func:`rows_of` gives them)."""
    kind = msgspec.inspect.type_info(type(view))
    if not isinstance(kind, msgspec.inspect.StructType):
        return []
    tables = [
        item
        for field in kind.fields
        if isinstance(field.type, msgspec.inspect.ListType)
        and (item := _struct_of(field.type.item_type)) is not None
    ]
    if not tables:
        return []
    named = ["table"] if len(tables) > 1 else []
    return named + list(dict.fromkeys(c for table in tables for c in _columns(table)))


def render(rows: Sequence[dict[str, str]], header: Iterable[str] | None = None) -> str:
    """RFC 4180 text of the rows, with a header row (``header``, or every column in the
    order the rows first give it)."""
    columns: dict[str, None] = dict.fromkeys(header or ())
    if header is None:
        for row in rows:
            columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class Negotiated(Response[Any]):
    """A view's response, written as CSV when the request asks for it."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        """The JSON response, or the CSV one (same status and headers)."""
        request = kwargs.get("request")
        status = self.status_code or 200
        if request is not None and wants_csv(request) and status < 300:
            rows = rows_of(self.content)
            header = None if rows else declared_header(self.content)
            self.content = render(rows, header).encode()
            self.media_type = CSV_MEDIA_TYPE
            kwargs.pop("media_type", None)
            kwargs["media_type"] = CSV_MEDIA_TYPE
        return super().to_asgi_response(*args, **kwargs)


async def negotiate(response: Any) -> Any:
    """``after_request``: a view (a Struct) becomes :class:`Negotiated`, so that it is written
    as CSV when asked; anything else (an ASGI response, a problem) passes as it is. A
    coroutine, so that Litestar runs it on the loop, not in a thread."""
    if (
        not isinstance(response, Response)
        or isinstance(response, Negotiated)
        or not isinstance(response.content, msgspec.Struct)
    ):
        return response
    headers = dict(response.headers)
    if (response.status_code or 200) < 300:
        headers["Vary"] = VARY
    return Negotiated(
        response.content,
        status_code=response.status_code,
        headers=headers,
        background=response.background,
    )


def _page_lines(events: Sequence[RecordedEvent]) -> bytes:
    """A page of events as CSV lines. The fixed columns of the whole page are encoded by
    msgspec in one call, as JSON arrays of strings and numbers (times in RFC 3339 with
    ``Z``), whose brackets and quotes are then dropped: ids, types, times and hashes hold
    no comma, quote, backslash or line break (their patterns forbid them), so what is left
    is their CSV. ``data`` and ``metadata`` are JSON, always quoted, each double quote
    doubled (RFC 4180)."""
    if not events:
        return b""
    fixed = _json.encode(
        [
            (
                e.position,
                e.stream_id,
                e.version,
                e.event_id,
                e.type,
                e.occurred_at,
                e.recorded_at,
                e.hash,
            )
            for e in events
        ]
    )
    rows = fixed[2:-2].replace(b'"', b"").split(b"],[")
    return b"".join(
        row
        + b',"'
        + bytes(e.data).replace(b'"', b'""')
        + b'","'
        + bytes(e.metadata).replace(b'"', b'""')
        + b'"\r\n'
        for row, e in zip(rows, events, strict=True)
    )


async def event_lines(
    store: EventStore,
    after: int,
    limit: int | None,
    types: Sequence[str] | None,
    categories: Sequence[str] | None,
    known: Callable[[RecordedEvent], bool] | None = None,
) -> AsyncIterator[bytes]:
    """The log after ``after`` as CSV, header first, a store page at a time; with
    ``known``, up to the first event it does not keep (positions are recorded in order, so
    none after it was known either)."""
    yield (",".join(EVENT_COLUMNS) + "\r\n").encode()
    left = limit
    while left is None or left > 0:
        size = EXPORT_PAGE if left is None else min(EXPORT_PAGE, left)
        events = await store.read_all(after, size, types, categories)
        if not events:
            return
        kept = events
        if known is not None:
            kept = list(takewhile(known, events))
        yield _page_lines(kept)
        if len(kept) < len(events):
            return
        after = events[-1].position
        if left is not None:
            left -= len(events)
        if len(events) < size:
            return


def csv_stream(lines: AsyncIterator[bytes]) -> Stream:
    """CSV ``lines`` (as :func:`event_lines` gives them) as a streamed response."""
    return Stream(lines, media_type=CSV_MEDIA_TYPE, headers={"Vary": VARY})
