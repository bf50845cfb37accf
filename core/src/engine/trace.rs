//! Explain as a tracer: when a call is traced, the evaluator records what it did and why, as events (OPA's
//! `topdown` tracer is the model). Off, the evaluator pays one branch on an `Option` per event site.

/// One thing the evaluator did.
#[derive(Debug, Clone)]
pub enum Event {
    /// an automaton hit on a phrase leaf, on word boundaries (normalized bytes)
    Candidate { leaf: u32, start: u32, end: u32 },
    /// a template's atom hit that the template around it did not confirm
    TemplateRejected { leaf: u32, start: u32, end: u32 },
    /// a regex ran (one of its atoms hit, or it has none)
    RegexRan { leaf: u32 },
    /// a check's rule does not apply now (out of scope, or its condition is false or unknown)
    NotApplicable { rule: u32, check: u32 },
    /// a hit that an `until` state set earlier in the same turn allows
    AllowedAfterState { rule: u32, start: u32, end: u32 },
    /// a hit overlapped by its `unless` exception
    Excepted { rule: u32, start: u32, end: u32 },
    /// a cue opened its checks
    CueOpened { check: u32 },
    /// an obligation was met
    ObligationMet { rule: u32, check: u32 },
    /// an obligation's window closed
    WindowClosed { rule: u32, check: u32, met: bool },
}

/// Collects events for one call.
#[derive(Debug, Default)]
pub struct Tracer {
    pub events: Vec<Event>,
}

impl Tracer {
    #[inline]
    pub fn push(&mut self, e: Event) {
        self.events.push(e);
    }
}

impl Event {
    /// The event as a Python dict (``{"event": name, ...}``).
    pub fn to_py<'py>(&self, py: pyo3::Python<'py>, program: &super::program::Program) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyDict>> {
        use pyo3::types::PyDictMethods;
        let d = pyo3::types::PyDict::new(py);
        let _ = program;
        match self {
            Event::Candidate { leaf, start, end } => {
                d.set_item("event", "candidate")?;
                d.set_item("leaf", leaf)?;
                d.set_item("norm_span", (start, end))?;
            }
            Event::TemplateRejected { leaf, start, end } => {
                d.set_item("event", "template_rejected")?;
                d.set_item("leaf", leaf)?;
                d.set_item("norm_span", (start, end))?;
            }
            Event::RegexRan { leaf } => {
                d.set_item("event", "regex_ran")?;
                d.set_item("leaf", leaf)?;
            }
            Event::NotApplicable { rule, check } => {
                d.set_item("event", "not_applicable")?;
                d.set_item("rule", rule)?;
                d.set_item("check", check)?;
            }
            Event::AllowedAfterState { rule, start, end } => {
                d.set_item("event", "allowed_after_state")?;
                d.set_item("rule", rule)?;
                d.set_item("span", (start, end))?;
            }
            Event::Excepted { rule, start, end } => {
                d.set_item("event", "excepted")?;
                d.set_item("rule", rule)?;
                d.set_item("span", (start, end))?;
            }
            Event::CueOpened { check } => {
                d.set_item("event", "cue_opened")?;
                d.set_item("check", check)?;
            }
            Event::ObligationMet { rule, check } => {
                d.set_item("event", "obligation_met")?;
                d.set_item("rule", rule)?;
                d.set_item("check", check)?;
            }
            Event::WindowClosed { rule, check, met } => {
                d.set_item("event", "window_closed")?;
                d.set_item("rule", rule)?;
                d.set_item("check", check)?;
                d.set_item("met", met)?;
            }
        }
        Ok(d)
    }
}
