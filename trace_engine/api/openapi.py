"""The served OpenAPI 3.1 document (``GET /openapi.json``), built from the seed's ``/v1/trace/*`` contract.

``openapi_trace.json`` (shipped with the package) is seed 001's ``/v1/trace/*`` operations with the schemas they
reference, as written: OpenAPI 3.0 habits included (``nullable: true``). :func:`served_document` turns it into
what the service actually does, so that a client, Swagger UI or schemathesis can trust it:

* ``nullable`` becomes a JSON Schema type union (``["string", "null"]``; ``enum`` gains ``null``; a nullable
  ``allOf`` becomes ``anyOf [..., {"type": "null"}]``): 3.1 has no ``nullable``.
* Request schemas say exactly what is accepted: ``TraceConfigInput`` and ``TraceGuardrails`` are closed
  (``additionalProperties: false``) and carry Trace's extensions and the compiler's limits; ids are bounded
  strings without control characters; ``TraceRulePackSpec`` keeps the seed's structural shape with the limits.
* Every operation lists every status it can return, in the shape it returns it: the ``Error`` envelope for
  401/403/429 (with ``Retry-After``), ``application/problem+json`` ``Problem`` for the rest; ``ETag`` on config and
  rule-pack responses, 304 where ``If-None-Match`` applies, 412 for ``If-Match`` on ``PUT /v1/trace/config``.
* Trace's additions are marked in the descriptions: ``/healthz``, ``/readyz``, ``agent_id`` on violations and
  exposure, ``alerts`` on findings, and ``GET /v1/trace/interactions/{id}/explain`` (the evaluator's trace of a
  stored call: a path of its own, so the seed's detail view keeps its exact shape).

The request validators in :mod:`trace_engine.api.schemas` are compiled from this document, so what the document
says and what the server accepts cannot drift apart.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from trace_engine.api.errors import ERROR_CODES, PROBLEM_CODES
from trace_engine.compile.limits import LIMITS

SEED_SUBSET = Path(__file__).with_name("openapi_trace.json")

#: No control characters (C0, DEL, C1): what an id, version or filter value may contain.
NO_CONTROL = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"
MAX_ID = 256
#: A phrase: non-blank, at most ``phrase_words`` words (the compiler's own word split is ``str.split``).
PHRASE_PATTERN = "^\\s*\\S+(\\s+\\S+){0," + str(LIMITS.phrase_words - 1) + "}\\s*$"
CURSOR_PATTERN = "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$"


def seed_subset() -> dict[str, Any]:
    """The seed's ``/v1/trace/*`` contract as shipped (OpenAPI 3.0 style, unconverted)."""
    return json.loads(SEED_SUBSET.read_text(encoding="utf-8"))


