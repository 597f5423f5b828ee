"""No query parameter is ignored: one the operation does not take is a 400 naming it.

Checked once for every route, against the query parameters its handler (and the handler's
dependencies) declare, so a route added later is covered without a line of its own. Two more
things a query string could slip past Litestar's parsing are refused the same way: a
parameter that takes one value given twice (the second would be dropped), and ``null`` for
a parameter that is not text (it would read as "absent").
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

import msgspec
from litestar import Request
from litestar.enums import ParamType
from litestar.routes import HTTPRoute

from incidents.http.problems import BadRequestError, FieldError


class DeclaredQuery(msgspec.Struct, frozen=True):
    """What a handler takes in its query string."""

    names: frozenset[str]
    single: frozenset[str]
    not_text: frozenset[str]
    takes_all: bool = False


def _is_text(annotation: Any) -> bool:
    """Whether an annotation is ``str`` or ``str | None`` (through ``Annotated``)."""
    while get_origin(annotation) is not None and hasattr(annotation, "__metadata__"):
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        return all(_is_text(arg) for arg in get_args(annotation) if arg is not type(None))
    return annotation is str


def _declared(request: Request[Any, Any, Any]) -> DeclaredQuery:
    """The query parameters of the request's handler, computed once per handler."""
    handler = request.route_handler
    known: dict[int, DeclaredQuery] = request.app.state.setdefault("query_parameters", {})
    declared = known.get(id(handler))
    if declared is not None:
        return declared
    names: set[str] = set()
    single: set[str] = set()
    not_text: set[str] = set()
    takes_all = False
    fields = handler.parsed_fn_signature.parameters
    for route in request.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for route_handler, kwargs_model in route.route_handler_map.values():
            if route_handler is not handler:
                continue
            takes_all = takes_all or "query" in kwargs_model.expected_reserved_kwargs
            for parameter in kwargs_model.expected_query_params:
                if parameter.param_type not in (ParamType.QUERY, ParamType.DEPENDENCY):
                    continue
                names.add(parameter.field_alias)
                if not parameter.is_sequence:
                    single.add(parameter.field_alias)
                field = fields.get(parameter.field_name)
                if field is not None and not _is_text(field.annotation):
                    not_text.add(parameter.field_alias)
    declared = DeclaredQuery(frozenset(names), frozenset(single), frozenset(not_text), takes_all)
    known[id(handler)] = declared
    return declared


def refuse_unknown_query_parameters(request: Request[Any, Any, Any]) -> None:
    """``before_request``: refuse what the handler would not read as it was sent (400)."""
    if not request.scope.get("query_string"):
        return
    declared = _declared(request)
    if declared.takes_all:
        return
    errors: list[FieldError] = []
    for name, values in request.query_params.dict().items():
        if name == "format":
            continue  # every read's (json or csv): incidents.http.csv_export checks it
        if name not in declared.names:
            errors.append(FieldError(detail="not a parameter of this operation", parameter=name))
        elif name in declared.single and len(values) > 1:
            errors.append(FieldError(detail="takes one value, given more", parameter=name))
        elif name in declared.not_text and "null" in values:
            errors.append(FieldError(detail="null is not a value; leave it out", parameter=name))
    if errors:
        names = ", ".join(repr(error.parameter) for error in errors)
        detail = f"query parameters this operation does not take as sent: {names}"
        raise BadRequestError(detail, errors)
