"""Probe: run a probe module on the code of a git revision and on this tree, in turns.

``python -m bench.probes.ab REVISION ROUNDS MODULE [ARGS...]`` extracts ``incidents/`` as
REVISION has it (``git archive``) into a scratch directory, then runs ``python -m MODULE
ARGS`` ROUNDS times on each side: first with the revision's package, then with this tree's.
The probe itself always comes from this tree, so both sides run the same measurement; only
the code under test differs. Each line a run prints comes out prefixed with its round and
side. Say ``python -m bench.probes.ab c812575 3 bench.probes.replay_only bench/out/log.db``.

``--with-bench`` (first) extracts the revision's ``bench/`` too, so each side runs its own
benchmark code: for the figures themselves, whose code may use parts of the package a
revision lacks (``python -m bench.probes.ab --with-bench c812575 1 bench --only append``).
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


def extract(revision: str, into: Path, paths: list[str]) -> None:
    """Write ``paths`` (the ``incidents`` package, say) as ``revision`` has them under ``into``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, *paths],
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
    options = sys.argv[1:]
    with_bench = options[0] == "--with-bench"
    revision, rounds, module, *args = options[1:] if with_bench else options
    # Paths in ARGS are taken from here, whichever tree a run works in.
    args = [str(Path(a).resolve()) if Path(a).exists() else a for a in args]
    with tempfile.TemporaryDirectory(prefix="ab-") as scratch:
        before = Path(scratch)
        extract(revision, before, ["incidents", "bench"] if with_bench else ["incidents"])
        for round_ in range(int(rounds)):
            for label, tree in (("before", before), ("after", HERE)):
                for line in run(tree, module, args):
                    print(f"round {round_ + 1} {label:6s}: {line}", flush=True)


if __name__ == "__main__":
    main()
