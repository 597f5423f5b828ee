"""JSON Schema for every event type and request body, generated from the Structs.

``incidents export-schemas`` writes these files into ``schemas/``; a test fails when a file
there is not what this module generates, so the directory never drifts from the code.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import msgspec

from incidents.domain.events import EVENT_TYPES
from incidents.http.bodies import AppendBody, MultiAppendBody, without_data_tags

_encode = msgspec.json.Encoder(order="sorted")


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name → schema: one per event type's data, one per request body."""
    documents: dict[str, dict[str, Any]] = {}
    for name, struct_type in sorted(EVENT_TYPES.items()):
        documents[f"events/{name}.json"] = _without_tag(msgspec.json.schema(struct_type), name)
    for body in (AppendBody, MultiAppendBody):
        document = msgspec.json.schema(body)
        without_data_tags(document["$defs"])
        documents[f"requests/{body.__name__}.json"] = document
    return documents


def _without_tag(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The schema of ``data`` as clients send it: the type travels beside it, not inside."""
    without_data_tags(document["$defs"])
    return document


def render(document: dict[str, Any]) -> bytes:
    """A schema as it is written to disk: sorted keys, indented, newline at the end.

    Descriptions (the Structs' docstrings) are dedented here, as msgspec 0.23 does and
    earlier releases did not, so the files do not depend on which release is installed.
    """
    return msgspec.json.format(_encode.encode(_cleaned(document)), indent=2) + b"\n"


def _cleaned(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value)
            if key == "description" and isinstance(value, str)
            else _cleaned(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_cleaned(item) for item in node]
    return node


def export_schemas(out: Path) -> list[Path]:
    """Write every schema under ``out``; remove files of types that no longer exist."""
    written: list[Path] = []
    documents = schema_documents()
    for relative, document in documents.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(document))
        written.append(path)
    for stale in out.glob("*/*.json"):
        if str(stale.relative_to(out)) not in documents:
            stale.unlink()
    return written
