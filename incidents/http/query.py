"""No query parameter is ignored: one the operation does not take is a 400 naming it.

Checked once for every route, against the query parameters its handler (and the handler's
dependencies) declare, so a route added later is covered without a line of its own.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import ParamType
from litestar.routes import HTTPRoute

from incidents.http.problems import BadRequestError, FieldError

# Stands for "every name" when a handler takes the whole query (no parameter has this name).
_ANY = "\x00any"


def _declared(request: Request[Any, Any, Any]) -> frozenset[str]:
    """The query parameters of the request's handler, computed once per handler."""
    handler = request.route_handler
    known: dict[int, frozenset[str]] = request.app.state.setdefault("query_parameters", {})
    names = known.get(id(handler))
    if names is None:
        names = frozenset()
        for route in request.app.routes:
            if not isinstance(route, HTTPRoute):
                continue
            for route_handler, kwargs_model in route.route_handler_map.values():
                if route_handler is handler and "query" in kwargs_model.expected_reserved_kwargs:
                    names = frozenset({_ANY})  # the handler reads the whole query itself
                elif route_handler is handler:
                    names = names | {
                        parameter.field_alias
                        for parameter in kwargs_model.expected_query_params
                        if parameter.param_type in (ParamType.QUERY, ParamType.DEPENDENCY)
                    }
        known[id(handler)] = names
    return names


def refuse_unknown_query_parameters(request: Request[Any, Any, Any]) -> None:
    """``before_request``: refuse a query parameter the handler does not read (400)."""
    if not request.scope.get("query_string"):
        return
    declared = _declared(request)
    if _ANY in declared:
        return
    # ``format`` (json or csv) is every read's: incidents.http.csv_export checks it.
    unknown = sorted(set(request.query_params) - declared - {"format"})
    if unknown:
        raise BadRequestError(
            f"this operation takes no query parameter {', '.join(map(repr, unknown))}",
            [FieldError(detail="not a parameter of this operation", parameter=n) for n in unknown],
        )
