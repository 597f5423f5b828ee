"""Benchmarks of the Performance issue: each figure measured against a baseline in one run.

1. durable single-event appends: the SQLite store vs raw sqlite3 ``executemany``
   (:mod:`bench.append`), and the chart of throughput against concurrency (:mod:`bench.chart`);
2. HTTP appends/s: the service vs a bare Litestar app under granian and wrk (:mod:`bench.served`);
3. load-decide-append commands/s vs the eventsourcing library (:mod:`bench.commands`);
4. ``incidents replay`` vs reading and decoding the rows (:mod:`bench.replay`);
5. the served process with a large generated log (:mod:`bench.served`, :mod:`bench.generate`).

Run them with ``make bench`` (or ``python -m bench``); see docs/benchmarks.md. Benchmarks
measure and report; they are not tests.
"""
