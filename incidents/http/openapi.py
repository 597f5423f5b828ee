"""The OpenAPI document, finished so a client can be generated from it, and its offline docs.

Litestar builds the document from the handlers; this module finishes it once per process:

- request bodies and every schema they reach are msgspec's own JSON Schema of the Structs,
  so the document says exactly what the decoder accepts (unknown fields refused, the event
  types a union discriminated on ``type``, each with its ``data``);
- every schema is described by its Struct's docstring;
- the response headers each operation sends are declared;
- request and response examples come from the seeds (``examples.json``, kept fresh by tests):
  the appends are computed from the seed files; the reads are the answers of a log holding
  the seeds (``python -m tests.integration.test_openapi`` writes them), whose ``recorded_at``,
  ``updated_at``, ``hash``, ``generated_at``, actor and correlation id are those of the
  load that made them, so only illustrative;
- ``HEAD`` (beside every ``GET``) and ``OPTIONS`` (on every path) are declared, as the server
  answers them, so a path's ``Allow`` header and its methods here are the same list.

``/schema`` serves the reference with Swagger UI from the pinned ``swagger-ui-py`` package:
nothing comes from a CDN, so an offline desk sees it.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import json
import re
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Router, get
from litestar.enums import OpenAPIMediaType
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

from incidents.domain.events import _CURRENCY_CODES as CURRENCY_CODES
from incidents.domain.events import EVENT_TYPES
from incidents.domain.times import _zones as known_zones
from incidents.http.bodies import AppendBody, MultiAppendBody, without_data_tags
from incidents.http.problems import Problem
from incidents.service import HISTORICAL_REFERENCES
from incidents.store.protocol import STREAM_ID_MAX_LENGTH, STREAM_ID_PATTERN

SCHEMA_PATH = "/schema"
EXAMPLES_FILE = Path(__file__).with_name("examples.json")
# Swagger UI's files, as the pinned package installs them (its LICENSE is beside them).
# Found without importing the package, whose own code (a Jinja2 and YAML server) is not used.
_SWAGGER_UI_SPEC = importlib.util.find_spec("swagger_ui")
assert _SWAGGER_UI_SPEC is not None and _SWAGGER_UI_SPEC.submodule_search_locations
SWAGGER_UI_DIR = Path(_SWAGGER_UI_SPEC.submodule_search_locations[0]) / "static"
DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE")
_REF = "#/components/schemas/{name}"

# The response headers each operation sends, by operationId and status.
_ETAG = {"description": "The version of what was read (a stream's version, the log's head)"}
_CACHE = {"description": "How long the answer may be kept; full pages of the log are immutable"}
_LINK = {"description": "The next, previous and first pages (RFC 8288)"}
_PAGE_HEADERS = {"ETag": _ETAG, "Cache-Control": _CACHE, "Link": _LINK}
RESPONSE_HEADERS: dict[str, dict[str, dict[str, dict[str, str]]]] = {
    "appendToStream": {
        "201": {
            "Location": {"description": "The stream's URL"},
            "ETag": {"description": "The stream's new version"},
        },
        "200": {"ETag": {"description": "The stream's version"}},
    },
    "readStreamEvents": {"200": _PAGE_HEADERS},
    "getStreamState": {"200": {"ETag": _ETAG, "Cache-Control": _CACHE}},
    "readLog": {"200": _PAGE_HEADERS},
    "listUnansweredNotes": {"200": _PAGE_HEADERS},
    "listOpenProtests": {"200": _PAGE_HEADERS},
    "listIncidents": {"200": _PAGE_HEADERS},
    "listMissions": {"200": {"ETag": _ETAG, "Cache-Control": _CACHE}},
    "listMissionUnansweredNotes": {"200": {"ETag": _ETAG, "Cache-Control": _CACHE}},
}
_RETRY_AFTER = {"description": "Seconds to wait before retrying"}


def _structs() -> dict[str, type]:
    """Component name → Struct, for every Struct of this package."""
    found: dict[str, type] = {}
    pending: list[type] = [msgspec.Struct]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("incidents."):
            found.setdefault(cls.__name__, cls)
    return found


def _struct_descriptions() -> dict[str, str]:
    """Component name → its Struct's docstring, for every Struct of this package."""
    return {name: inspect.cleandoc(cls.__doc__) for name, cls in _structs().items() if cls.__doc__}


