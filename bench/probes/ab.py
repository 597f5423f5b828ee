"""Probe: run a probe module on the code of a git revision and on this tree, in turns.

``python -m bench.probes.ab REVISION ROUNDS MODULE [ARGS...]`` extracts ``incidents/`` as
REVISION has it (``git archive``) into a scratch directory, then runs ``python -m MODULE
ARGS`` ROUNDS times on each side: first with the revision's package, then with this tree's.
The probe itself always comes from this tree, so both sides run the same measurement; only
the code under test differs. Each line a run prints comes out prefixed with its round and
side. Say ``python -m bench.probes.ab c812575 3 bench.probes.replay_only bench/out/log.db``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]


def extract(revision: str, into: Path) -> None:
    """Write the ``incidents`` package as ``revision`` has it under ``into``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "incidents"],
        cwd=HERE,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def run(tree: Path, module: str, args: list[str]) -> list[str]:
    """The lines ``python -m module args`` prints with ``tree``'s package first on the path.

    The working directory is ``tree`` (``-m`` puts it first on the path); this tree follows
    on PYTHONPATH for the probe modules the revision's tree does not hold.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(HERE)])}
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()


def main() -> None:
    """Parse the command line and print every run's lines, before and after in turns."""
    revision, rounds, module, *args = sys.argv[1:]
    # Paths in ARGS are taken from here, whichever tree a run works in.
    args = [str(Path(a).resolve()) if Path(a).exists() else a for a in args]
    with tempfile.TemporaryDirectory(prefix="ab-") as scratch:
        before = Path(scratch)
        extract(revision, before)
        for round_ in range(int(rounds)):
            for label, tree in (("before", before), ("after", HERE)):
                for line in run(tree, module, args):
                    print(f"round {round_ + 1} {label:6s}: {line}", flush=True)


if __name__ == "__main__":
    main()