def to_31(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable`` -> JSON Schema 2020-12 type unions; drops nothing else."""
    if isinstance(node, list):
        return [to_31(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_31(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "allOf" in out:
            out = {"anyOf": [{"allOf": out.pop("allOf")}, {"type": "null"}], **out}
    return out


# ------------------------------------------------------------------------------------------ components


def _id_schema(description: str | None = None, max_length: int = MAX_ID) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": NO_CONTROL}
    if description:
        s["description"] = description
    return s


def _phrase(description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": LIMITS.phrase_chars,
        "pattern": PHRASE_PATTERN,
        "description": description,
    }


def _guardrails(seed: dict[str, Any]) -> dict[str, Any]:
    g = copy.deepcopy(seed)
    props = g["properties"]
    g["additionalProperties"] = False
    props["block_pii"]["additionalProperties"] = False
    disclosure = props["mandatory_disclosures"]["items"]
    disclosure["additionalProperties"] = False
    disclosure["properties"]["text"] = _phrase(disclosure["properties"]["text"]["description"])
    disclosure["properties"]["required_within_seconds"]["exclusiveMinimum"] = 0
    props["mandatory_disclosures"]["maxItems"] = 1000
    props["blocked_phrases"]["items"] = _phrase("A phrase the agent must never say.")
    props["blocked_phrases"]["maxItems"] = LIMITS.phrases
    props["inline_timeout_ms"]["exclusiveMinimum"] = 0
    return g


def _tier2() -> dict[str, Any]:
    checks = {"type": "string", "enum": ["ambiguous_optout", "context_pii", "hallucination", "minimum_necessary",
                                         "brand_tone"]}
    return {
        "type": ["object", "null"],
        "description": "Trace extension: the asynchronous, advisory Tier-2 checks (docs/tier2.md). Over the API "
        "the knowledge base is a list of passages (a file path is a local-only setting).",
        "additionalProperties": False,
        "properties": {
            "enabled": {"type": "boolean"},
            "checks": {"type": "array", "items": checks},
            "knowledge_base": {"type": ["array", "null"], "items": {"type": "string"}},
            "llm": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "enabled": {"type": "boolean"},
                    "url": {"type": ["string", "null"]},
                    "api_key": {"type": ["string", "null"]},
                    "model": {"type": "string"},
                    "checks": {"type": "array", "items": checks},
                    "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
                    "replace_local": {"type": "boolean"},
                },
            },
            "queue_size": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "window_turns": {"type": "integer", "minimum": 1, "maximum": 50},
            "min_confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }


def _call_defaults() -> dict[str, Any]:
    """``call_defaults`` (:mod:`trace_engine.facts`): call facts by input key, plus ``by_agent``."""
    from trace_engine import facts

    def schema(fact: Any) -> dict[str, Any]:
        if fact.type == "enum":
            return {"enum": list(fact.values)}
        if fact.type == "state_code":
            return {"enum": sorted(facts.US_STATE_CODES)}
        return {
            "bool": {"type": "boolean"},
            "int": {"type": "integer", "minimum": 0},
            "text": {"type": "string", "minLength": 1, "maxLength": LIMITS.phrase_chars, "pattern": "\\S"},
            "text_list": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "\\S"}},
            "timestamp": {"type": "string", "format": "date-time"},
        }[fact.type]

    props = {key: {**schema(facts.FACTS[name]), "description": facts.FACTS[name].doc} for key, name in facts._INPUTS.items()}
    one = {"type": "object", "additionalProperties": False, "properties": props}
    return {
        "type": "object",
        "description": "Trace extension: the call facts a call has when its metadata lacks them (docs/dsl.md), with "
        "per-agent defaults under `by_agent`.",
        "additionalProperties": False,
        "properties": {**props, "by_agent": {"type": "object", "additionalProperties": one, "maxProperties": 1000}},
    }


def _config_input(seed: dict[str, Any]) -> dict[str, Any]:
    c = copy.deepcopy(seed)
    props = c["properties"]
    c["additionalProperties"] = False
    c["description"] += (
        " Closed: an unknown field is a 400 (a typo must not pass silently). Trace's extensions: `call_defaults`, "
        "`variables`, `callback_numbers`, `fallback_line`, `handoff_line`, `tier2`."
    )
    props["agent_id"] = _id_schema("Agent to configure; omit for the org-wide default.")
    ref = props["rule_packs"]["additionalProperties"]
    ref["additionalProperties"] = False
    ref["properties"]["version"] = {"type": ["string", "null"], "maxLength": MAX_ID, "pattern": NO_CONTROL}
    props["rule_packs"]["propertyNames"] = {"pattern": "^[a-z0-9_]+$", "maxLength": 64}
    props["rule_packs"]["maxProperties"] = 100
    props["guardrails"] = {"$ref": "#/components/schemas/TraceGuardrails"}
    props["variables"] = {
        "type": "object",
        "description": "Trace extension: values for `{name}` placeholders in rule text.",
        "maxProperties": 1000,
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": 64},
    }
    props["callback_numbers"] = {
        "type": "array",
        "maxItems": 100,
        "items": {"type": "string", "maxLength": 64},
        "description": "Trace extension: phone numbers the agent may say (not PII findings).",
    }
    for name, what in (("fallback_line", "spoken in place of a blocked turn"), ("handoff_line", "spoken when handing off")):
        props[name] = {"type": ["string", "null"], "maxLength": LIMITS.phrase_chars, "description": f"Trace extension: {what}."}
    props["tier2"] = _tier2()
    props["call_defaults"] = _call_defaults()
    return c


def _problem(seed: dict[str, Any]) -> dict[str, Any]:
    p = copy.deepcopy(seed)
    p["description"] += (
        " Trace always sends `type`, `title`, `status`, `detail`, `code` (the stable code again), `request_id` and "
        "`param`; `errors` (every diagnostic) and `limit` (the documented limit exceeded) when they apply."
    )
    p["required"] = ["type", "title", "status", "detail", "code", "request_id", "param"]
    p["properties"]["code"] = {"type": "string", "enum": sorted(PROBLEM_CODES)}
    p["properties"]["param"] = {"type": ["string", "null"], "description": "The offending parameter, if any."}
    p["properties"]["errors"] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "level": {"type": "string"},
                "pointer": {"type": "string", "description": "JSON pointer into the request body."},
                "location": {"type": "object", "description": "line/col in the uploaded pack."},
                "hint": {"type": "string"},
            },
        },
    }
    p["properties"]["limit"] = {
        "type": "object",
        "required": ["name", "max"],
        "properties": {"name": {"type": "string"}, "max": {"type": "number"}},
    }
    return p


def _exposure_estimate() -> dict[str, Any]:
    """``TraceExposure.estimated_damages`` (:func:`trace_engine.damages.estimate`)."""
    count = {"type": "integer", "minimum": 0}
    rule = {
        "type": "object",
        "properties": {"rule_id": {"type": "string"}, "pack_id": {"type": ["string", "null"]}},
        "required": ["rule_id", "pack_id"],
    }
    claim = {
        "type": "object",
        "description": "One figure: the rules that carry it and how many times it applies (calls for `per: call`, "
        "findings for `per: violation`).",
        "required": ["citation", "per", "low", "high", "note", "rules", "count", "estimated_low", "estimated_high"],
        "properties": {
            "citation": {"type": "string", "description": "The provision that gives the figure."},
            "per": {"type": "string", "enum": ["call", "violation"]},
            "low": count,
            "high": count,
            "note": {"type": ["string", "null"]},
            "rules": {"type": "array", "items": rule},
            "count": count,
            "estimated_low": count,
            "estimated_high": count,
        },
    }
    return {
        "type": "object",
        "description": "Trace extension: estimated statutory exposure over the window, in whole US dollars: each "
        "damages figure a rule pack states times how often it applies (rules citing the same provision with the "
        "same figure `per call` are one claim per call). An estimate, not legal advice.",
        "required": ["object", "currency", "low", "high", "claims", "rules_with_figure", "rules_without_figure",
                     "disclaimer"],
        "properties": {
            "object": {"type": "string", "example": "trace.exposure_estimate"},
            "currency": {"type": "string", "example": "USD"},
            "low": count,
            "high": count,
            "claims": {"type": "array", "items": claim},
            "rules_with_figure": count,
            "rules_without_figure": count,
            "disclaimer": {"type": "string"},
        },
    }


def _explain_schemas() -> dict[str, Any]:
    """``TraceExplainEvent``, ``TraceExplainTurn`` and ``TraceInteractionExplain``: the event, reason and check
    names are the core's tables (:mod:`trace_engine.explain`), so the document lists exactly what the tracer emits."""
    from trace_engine.explain import CHECKS, EVENTS, REASONS

    span = {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2}
    event = {
        "type": "object",
        "description": "One thing the evaluator did (docs/explain.md). Rules by id; a span is characters of the "
        "turn's stored text and `text` its words.",
        "required": ["event", "says"],
        "properties": {
            "event": {"type": "string", "enum": list(EVENTS)},
            "says": {"type": "string", "description": "The event as one plain-English sentence."},
            "rule_id": {"type": "string"},
            "phrase": {"type": "string", "description": "`candidate`, `template_rejected`: the phrase found."},
            "regex": {"type": "string", "description": "`regex_ran`: the pattern."},
            "span": span,
            "text": {"type": "string"},
            "detector": {"type": "string", "description": "`validator_rejected`: the detector."},
            "failed": {"type": "string", "enum": list(CHECKS), "description": "`validator_rejected`: the check."},
            "state": {"type": "string"},
            "by": {"type": "string", "enum": ["agent", "caller", "answer"]},
            "window": {"type": "string", "enum": ["obligation", "prohibition"]},
            "met": {"type": "boolean"},
            "reason": {"type": "string", "enum": list(REASONS), "description": "`did_not_fire`: why."},
        },
    }
    turn = {
        "type": "object",
        "required": ["turn", "role", "text", "findings", "satisfied", "states", "events"],
        "properties": {
            "turn": {"type": ["integer", "null"], "description": "1-based; null for call start and call end."},
            "role": {"type": "string"},
            "text": {"type": "string", "description": "The turn as stored (PII redacted)."},
            "t": {"type": ["number", "null"]},
            "action": {"type": ["string", "null"]},
            "spoken": {"type": ["string", "null"]},
            "findings": {"type": "array", "items": {"type": "object"}},
            "satisfied": {"type": "array", "items": {"type": "string"}},
            "states": {"type": "array", "items": {"type": "string"}},
            "streamed": {"type": "boolean"},
            "events": {"type": "array", "items": {"$ref": "#/components/schemas/TraceExplainEvent"}},
        },
    }
    explain = {
        "type": "object",
        "description": "Trace extension: a stored call re-evaluated with the evaluator's tracer on, per turn (what "
        "`trace explain` prints). The stored timeline is PII-redacted (`[credit_card]`…), so detector rules cannot "
        "fire again and what they found shows only as its placeholder; the stored scorecard (`stored_verdict`, "
        "`GET /v1/trace/interactions/{id}`) stays the evidence.",
        "required": ["id", "audit_hash", "stored_verdict", "verdict", "redacted", "note", "mode", "packs_enforced",
                     "packs_unavailable", "turns", "not_evaluated", "not_applicable"],
        "properties": {
            "id": {"type": "string"},
            "call_id": {"type": "string"},
            "audit_hash": {"type": "string", "description": "The record explained."},
            "stored_verdict": {"type": "string", "enum": ["PASS", "WARN", "FAIL"]},
            "verdict": {"type": "string", "enum": ["PASS", "WARN", "FAIL"], "description": "The replay's verdict."},
            "redacted": {"type": "boolean", "description": "Always true: the replay reads the redacted timeline."},
            "note": {"type": "string"},
            "mode": {"type": "string", "enum": ["warn"], "description": "Replays run in `warn` mode."},
            "packs_enforced": {"type": "array", "items": {"type": "string"}},
            "packs_unavailable": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Packs the call was scored under that the tenant no longer has (not replayed).",
            },
            "turns": {"type": "array", "items": {"$ref": "#/components/schemas/TraceExplainTurn"}},
            "not_evaluated": {"type": "array", "items": {"type": "object"}},
            "not_applicable": {"type": "array", "items": {"type": "object"}},
        },
    }
    return {"TraceExplainEvent": event, "TraceExplainTurn": turn, "TraceInteractionExplain": explain}