def _request_bodies(document: dict[str, Any]) -> list[type]:
    """The Structs every operation's JSON request body names."""
    structs = _structs()
    found: list[type] = [AppendBody, MultiAppendBody, Problem]
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            cls = structs.get(ref.rsplit("/", 1)[-1])
            if cls is not None and cls not in found:
                found.append(cls)
    return found


def _request_components(document: dict[str, Any]) -> dict[str, Any]:
    """msgspec's schemas of the request bodies and everything they reach, as components:
    what the decoder takes (StrictRequest validates with the same schemas)."""
    _, components = msgspec.json.schema_components(_request_bodies(document), ref_template=_REF)
    without_data_tags(components)
    return components


# What the parameters that recur across operations mean, for those declared without words.
_PARAMETER_DESCRIPTIONS = {
    "after": "Where the previous page ended: start after this position (or cursor)",
    "type": "Only events of these types (repeatable)",
    "category": "Only events of streams of these categories (repeatable)",
    "stream": "Only events of these streams (repeatable)",
    "mission": "Only what concerns these missions (their stream ids)",
    "Last-Event-ID": "The last position the client received; it wins over after",
    "token_id": "The token's id, as tokens list shows it",
    "as_of": "Only events that occurred at or before this time (RFC 3339)",
    "known_at": "Only events the log had recorded at or before this time (RFC 3339)",
    "limit": "The most rows a page holds",
    "mission_id": "The mission's stream id",
    "offset": "How many results to skip",
    "body": "A body's name, matched case-insensitively",
}


# Parameters that are times: RFC 3339 with an offset, so generated values are ones the
# server takes.
_TIME_PARAMETERS = frozenset({"as_of", "known_at", "since", "until"})


# Patterns of repeatable parameters whose items Litestar documents as plain strings.
_ITEM_PATTERNS = {
    "mission": r"^mission-[a-z0-9][a-z0-9-]*$",
    "stream": STREAM_ID_PATTERN,
}


# Patterns of parameters Litestar documents as plain strings.
_PATTERNS = {"Last-Event-ID": r"^[0-9]{1,16}$"}


def _describe_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        schema_of = parameter.get("schema", {})
        if parameter["name"] in _PATTERNS and schema_of.get("type") == "string":
            schema_of["pattern"] = _PATTERNS[parameter["name"]]
        items = parameter.get("schema", {}).get("items", {})
        if items.get("type") == "string" and "pattern" not in items:
            pattern = _ITEM_PATTERNS.get(parameter["name"])
            if pattern is not None:
                items["pattern"] = pattern
                items.setdefault("maxLength", STREAM_ID_MAX_LENGTH)
        if not parameter.get("description") and parameter["name"] in _PARAMETER_DESCRIPTIONS:
            parameter["description"] = _PARAMETER_DESCRIPTIONS[parameter["name"]]
        schema = parameter.get("schema", {})
        if parameter["name"] in _TIME_PARAMETERS and schema.get("type") == "string":
            schema["format"] = "date-time"


