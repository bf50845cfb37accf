"""The gate's entry point: ``Engine.from_config(cfg).start_call(...)``.

An :class:`Engine` holds one compiled pack set, shared by every call it starts; compiling happens once per config
etag per process (an LRU of compiled sets). It loads the program into the core (``_core.EngineCore``) with the
gate's settings (mode, budget, fail-open, the lines spoken in place of a turn); a
:class:`~trace_engine.gate.call.Call` holds only its own state, in the core.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Lock
from typing import Any

from trace_engine import _core, ir
from trace_engine.compile import CompiledPackSet, compile_packs, pack_set_etag
from trace_engine.errors import Diagnostic, Location, TraceConfigError, json_pointer
from trace_engine.gate.call import Call
from trace_engine.gate.config import TraceConfig, load_config
from trace_engine.gate.guardrails import guardrails_pack
from trace_engine.gate.stream import STICKY_WORDS
from trace_engine.packs import resolve_pack

_COMPILED: OrderedDict[str, CompiledPackSet] = OrderedDict()


def time_parts(value: Any) -> tuple[int, int, bool, int] | None:
    """A time stamp as the core's expressions read it: ``(hour, minute, has an offset, microseconds since the
    epoch)``, parsed by ``datetime.fromisoformat`` (what the fact layer accepts); ``None`` if it is not one."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    aware = stamp.tzinfo is not None
    epoch = _EPOCH_AWARE if aware else _EPOCH_NAIVE
    return stamp.hour, stamp.minute, aware, (stamp - epoch) // timedelta(microseconds=1)


_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH_AWARE = datetime(1970, 1, 1, tzinfo=UTC)
_COMPILED_MAX = 32
_LOCK = Lock()


def _source_name(cfg: Any) -> str:
    return str(cfg) if isinstance(cfg, str | Path) else "<config>"


def _check_start(call_id: Any, agent_id: Any, metadata: Any, tenant: Any, product: Any) -> None:
    def kind(v: Any) -> str:
        return "None" if v is None else type(v).__name__

    if not isinstance(call_id, str):
        raise TypeError(f"start_call: call_id must be a non-empty str, not {kind(call_id)}")
    if not call_id.strip():
        raise ValueError("start_call: call_id must be a non-empty str")
    if not isinstance(tenant, str) or not tenant.strip():
        raise TypeError(f"start_call: tenant must be a non-empty str, not {kind(tenant)}")
    for name, value in (("agent_id", agent_id), ("product", product)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"start_call: {name} must be a str or None, not {kind(value)}")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise TypeError(f"start_call: metadata must be a dict of call facts, not {kind(metadata)}")
        bad = next((k for k in metadata if not isinstance(k, str)), None)
        if bad is not None:
            raise TypeError(f"start_call: metadata keys must be str, not {kind(bad)} ({bad!r})")


