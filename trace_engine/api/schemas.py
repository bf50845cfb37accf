"""The seed spec's schemas as JSON Schema validators (OpenAPI 3.0 ``nullable`` turned into null alternatives)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

OPENAPI_PATH = Path(__file__).with_name("openapi_trace.json")


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The seed spec's ``/v1/trace/*`` operations with the schemas they reference (shipped with the package)."""
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


def to_jsonschema(node: Any) -> Any:
    if isinstance(node, list):
        return [to_jsonschema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_jsonschema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "allOf" in out:
            out = {"anyOf": [{"allOf": out.pop("allOf")}, {"type": "null"}], **out}
    return out


@functools.cache
def validator(name: str) -> Any:
    """A Draft 2020-12 validator for ``components/schemas/<name>``."""
    import jsonschema

    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": {"schemas": to_jsonschema(openapi_document()["components"]["schemas"])},
        "$ref": f"#/components/schemas/{name}",
    }
    return jsonschema.Draft202012Validator(doc)


def errors(name: str, instance: Any) -> list[dict[str, str]]:
    """Every violation of schema ``name``: ``{"pointer": "/guardrails/mode", "message": ...}``."""
    out = []
    for err in sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path)):
        pointer = "/" + "/".join(str(p) for p in err.absolute_path)
        out.append({"code": "schema", "pointer": pointer, "message": f"{pointer}: {err.message}"})
    return out
