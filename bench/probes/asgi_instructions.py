"""Probe: stubbed appends through the ASGI app, for counting their instructions.

``python -m bench.probes.asgi_instructions N`` starts the service in process on a fresh
SQLite file, puts :class:`~bench.probes.asgi_cost.StubStore` in the store's place (as
``asgi_cost --stub``), warms up with 300 appends and then posts N more. Run it twice under
callgrind, which counts instructions the same on a loaded machine, and take the difference::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python -m bench.probes.asgi_instructions 200
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python -m bench.probes.asgi_instructions 1000

(I(1000) - I(200)) / 800 is the instructions one append costs the process, start-up and
warm-up cancelled out. After the warm-up the collector is tuned as a served process tunes it
(``incidents.http.app.tune_collector_for_serving``: start-up's objects frozen, a higher first
threshold): otherwise a full collection of the whole heap falls into one count and not the
other as the code under test allocates a little more or less, and moves the difference by
tens of thousands of instructions an append.
"""

from __future__ import annotations

import gc
import sys
import tempfile

import uvloop

from bench.probes.asgi_cost import Lifespan, StubStore, drive, post, writer_headers
from bench.served import mission_body
from incidents.http.app import SERVED_GC_THRESHOLD, create_app
from incidents.settings import Settings


async def run(appends: int) -> None:
    """Start the service, stub its store, warm up, then post ``appends`` appends."""
    with tempfile.TemporaryDirectory() as directory:
        app = create_app(Settings(database_url=f"sqlite:///{directory}/log.db"))
        running = Lifespan(app)
        await running.start()
        auth = await writer_headers(app)
        mission, registration = mission_body()
        await post(app, f"/streams/{mission}/events", registration, {}, auth)
        store = app.state.service.store
        app.state.service.store = StubStore(store)
        try:
            await drive(app, 300, 16, "warm", auth)
            gc.collect()
            gc.freeze()
            gc.set_threshold(SERVED_GC_THRESHOLD)
            if appends:
                await drive(app, appends, 16, "measured", auth)
        finally:
            app.state.service.store = store
            await running.stop()


def main() -> None:
    """Parse N (see the module) and run under uvloop."""
    uvloop.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))


if __name__ == "__main__":
    main()
