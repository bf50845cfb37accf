"""The frozen Python gate: the oracle the native core is held to (issue 14).

A deliberate copy of ``trace_engine.compile``, ``trace_engine.gate``, ``trace_engine.text`` and
``trace_engine.facts`` as they stood when the native core work began, with imports pointed here. Everything else
(the IR, the DSL, packs, errors, evidence) is shared with the live package. Decisions and scorecards of the live
gate must equal this one's; where the oracle is found wrong, fix it here in its own commit that says why.
"""