class Engine:
    """A compiled config, ready to gate calls.

    Attributes:
        config: the validated config.
        program: the compiled pack set.
        etag: the config etag (packs + config + engine version) recorded on every scorecard.
        writer: where finished scorecards go (an evidence writer with ``submit(scorecard)``), or ``None``.
    """

    def __init__(
        self, config: TraceConfig, program: CompiledPackSet, writer: Any = None, observers: tuple[Any, ...] = ()
    ) -> None:
        self.config = config
        self.program = program
        self.etag = program.etag
        self.writer = writer
        #: objects with ``on_turn(call, role, stored_text, t)`` and ``on_end(call, scorecard)``, called after each
        #: turn and at call end (Tier-2 queues work here). They must return at once; exceptions are swallowed.
        self.observers: list[Any] = list(observers)
        #: per distinct values of the facts scopes name: the rules out of scope (see :func:`context.scope_off`)
        self.scope_cache: dict[tuple, list[tuple[int, bool, str, bool]]] = {}
        self.timeout_ns = int(config.guardrails.inline_timeout_ms * 1_000_000)
        #: the program in the core, with this engine's settings: what every call reads
        self.core = _core.EngineCore(
            program.core,
            mode=config.guardrails.mode,
            timeout_ns=self.timeout_ns,
            fail_open=config.guardrails.fail_open,
            fallback_line=config.fallback_line,
            handoff_line=config.handoff_line,
            time_parser=time_parts,
            sticky_words=sorted(STICKY_WORDS),
        )

    @classmethod
    def from_config(
        cls,
        cfg: dict[str, Any] | str | Path | TraceConfig | None = None,
        *,
        packs: list[ir.Pack] | None = None,
        writer: Any = None,
        observers: tuple[Any, ...] = (),
    ) -> Engine:
        """Build an engine from a ``TraceConfigInput``-shaped config (dict, JSON path or model).

        ``packs`` adds IR packs directly (enforced after the config's ``rule_packs``), which is how tests and
        ``trace test`` run a pack that is not installed.

        A config must say what it enforces: rule packs under ``rule_packs`` (the CLI's default set is
        ``{"tcpa", "hipaa", "pii", "brand_voice"}``, see :data:`trace_engine.packs.DEFAULT_PACK_IDS`),
        ``guardrails`` that enforce something (``block_pii``, ``mandatory_disclosures``, ``blocked_phrases``),
        or ``packs``. ``None``, ``{}`` or a config naming none of these raises :class:`TraceConfigError` TC005
        rather than build an engine that silently passes everything; ``"rule_packs": {}`` says "no packs" on
        purpose (a Tier-2-only engine), and ``"enabled": false`` makes a pass-through.

        Errors: bad config *content* raises :class:`TraceConfigError` (every problem, each located as
        ``file:line:col`` or ``<config>#/json/pointer``); a wrong Python *type* of argument raises ``TypeError``.
        """
        if packs is not None and (
            not isinstance(packs, list | tuple) or not all(isinstance(p, ir.Pack) for p in packs)
        ):
            raise TypeError("packs must be a list of trace_engine.ir.Pack (a file: trace_engine.dsl.load_pack(path)[0]; load_pack also returns the source map)")
        if not isinstance(observers, tuple | list):
            raise TypeError(f"observers must be a tuple of observers, not {type(observers).__name__}")
        if writer is not None and not callable(getattr(writer, "submit", None)):
            raise TypeError("writer must have a submit(scorecard) method (an EvidenceWriter)")
        config = load_config(cfg)
        enforced: list[ir.Pack] = []
        if config.enabled:  # a disabled config (the service's safe default) enforces nothing: every turn passes
            for pack_id, ref in config.rule_packs.items():
                if ref.enabled:
                    where = Location(_source_name(cfg), 0, 0, pointer=json_pointer(("rule_packs", pack_id)))
                    enforced.append(resolve_pack(pack_id, ref.version, list(config.packs_dir), location=where))
            enforced.extend(packs or ())
            synthesized = guardrails_pack(config.guardrails)
            if synthesized is not None:
                enforced.append(synthesized)
            if not enforced and "rule_packs" not in config.model_fields_set and packs is None:
                raise TraceConfigError(
                    [
                        Diagnostic(
                            "TC005",
                            "the config enforces nothing: it names no rule packs and no guardrails",
                            Location(_source_name(cfg), 0, 0),
                            hint='enable packs, e.g. {"rule_packs": {"tcpa": {"enabled": true}, "pii": {"enabled": true}}}; '
                            'write "rule_packs": {} to run without packs on purpose, or "enabled": false for a pass-through',
                        )
                    ]
                )
        compile_input = config.model_dump(mode="json", exclude={"variables", "callback_numbers", "tier2"})
        etag = pack_set_etag(enforced, compile_input)
        with _LOCK:
            program = _COMPILED.get(etag)
            if program is not None:
                _COMPILED.move_to_end(etag)
        if program is None:
            program = compile_packs(enforced, extra_etag_input=compile_input)
            with _LOCK:
                _COMPILED[etag] = program
                while len(_COMPILED) > _COMPILED_MAX:
                    _COMPILED.popitem(last=False)
        return cls(config, program, writer, tuple(observers))

    @classmethod
    def from_artifact(
        cls,
        path: str | Path,
        cfg: dict[str, Any] | TraceConfig | None = None,
        *,
        writer: Any = None,
        trusted_keys: Any = None,
    ) -> Engine:
        """Load a pack set written by ``trace build``: data checked against its hash (and, with ``trusted_keys``,
        its Ed25519 signature), compiled from the packs' JSON form; nothing in the file is executed."""
        from trace_engine.compile.artifact import read_artifact

        return cls(load_config(cfg), read_artifact(path, trusted_keys=trusted_keys), writer)

    @classmethod
    def from_service(cls, url: str, key: str, agent_id: str, **kwargs: Any) -> Engine:
        """Pull the agent's config and pinned packs from a Trace service (ETag-cached; keeps enforcing the last
        good config when the service is unreachable). See :mod:`trace_engine.gate.remote` (no web framework is
        imported)."""
        from trace_engine.gate.remote import engine_from_service

        return engine_from_service(url, key, agent_id, **kwargs)

    @classmethod
    def from_store(cls, db: str | Path, agent_id: str, tenant: str = "default", **kwargs: Any) -> Engine:
        """The same as :meth:`from_service`, reading the service's database directly: for code running beside the
        service (it reads the service's tables through :mod:`trace_engine.api.distribution`, so it imports the
        service's modules; a gate in an agent process pulls with :meth:`from_service`)."""
        from trace_engine.api.distribution import engine_from_store

        return engine_from_store(db, agent_id, tenant, **kwargs)

    def start_call(
        self,
        call_id: str,
        *,
        agent_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tenant: str | None = None,
        product: str | None = None,
        trace: bool = False,
    ) -> Call:
        """Begin gating one call. ``metadata`` holds the call facts the packs read (direction, local_time...).

        ``trace`` turns the core's tracer on for this call (``trace explain``; see docs/explain.md): each turn's
        events are read with ``call._take_trace()``. Off (the default) it costs nothing.

        ``tenant`` defaults to the evidence writer's tenant (``"default"`` without a writer). A tenant other than
        the writer's is an error here, not a scorecard lost at the end of the call.

        Raises ``TypeError``/``ValueError`` for a ``call_id`` that is not a non-empty ``str``, ``metadata`` that is
        not a dict with ``str`` keys, or ids that are not strings.
        """
        own = getattr(self.writer, "tenant", None) if self.writer is not None else None
        if tenant is None:
            tenant = own if isinstance(own, str) else "default"
        _check_start(call_id, agent_id, metadata, tenant, product)
        if isinstance(own, str) and tenant != own:
            raise ValueError(
                f"call {call_id!r} is for tenant {tenant!r} but this engine's evidence writer records tenant {own!r}: "
                "its scorecard would be lost; use a writer for that tenant"
            )
        return Call(self, call_id, agent_id=agent_id, metadata=metadata, tenant=tenant, product=product, trace=trace)

    @property
    def packs_enforced(self) -> list[str]:
        return self.program.packs_enforced()