def _schemas(seed: dict[str, Any]) -> dict[str, Any]:
    s = to_31(copy.deepcopy(seed["components"]["schemas"]))
    s["Problem"] = _problem(s["Problem"])
    s["TraceGuardrails"] = _guardrails(s["TraceGuardrails"])
    s["TraceConfigInput"] = _config_input(s["TraceConfigInput"])
    s["TraceConfigWrapped"] = {
        "type": "object",
        "description": "The wrapped form of a config body: `{agent_id, config}` (the agent named once, outside).",
        "additionalProperties": False,
        "required": ["config"],
        "properties": {
            "agent_id": _id_schema("Agent to configure; omit for the org-wide default."),
            "config": {"allOf": [{"$ref": "#/components/schemas/TraceConfigInput"}, {"not": {"required": ["agent_id"]}}]},
        },
    }
    s["TraceConfigBody"] = {
        "description": "A `PUT /v1/trace/config` body: the raw `TraceConfigInput` or the wrapped form.",
        "anyOf": [{"$ref": "#/components/schemas/TraceConfigInput"}, {"$ref": "#/components/schemas/TraceConfigWrapped"}],
    }
    s["TraceConfig"]["properties"]["source"] = {
        "type": "string",
        "enum": ["agent", "org_default", "default"],
        "description": "Trace extension: where the effective config comes from (the agent's own, the org "
        "default it inherits, or the safe default).",
    }
    s["TraceExposureEstimate"] = _exposure_estimate()
    s["TraceExposure"]["properties"]["estimated_damages"] = {
        "$ref": "#/components/schemas/TraceExposureEstimate",
        "description": "Trace extension: the statutory damages the packs' figures give for the window's findings "
        "(an estimate, not legal advice).",
    }
    spec = s["TraceRulePackSpec"]
    spec["properties"]["pack_id"]["maxLength"] = 64
    spec["properties"]["version"].update({"minLength": 1, "maxLength": 64, "pattern": NO_CONTROL})
    spec["properties"]["rules"]["maxItems"] = LIMITS.rules
    spec["description"] += (
        f" Uploads are compiled and linted before they are stored (400 `invalid_rule_pack` lists every "
        f"diagnostic); the compiler's limits apply (at most {LIMITS.pack_bytes} bytes, {LIMITS.rules} rules, "
        f"{LIMITS.phrases} phrases of at most {LIMITS.phrase_words} words / {LIMITS.phrase_chars} characters, "
        f"nesting {LIMITS.nesting}). `jurisdiction` and `legal_status` default to `unspecified` and "
        "`tenant upload - not reviewed`."
    )
    s["TraceRulePack"]["properties"]["warnings"] = {
        "type": "array",
        "items": {"type": "object"},
        "description": "Trace extension (upload response only): lint warnings of the uploaded pack.",
    }
    s.update(_explain_schemas())
    s["Health"] = {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "ready"]},
            "compilers": {"type": "integer", "description": "Rule-pack compiler processes up (readyz)."},
        },
    }
    return s


