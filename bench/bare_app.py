"""The baseline server of figure 2: a bare Litestar app that decodes the append body and
returns it.

Same route and body type as the service's ``POST /streams/{stream_id}/events`` (msgspec
decoding into ``AppendBody``, a ``201`` with the body encoded back), but no service, no store
and no rules: what Litestar and granian cost on their own. Served by granian with the same
flags as the service (see :mod:`bench.servers`), and with the same cycle-collector settings
(a process-wide runtime setting like granian's: the baseline gains from it too).
"""

from __future__ import annotations

from litestar import Litestar, get, post

from incidents.http.app import tune_collector_for_serving
from incidents.http.bodies import AppendBody


@post("/streams/{stream_id:str}/events", status_code=201)
async def append(stream_id: str, data: AppendBody) -> AppendBody:
    """Decode the body and send it back."""
    return data


@get("/health")
async def health() -> dict[str, str]:
    """Readiness."""
    return {"status": "ok"}


def app_factory() -> Litestar:
    """The bare app (a factory, as the service's is), with the service's collector settings."""
    app = Litestar(route_handlers=[append, health], openapi_config=None)
    tune_collector_for_serving()
    return app
