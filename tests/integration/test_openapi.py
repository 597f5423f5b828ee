"""The OpenAPI document: complete enough to generate a client from, true to the server."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

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


def test_the_examples_file_is_what_the_seeds_give() -> None:
    assert json.loads(EXAMPLES_FILE.read_text()) == seed_examples(REPO / "seeds")


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