# ----------------------------------------------------------------------------------------- responses


def _responses() -> dict[str, Any]:
    def error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
        r: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if headers:
            r["headers"] = headers
        return r

    def problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
        r: dict[str, Any] = {
            "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if headers:
            r["headers"] = headers
        return r

    def codes(status: int) -> str:
        return ", ".join(f"`{c}`" for c, (st, _) in PROBLEM_CODES.items() if st == status)

    retry = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait."}}
    etag = {"ETag": {"schema": {"type": "string"}, "description": "The content hash (quoted)."}}
    return {
        "BadRequest": problem(f"Invalid request (`code`: {codes(400)})"),
        "Unauthorized": error("Missing or invalid API key (`code: unauthorized`)"),
        "Forbidden": error("Key lacks the required scope (`code: forbidden`)"),
        "NotFound": problem("Not found for this tenant (`code: not_found`)"),
        "Conflict": problem(f"Conflicts with the current state (`code`: {codes(409)})"),
        "PreconditionFailed": problem("`If-Match` / `If-None-Match` did not hold (`code: precondition_failed`)", etag),
        "TooLarge": problem("The body is too large (`code: payload_too_large`)"),
        "RequestTimeout": problem("The body did not arrive in time (`code: request_timeout`)"),
        "UnsupportedMediaType": problem("The body must be `application/json` (`code: unsupported_media_type`)"),
        "RateLimited": error(
            "Over the key's rate limit or the tenant's compile concurrency (`code: rate_limit_exceeded | "
            "concurrency_limit_exceeded`); see `Retry-After`",
            retry,
        ),
        "ServerError": problem("Unexpected error (`code: internal_error`), never with a stack trace"),
        "Unavailable": problem(f"Try again later (`code`: {codes(503)}); see `Retry-After`", retry),
        "NotModified": {"description": "Not modified (`If-None-Match` matched the current `ETag`)", "headers": etag},
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


_COMMON = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "429": "RateLimited", "500": "ServerError"}


def _param(name: str, where: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


def _operations(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    etag = {"ETag": {"schema": {"type": "string"}, "description": "The content hash (quoted)."}}
    for item in paths.values():
        for op in item.values():
            responses = op["responses"]
            for status, name in _COMMON.items():
                responses[status] = _ref(name)
            for p in op.get("parameters", []):
                s = p["schema"]
                if s.get("type") == "string" and "enum" not in s:
                    if p["name"] == "cursor":
                        p["schema"] = {"type": "string", "maxLength": 1024, "pattern": CURSOR_PATTERN}
                    else:
                        p["schema"] = {**_id_schema(), **({"example": s["example"]} if "example" in s else {})}
    agent = _param(
        "agent_id", "query", _id_schema(), "Trace extension: only this agent's (an unknown agent gives zero rows)."
    )
    # config
    get_cfg, put_cfg = paths["/v1/trace/config"]["get"], paths["/v1/trace/config"]["put"]
    get_cfg["description"] += (
        " Agents belong to the caller's tenant: an `agent_id` is looked up in the tenant's own namespace, so an "
        "agent never configured reads as the org default (or the safe default), whatever other tenants use."
    )
    get_cfg["responses"]["200"]["headers"] = etag
    get_cfg["responses"]["304"] = _ref("NotModified")
    put_cfg["requestBody"]["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/TraceConfigBody"}
    put_cfg["description"] += (
        "\n\nOptimistic concurrency: send `If-Match: \"<etag>\"` with the ETag you read (GET returns the effective "
        "config's ETag; a PUT succeeds only if it is still current, else 412 `precondition_failed` with the current "
        "`ETag`). `If-Match: *` always holds (a config always has a current representation: its own, the org "
        "default, or the safe default); `If-None-Match: *` creates only: 412 when the agent (or org default) "
        "already has a config of its own. Without these headers the last write wins."
    )
    put_cfg["responses"]["200"]["headers"] = etag
    put_cfg["responses"]["404"] = {"description": "Not used: an `agent_id` is always the caller's own (kept from the seed)."}
    for status, name in (("408", "RequestTimeout"), ("409", "Conflict"), ("412", "PreconditionFailed"),
                         ("413", "TooLarge"), ("415", "UnsupportedMediaType")):
        put_cfg["responses"][status] = _ref(name)
    # rule packs
    lst = paths["/v1/trace/rule-packs"]["get"]
    lst["responses"]["200"]["headers"] = etag
    lst["responses"]["304"] = _ref("NotModified")
    post = paths["/v1/trace/rule-packs"]["post"]
    post["description"] += (
        "\n\nTrace compiles and lints the pack at upload instead of leaving deep validation to pull time: a pack "
        "that cannot compile would otherwise be accepted here and fail inside a live call's config pull. "
        "Compilation runs in a separate process with a CPU-time and memory budget (400 `pack_too_complex` "
        "beyond it; 503 `compiler_busy` when every compiler is busy, or the server too loaded to give the "
        "compiler its CPU time in time). A duplicate `pack_id` + `version` is refused (409) "
        "before compiling."
    )
    post["responses"]["201"]["headers"] = {
        **etag,
        "Location": {"schema": {"type": "string"}, "description": "The new version's URL."},
    }
    for status, name in (("408", "RequestTimeout"), ("409", "Conflict"), ("413", "TooLarge"),
                         ("415", "UnsupportedMediaType"), ("503", "Unavailable")):
        post["responses"][status] = _ref(name)
    one = paths["/v1/trace/rule-packs/{id}"]["get"]
    one["responses"]["200"]["headers"] = etag
    one["responses"]["304"] = _ref("NotModified")
    one["responses"]["404"] = _ref("NotFound")
    # reads
    detail = paths["/v1/trace/interactions/{id}"]["get"]
    detail["responses"]["404"] = _ref("NotFound")
    detail["description"] += " Trace extension: `GET /v1/trace/interactions/{id}/explain` explains it."
    paths["/v1/trace/interactions/{id}/explain"] = {"get": _explain_operation(detail)}
    for path in ("/v1/trace/interactions", "/v1/trace/violations", "/v1/trace/findings"):
        op = paths[path]["get"]
        op["description"] += (
            " `limit` outside 1..100 is a 400. An `agent_id` or `interaction_id` the tenant does not have gives an "
            "empty list. A cursor that does not verify for this tenant, list and filters is a 404."
        )
        op["responses"]["404"] = _ref("NotFound")
    violations = paths["/v1/trace/violations"]["get"]
    violations["parameters"].insert(3, agent)
    findings = paths["/v1/trace/findings"]["get"]
    findings["parameters"].insert(
        4,
        _param(
            "alerts",
            "query",
            {"type": "boolean"},
            "Trace extension: the CCO alerts feed, findings with `action=escalate` **or** `severity=critical` "
            "(the other filters still apply; `action` and `severity` together mean both).",
        ),
    )
    exposure = paths["/v1/trace/exposure"]["get"]
    exposure["parameters"].append(agent)


def _explain_operation(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "tags": detail.get("tags", []),
        "summary": "Explain an interaction (the evaluator's trace)",
        "description": "Trace extension: the stored call replayed with the evaluator's tracer on, the way `trace "
        "explain` replays a transcript: per turn, what matched, which windows opened and closed, which states were "
        "set, what an exception or a state allowed, which detector candidates a check rejected, and which rules "
        "did not fire and why (docs/explain.md lists every event). The call is replayed in `warn` mode under the "
        "packs it was scored with (each at its recorded version, as the tenant has it) and the agent's effective "
        "config; its stored timeline is PII-redacted, so detector rules cannot fire again (`redacted`, `note`). "
        "Requires the `trace:read` scope; another tenant's call is a 404.",
        "operationId": "explainTraceInteraction",
        "parameters": [_param("id", "path", _id_schema(), "The call_id.", required=True)],
        "responses": {
            "200": {
                "description": "The interaction explained",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TraceInteractionExplain"}}},
            },
            "404": _ref("NotFound"),
            **{status: _ref(name) for status, name in _COMMON.items()},
        },
    }


def _service_paths() -> dict[str, Any]:
    def health(summary: str, description: str, ok_status: str, unavailable: bool) -> dict[str, Any]:
        responses: dict[str, Any] = {
            "200": {
                "description": ok_status,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}},
            }
        }
        if unavailable:
            responses["503"] = _ref("Unavailable")
        return {
            "get": {
                "tags": ["Service"],
                "summary": summary,
                "description": description,
                "operationId": summary.split()[0].lower() + "Health",
                "security": [],
                "responses": responses,
            }
        }

    return {
        "/healthz": health("Liveness", "Trace extension: the process is serving. No key needed.", "Alive", False),
        "/readyz": health(
            "Readiness",
            "Trace extension: the database answers and the rule-pack compilers are up. No key needed.",
            "Ready",
            True,
        ),
    }


@functools.cache
def served_document() -> dict[str, Any]:
    """The document ``GET /openapi.json`` serves (built once per process)."""
    seed = seed_subset()
    doc = to_31(copy.deepcopy(seed))
    doc["openapi"] = "3.1.0"
    doc.pop("servers", None)
    doc["info"]["description"] += (
        "\n\nErrors: the `Error` envelope for 401, 403 and 429; `application/problem+json` for every other status "
        "(stable codes: "
        + ", ".join(f"`{c}`" for c in sorted(PROBLEM_CODES))
        + "; envelope codes: "
        + ", ".join(f"`{c}`" for c in ERROR_CODES)
        + "). Rate limits are per key, with `Retry-After` on 429. See docs/api.md."
    )
    doc["tags"] = [*doc.get("tags", []), {"name": "Service", "description": "Health and readiness."}]
    doc["components"]["schemas"] = _schemas(seed)
    doc["components"]["responses"] = _responses()
    _operations(doc)
    doc["paths"].update(_service_paths())
    return doc


@functools.cache
def served_bytes() -> bytes:
    return json.dumps(served_document(), separators=(",", ":")).encode("utf-8")
