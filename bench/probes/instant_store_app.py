"""Probe: the service as figure 2 serves it, but with a store that answers appends at once.

``python -m bench.probes.http_ab 4 5 bare=bare ours=ours
instant=bench.probes.instant_store_app:app_factory`` puts figure 2's load on the HTTP layer
and the service alone (no writer thread, no commit, one turn of the loop per append): the
ratio it reaches against the bare app is what the store leaves to the rest.
"""

from __future__ import annotations

from litestar import Litestar

from bench.probes.asgi_cost import StubStore
from incidents.http.app import app_factory as service_factory


def app_factory() -> Litestar:
    """The service's app; once started, its store answers every append at once."""
    app = service_factory()

    async def swap_store(started: Litestar) -> None:
        started.state.service.store = StubStore(started.state.service.store)

    app.on_startup.append(swap_store)
    return app
