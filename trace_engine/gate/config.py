"""The gate's configuration: the seed spec's ``TraceConfigInput`` plus Trace's own extensions.

Extensions (all optional): ``call_defaults``, the call facts a call has when its metadata lacks them (an object of
call facts, with per-agent defaults under ``by_agent``; see :mod:`trace_engine.facts`), ``variables`` for rule text
(``{business_name}``), ``callback_numbers`` the agent may say,
``fallback_line`` spoken in place of a blocked turn, ``handoff_line`` spoken when handing off, ``packs_dir``
for custom packs, and ``tier2`` for the asynchronous model-judged checks. Unknown keys are rejected with a clear error rather than silently ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trace_engine.errors import Diagnostic, Location, TraceConfigError, json_pointer
from trace_engine.facts import defaults_errors
from trace_engine.text.detectors import DETECTORS

Mode = Literal["warn", "modify", "block", "human_handoff"]
#: the detectors a config guardrail may block: those whose registry entry has a guardrail (the data contract's
#: ``block_pii.patterns`` enum; a test holds the two equal)
PII_PATTERNS: tuple[str, ...] = tuple(k for k, spec in DETECTORS.items() if spec.guardrail is not None)
PiiPattern = Literal[PII_PATTERNS]  # type: ignore[valid-type]

DEFAULT_FALLBACK_LINE = "Sorry, let me rephrase that."
DEFAULT_HANDOFF_LINE = "Let me connect you with a colleague who can help."


class RulePackRef(BaseModel):
    """One entry of ``rule_packs``: ``{enabled, version}``; version ``None`` means the latest available."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    version: str | None = None


class BlockPii(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patterns: list[PiiPattern] = Field(default_factory=list)


class MandatoryDisclosure(BaseModel):
    """A phrase the agent must speak: on the first agent turn (``call_start``), within a deadline, or within
    two agent turns by default."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    trigger: Literal["call_start", "any"] | None = None
    required_within_seconds: float | None = Field(default=None, gt=0)


class Guardrails(BaseModel):
    """``TraceGuardrails``: compiled into the synthesized pack ``guardrails``."""

    model_config = ConfigDict(extra="forbid")
    mode: Mode = "warn"
    block_pii: BlockPii = Field(default_factory=BlockPii)
    mandatory_disclosures: list[MandatoryDisclosure] = Field(default_factory=list)
    blocked_phrases: list[str] = Field(default_factory=list)
    fail_open: bool = True
    inline_timeout_ms: float = Field(default=10, gt=0)


class TraceConfig(BaseModel):
    """``TraceConfigInput`` (seed spec §5.1) with Trace's extensions."""

    model_config = ConfigDict(extra="forbid")
    agent_id: str | None = None
    #: ``False`` turns the gate into a pass-through (the seed spec's stored default); ``Engine.from_config`` treats
    #: a config that says nothing as enabled, since asking for an engine is asking for enforcement
    enabled: bool = True
    channels: list[Literal["voice", "text"]] = Field(default_factory=lambda: ["voice"])
    rule_packs: dict[str, RulePackRef] = Field(default_factory=dict)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    #: call facts used when a call's metadata lacks them (``{"direction": "outbound", "call_purpose": ...}``), with
    #: per-agent defaults under ``by_agent`` (``{"by_agent": {"clinic-bot": {"call_purpose": "healthcare"}}}``).
    #: Order: the call's metadata, then ``by_agent[agent_id]``, then these. Keys must be call facts.
    call_defaults: dict[str, Any] = Field(default_factory=dict)
    variables: dict[str, Any] = Field(default_factory=dict)
    callback_numbers: list[str] = Field(default_factory=list)
    fallback_line: str | None = DEFAULT_FALLBACK_LINE
    handoff_line: str | None = DEFAULT_HANDOFF_LINE
    packs_dir: list[str] = Field(default_factory=list)
    #: the Tier-2 block (validated by :class:`trace_engine.tier2.config.Tier2Config`); advisory, never inline
    tier2: dict[str, Any] | None = None

    @field_validator("call_defaults")
    @classmethod
    def _call_facts_only(cls, value: dict[str, Any]) -> dict[str, Any]:
        errors = defaults_errors(value)
        if errors:
            raise ValueError("; ".join(errors))
        return value

    @property
    def mode(self) -> str:
        return self.guardrails.mode


def load_config(cfg: dict[str, Any] | str | Path | TraceConfig | None) -> TraceConfig:
    """Accept a dict, a JSON file path, a model, or ``None`` (no packs, warn mode; see :meth:`Engine.from_config`
    for what an engine makes of a config that enforces nothing).

    A wrapped body ``{"agent_id": ..., "config": {...}}`` is unwrapped as the API allows. Errors are
    :class:`TraceConfigError` located where the problem is: ``cfg.json:3:14`` for a file, a JSON pointer
    (``<config>#/guardrails/mode``) for a dict; anything that is not a dict, a path or a model is a ``TypeError``.
    """
    if cfg is None:
        return TraceConfig()
    if isinstance(cfg, TraceConfig):
        return cfg
    source = "<config>"
    locate = _pointer_locator(source)
    if isinstance(cfg, (str, Path)):
        source = str(cfg)
        try:
            text = Path(cfg).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise TraceConfigError(
                [Diagnostic("TC001", f"cannot read config: {reason}", Location(source, 0, 0))]
            ) from None
        try:
            cfg = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TraceConfigError(
                [Diagnostic("TC002", f"config is not valid JSON: {exc.msg}", Location(source, exc.lineno, exc.colno))]
            ) from None
        from trace_engine.dsl.jsonform import locate_json_path

        def locate(path: tuple) -> Location:
            return locate_json_path(text, source, path)
    elif not isinstance(cfg, dict):
        raise TypeError(
            f"config must be a dict, a path to a JSON file, a TraceConfig or None, not {type(cfg).__name__}"
        )
    if not isinstance(cfg, dict):
        raise TraceConfigError([Diagnostic("TC003", "config must be a JSON object", locate(()))])
    prefix: tuple = ()
    if set(cfg) <= {"agent_id", "config"} and isinstance(cfg.get("config"), dict):
        prefix = ("config",)
        cfg = {**cfg["config"], **({"agent_id": cfg["agent_id"]} if cfg.get("agent_id") else {})}
    try:
        return TraceConfig.model_validate(cfg)
    except ValidationError as exc:
        diags = [
            Diagnostic(
                "TC004",
                f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}",
                locate(prefix + tuple(err["loc"])),
            )
            for err in exc.errors()
        ]
        raise TraceConfigError(diags) from None


def _pointer_locator(source: str) -> Any:
    def locate(path: tuple) -> Location:
        return Location(source, 0, 0, pointer=json_pointer(path) if path else None)

    return locate
