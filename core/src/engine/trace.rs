//! Explain as a tracer: when a call is traced, the evaluator records what it did and why, as events (OPA's
//! `topdown` tracer is the model). Off, the evaluator pays one branch on an `Option` per event site.
//!
//! The event kinds and the reasons a rule did not fire are defined here once, each with its name and its meaning;
//! Python (`_core.TRACE_EVENTS`, `_core.TRACE_REASONS`), `trace explain` and `docs/explain.md` read these tables.
//! The checks by which a detector rejects a candidate are the detectors' own (`text::detectors::CHECKS`, in Python
//! `_core.VALIDATOR_CHECKS`).

use crate::text::detectors::{Check, Kind};

/// One thing the evaluator did.
#[derive(Debug, Clone)]
pub enum Event {
    /// an automaton hit on a phrase leaf, on word boundaries (normalized bytes)
    Candidate { leaf: u32, start: u32, end: u32 },
    /// a template's atom hit that the template around it did not confirm
    TemplateRejected { leaf: u32, start: u32, end: u32 },
    /// a regex ran (one of its atoms hit, or it has none)
    RegexRan { leaf: u32 },
    /// a detector's candidate that its validator (or a grouping or context rule) rejected (original characters)
    ValidatorRejected {
        detector: Kind,
        start: u32,
        end: u32,
        check: Check,
    },
    /// a check's rule does not apply now (out of scope, or its condition is false or unknown)
    NotApplicable { rule: u32, check: u32 },
    /// a hit that an `until` state set earlier in the same turn allows
    AllowedAfterState { rule: u32, start: u32, end: u32 },
    /// a hit overlapped by its `unless` exception
    Excepted { rule: u32, start: u32, end: u32 },
    /// a prohibition's hit that nothing excused: the rule fires on it
    Verified {
        rule: u32,
        check: u32,
        start: u32,
        end: u32,
    },
    /// a cue opened its checks
    CueOpened { check: u32 },
    /// a state was set (`by`: who set it)
    StateSet { state: u32, by: StateSetter },
    /// an obligation's window opened (at call start or by a cue), or a cue's prohibition started
    WindowOpened { rule: u32, check: u32, obligation: bool },
    /// an obligation was met
    ObligationMet { rule: u32, check: u32 },
    /// an obligation's window closed
    WindowClosed { rule: u32, check: u32, met: bool },
    /// a rule that had a candidate on this turn, or a live window, and did not fire
    DidNotFire { rule: u32, check: u32, reason: Reason },
}

/// Who set a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateSetter {
    Agent,
    Caller,
    /// the caller answered the agent's question (a two-step state)
    Answer,
}

impl StateSetter {
    pub fn name(self) -> &'static str {
        match self {
            StateSetter::Agent => "agent",
            StateSetter::Caller => "caller",
            StateSetter::Answer => "answer",
        }
    }
}

/// Why a rule did not fire on a turn where it had a candidate or was live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Exception,
    StateSet,
    StateNotSet,
    OutsideWindow,
    WindowOpen,
    TemplateMismatch,
    NotApplicable,
}

/// Every reason: (name, what it means), in declaration order.
pub const REASONS: &[(Reason, &str, &str)] = &[
    (
        Reason::Exception,
        "exception",
        "every hit was covered by the rule's exception (unless)",
    ),
    (
        Reason::StateSet,
        "state_set",
        "its `until` state was set, so the words are allowed now",
    ),
    (
        Reason::StateNotSet,
        "state_not_set",
        "the cue answers a question the agent had not asked on its previous turn",
    ),
    (
        Reason::OutsideWindow,
        "outside_window",
        "the words were said outside the window the rule watches",
    ),
    (
        Reason::WindowOpen,
        "window_open",
        "the required words are not said yet, and its window is still open",
    ),
    (
        Reason::TemplateMismatch,
        "template_mismatch",
        "the words around the phrase did not match its template",
    ),
    (
        Reason::NotApplicable,
        "not_applicable",
        "the rule does not apply now (out of scope, or its condition is false or unknown)",
    ),
];

impl Reason {
    pub fn name(self) -> &'static str {
        REASONS.iter().find(|(r, _, _)| *r == self).map_or("", |(_, n, _)| n)
    }
}

