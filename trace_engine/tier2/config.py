"""The ``tier2`` config block.

    "tier2": {
      "enabled": true,
      "checks": ["ambiguous_optout", "context_pii", "hallucination", "minimum_necessary", "brand_tone"],
      "knowledge_base": ["The Basic plan costs $29.99 per month.", ...]   # or a path to .json/.jsonl/.txt
      "llm": {"enabled": false, "url": "http://127.0.0.1:8000/v1", "api_key": null, "model": "gpt-4o-mini",
              "checks": ["hallucination"], "timeout_s": 10},
      "queue_size": 256,
      "window_turns": 6,
      "min_confidence": 0.5,
      "thresholds": {"brand_tone": 0.85}    # per check, on the calibrated confidence; default: the shipped one
    }

``Tier2Config.from_any`` accepts the block itself, a whole Trace config holding a ``tier2`` key, a JSON path, or
``None`` (defaults: enabled, every local check, no KB, no LLM).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CheckId = Literal["minimum_necessary", "brand_tone", "hallucination", "ambiguous_optout", "context_pii"]
ALL_CHECKS: tuple[str, ...] = ("ambiguous_optout", "context_pii", "hallucination", "minimum_necessary", "brand_tone")


class LLMConfig(BaseModel):
    """An OpenAI-compatible chat endpoint used as an extra judge. Off by default."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    url: str | None = None
    api_key: str | None = None
    model: str = "gpt-4o-mini"
    checks: list[CheckId] = Field(default_factory=list)
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    #: replace the local judge for these checks (True) or add to it (False)
    replace_local: bool = False


class Tier2Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    checks: list[CheckId] = Field(default_factory=lambda: list(ALL_CHECKS))
    knowledge_base: list[str] | str | None = None
    llm: LLMConfig = Field(default_factory=LLMConfig)
    queue_size: int = Field(default=256, ge=1, le=1_000_000)
    window_turns: int = Field(default=6, ge=1, le=50)
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    #: per-check decision thresholds on the calibrated confidence (the encoder-backed checks); a check not named
    #: here uses the threshold fitted on its dev split (shipped in ``data/<check>.model.json``)
    thresholds: dict[CheckId, float] = Field(default_factory=dict)

    @field_validator("thresholds")
    @classmethod
    def _in_unit_range(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not 0.0 <= x <= 1.0:
                raise ValueError(f"thresholds.{k} must be between 0 and 1, got {x}")
        return v

    @field_validator("checks")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))

    @classmethod
    def from_any(cls, cfg: Any = None) -> Tier2Config:
        if cfg is None:
            return cls()
        if isinstance(cfg, Tier2Config):
            return cfg
        if isinstance(cfg, (str, Path)):
            cfg = json.loads(Path(cfg).read_text(encoding="utf-8"))
        if hasattr(cfg, "model_dump"):  # a TraceConfig that carries a tier2 block
            cfg = getattr(cfg, "tier2", None) or {}
        if isinstance(cfg, dict) and isinstance(cfg.get("config"), dict):
            cfg = cfg["config"]
        if isinstance(cfg, dict) and "tier2" in cfg:
            cfg = cfg["tier2"] or {}
        return cls.model_validate(cfg)

    def passages(self) -> list[str]:
        """The knowledge base as a list of passages (a file: JSON list, ``{"passages": [...]}``, JSONL of
        strings or ``{"text": ...}``, or plain text with one passage per non-empty line)."""
        kb = self.knowledge_base
        if kb is None:
            return []
        if isinstance(kb, list):
            return [p for p in kb if p.strip()]
        text = Path(kb).read_text(encoding="utf-8")
        if kb.endswith(".json"):
            data = json.loads(text)
            data = data.get("passages", []) if isinstance(data, dict) else data
            return [p if isinstance(p, str) else p.get("text", "") for p in data if p]
        if kb.endswith(".jsonl"):
            out = []
            for line in text.splitlines():
                if line.strip():
                    d = json.loads(line)
                    out.append(d if isinstance(d, str) else d.get("text", ""))
            return [p for p in out if p]
        return [line.strip() for line in text.splitlines() if line.strip()]
