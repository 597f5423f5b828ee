"""The OpenAPI document: complete enough to generate a client from, true to the server."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from incidents.domain.events import EVENT_TYPES
from incidents.http.app import create_app
from incidents.http.openapi import EXAMPLES_FILE, openapi_document, seed_examples
from incidents.settings import Settings
from tests.integration.test_http import Client

REPO = Path(__file__).resolve().parents[2]
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(create_app(Settings(database_url="memory://")))


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_parameter_and_schema_is_described(document: dict[str, Any]) -> None:
    for operation in operations(document):
        assert operation.get("description"), operation["operationId"]
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), (operation["operationId"], parameter["name"])
    for name, schema in document["components"]["schemas"].items():
        assert schema.get("description"), name


def test_operation_ids_are_readable_camel_case(document: dict[str, Any]) -> None:
    ids = {operation["operationId"] for operation in operations(document)}
    assert {"appendToStream", "appendToStreams", "readLog", "listOpenProtests"} <= ids
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids


def test_every_event_type_is_in_a_union_discriminated_on_type(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    items = schemas["AppendBody"]["properties"]["events"]["items"]
    assert items["discriminator"]["propertyName"] == "type"
    mapping = items["discriminator"]["mapping"]
    assert set(mapping) == set(EVENT_TYPES)
    for name, ref in mapping.items():
        event = schemas[ref.rsplit("/", 1)[1]]
        assert event["properties"]["data"] == {"$ref": f"#/components/schemas/{name}"}
        assert event["additionalProperties"] is False
        # the type travels beside data, not inside it
        assert "type" not in schemas[name].get("properties", {})


def test_response_headers_are_declared(document: dict[str, Any]) -> None:
    paths = document["paths"]
    created = paths["/streams/{stream_id}/events"]["post"]["responses"]["201"]["headers"]
    assert {"Location", "ETag"} <= set(created)
    page = paths["/events"]["get"]["responses"]["200"]["headers"]
    assert {"ETag", "Link", "Cache-Control"} <= set(page)
    busy = paths["/events"]["post"]["responses"]["503"]["headers"]
    assert "Retry-After" in busy


def test_the_append_examples_are_what_the_seeds_give() -> None:
    appends = seed_examples(REPO / "seeds")
    stored = json.loads(EXAMPLES_FILE.read_text())
    assert {key: stored[key] for key in appends} == appends


# The read operations whose answers come from the seeds, and how each is asked.
SEED_READS = ("/streams/", "/events", "/projections/", "/missions/", "/search")
# What a log sets when the seeds are loaded, not what the seeds say: illustrative in the
# examples (the answers of one load), left out when they are compared with a new load.
RECORDED = frozenset(
    {"recorded_at", "updated_at", "hash", "prev_hash", "generated_at", "correlation_id", "actor"}
)


def _without_recorded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_recorded(v) for k, v in value.items() if k not in RECORDED}
    if isinstance(value, list):
        return [_without_recorded(item) for item in value]
    return value


async def read_answers(client: Client) -> dict[str, Any]:
    """``operationId.200`` → the answer of each read operation over a log holding the seeds
    (two rows a page where the operation pages)."""
    seeds = REPO / "seeds"
    for name in json.loads((seeds / "index.json").read_text()):
        loaded = await client.post("/events", json=json.loads((seeds / name).read_text()))
        assert loaded.status_code == 201, loaded.text
    first = json.loads((seeds / json.loads((seeds / "index.json").read_text())[1]).read_text())
    stream = first["appends"][0]["stream_id"]
    mission = next(
        event["data"]["mission"]
        for part in first["appends"]
        for event in part["events"]
        if "mission" in event["data"]
    )
    document = (await client.get("/schema/openapi.json")).json()
    answers: dict[str, Any] = {}
    for path, item in document["paths"].items():
        read = item.get("get")
        if read is None or not path.startswith(SEED_READS):
            continue
        if "application/json" not in read["responses"]["200"].get("content", {}):
            continue
        names = {parameter["name"] for parameter in read.get("parameters", [])}
        query = {"limit": 2} if "limit" in names else {}
        if "q" in names:
            query["q"] = "embassy"
        url = path.replace("{stream_id}", stream).replace("{mission_id}", mission)
        answer = await client.get(url, params=query)
        assert answer.status_code == 200, (url, answer.text)
        answers[f"{read['operationId']}.200"] = answer.json()
    return answers


async def test_every_read_of_the_seeded_log_has_an_example(client: Client) -> None:
    answers = await read_answers(client)
    stored = json.loads(EXAMPLES_FILE.read_text())
    assert {"readLog.200", "readStreamEvents.200", "listOpenProtests.200"} <= set(answers)
    assert set(answers) <= set(stored), "run python -m tests.integration.test_openapi"
    # The log's own reads are the seeds' events in order: equal but for what the load set.
    for key in ("readLog.200", "readStreamEvents.200", "getStreamState.200"):
        assert _without_recorded(stored[key]) == _without_recorded(answers[key]), key


def test_every_example_validates_against_its_operations_schema(
    document: dict[str, Any],
) -> None:
    checked = 0
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            bodies = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
            bodies += [
                response.get("content", {}).get("application/json")
                for response in operation.get("responses", {}).values()
            ]
            for media in bodies:
                if not media or "examples" not in media:
                    continue
                schema = {**media["schema"], "components": document["components"]}
                for example in media["examples"].values():
                    jsonschema.Draft202012Validator(schema).validate(example["value"])
                    checked += 1
    assert checked >= 12, checked


async def test_the_append_example_is_what_the_server_takes_and_answers(
    client: Client, document: dict[str, Any]
) -> None:
    one = document["paths"]["/streams/{stream_id}/events"]["post"]
    body = one["requestBody"]["content"]["application/json"]["examples"]["seed"]["value"]
    answer = one["responses"]["201"]["content"]["application/json"]["examples"]["seed"]["value"]
    response = await client.post(f"/streams/{answer['stream_id']}/events", json=body)
    assert response.status_code == 201, response.text
    assert response.json() == answer


async def test_the_multi_append_example_is_what_the_server_answers_after_the_first_seeds(
    client: Client, document: dict[str, Any]
) -> None:
    index = json.loads((REPO / "seeds" / "index.json").read_text())
    first = json.loads((REPO / "seeds" / index[0]).read_text())
    assert (await client.post("/events", json=first)).status_code == 201
    many = document["paths"]["/events"]["post"]
    body = many["requestBody"]["content"]["application/json"]["examples"]["seed"]["value"]
    answer = many["responses"]["201"]["content"]["application/json"]["examples"]["seed"]["value"]
    response = await client.post("/events", json=body)
    assert response.status_code == 201, response.text
    assert response.json() == answer


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.references.append(value)


async def test_the_reference_page_loads_only_assets_the_app_serves(client: Client) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    parser = _Assets()
    parser.feed(page.text)
    assert len(parser.references) >= 3
    for reference in parser.references:
        assert reference.startswith("/"), f"{reference} is not served by this app"
        asset = await client.get(reference)
        assert asset.status_code == 200, reference
        assert asset.content, reference
    script = (await client.get("/schema/docs.js")).text
    assert "/schema/openapi.json" in script
    assert "http" not in script
    licence = await client.get("/schema/assets/LICENSE")
    assert "Apache License" in licence.text


async def test_the_served_document_is_the_finished_one(
    client: Client, document: dict[str, Any]
) -> None:
    served = (await client.get("/schema/openapi.json")).json()
    assert served["paths"].keys() == document["paths"].keys()
    assert served["components"]["schemas"].keys() == document["components"]["schemas"].keys()


HTTP_METHODS = {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"}


async def test_allow_lists_exactly_the_methods_the_document_declares_for_every_path(
    client: Client,
) -> None:
    served = (await client.get("/schema/openapi.json")).json()
    assert served["paths"]
    for path, item in served["paths"].items():
        declared = {method.upper() for method in item} & HTTP_METHODS
        assert "OPTIONS" in declared, path
        if "GET" in declared:
            assert "HEAD" in declared, path
        concrete = re.sub(r"\{[^}]+\}", "mission-x1", path)
        options = await client.options(concrete)
        assert options.status_code == 204, (path, options.text)
        assert set(options.headers["allow"].split(", ")) == declared, path
        # a method the path does not answer: 405, naming the same methods
        refused = await client.request("PUT" if "PUT" not in declared else "DELETE", concrete)
        assert refused.status_code == 405, path
        assert set(refused.headers["allow"].split(", ")) == declared, path


async def _write_read_examples() -> None:
    """Refresh the read examples of ``examples.json`` from a log holding the seeds."""
    import tempfile

    from litestar.testing import AsyncTestClient

    from incidents.http.auth import tokens_of

    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(database_url=f"sqlite:///{directory}/examples.db", reply_window_days=30)
        app = create_app(settings)
        async with AsyncTestClient(app=app) as client:
            issued = await tokens_of(app).create("writer", "examples")
            client.headers["Authorization"] = f"Bearer {issued.token}"
            answers = await read_answers(client)
    examples = {**seed_examples(REPO / "seeds"), **answers}
    EXAMPLES_FILE.write_text(json.dumps(examples, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    import asyncio

    asyncio.run(_write_read_examples())
