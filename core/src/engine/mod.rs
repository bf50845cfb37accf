//! The evaluator: the compiled program (data only: rules, checks, states, cues, matcher leaves, expressions), one
//! scan of a turn's normalized view, the rule/window/state machine, the mode planner, per-call state, and the
//! optional tracer that `trace explain` reads.
//!
//! Pipeline of one agent turn: [`textview`] (normalize) → [`scan`] (automaton, templates, regexes, detectors) →
//! [`eval`] (cues, states, prohibitions, obligations; then the mode's plan) → [`call`] (commit: findings, state,
//! stored text) → [`decision`].

pub mod atomwindow;
pub mod call;
pub mod clock;
pub mod decision;
pub mod edits;
pub mod eval;
pub mod expr;
pub mod incremental;
pub mod native;
pub mod program;
pub mod py;
pub mod respoken;
pub mod scan;
pub mod state;
pub mod stream;
pub mod textview;
pub mod trace;
pub mod wordscan;