def _not_null(operation: dict[str, Any]) -> None:
    """A parameter is present or absent, never null: drop the null of ``X | None``."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        branches = schema.get("oneOf")
        if branches and {"type": "null"} in branches:
            rest = [branch for branch in branches if branch != {"type": "null"}]
            del schema["oneOf"]
            schema.update(rest[0] if len(rest) == 1 else {"oneOf": rest})


def _declare_headers(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.get("responses", {})
    for status, headers in RESPONSE_HEADERS.get(operation.get("operationId", ""), {}).items():
        if status in responses:
            declared = responses[status].setdefault("headers", {})
            for name, header in headers.items():
                declared[name] = {**header, "schema": {"type": "string"}}
    for status in ("503", "429"):
        if status in responses:
            responses[status].setdefault("headers", {})["Retry-After"] = {
                **_RETRY_AFTER,
                "schema": {"type": "integer"},
            }


def _add_examples(operation: dict[str, Any], examples: dict[str, Any]) -> None:
    operation_id = operation.get("operationId", "")
    request = examples.get(f"{operation_id}.request")
    if request is not None:
        content = operation["requestBody"]["content"]["application/json"]
        content["examples"] = {"seed": {"summary": "From the seeds", "value": request}}
    for status, response in operation.get("responses", {}).items():
        value = examples.get(f"{operation_id}.{status}")
        if value is not None:
            media = response["content"]["application/json"]
            media["examples"] = {"seed": {"summary": "From the seeds", "value": value}}


def _head_and_options(path: str, item: dict[str, Any]) -> None:
    """Declare ``HEAD`` as the ``GET`` without bodies, and ``OPTIONS`` with its ``Allow``."""
    read = item.get("get")
    if read is not None and "head" not in item:
        head = copy.deepcopy(read)
        head["operationId"] = read["operationId"] + "Head"
        head["summary"] = f"{read.get('summary', read['operationId'])}: headers only"
        head["description"] = "The headers the GET sends, without its body."
        for response in head.get("responses", {}).values():
            response.pop("content", None)
        item["head"] = head
    if "options" in item:
        return
    methods = sorted(
        method.upper() for method in item if method in ("get", "head", "post", "put", "patch")
    )
    # Routing matches any text in a path parameter; OPTIONS checks none of them.
    parameters = [
        {**parameter, "schema": {"type": "string"}}
        for operation in item.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "path"
    ]
    words = [word for word in re.split(r"[^A-Za-z0-9]+", path) if word]
    item["options"] = {
        "operationId": "options" + "".join(word[0].upper() + word[1:] for word in words),
        "summary": f"The methods {path} answers",
        "description": "No body; the Allow header lists the methods of this path.",
        "parameters": list({parameter["name"]: parameter for parameter in parameters}.values()),
        "responses": {
            "204": {
                "description": "The methods of this path",
                "headers": {
                    "Allow": {
                        "description": ", ".join([*methods, "OPTIONS"]),
                        "schema": {"type": "string"},
                    }
                },
            }
        },
    }


def finish(document: dict[str, Any], examples: dict[str, Any] | None = None) -> dict[str, Any]:
    """The document Litestar built, finished as the module docstring says."""
    document = copy.deepcopy(document)
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_request_components(document))
    without_data_tags(schemas)
    # Money's __post_init__ takes ISO 4217 codes only: the schema lists them.
    if "Money" in schemas:
        schemas["Money"]["properties"]["currency"] = {
            "enum": sorted(CURRENCY_CODES),
            "description": "ISO 4217 currency code",
        }
    # occurred_zone is checked against the system's IANA zones: the schema lists them once.
    schemas["ZoneName"] = {
        "enum": sorted(known_zones()),
        "description": "An IANA time zone the server knows, such as Europe/Paris",
    }
    for schema in schemas.values():
        zone = schema.get("properties", {}).get("occurred_zone")
        if zone is not None:
            schema["properties"]["occurred_zone"] = {
                "anyOf": [{"$ref": _REF.format(name="ZoneName")}, {"type": "null"}],
                "default": None,
            }
    descriptions = _struct_descriptions()
    for name, schema in schemas.items():
        if not schema.get("description") and name in descriptions:
            schema["description"] = descriptions[name]
        schema.pop("title", None)
    for name in EVENT_TYPES:
        if name in schemas:
            schemas[name]["description"] = f"The data of a {name} event. " + schemas[name].get(
                "description", ""
            )
    if examples is None:
        examples = load_examples()
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete", "head"):
                _not_null(operation)
                _describe_parameters(operation)
                _declare_headers(operation)
                _add_examples(operation, examples)
        _head_and_options(path, item)
    return document


def load_examples() -> dict[str, Any]:
    """The examples the seeds give: :func:`seed_examples` and the read answers beside them."""
    if not EXAMPLES_FILE.exists():
        return {}
    loaded: dict[str, Any] = json.loads(EXAMPLES_FILE.read_text())
    return loaded


def seed_examples(seeds_dir: Path) -> dict[str, Any]:
    """Examples for the append operations, taken from the first two seed files, with the
    places their events get when the seeds are loaded into an empty log in order."""
    index = json.loads((seeds_dir / "index.json").read_text())
    first = json.loads((seeds_dir / index[0]).read_text())
    second = json.loads((seeds_dir / index[1]).read_text())
    one = first["appends"][0]
    body = {"expected_version": "no_stream", "events": one["events"][:1]}
    event = one["events"][0]
    answer = {
        "stream_id": one["stream_id"],
        "version": 1,
        "events": [{"event_id": event["event_id"], "position": 1, "version": 1}],
    }
    position = sum(len(part["events"]) for part in first["appends"])
    versions: dict[str, int] = {}
    for part in first["appends"]:
        versions[part["stream_id"]] = versions.get(part["stream_id"], 0) + len(part["events"])
    appends = []
    known = {part["stream_id"] for part in first["appends"]}
    for append_index, part in enumerate(second["appends"]):
        known.add(part["stream_id"])
        warnings = [
            {
                "rule": "reference-not-in-log",
                "pointer": f"/appends/{append_index}/events/{event_index}/data/{field}",
                "detail": f"{event['data'][field]!r} is not in the log (from before it began, "
                "or not recorded yet); the event was stored",
            }
            for event_index, event in enumerate(part["events"])
            for field in HISTORICAL_REFERENCES
            if event["data"].get(field) not in (None, *known)
        ]
        placed = []
        for event in part["events"]:
            position += 1
            versions[part["stream_id"]] = versions.get(part["stream_id"], 0) + 1
            placed.append(
                {
                    "event_id": event["event_id"],
                    "position": position,
                    "version": versions[part["stream_id"]],
                }
            )
        answer_part: dict[str, Any] = {
            "stream_id": part["stream_id"],
            "version": versions[part["stream_id"]],
            "events": placed,
        }
        if warnings:
            answer_part["warnings"] = warnings
        appends.append(answer_part)
    return {
        "appendToStream.request": body,
        "appendToStream.201": answer,
        "appendToStreams.request": second,
        "appendToStreams.201": {"appends": appends},
    }


class FinishedDocument(OpenAPIRenderPlugin):
    """Serves ``/schema/openapi.json``: Litestar's document, finished once and kept."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json", media_type=OpenAPIMediaType.OPENAPI_JSON)
        self.document: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The finished document."""
        if self.document is None:
            self.document = _encode(finish(openapi_schema))
        return self.document


class OfflineReference(OpenAPIRenderPlugin):
    """Serves ``/schema``: the reference rendered by Swagger UI from the pinned package."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"])

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The reference page: Swagger UI's files and a script, all from this server."""
        return _DOCS_PAGE.format(base=SCHEMA_PATH).encode()

    def receive_router(self, router: Router) -> None:
        """Add Swagger UI's files and the script that starts it to the ``/schema`` router."""
        router.register(docs_script)
        router.register(
            create_static_files_router(
                path="/assets",
                directories=[SWAGGER_UI_DIR],
                include_in_schema=False,
                name="docs-assets",
            )
        )


def openapi_document(app: Litestar) -> dict[str, Any]:
    """The finished document of ``app``, as ``/schema/openapi.json`` serves it."""
    return finish(app.openapi_schema.to_schema())


_encode = msgspec.json.Encoder().encode

_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Incidents log: API reference</title>
<link rel="stylesheet" href="{base}/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/assets/swagger-ui-bundle.js"></script>
<script src="{base}/docs.js"></script>
</body>
</html>
"""
_DOCS_SCRIPT = """window.ui = SwaggerUIBundle({
  url: "%s/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
});
"""


@get("/docs.js", media_type="text/javascript", sync_to_thread=False, include_in_schema=False)
def docs_script() -> str:
    """Starts Swagger UI on the document (a file of its own, so no inline script is needed)."""
    return _DOCS_SCRIPT % SCHEMA_PATH
