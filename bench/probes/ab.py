"""Probe: run a probe module against the code before (a tree at BEFORE) and now, in turns.

``python -m bench.probes.ab BEFORE ROUNDS MODULE [ARGS...]`` runs ``python -m MODULE ARGS``
first with BEFORE (say, ``git archive HEAD incidents bench | tar -x -C /tmp/before``) first
on PYTHONPATH, then with this tree, ROUNDS times, and prints each run's last line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main() -> None:
    before, rounds, module, *args = sys.argv[1:]
    here = str(Path(__file__).resolve().parents[2])
    for round_ in range(int(rounds)):
        for label, root in (("before", before), ("after", here)):
            env = {**os.environ, "PYTHONPATH": root}
            done = subprocess.run(
                [sys.executable, "-m", module, *args],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            last = done.stdout.strip().splitlines()[-1]
            print(f"round {round_ + 1} {label:6s}: {last}", flush=True)


if __name__ == "__main__":
    main()
