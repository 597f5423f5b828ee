"""README's quick start, request by request, against a served process on an empty log.

The curl lines between the ``quickstart`` markers are parsed (method, URL, headers, body)
and sent as they are, with the port of the test's server for 8000.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServedProcess

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def curl_requests(script: str) -> list[tuple[str, str, dict[str, str], str | None]]:
    """(method, path and query, headers, body) of every curl in a shell ``script`` that asks
    ``localhost:8000``."""
    tokens = shlex.split(script.replace("\\\n", " "), comments=True)
    commands: list[list[str]] = []
    for token in tokens:
        if token == "curl":
            commands.append([])
        else:
            commands[-1].append(token)
    requests = []
    for arguments in commands:
        method, headers, body, url = "GET", {}, None, None
        words = iter(arguments)
        for word in words:
            if word in ("-s", "-sN", "-N"):
                continue
            if word == "-X":
                method = next(words)
            elif word == "-H":
                name, _, value = next(words).partition(": ")
                headers[name] = value
            elif word == "-d":
                body = next(words)
            else:
                assert url is None, f"two URLs in one curl: {arguments}"
                url = word
        assert url is not None and url.startswith("localhost:8000/"), url
        requests.append((method, url.removeprefix("localhost:8000"), headers, body))
    return requests


def quickstart_requests() -> list[tuple[str, str, dict[str, str], str | None]]:
    """The requests of every curl in README's quick start."""
    text = README.read_text()
    block = text.split("<!-- quickstart:", 1)[1].split("<!-- /quickstart -->", 1)[0]
    return curl_requests(block.split("```sh\n", 1)[1].rsplit("```", 1)[0])


@pytest.fixture(scope="module")
def quickstart_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    # Served as make serve serves: reads public, writes with a token ($TOKEN in the curls).
    server = ServedProcess(
        tmp_path_factory.mktemp("quickstart") / "quickstart.db",
        env={"INCIDENTS_PUBLIC_READS": "true"},
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


def with_token(headers: dict[str, str], token: str) -> dict[str, str]:
    """The headers with the shell's ``$TOKEN`` replaced by ``token``."""
    return {name: value.replace("$TOKEN", token) for name, value in headers.items()}


def test_the_quick_start_writes_seven_steps_and_reads_the_views(
    quickstart_server: ServedProcess,
) -> None:
    requests = quickstart_requests()
    writes = [request for request in requests if request[0] == "POST"]
    reads = [request for request in requests if request[0] == "GET"]
    assert [
        re.sub(r"/events$", "", path).split("/")[2].split("-")[0] for _, path, _, _ in writes
    ] == [
        "mission",
        "incident",
        "note",
        "note",
        "protest",
        "protest",
    ]

    answers: dict[str, Any] = {}
    with httpx.Client(base_url=quickstart_server.base, timeout=30) as client:
        for method, path, headers, body in requests:
            # Every write carries the token, and the reads need none.
            assert ("Authorization" in headers) == (method == "POST"), (method, path)
            response = client.request(
                method, path, headers=with_token(headers, quickstart_server.token), content=body
            )
            expected = 201 if method == "POST" else 200
            assert response.status_code == expected, (method, path, response.text)
            answers[path] = response.json()

    assert len(reads) == 4
    protests = answers["/projections/open-protests"]
    (protest,) = [
        row
        for row in protests["protests"]
        if row["stream_id"] == "protest-az-2022-09-19-paris-embassy-attack"
    ]
    assert sorted(protest["open_demands"]) == ["compensation", "legal_assessment", "prosecution"]
    missions = answers["/projections/missions"]
    assert [row["mission"] for row in missions["missions"]] == ["mission-az-paris"]
    note = answers["/streams/note-az-paris-2022-08-17"]
    assert note["version"] == 2 and note["state"]["status"] == "answered"
    incidents = answers["/projections/incidents?mission=mission-az-paris"]
    assert [row["stream_id"] for row in incidents["incidents"]] == [
        "incident-az-paris-2022-09-18-attack"
    ]
