"""The install: hashed lock files that cover pyproject.toml, and stamps that notice them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LOCKS = {"serve": (), "dev": ("dev",), "bench": ("bench",)}
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    text = (REPO / "requirements" / f"{lock}.txt").read_text()
    return {canonicalize_name(name): version for name, version in _PIN.findall(text)}


def wanted(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in extras:
        declared += project["optional-dependencies"][extra]
    return [Requirement(line) for line in declared]


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_each_lock_pins_every_dependency_it_installs_within_its_range(lock: str) -> None:
    # A failure here means pyproject.toml changed without `make lock`.
    pinned = pins(lock)
    for requirement in wanted(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in requirements/{lock}.txt: run make lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements/{lock}.txt pins {name}=={pinned[name]}, outside "
            f"{requirement.specifier}: run make lock"
        )


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_pin_has_hashes(lock: str) -> None:
    text = (REPO / "requirements" / f"{lock}.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    for entry in entries:
        if _PIN.match(entry):
            assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_the_locks_agree_on_every_version_they_share() -> None:
    # make test installs dev and bench into one environment over serve.
    serve, dev, bench = pins("serve"), pins("dev"), pins("bench")
    for name in serve.keys() & dev.keys():
        assert serve[name] == dev[name], name
    for name in (serve.keys() | dev.keys()) & bench.keys():
        assert (serve | dev)[name] == bench[name], name


def test_serving_needs_no_dev_or_bench_package() -> None:
    serve = pins("serve")
    for heavy in ("pytest", "mypy", "ruff", "matplotlib", "eventsourcing", "schemathesis"):
        assert heavy not in serve


def _make(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(directory), *args], capture_output=True, text=True, check=False
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_changed_lock_redoes_its_stamp_and_no_other(tmp_path: Path) -> None:
    # Given a checkout whose environment is installed (every stamp newer than every file)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "requirements", tmp_path / "requirements")
    stamps = tmp_path / ".venv"
    (stamps / "bin").mkdir(parents=True)
    later = time.time() + 100
    for stamp in (".serve-installed", ".dev-installed", ".bench-installed", ".installed"):
        (stamps / stamp).touch()
        os.utime(stamps / stamp, (later, later))
    assert _make(tmp_path, "-q", ".venv/.installed").returncode == 0

    # When the dev lock changes, then make redoes the dev install only
    os.utime(tmp_path / "requirements" / "dev.txt", (later + 10, later + 10))
    planned = _make(tmp_path, "-n", ".venv/.installed").stdout
    assert "--require-hashes --no-deps -r requirements/dev.txt" in planned
    assert "requirements/serve.txt" not in planned
    assert "requirements/bench.txt" not in planned

    # and when the serve lock changes, everything above it is redone too
    os.utime(tmp_path / "requirements" / "serve.txt", (later + 20, later + 20))
    planned = _make(tmp_path, "-n", ".venv/.installed").stdout
    for lock in ("serve", "dev", "bench"):
        assert f"--require-hashes --no-deps -r requirements/{lock}.txt" in planned
