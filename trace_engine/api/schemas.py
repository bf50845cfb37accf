"""JSON Schema validators for request bodies, compiled from the served OpenAPI 3.1 document
(:mod:`trace_engine.api.openapi`), so that what the document promises and what the server accepts are one thing.
OpenAPI 3.1 schemas are JSON Schema 2020-12, so they are used as they are."""

from __future__ import annotations

import functools
from typing import Any

from trace_engine.api.openapi import served_document, to_31


def openapi_document() -> dict[str, Any]:
    """The served document (kept under this name for callers of the first version)."""
    return served_document()


def to_jsonschema(node: Any) -> Any:
    """An OpenAPI 3.0 schema (``nullable``) as JSON Schema 2020-12 (type unions): :func:`openapi.to_31`."""
    return to_31(node)


@functools.cache
def validator(name: str) -> Any:
    """A Draft 2020-12 validator for the served ``components/schemas/<name>``."""
    import jsonschema

    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": {"schemas": served_document()["components"]["schemas"]},
        "$ref": f"#/components/schemas/{name}",
    }
    return jsonschema.Draft202012Validator(doc)


def errors(name: str, instance: Any) -> list[dict[str, str]]:
    """Every violation of schema ``name``: ``{"code": "schema", "pointer": "/guardrails/mode", "message": ...}``."""
    out = []
    for err in sorted(validator(name).iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        pointer = "/" + "/".join(str(p) for p in err.absolute_path)
        message = err.message if len(err.message) <= 300 else err.message[:297] + "..."
        out.append({"code": "schema", "pointer": pointer, "message": f"{pointer}: {message}"})
    return out
