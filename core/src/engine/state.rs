//! Per-call state: what the evaluator remembers between turns (windows, prohibitions, states, exchanges) and the
//! evidence it accumulates (findings, redactions, the timeline, gate health).
//!
//! Everything a barge-in may rewind lives in [`TurnState`], which clones cheaply: the evidence lists only grow
//! while the rewindable turn is the last one, so a [`Snapshot`] keeps their lengths and a rewind truncates them.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::program::{CheckId, RuleId, StateId};
use super::textview::DetKind;

/// A time in seconds since call start, remembering whether the caller gave an `int` (scorecards echo it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct T {
    pub f: f64,
    pub int: Option<i64>,
}

impl T {
    pub fn float(f: f64) -> T {
        T { f, int: None }
    }
}

/// An open `must_say`: met by a hit in an agent turn from `start_turn` until the window closes.
#[derive(Debug, Clone)]
pub struct Obligation {
    pub id: u64,
    pub check: CheckId,
    pub start_turn: u32,
    pub deadline_turn: f64,
    pub deadline_t: f64,
    /// a first-turn obligation is injected before the turn's text, others after it
    pub prefix: bool,
    pub turns_seen: u32,
}

/// A `must_not_say` opened by a cue, in force from `start_turn` through `end_turn`.
#[derive(Debug, Clone)]
pub struct Prohibition {
    pub check: CheckId,
    pub start_turn: u32,
    pub end_turn: f64,
}

/// Why a rule was not evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum Unknown {
    Text(String),
    /// its condition came out UNKNOWN (the missing inputs are named when the scorecard is built)
    When,
    /// this metadata requirement came out UNKNOWN
    Require(CheckId),
}

/// `action_taken` of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Pass,
    Flag,
    Modify,
    Block,
}

impl Act {
    pub fn name(self) -> &'static str {
        match self {
            Act::Pass => "pass",
            Act::Flag => "flag",
            Act::Modify => "modify",
            Act::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<Act> {
        Some(match s {
            "pass" => Act::Pass,
            "flag" => Act::Flag,
            "modify" => Act::Modify,
            "block" => Act::Block,
            _ => return None,
        })
    }
}

/// A decision's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pass,
    Flag,
    Modify,
    Block,
    Handoff,
}

impl Action {
    pub fn code(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        ["pass", "flag", "modify", "block", "handoff"][self as usize]
    }

    pub fn suppresses(self) -> bool {
        matches!(self, Action::Block | Action::Handoff)
    }
}

/// One scorecard finding.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: RuleId,
    pub action: Act,
    pub at_t: Option<T>,
    pub turn: Option<u32>,
    pub span: Option<(u32, u32)>,
    pub remediated: bool,
    pub late: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Redaction {
    pub kind: DetKind,
    pub turn: u32,
    pub span: (u32, u32),
}

pub enum Role {
    Agent,
    Caller,
    Facts,
    Other(Py<PyString>),
}

/// A timeline entry: `(seq, seconds, role, stored text[, barge])`.
pub struct Entry {
    pub seq: u32,
    pub t: f64,
    pub role: Role,
    pub text: Py<PyString>,
    pub barge: Option<Py<PyAny>>,
}

/// An agent turn that ran out of time before it was evaluated: judged when the call is next touched.
pub struct Late {
    pub text: Py<PyString>,
    pub t: Option<T>,
    pub spans: Option<Vec<super::scan::Span>>,
}

/// The per-turn state a barge-in can rewind.
#[derive(Debug, Clone, Default)]
pub struct TurnState {
    pub agent_turns: u32,
    pub seq: u32,
    pub last_t: Option<T>,
    /// `states[i]`: state `i` is set; `state_order`: in the order they were set
    pub states: Vec<bool>,
    pub state_order: Vec<StateId>,
    /// open exchanges: two-step state -> caller turns seen since the agent asked
    pub pending: Vec<(u32, u32)>,
    /// open exchanges of caller cues with `after` -> caller turns seen since the agent asked
    pub after_open: Vec<(CheckId, u32)>,
    pub obligations: Vec<Obligation>,
    pub prohibitions: Vec<Prohibition>,
    /// (rule, turn) pairs already recorded, for the current turn only (recording is per turn)
    pub recorded_seq: u32,
    pub recorded: Vec<RuleId>,
    pub rule_fired: Vec<bool>,
    pub rule_satisfied: Vec<Option<(Option<T>, Option<u32>)>>,
    pub satisfied_order: Vec<RuleId>,
    pub rule_unknown: Vec<Option<Unknown>>,
    pub rule_evaluated: Vec<bool>,
    pub timeouts: u32,
    pub errors: u32,
    pub fail_open_events: u32,
    pub blocked_turns: u32,
    pub modified_turns: u32,
    pub require_pending: Vec<CheckId>,
    pub next_id: u64,
}

impl TurnState {
    pub fn new(rules: usize, states: usize) -> TurnState {
        TurnState {
            states: vec![false; states],
            rule_fired: vec![false; rules],
            rule_satisfied: vec![None; rules],
            rule_unknown: vec![None; rules],
            rule_evaluated: vec![false; rules],
            recorded: Vec::with_capacity(4), // a turn's recorded rules: not grown on the call's first finding
            ..Default::default()
        }
    }

    pub fn set_state(&mut self, s: StateId) {
        let slot = &mut self.states[s as usize];
        if !*slot {
            *slot = true;
            self.state_order.push(s);
        }
    }

    pub fn satisfy(&mut self, rule: RuleId, at: Option<T>, turn: Option<u32>) {
        let slot = &mut self.rule_satisfied[rule as usize];
        if slot.is_none() {
            *slot = Some((at, turn));
            self.satisfied_order.push(rule);
        }
    }

    pub fn set_unknown(&mut self, rule: RuleId, why: Unknown) {
        let slot = &mut self.rule_unknown[rule as usize];
        if slot.is_none() {
            *slot = Some(why);
        }
    }
}

/// A rewind point: the turn state and the lengths of the evidence lists.
pub struct Snapshot {
    pub state: TurnState,
    pub late: Option<Late>,
    pub findings: usize,
    pub redactions: usize,
    pub timeline: usize,
    pub latencies: usize,
}