/// Every event kind: (name, what it means), in declaration order.
pub const EVENTS: &[(&str, &str)] = &[
    (
        "candidate",
        "a phrase of the rule's words was found, on word boundaries",
    ),
    (
        "template_rejected",
        "a phrase was found but the words around it did not match its template",
    ),
    (
        "regex_ran",
        "a pattern ran on the turn (one of its literal atoms was found, or it has none)",
    ),
    (
        "validator_rejected",
        "a detector found a candidate and one of its checks said no (see the checks)",
    ),
    (
        "not_applicable",
        "the rule does not apply now: out of scope, or its condition is false or unknown",
    ),
    (
        "allowed_after_state",
        "the words came after the rule's `until` state was set earlier in the turn",
    ),
    ("excepted", "the words were covered by the rule's exception (unless)"),
    ("verified", "a candidate nothing excused: the rule fires on these words"),
    ("cue_opened", "a cue was heard and opened its checks"),
    (
        "state_set",
        "a state was set, by the agent's words, the caller's, or the caller's answer to the agent's question",
    ),
    (
        "window_opened",
        "a window opened: an obligation starts (at call start or by a cue), or a cue's prohibition starts",
    ),
    ("obligation_met", "the required words were said within the window"),
    ("window_closed", "an obligation's window closed"),
    (
        "did_not_fire",
        "a rule that had a candidate or a live window did not fire, and why (see the reasons)",
    ),
];

/// Collects events for one call.
#[derive(Debug, Default)]
pub struct Tracer {
    pub events: Vec<Event>,
    /// where the current turn's scan began in `events` (the evaluator looks back at its rejected templates)
    pub scan_start: usize,
}

impl Tracer {
    #[inline]
    pub fn push(&mut self, e: Event) {
        self.events.push(e);
    }

    /// The leaves whose template rejected a candidate in the current turn's scan.
    pub fn rejected_leaves(&self) -> impl Iterator<Item = u32> + '_ {
        self.events[self.scan_start.min(self.events.len())..]
            .iter()
            .filter_map(|e| match e {
                Event::TemplateRejected { leaf, .. } => Some(*leaf),
                _ => None,
            })
    }
}

impl Event {
    /// The event's name (an entry of [`EVENTS`]).
    pub fn name(&self) -> &'static str {
        let i = match self {
            Event::Candidate { .. } => 0,
            Event::TemplateRejected { .. } => 1,
            Event::RegexRan { .. } => 2,
            Event::ValidatorRejected { .. } => 3,
            Event::NotApplicable { .. } => 4,
            Event::AllowedAfterState { .. } => 5,
            Event::Excepted { .. } => 6,
            Event::Verified { .. } => 7,
            Event::CueOpened { .. } => 8,
            Event::StateSet { .. } => 9,
            Event::WindowOpened { .. } => 10,
            Event::ObligationMet { .. } => 11,
            Event::WindowClosed { .. } => 12,
            Event::DidNotFire { .. } => 13,
        };
        EVENTS[i].0
    }

    /// The event as a Python dict (``{"event": name, ...}``): rules, checks and leaves by index, states by name.
    pub fn to_py<'py>(
        &self,
        py: pyo3::Python<'py>,
        program: &super::program::Program,
    ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyDict>> {
        use pyo3::types::PyDictMethods;
        let d = pyo3::types::PyDict::new(py);
        d.set_item("event", self.name())?;
        match self {
            Event::Candidate { leaf, start, end } | Event::TemplateRejected { leaf, start, end } => {
                d.set_item("leaf", leaf)?;
                d.set_item("norm_span", (start, end))?;
            }
            Event::RegexRan { leaf } => d.set_item("leaf", leaf)?,
            Event::ValidatorRejected {
                detector,
                start,
                end,
                check,
            } => {
                d.set_item("detector", detector.name())?;
                d.set_item("span", (start, end))?;
                d.set_item("failed", check.name())?;
            }
            Event::NotApplicable { rule, check } | Event::ObligationMet { rule, check } => {
                d.set_item("rule", rule)?;
                d.set_item("check", check)?;
            }
            Event::AllowedAfterState { rule, start, end } | Event::Excepted { rule, start, end } => {
                d.set_item("rule", rule)?;
                d.set_item("span", (start, end))?;
            }
            Event::Verified {
                rule,
                check,
                start,
                end,
            } => {
                d.set_item("rule", rule)?;
                d.set_item("check", check)?;
                d.set_item("span", (start, end))?;
            }
            Event::CueOpened { check } => d.set_item("check", check)?,
            Event::StateSet { state, by } => {
                d.set_item("state", &program.state_names[*state as usize])?;
                d.set_item("by", by.name())?;
            }
            Event::WindowOpened {
                rule,
                check,
                obligation,
            } => {
                d.set_item("rule", rule)?;
                d.set_item("check", check)?;
                d.set_item("window", if *obligation { "obligation" } else { "prohibition" })?;
            }
            Event::WindowClosed { rule, check, met } => {
                d.set_item("rule", rule)?;
                d.set_item("check", check)?;
                d.set_item("met", met)?;
            }
            Event::DidNotFire { rule, check, reason } => {
                d.set_item("rule", rule)?;
                d.set_item("check", check)?;
                d.set_item("reason", reason.name())?;
            }
        }
        Ok(d)
    }
}
