"""Optional external judge: an OpenAI-compatible chat endpoint (``POST {url}/chat/completions``).

Off by default (``tier2.llm.enabled``). The model is asked for a JSON object
``{"concern": bool, "confidence": 0..1, "severity": "...", "reason": "..."}``; anything else is ignored (no
finding), as are network errors and timeouts: the LLM is advisory on top of advisory findings. The key is sent as
``Authorization: Bearer``; it is never logged or stored.
"""

from __future__ import annotations

import json
from typing import Any

from trace_engine.tier2.judges import Turn, Verdict

PROMPTS = {
    "ambiguous_optout": "Does the caller's last turn revoke consent to be called or contacted, even without saying "
                        "'do not call'? Declining one offer is not a revocation.",
    "context_pii": "Does the last turn contain personal data that is sensitive in context (a date of birth, a "
                   "name with an address, a member or policy id)?",
    "hallucination": "Is the agent's last turn contradicted or unsupported by the knowledge base below?",
    "minimum_necessary": "Does the agent's last turn disclose health information beyond the call's purpose, or to "
                         "a listener who is not the verified patient or an authorized representative?",
    "brand_tone": "Is the agent's last turn rude, pushy, falsely urgent, or medical/legal/financial advice?",
}
ACTIONS = {"ambiguous_optout": "preempt_next", "minimum_necessary": "escalate"}
SPEAKERS = {"ambiguous_optout": "caller", "context_pii": "any"}


class LLMJudge:
    """One LLM-backed judge for ``check_id``; ``config`` is the ``tier2.llm`` block."""

    def __init__(self, check_id: str, config: Any, client: Any = None) -> None:
        self.check_id = check_id
        self.speaker = SPEAKERS.get(check_id, "agent")
        self.config = config
        self._client = client

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.Client(timeout=self.config.timeout_s, trust_env=False)
        return self._client

    def messages(self, window: tuple[Turn, ...], passages: list[str]) -> list[dict[str, str]]:
        convo = "\n".join(f"{t.role}: {t.text}" for t in window)
        kb = ("\n\nKnowledge base:\n" + "\n".join(f"- {p}" for p in passages)) if self.check_id == "hallucination" else ""
        return [
            {"role": "system", "content": "You are a compliance reviewer for phone calls. Answer only with a JSON "
             'object {"concern": true|false, "confidence": 0..1, "severity": "low|medium|high|critical", '
             '"reason": "one plain-English sentence"}.'},
            {"role": "user", "content": f"{PROMPTS[self.check_id]}{kb}\n\nConversation (last turn is judged):\n{convo}"},
        ]

    def judge(self, window: tuple[Turn, ...], ctx: Any) -> list[Verdict]:
        cfg = self.config
        if not cfg.url or not window:
            return []
        passages = ctx.config.passages() if ctx is not None and self.check_id == "hallucination" else []
        headers = {"Content-Type": "application/json"}
        if cfg.api_key:
            headers["Authorization"] = f"Bearer {cfg.api_key}"
        try:
            resp = self._http().post(
                cfg.url.rstrip("/") + "/chat/completions",
                json={"model": cfg.model, "temperature": 0, "messages": self.messages(window, passages),
                      "response_format": {"type": "json_object"}},
                headers=headers,
                timeout=cfg.timeout_s,
            )
            resp.raise_for_status()
            content = resp.json()["choices"][0]["message"]["content"]
            data = json.loads(content)
        except Exception:  # noqa: BLE001 - advisory: an unreachable or confused LLM yields no finding
            return []
        if not isinstance(data, dict) or data.get("concern") is not True:
            return []
        sev = data.get("severity") if data.get("severity") in ("low", "medium", "high", "critical") else "medium"
        try:
            conf = float(data.get("confidence", 0.5))
        except (TypeError, ValueError):
            conf = 0.5
        from trace_engine.tier2.checks.ambiguous_optout import INSTRUCTION

        action = ACTIONS.get(self.check_id, "flag")
        return [Verdict(self.check_id, sev, conf, action, self.speaker if self.speaker != "any" else "any",
                        "LLM judge: " + str(data.get("reason") or "concern")[:400],
                        INSTRUCTION if action == "preempt_next" else None)]
