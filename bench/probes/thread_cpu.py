"""Helpers for probes: CPU seconds each thread of this process has used (Linux /proc)."""

from __future__ import annotations

import os
import threading
from collections import Counter


def thread_cpu() -> Counter[str]:
    """CPU seconds by Python thread name, digits dropped (threads of one kind added up)."""
    ticks = os.sysconf("SC_CLK_TCK")
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    used: Counter[str] = Counter()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(tid), "other").split(" (")[0]
        kind = "".join(c for c in name if not c.isdigit()).rstrip("_-")
        used[kind] += (int(fields[11]) + int(fields[12])) / ticks
    return used
