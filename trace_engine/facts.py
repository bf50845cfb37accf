"""Call facts: the one definition of every fact a pack can read about a call.

A *call fact* is something known about the call rather than said in it: its direction, its purpose, who answered
(the AMD decision), the callee's local time... Each fact is defined once here (:data:`FACTS`): its name, its type,
its allowed values, how raw inputs are normalized, and its documentation. Everything else is derived from this
table: the config's ``call_defaults`` validation, the pack scopes the DSL accepts (``applies_to``), the lint's list
of known metadata keys, the JSON Schema of ``applies_to``, and the table in ``docs/dsl.md``.

Where a call's facts come from, first match wins, fact by fact:

1. the call's ``metadata`` (and later :meth:`Call.update_facts <trace_engine.gate.call.Call.update_facts>`);
2. the config's ``call_defaults.by_agent[agent_id]``;
3. the config's ``call_defaults``.

A layer that *has* the key decides: a value that cannot be used (``answered_by: "unknown"``, ``direction:
"sideways"``) makes the fact missing, with the value named in the reason; it does not fall through to a default,
because a default is not a substitute for what the call reported. A missing fact is never guessed: the rules that
need it are reported as not evaluated.

AMD decisions are read in both vocabularies the catalog names, from ``answered_by`` (PyAI's) or
``answered_by_twilio`` (Twilio's ``AnsweredBy`` enum), and normalized to the categories packs speak of:
``human``, ``machine``, ``screening``, ``ivr``, ``fax``, ``dead_number``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "AMD_CATEGORIES",
    "FACTS",
    "CallFact",
    "ResolvedFacts",
    "defaults_errors",
    "fact_names",
    "facts_markdown",
    "resolve_facts",
    "scope_fact_names",
    "scope_schema",
]

FactType = Literal["enum", "bool", "int", "text", "text_list", "timestamp", "state_code"]

#: Categories of an AMD decision, the values ``answered_by`` takes once normalized.
AMD_CATEGORIES: tuple[str, ...] = ("human", "machine", "screening", "ivr", "fax", "dead_number")

#: Raw AMD values of both vocabularies (already lower case, spaces and hyphens as underscores) -> category.
#: PyAI: human, voicemail, ivr, call_screening, dead_number, fax, unknown. Twilio ``AnsweredBy``: human,
#: machine_start, machine_end_beep, machine_end_silence, machine_end_other, fax, unknown. ``unknown`` is absent on
#: purpose: it is not a decision.
AMD_VALUES: dict[str, str] = {
    "human": "human",
    "voicemail": "machine",
    "machine_start": "machine",
    "machine_end_beep": "machine",
    "machine_end_silence": "machine",
    "machine_end_other": "machine",
    "call_screening": "screening",
    "ivr": "ivr",
    "fax": "fax",
    "dead_number": "dead_number",
    **{c: c for c in AMD_CATEGORIES},
}

US_STATE_CODES: frozenset[str] = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
    "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR VI GU AS MP".split()
)


@dataclass(frozen=True, slots=True)
class CallFact:
    """One call fact.

    Fields:
        name: the key packs read (``direction``) and ``call_defaults`` and ``applies_to`` use.
        type: ``enum`` (one of ``values``), ``bool``, ``int`` (>= 0), ``text``, ``text_list``, ``timestamp``
            (ISO 8601) or ``state_code`` (a US state or territory code).
        doc: one sentence for the generated docs.
        values: the allowed values of an ``enum`` fact, in documentation order.
        aliases: raw spellings accepted for an ``enum`` fact (lower case, ``_`` for spaces and hyphens) -> value.
        inputs: the metadata keys it is read from, in order (``answered_by`` also reads ``answered_by_twilio``).
        unusable: raw values that are known to carry no information (AMD's ``unknown``), with the reason.
    """

    name: str
    type: FactType
    doc: str
    values: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    unusable: Mapping[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.inputs or (self.name,)

    @property
    def scopable(self) -> bool:
        """Whether a pack scope (``applies_to``) may name this fact: enum and boolean facts."""
        return self.type in ("enum", "bool")

    @property
    def scope_values(self) -> tuple[Any, ...]:
        return (True, False) if self.type == "bool" else self.values

    def normalize(self, raw: Any) -> tuple[Any, str | None]:
        """``(value, None)`` for a usable input, ``(None, reason)`` otherwise (the reason names the input)."""
        return _NORMALIZERS[self.type](self, raw)


def _token(raw: Any) -> str:
    return str(raw).strip().lower().replace("-", "_").replace(" ", "_")


def _shown(raw: Any) -> str:
    text = repr(raw) if not isinstance(raw, str) else f"'{raw}'"
    return text if len(text) <= 60 else text[:57] + "...'"


def _norm_enum(fact: CallFact, raw: Any) -> tuple[Any, str | None]:
    if not isinstance(raw, str):
        return None, f"{fact.name} is {_shown(raw)}, not one of {', '.join(fact.values)}"
    token = _token(raw)
    if token in fact.unusable:
        return None, f"{fact.name} is {_shown(raw)} ({fact.unusable[token]})"
    value = fact.aliases.get(token, token if token in fact.values else None)
    if value is None:
        return None, f"{fact.name} is {_shown(raw)}, not one of {', '.join(fact.values)}"
    return value, None


def _norm_bool(fact: CallFact, raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, bool):
        return raw, None
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true", None
    return None, f"{fact.name} is {_shown(raw)}, not true or false"


def _norm_int(fact: CallFact, raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw, None
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip()), None
    return None, f"{fact.name} is {_shown(raw)}, not a whole number >= 0"


def _norm_text(fact: CallFact, raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, str) and raw.strip():
        return raw.strip(), None
    return None, f"{fact.name} is {_shown(raw)}, not a non-empty string"


def _norm_text_list(fact: CallFact, raw: Any) -> tuple[Any, str | None]:
    items = [raw] if isinstance(raw, (str, int)) and not isinstance(raw, bool) else raw
    if isinstance(items, (list, tuple)) and all(
        isinstance(x, (str, int)) and not isinstance(x, bool) for x in items
    ):
        return [str(x).strip() for x in items if str(x).strip()], None
    return None, f"{fact.name} is {_shown(raw)}, not a list of strings"


def _norm_timestamp(fact: CallFact, raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, str):
        try:
            datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
            return raw.strip(), None
        except ValueError:
            pass
    return None, f"{fact.name} is {_shown(raw)}, not an ISO 8601 time"


def _norm_state_code(fact: CallFact, raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, str) and raw.strip().upper() in US_STATE_CODES:
        return raw.strip().upper(), None
    return None, f"{fact.name} is {_shown(raw)}, not a US state code"


_NORMALIZERS: dict[str, Callable[[CallFact, Any], tuple[Any, str | None]]] = {
    "enum": _norm_enum,
    "bool": _norm_bool,
    "int": _norm_int,
    "text": _norm_text,
    "text_list": _norm_text_list,
    "timestamp": _norm_timestamp,
    "state_code": _norm_state_code,
}

_FACT_LIST: tuple[CallFact, ...] = (
    CallFact(
        "direction",
        "enum",
        "Who placed the call: `outbound` (the agent called) or `inbound` (the caller called). Never assumed: a call "
        "without it is not an outbound call. Twilio's `outbound-api` and `outbound-dial` read as `outbound`.",
        values=("outbound", "inbound"),
        aliases={"outbound_api": "outbound", "outbound_dial": "outbound"},
    ),
    CallFact(
        "call_purpose",
        "enum",
        "What the call is for: `telemarketing` (selling or advertising), `informational` (reminders, notices, "
        "surveys), `healthcare` (a covered entity or its agent talking about care), `debt_collection` (a third-party "
        "collector collecting a consumer debt), `customer_service` (the caller's own account, orders, bookings).",
        values=("telemarketing", "informational", "healthcare", "debt_collection", "customer_service"),
    ),
    CallFact(
        "answered_by",
        "enum",
        "The AMD decision, as a category: `human`; `machine` (PyAI `voicemail`, Twilio `machine_start`, "
        "`machine_end_beep`, `machine_end_silence`, `machine_end_other`); `screening` (`call_screening`); `ivr`; "
        "`fax`; `dead_number`. Read from `answered_by` (PyAI) or `answered_by_twilio` (Twilio `AnsweredBy`), case "
        "and spaces/hyphens ignored; `unknown` or any other value leaves it missing.",
        values=AMD_CATEGORIES,
        aliases=AMD_VALUES,
        inputs=("answered_by", "answered_by_twilio"),
        unusable={"unknown": "AMD could not decide"},
    ),
    CallFact(
        "local_time",
        "timestamp",
        "The called party's local time at call start, ISO 8601 with offset (`2026-11-20T10:15:00-05:00`).",
    ),
    CallFact("callee_state", "state_code", "The called party's US state or territory code (`FL`, `NY`)."),
    CallFact("recording_enabled", "bool", "Whether the call is recorded."),
    CallFact("business_name", "text", "The business on whose behalf the agent calls (`{business_name}`)."),
    CallFact("agent_name", "text", "The name the agent goes by (`{agent_name}`)."),
    CallFact("callback_numbers", "text_list", "Telephone numbers the agent may say (the business's own)."),
    CallFact("calls_last_7_days", "int", "Calls already placed to this consumer in the last seven days."),
    CallFact(
        "last_conversation_at",
        "timestamp",
        "When the collector last had a telephone conversation with the consumer about the debt, ISO 8601.",
    ),
)

#: Every call fact, by name, in documentation order.
FACTS: dict[str, CallFact] = {f.name: f for f in _FACT_LIST}

#: Input keys -> the fact they feed (``answered_by_twilio`` -> ``answered_by``).
_INPUTS: dict[str, str] = {key: f.name for f in _FACT_LIST for key in f.keys}

#: The ``call_defaults`` key holding per-agent defaults.
BY_AGENT = "by_agent"


def fact_names() -> frozenset[str]:
    """Every metadata key a fact is read from (fact names and extra inputs such as ``answered_by_twilio``)."""
    return frozenset(_INPUTS)


def scope_fact_names() -> tuple[str, ...]:
    """Facts a pack scope may name, in documentation order."""
    return tuple(f.name for f in _FACT_LIST if f.scopable)


@dataclass(slots=True)
class ResolvedFacts:
    """A call's facts after normalization.

    Fields:
        values: what expressions and scopes read: every usable fact, normalized, plus any metadata key that is not
            a call fact, as given (custom packs may read their own keys).
        sources: fact -> where its value (or its problem) came from: ``metadata``, ``call_defaults``,
            ``call_defaults.by_agent`` or ``update_facts``.
        problems: fact -> why a given input could not be used (the fact is then missing).
        raw: fact -> the input as given, for facts that were given.
    """

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def resolve_facts(layers: Iterable[tuple[str, Mapping[str, Any] | None]]) -> ResolvedFacts:
    """Resolve facts from ``(source, mapping)`` layers, first layer first (see the module docstring). Runs at every
    call start: it walks the keys each layer gives, not the fact table, and normalizes through a cache."""
    out = ResolvedFacts()
    values, sources, problems, raws = out.values, out.sources, out.problems, out.raw
    for source, mapping in layers:
        if not mapping:
            continue
        given: dict[str, list[Any]] | None = None
        for key, raw in mapping.items():
            if raw is None:
                continue
            name = _INPUTS.get(key)
            if name is None:
                if key != BY_AGENT and key not in values:
                    values[key] = raw  # not a call fact: custom packs may read it as given
            elif name not in sources:
                if given is None:
                    given = {}
                given.setdefault(name, []).append((_INPUT_RANK[key], raw))
        if not given:
            continue
        for name, inputs in given.items():
            sources[name] = source
            if len(inputs) > 1:
                inputs.sort(key=lambda item: item[0])  # answered_by before answered_by_twilio
            reasons = []
            for _, raw in inputs:
                value, problem = _normalized(name, raw)
                if problem is None:
                    values[name] = value
                    raws[name] = raw
                    break
                reasons.append(problem)
            else:
                raws[name] = inputs[0][1]
                problems[name] = "; ".join(dict.fromkeys(reasons))
    return out


#: input key -> its rank among its fact's inputs
_INPUT_RANK: dict[str, int] = {key: i for f in _FACT_LIST for i, key in enumerate(f.keys)}


def _normalized(name: str, raw: Any) -> tuple[Any, str | None]:
    """``FACTS[name].normalize(raw)``, cached for the scalar values that recur on every call."""
    if isinstance(raw, (str, bool, int, float)):
        return _normalized_scalar(name, raw, type(raw))
    return FACTS[name].normalize(raw)


@functools.lru_cache(maxsize=4096)
def _normalized_scalar(name: str, raw: Any, _type: type) -> tuple[Any, str | None]:
    return FACTS[name].normalize(raw)


def defaults_errors(defaults: Mapping[str, Any], where: str = "call_defaults") -> list[str]:
    """Why a ``call_defaults`` object is invalid (empty when it is fine). Keys must be call facts (or
    ``by_agent``, an object of agent id -> facts) and values must be usable: a config is authored, so an unusable
    default is an error rather than a missing fact."""
    errors: list[str] = []
    for key, raw in defaults.items():
        if key == BY_AGENT and where == "call_defaults":
            if not isinstance(raw, Mapping):
                errors.append(f"{where}.{BY_AGENT}: expected an object of agent id -> call facts")
                continue
            for agent, facts in raw.items():
                if not isinstance(facts, Mapping):
                    errors.append(f"{where}.{BY_AGENT}.{agent}: expected an object of call facts")
                else:
                    errors.extend(defaults_errors(facts, f"{where}.{BY_AGENT}.{agent}"))
            continue
        fact_name = _INPUTS.get(key)
        if fact_name is None:
            from difflib import get_close_matches

            close = get_close_matches(key, list(_INPUTS), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (call facts: {', '.join(FACTS)})"
            errors.append(f"{where}.{key}: not a call fact{hint}")
            continue
        if raw is None:
            continue
        _, problem = FACTS[fact_name].normalize(raw)
        if problem is not None:
            errors.append(f"{where}.{key}: {problem}")
    return errors


def scope_schema() -> dict[str, Any]:
    """The JSON Schema of an ``applies_to`` object (``schemas/rule_pack_schema.json`` carries a copy; a test keeps
    them equal)."""
    properties: dict[str, Any] = {}
    for fact in _FACT_LIST:
        if not fact.scopable:
            continue
        item: dict[str, Any] = {"type": "boolean"} if fact.type == "bool" else {"enum": list(fact.values)}
        properties[fact.name] = {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": item,
            "description": fact.doc,
        }
    return {
        "type": "object",
        "description": "Where a pack (or a rule, narrowing its pack) applies: call fact -> the values it applies "
        "to. A call whose fact has another value is outside the scope (the pack's findings are not produced and "
        "the scorecard lists it as not applicable, with the reason); a call without the fact is not evaluated. "
        "Facts, in the order written, are all required (and); values of one fact are alternatives (or).",
        "minProperties": 1,
        "properties": properties,
        "additionalProperties": False,
    }


def facts_markdown() -> str:
    """The call-fact table for the docs."""
    lines = ["| fact | type | values | meaning |", "|---|---|---|---|"]
    for fact in _FACT_LIST:
        values = ", ".join(f"`{v}`" for v in fact.values) if fact.values else ""
        if fact.type == "bool":
            values = "`true`, `false`"
        reads = " (also read from " + ", ".join(f"`{k}`" for k in fact.keys[1:]) + ")" if len(fact.keys) > 1 else ""
        lines.append(f"| `{fact.name}`{reads} | {fact.type} | {values} | {fact.doc} |")
    return "\n".join(lines) + "\n"
