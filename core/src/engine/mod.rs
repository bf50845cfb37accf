//! The evaluator: the compiled program (data only: literals, atoms, regexes, detectors, rules, windows, states,
//! cues, remedies, variables), one scan of a turn's normalized view, the rule/window/state machine, the mode
//! planner, per-call state, and the optional tracer that `trace explain` reads.
