"""A Python client generated from the served OpenAPI document writes and reads the log.

openapi-python-client (a maintained generator from the package index) turns
``/schema/openapi.json`` into a package; the test imports it and uses its typed models and
operations against the running service, as a client's developer would.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(scope="module")
def generated(served: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The generated package's name, importable for the module's tests."""
    if not GENERATOR.exists():
        pytest.fail("openapi-python-client is not installed (pip install -e '.[dev]')")
    root = tmp_path_factory.mktemp("client")
    document = root / "openapi.json"
    document.write_text(httpx.get(f"{served}/schema/openapi.json", timeout=30).text)
    config = root / "config.json"
    # literal_enums: zone names such as GMT+0 and GMT-0 would collide as enum members.
    settings = {
        "post_hooks": [],
        "package_name_override": "incidents_client",
        "literal_enums": True,
    }
    config.write_text(json.dumps(settings))
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(root / "incidents_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(root))
    try:
        yield "incidents_client"
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("incidents_client")]:
            del sys.modules[name]
        shutil.rmtree(root, ignore_errors=True)


def _module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{name}")


def _seed_mission() -> dict[str, Any]:
    index = json.loads((REPO / "seeds" / "index.json").read_text())
    first = json.loads((REPO / "seeds" / index[0]).read_text())
    appended: dict[str, Any] = first["appends"][0]
    return appended


def test_the_generated_client_writes_and_reads(
    served: str, served_headers: dict[str, str], generated: str
) -> None:
    client_module = _module(generated, "client")
    append = _module(generated, "api.streams.append_to_stream")
    read = _module(generated, "api.streams.read_stream_events")
    state = _module(generated, "api.streams.get_stream_state")
    missions = _module(generated, "api.projections.list_missions")
    models = _module(generated, "models")
    client = client_module.Client(
        base_url=served, headers=served_headers, raise_on_unexpected_status=True
    )

    seed = _seed_mission()
    body = models.AppendBody.from_dict({"expected_version": "no_stream", "events": seed["events"]})
    written = append.sync_detailed(seed["stream_id"], client=client, body=body)
    assert written.status_code == 201
    assert written.parsed.version == len(seed["events"])
    assert written.headers["etag"] == f'"{len(seed["events"])}"'

    page = read.sync(seed["stream_id"], client=client, limit=100)
    assert [event.type_ for event in page.events] == [e["type"] for e in seed["events"]]
    assert str(page.events[0].event_id) == seed["events"][0]["event_id"]

    current = state.sync(seed["stream_id"], client=client)
    assert current.version == len(seed["events"])

    rows = missions.sync(client=client)
    assert seed["stream_id"] in [row.mission for row in rows.missions]


def test_the_generated_client_reads_problems_as_typed_models(
    served: str, served_headers: dict[str, str], generated: str
) -> None:
    client_module = _module(generated, "client")
    append = _module(generated, "api.streams.append_to_stream")
    models = _module(generated, "models")
    client = client_module.Client(base_url=served, headers=served_headers)
    event = {k: v for k, v in _seed_mission()["events"][0].items() if k != "event_id"}
    body = models.AppendBody.from_dict({"expected_version": 7, "events": [event]})
    answer = append.sync_detailed("mission-generated-client", client=client, body=body)
    assert answer.status_code == 409
    assert isinstance(answer.parsed, models.Problem)
    assert answer.parsed.type_ == "/problems/wrong-expected-version"
