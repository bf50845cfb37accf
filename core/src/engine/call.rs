//! A call through the gate: per-call state in the core, and the turn loop's entry points.
//!
//! `trace_engine.gate.call.Call` is a Python subclass of [`CallCore`]: the turn methods (`agent_turn`,
//! `caller_turn`, `other_turn`) are these, so a turn costs one call into the core; the facade keeps what is not on
//! the hot path (call facts, scorecard assembly, observers' end hook, the evidence writer).
//!
//! Two kinds of bad input, two contracts. Content (any text at all) never raises: the gate decides, and on an
//! internal error fails open (issue 11: nothing raw is stored; findings already computed are kept, marked late).
//! Programming errors at the boundary (a `text` that is not a `str`, a `t` that is not a finite number, a turn after
//! `end()`) raise at once, through the facade's `_check_turn`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::clock::{fault, now_ns, past, Stage};
use super::decision::{Compact, Decision, Pending, TurnFinding};
use super::edits::{apply_edits, is_blank, Edit, Piece, Text};
use super::eval::{meets, step_hit, CallView, Outcome, Plan, ScopeOff, Violation};
use super::expr::{Ctx, TimeParser, Value};
use super::program::{Check, Program, RuleId, Speaker, StateId};
use super::scan::{Keys, Matches, ScanVars, Scratch, Span, NO_KIND};
use super::state::{Act, Action, Entry, Finding, Late, Redaction, Role, Snapshot, TurnState, Unknown, T};
use super::textview::{py_text, DetKind, View};
use super::trace::{Event, Reason, StateSetter, Tracer};

/// What is stored for a turn the gate could not look at and could not redact either.
pub const WITHHELD: &str = "[withheld: the gate could not check this turn]";

/// Interned strings for the objects a turn returns.
pub struct Strs {
    pub actions: [Py<PyString>; 5],
    pub acts: [Py<PyString>; 4],
    /// by `DetKind` code; 0 unused
    pub kinds: Vec<Py<PyString>>,
    /// per rule: id, pack id, severity, citation, reason
    pub rules: Vec<[Py<PyString>; 5]>,
    pub withheld: Py<PyString>,
    pub agent: Py<PyString>,
    pub caller: Py<PyString>,
    pub facts: Py<PyString>,
    pub empty_tuple: Py<PyTuple>,
    /// per rule, per action taken: its finding without a span or kind (a missed obligation), built once per
    /// engine: such findings are the same every time and immutable, and most rewritten turns carry one or two
    pub bare_findings: Vec<[Py<TurnFinding>; 4]>,
}

/// What every call of an engine shares.
pub struct Shared {
    pub program: Arc<Program>,
    pub timeout_ns: u64,
    pub fail_open: bool,
    pub fallback_line: Option<Py<PyString>>,
    pub handoff_line: Option<Py<PyString>>,
    pub mode_cap: u8,
    pub strs: Strs,
    pub time_func: Option<Py<PyAny>>,
    pub redact_kinds: Vec<DetKind>,
    pub state_keys: Vec<Option<u32>>,
    pub sticky: Arc<super::stream::Sticky>,
    /// What injected disclosures hit, by text and the call's scan variables (see [`InjectedHits`]).
    pub injected: std::sync::Mutex<Vec<Arc<InjectedHits>>>,
    /// The normalized views of the lines an engine injects, for splicing a rewritten turn's view (see
    /// [`super::respoken`]); as few as the injected texts, and bounded the same way.
    pub literals: std::sync::Mutex<Vec<Arc<super::respoken::LiteralView>>>,
    /// The Python strings of the lines an engine injects, for rewrites that are a whole turn with lines around it
    /// (see [`super::textview::around_whole`]).
    pub py_literals: super::textview::PyLiterals,
    /// The room the engine's new streams' buffers start with.
    pub stream_room: super::incremental::StreamRoom,
}

/// The matchers one injected text matches under one set of scan variables. The texts an engine injects are few
/// (its remedies, filled with the calls' variables) and every call injects the same ones, so their scans are shared
/// by the engine's calls instead of normalizing and scanning the same sentence again on every call. Only which
/// matchers matched is kept: that is all an obligation asks of an injected line ([`meets`]).
pub struct InjectedHits {
    text: String,
    vars: ScanVars,
    matchers: Vec<super::program::MatcherId>,
}

/// Whether `text` is `lines` joined by single spaces (as the plan renders injected lines), without joining them:
/// how the engine's caches of injected lines ([`InjectedHits`], the literal views) are looked up.
fn is_joined(text: &str, lines: &[String]) -> bool {
    let t = text.as_bytes();
    let mut at = 0;
    lines.iter().enumerate().all(|(k, line)| {
        let sep = usize::from(k > 0);
        let ok =
            (k == 0 || t.get(at) == Some(&b' ')) && t.get(at + sep..at + sep + line.len()) == Some(line.as_bytes());
        at += sep + line.len();
        ok
    }) && at == t.len()
}

/// At most this many injected texts are remembered per engine (then the oldest is forgotten).
const INJECTED_CACHE: usize = 64;

enum Fail {
    /// the turn ran past its budget between two stages; detector spans already found
    Over(Option<Vec<Span>>),
    /// a stage raised: the gate fails open and counts an error (what was raised is not kept)
    Err,
}

impl From<PyErr> for Fail {
    fn from(_: PyErr) -> Fail {
        Fail::Err
    }
}

type R<T> = Result<T, Fail>;

#[inline(always)]
fn stage(s: Stage) -> PyResult<()> {
    fault(s)
}

/// Read a `t`: `None`, an `int` or a finite `float` (anything else went through the facade's check first).
pub fn read_t(t: &Bound<'_, PyAny>) -> PyResult<Option<T>> {
    if t.is_none() {
        return Ok(None);
    }
    if let Ok(i) = t.downcast::<PyInt>() {
        if !t.is_instance_of::<pyo3::types::PyBool>() {
            let f: f64 = i.extract()?;
            return Ok(Some(T {
                f,
                int: i.extract::<i64>().ok(),
            }));
        }
    }
    if let Ok(f) = t.downcast::<PyFloat>() {
        return Ok(Some(T::float(f.value())));
    }
    let f: f64 = t.extract()?;
    Ok(Some(T::float(f)))
}

/// [`read_t`] of a plain time (`None`, an `int`, a finite `float`), read once; `None` when the time is not a plain
/// one (the facade checks it).
#[inline]
fn plain_time(t: &Bound<'_, PyAny>) -> Option<PyResult<Option<T>>> {
    if t.is_none() {
        return Some(Ok(None));
    }
    if let Ok(f) = t.downcast_exact::<PyFloat>() {
        let v = f.value();
        return v.is_finite().then_some(Ok(Some(T::float(v))));
    }
    t.is_exact_instance_of::<PyInt>().then(|| read_t(t))
}

/// Whether `t` is a plain time (`None`, an `int`, a finite `float`): one the core reads without the facade.
pub(crate) fn plain_t(t: &Bound<'_, PyAny>) -> bool {
    plain_time(t).is_some()
}

pub fn t_to_py(py: Python<'_>, t: Option<T>) -> PyObject {
    match t {
        None => py.None(),
        Some(T { int: Some(i), .. }) => i
            .into_pyobject(py)
            .map(|x| x.into_any().unbind())
            .unwrap_or_else(|_| py.None()),
        Some(T { f, .. }) => PyFloat::new(py, f).into_any().unbind(),
    }
}

/// The call's [`CallView`], borrowing only the fields it reads (so the turn state can be borrowed mutably beside
/// it).
macro_rules! view {
    ($s:ident, $py:expr) => {
        CallView {
            py: $py,
            program: &$s.sh.program,
            facts: &$s.facts,
            scope_off: &$s.scope_off,
            unmatchable: &$s.unmatchable,
            fill: &$s.fill,
            mode_cap: $s.mode_cap,
            time: &$s.time,
            state_keys: &$s.sh.state_keys,
        }
    };
}

/// One call. Subclassed in Python by `trace_engine.gate.call.Call`.
#[pyclass(subclass, module = "trace_engine._core")]
pub struct CallCore {
    pub sh: Arc<Shared>,
    pub st: TurnState,
    pub findings: Vec<Finding>,
    pub redactions: Vec<Redaction>,
    pub timeline: Vec<Entry>,
    pub latencies: Vec<u64>,
    pub late: Option<Late>,
    #[pyo3(get, set)]
    pub ended: bool,
    pub facts: Vec<Option<Value>>,
    pub scope_off: Vec<Option<ScopeOff>>,
    pub vars: ScanVars,
    pub unmatchable: Vec<Option<String>>,
    pub fill: Vec<Option<String>>,
    #[pyo3(get, set)]
    pub mode_cap: u8,
    #[pyo3(get, set, name = "_observers")]
    pub observers: Py<PyTuple>,
    #[pyo3(get)]
    pub preempt: Py<PyList>,
    pub time: TimeParser,
    pub matches: Matches,
    pub aux: Matches,
    pub scratch: Scratch,
    pub outcome: Outcome,
    pub plan: Plan,
    pub tracer: Option<Tracer>,
    /// bumped whenever the call's variables or exempt values change (a streamed turn's carried matches read them)
    pub vars_gen: u64,
    pub snapshot: Option<Snapshot>,
    /// the stream `snapshot` was taken for (its [`super::stream::StreamCore`] checkpoint id; 0: none): a number,
    /// not the stream, so that call and stream hold no reference cycle (the core's objects are not traversed by
    /// Python's cycle collector, so a call holding its last stream would never be freed)
    pub checkpoint_owner: u64,
    /// streams opened on this call: the next one's checkpoint id
    pub streams_opened: u64,
    /// whether the turn in progress is stored: what the last agent or caller turn stored (for observers)
    pub last_stored: Option<Py<PyString>>,
    /// the agent turn's normalized view, its buffers kept from turn to turn
    pub turn_view: Option<Box<View>>,
    /// the injected text this call looked up last and the `vars_gen` it was looked up under: a call injects the
    /// same disclosure turn after turn, so it finds it here without locking or searching the engine's cache
    pub injected_last: Option<(u64, Arc<InjectedHits>)>,
    /// the last Decision returned, refilled for the next turn once the turn loop has dropped it
    pub last_decision: Option<Py<Decision>>,
}

/// A call's match sets go back to the pool for the next call (their span buffers are kept).
impl Drop for CallCore {
    fn drop(&mut self) {
        std::mem::take(&mut self.matches).give_back();
        std::mem::take(&mut self.aux).give_back();
    }
}

impl CallCore {
    pub fn new_core(py: Python<'_>, sh: Arc<Shared>, observers: Py<PyTuple>, preempt: Py<PyList>) -> CallCore {
        let p = &sh.program;
        let n_m = p.matchers.count as usize;
        CallCore {
            st: TurnState::new(p.rules.len(), p.state_names.len()),
            // room for a typical call's turns, so that the turn loop does not grow them
            findings: Vec::with_capacity(16),
            redactions: Vec::new(),
            timeline: Vec::with_capacity(32),
            latencies: Vec::with_capacity(16),
            late: None,
            ended: false,
            facts: vec![None; p.field_names.len()],
            scope_off: vec![None; p.rules.len()],
            vars: ScanVars {
                tokens: vec![None; p.matchers.variables.len()],
                exempt: vec![Vec::new(); p.matchers.detectors.len()],
            },
            unmatchable: vec![None; n_m],
            fill: vec![None; p.fill_variables.len()],
            mode_cap: sh.mode_cap,
            observers,
            preempt,
            time: TimeParser::new(sh.time_func.as_ref().map(|f| f.clone_ref(py))),
            matches: Matches::reused(n_m),
            aux: Matches::reused(n_m),
            scratch: Scratch::with_room(),
            outcome: Outcome::with_room(),
            plan: Plan::default(),
            tracer: None,
            vars_gen: 0,
            snapshot: None,
            checkpoint_owner: 0,
            streams_opened: 0,
            last_stored: None,
            turn_view: None,
            injected_last: None,
            last_decision: None,
            sh,
        }
    }

    // ------------------------------------------------------------------------------------- text helpers

    fn normalize(&self, text: &str) -> PyResult<View> {
        stage(Stage::Normalize)?;
        Ok(View::of(text))
    }

    /// The normalized view of `spoken`, the rewrite of the agent turn `orig`: built from the turn's own view where
    /// that is still `orig`'s, keeping its tokens on both sides of the rewrite (see [`super::respoken`]); else
    /// normalized whole.
    fn respoken(&mut self, orig: &str, spoken: &str) -> PyResult<View> {
        stage(Stage::Normalize)?;
        let mut view = View {
            nt: super::native::pooled(),
        };
        if let Some(turn) = self.turn_view.as_deref() {
            if turn.nt.original == orig {
                let before = self.literal(&self.plan.prefixes);
                let after = self.literal(&self.plan.suffixes);
                // scratch for the words the rewrite changed, from the pool (a call rewrites few turns)
                let mut mid = super::native::pooled();
                let spliced = super::respoken::respoken_view(
                    &turn.nt,
                    spoken,
                    before.as_deref(),
                    after.as_deref(),
                    &mut mid,
                    &mut view.nt,
                );
                super::native::recycle(mid);
                if spliced {
                    return Ok(view);
                }
            }
        }
        crate::text::normalize_into(spoken, &mut view.nt);
        Ok(view)
    }

    /// The engine's view of `lines` injected together (joined by spaces, as the plan renders them); `None` for none.
    fn literal(&self, lines: &[String]) -> Option<Arc<super::respoken::LiteralView>> {
        if lines.is_empty() {
            return None;
        }
        let mut cache = self.sh.literals.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = cache.iter().find(|l| is_joined(&l.text, lines)) {
            return Some(l.clone());
        }
        let view = Arc::new(super::respoken::LiteralView::new(&lines.join(" ")));
        if cache.len() >= INJECTED_CACHE {
            cache.remove(0);
        }
        cache.push(view.clone());
        Some(view)
    }

    /// Scan `view` for the keys `keys` says (an agent turn's, or all) into `self.matches`, or `self.aux` (the
    /// injected lines: every key, as what they meet is looked up by matcher, whoever reads it).
    fn scan_into(&mut self, view: &View, keys: Keys, aux: bool) -> PyResult<()> {
        stage(Stage::Scan)?;
        // the fields borrowed apart: no clone of the shared engine (an atomic increment and decrement) per turn
        let out = if aux { &mut self.aux } else { &mut self.matches };
        let tracer = self.tracer.as_mut();
        (self.sh.program.matchers).scan(keys, view, &self.vars, out, &mut self.scratch, tracer)
    }

    fn apply(&self, py: Python<'_>, text: &Text<'_>, edits: &[Edit]) -> PyResult<Vec<Piece>> {
        stage(Stage::ApplyEdits)?;
        Ok(apply_edits(py, text, edits))
    }

    fn py_text(&self, py: Python<'_>, text: &Text<'_>, pieces: &[Piece]) -> PyResult<Py<PyString>> {
        if let [Piece::Range(0, n)] = pieces {
            if *n == text.len() {
                if let Some(orig) = &text.py {
                    return Ok(orig.clone().unbind());
                }
            }
        }
        text.materialize(py, pieces)
    }

    /// `text` for storage with `spans` (detector hits) masked as `[kind]`, each recorded as a redaction of the
    /// current turn.
    fn redact_for_storage(
        &mut self,
        py: Python<'_>,
        text: &Text<'_>,
        orig: &Bound<'_, PyString>,
        spans: &[Span],
    ) -> PyResult<Py<PyString>> {
        stage(Stage::RedactForStorage)?;
        let mut spans: Vec<Span> = spans.iter().filter(|s| s.kind != NO_KIND).copied().collect();
        spans.sort_unstable();
        spans.dedup();
        let mut edits = Vec::with_capacity(spans.len());
        for s in &spans {
            let kind = DetKind::from_code(s.kind).expect("a detector span");
            edits.push((s.start as usize, s.end as usize, format!("[{}]", kind.name())));
            self.redactions.push(Redaction {
                kind,
                turn: self.st.seq,
                span: (s.start, s.end),
            });
        }
        if edits.is_empty() {
            stage(Stage::ApplyEdits)?;
            return Ok(orig.clone().unbind());
        }
        let pieces = self.apply(py, text, &edits)?;
        self.py_text(py, text, &pieces)
    }

    /// `text` for storage with every hit of the pack set's detectors masked (`[kind]`), recorded as a redaction
    /// of the current turn unless `record` is false; the withheld marker if that cannot be done.
    pub fn redact_detectors(
        &mut self,
        py: Python<'_>,
        orig: &Bound<'_, PyString>,
        spans: Option<Vec<Span>>,
        record: bool,
    ) -> Py<PyString> {
        let got = (|| -> PyResult<Py<PyString>> {
            let (s, lossy) = py_text(orig)?;
            let text = Text::new(&s, if lossy { Some(orig.clone()) } else { None });
            let spans = match spans {
                Some(s) => s,
                None => {
                    let kinds = self.sh.redact_kinds.clone();
                    if kinds.is_empty() {
                        Vec::new()
                    } else {
                        let view = self.normalize(&s)?;
                        stage(Stage::Detectors)?;
                        let requests: Vec<(DetKind, &[String])> = kinds.iter().map(|k| (*k, &[][..])).collect();
                        let hits = super::native::detect_many(&view.nt, &requests)?;
                        kinds
                            .iter()
                            .zip(hits.iter())
                            .flat_map(|(k, hs)| {
                                hs.iter().map(move |h| Span {
                                    start: h.start,
                                    end: h.end,
                                    kind: k.code(),
                                })
                            })
                            .collect()
                    }
                }
            };
            if spans.is_empty() {
                return Ok(orig.clone().unbind());
            }
            if record {
                return self.redact_for_storage(py, &text, orig, &spans);
            }
            let mut spans = spans;
            spans.sort_unstable();
            spans.dedup();
            let edits: Vec<Edit> = spans
                .iter()
                .map(|s| {
                    (
                        s.start as usize,
                        s.end as usize,
                        format!("[{}]", DetKind::from_code(s.kind).map_or("pii", |k| k.name())),
                    )
                })
                .collect();
            let pieces = self.apply(py, &text, &edits)?;
            self.py_text(py, &text, &pieces)
        })();
        got.unwrap_or_else(|_| self.sh.strs.withheld.clone_ref(py))
    }

    fn event(&mut self, py: Python<'_>, role: Role, text: Py<PyString>, t: Option<T>) -> PyResult<()> {
        stage(Stage::TimelineEvent)?;
        let _ = py;
        self.push_entry(role, text, t);
        Ok(())
    }

    fn push_entry(&mut self, role: Role, text: Py<PyString>, t: Option<T>) {
        let at = t.map(|t| t.f).unwrap_or_else(|| self.st.last_t.map_or(0.0, |t| t.f));
        self.timeline.push(Entry {
            seq: self.st.seq,
            t: at,
            role,
            text,
            barge: None,
        });
    }

    // ------------------------------------------------------------------------------------- setup

    /// Open the call: obligations that run from the first agent turn, and the metadata requirements.
    pub fn start(&mut self, py: Python<'_>) -> PyResult<()> {
        let program = self.sh.program.clone();
        for &ci in &program.top_must_say {
            let ob = view!(self, py).open_obligation(&mut self.st, ci, 1, 0.0);
            if let Some(t) = self.tracer.as_mut() {
                t.push(Event::WindowOpened {
                    rule: program.checks[ci as usize].rule(),
                    check: ci,
                    obligation: true,
                });
            }
            self.st.obligations.push(ob);
        }
        self.st.require_pending = program.requires.clone();
        self.check_requires(py, Some(T::float(0.0)))
    }

    /// Decide the metadata requirements that are not decided yet (at call start, and after new facts).
    pub fn check_requires(&mut self, py: Python<'_>, t: Option<T>) -> PyResult<()> {
        let program = self.sh.program.clone();
        let pending = std::mem::take(&mut self.st.require_pending);
        let mut still = Vec::new();
        for ci in pending {
            let Check::Require { rule, expr } = &program.checks[ci as usize] else {
                continue;
            };
            let rule = *rule;
            let view = view!(self, py);
            if !view.applies(&mut self.st, rule, true) {
                still.push(ci); // out of scope, or its `when` is not met: new facts may change that
                continue;
            }
            let verdict = view.eval_truth(&self.st, expr);
            match verdict {
                None => {
                    self.st.set_unknown(rule, Unknown::Require(ci));
                    still.push(ci);
                }
                Some(v) => {
                    if self.st.rule_unknown[rule as usize] == Some(Unknown::Require(ci)) {
                        self.st.rule_unknown[rule as usize] = None; // decided now that the fact arrived
                    }
                    self.st.rule_evaluated[rule as usize] = true;
                    if v {
                        self.st.satisfy(rule, t, None);
                    } else {
                        let v = Violation::flag(rule, None, NO_KIND, None);
                        self.record(&v, None, t)?;
                    }
                }
            }
        }
        self.st.require_pending = still;
        Ok(())
    }

    /// One scorecard finding per rule per turn (the first span); the Decision keeps every span.
    fn record(&mut self, v: &Violation, turn: Option<u32>, t: Option<T>) -> PyResult<bool> {
        stage(Stage::RecordFinding)?;
        let rule = v.rule;
        self.st.rule_fired[rule as usize] = true;
        self.st.rule_evaluated[rule as usize] = true;
        if let Some(turn) = turn {
            if self.st.recorded_seq != turn {
                self.st.recorded_seq = turn;
                self.st.recorded.clear();
            }
            if self.st.recorded.contains(&rule) {
                return Ok(false);
            }
            self.st.recorded.push(rule);
        }
        self.findings.push(Finding {
            rule,
            action: v.action,
            at_t: t,
            turn,
            span: v.span,
            remediated: v.remediated,
            late: false,
        });
        Ok(true)
    }

    fn mark_late(&mut self, k: usize) {
        let fail_open = self.sh.fail_open;
        let f = &mut self.findings[k];
        f.late = true;
        if fail_open {
            f.action = Act::Pass;
            f.remediated = false;
        } else {
            // failing closed, the turn was replaced by the fallback line
            f.action = Act::Block;
            f.remediated = true;
        }
    }

    // ------------------------------------------------------------------------------------- agent turns

    fn take_preempt<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let list = self.preempt.bind(py);
        if list.is_empty() {
            return Ok(self.sh.strs.empty_tuple.bind(py).clone());
        }
        let items = PyTuple::new(py, list.iter())?;
        list.del_slice(0, items.len())?;
        Ok(items)
    }

    fn decision<'py>(
        &mut self,
        py: Python<'py>,
        action: Action,
        text: PyObject,
        findings: Option<Pending>,
        latency: u64,
        preempt: Py<PyTuple>,
    ) -> PyResult<Bound<'py, Decision>> {
        Decision::issue(
            py,
            &mut self.last_decision,
            self.sh.strs.actions[action.code()].clone_ref(py),
            text,
            findings,
            latency as i64,
            preempt,
        )
    }

    fn fallback(&self, py: Python<'_>) -> PyObject {
        match &self.sh.fallback_line {
            Some(s) => s.clone_ref(py).into_any(),
            None => py.None(),
        }
    }

    /// The turn's findings, kept compact: the Decision builds their Python objects when they are first read.
    fn turn_findings(&self) -> Option<Pending> {
        let violations = &self.outcome.violations;
        if violations.is_empty() {
            return None;
        }
        Some(Pending::new(
            &self.sh,
            violations.iter().map(|v| Compact {
                rule: v.rule,
                act: match v.action {
                    Act::Pass => 0,
                    Act::Flag => 1,
                    Act::Modify => 2,
                    Act::Block => 3,
                },
                kind: v.kind,
                span: v.span,
            }),
        ))
    }

    /// Plan the mode's rewrite of the evaluated turn (sets the violations' actions).
    fn run_plan(&mut self, py: Python<'_>, text: &Text<'_>) -> PyResult<()> {
        stage(Stage::Plan)?;
        let mut digits = |seg: &str| spoken_digits(seg);
        view!(self, py).plan(&mut self.outcome, text, &mut self.plan, &mut digits);
        Ok(())
    }

    /// The mode's answer for the evaluated turn: `(action, spoken text)`.
    fn decide(&mut self, py: Python<'_>, text: &Text<'_>, orig: &Bound<'_, PyString>) -> PyResult<(Action, PyObject)> {
        stage(Stage::Decide)?;
        if self.outcome.violations.is_empty() {
            return Ok((Action::Pass, orig.clone().into_any().unbind()));
        }
        self.run_plan(py, text)?;
        if self.plan.suppress > 0 {
            let handoff = self.plan.suppress >= 3;
            let line = if handoff {
                self.sh
                    .handoff_line
                    .as_ref()
                    .map(|s| s.clone_ref(py).into_any())
                    .unwrap_or_else(|| py.None())
            } else {
                self.fallback(py)
            };
            return Ok((if handoff { Action::Handoff } else { Action::Block }, line));
        }
        if !self.plan.edits.is_empty() || !self.plan.prefixes.is_empty() || !self.plan.suffixes.is_empty() {
            stage(Stage::ApplyEdits)?;
            let pieces = self.plan.render(py, text);
            if self.mode_cap >= 2 && is_blank(text, &pieces) {
                for v in &mut self.outcome.violations {
                    v.action = Act::Block; // nothing left to say: suppress rather than speak silence
                    v.remediated = true;
                }
                return Ok((Action::Block, self.fallback(py)));
            }
            // into the outcome's own vector (cleared by its reset): no vector to allocate per turn
            let injected = self.plan.prefixes.iter().chain(self.plan.suffixes.iter());
            self.outcome.injected.clear();
            self.outcome.injected.extend(injected.cloned());
            let spoken = match super::textview::around_whole(py, text.len(), &pieces, orig, &self.sh.py_literals)? {
                Some(s) => s,
                None => self.py_text(py, text, &pieces)?,
            };
            return Ok((Action::Modify, spoken.into_any()));
        }
        Ok((Action::Flag, orig.clone().into_any().unbind()))
    }

    fn advance_state(&mut self, py: Python<'_>, suppressed: bool) -> PyResult<()> {
        stage(Stage::AdvanceState)?;
        let program = &self.sh.program;
        // borrowed, not moved out and back: the outcome is large and this runs every turn
        let out = &self.outcome;
        let st = &mut self.st;
        let seq = st.seq;
        if !suppressed {
            for &id in &out.met {
                let ob = st.obligations.iter().chain(out.opened.iter()).find(|o| o.id == id);
                if let Some(ob) = ob {
                    if let Check::MustSay { rule, .. } = &program.checks[ob.check as usize] {
                        let rule = *rule;
                        st.rule_evaluated[rule as usize] = true;
                        st.satisfy(rule, out.t, Some(seq));
                    }
                }
            }
        }
        let gone = |id: u64| out.closed.contains(&id) || (!suppressed && out.met.contains(&id));
        st.obligations.retain(|o| !gone(o.id));
        if !suppressed {
            st.obligations
                .extend(out.opened.iter().filter(|o| !gone(o.id)).cloned());
            st.prohibitions.extend(out.opened_prohibitions.iter().cloned());
            for &s in &out.states_set {
                set_state(st, self.tracer.as_mut(), s, StateSetter::Agent);
            }
            agent_spoke(st, &out.pending_set, &out.asked_cues);
        } else if !st.pending.is_empty() || !st.after_open.is_empty() {
            agent_spoke(st, &[], &[]); // the fallback line was spoken instead: the question was not asked
        }
        for ob in &mut st.obligations {
            if ob.start_turn <= out.turn {
                ob.turns_seen += 1;
            }
        }
        let _ = py;
        Ok(())
    }

    /// Set a state (traced when it was not set before).
    fn set_state(&mut self, s: StateId, by: StateSetter) {
        set_state(&mut self.st, self.tracer.as_mut(), s, by);
    }

    /// Injected disclosures are spoken: let them meet other open obligations.
    #[inline(never)] // out of the turn body: only a turn with injected lines and open obligations gets here
    fn meet_with_injected(&mut self, py: Python<'_>) -> PyResult<()> {
        let hits = self.injected_hits()?;
        if hits.matchers.is_empty() {
            return Ok(());
        }
        let program = self.sh.program.clone();
        let (turn, t, seq) = (self.outcome.turn, self.outcome.t, self.st.seq);
        let mut obligations = std::mem::take(&mut self.st.obligations);
        obligations.retain(|ob| {
            if ob.start_turn > turn {
                return true;
            }
            let Some(rule) = meets(&program, ob, |m| hits.matchers.contains(&m)) else {
                return true;
            };
            if !view!(self, py).applies(&mut self.st, rule, true) {
                return true;
            }
            self.st.rule_evaluated[rule as usize] = true;
            self.st.satisfy(rule, t, Some(seq));
            false
        });
        self.st.obligations = obligations;
        Ok(())
    }

    /// The matchers the turn's injected lines match: this call's last lookup when the lines and the variables are
    /// the same, else the engine's cache, else a scan (a traced call always scans: the scan's events are part of
    /// its explanation).
    fn injected_hits(&mut self) -> PyResult<Arc<InjectedHits>> {
        let lines = &self.outcome.injected;
        if self.tracer.is_none() {
            let found = match &self.injected_last {
                Some((gen, last)) if *gen == self.vars_gen && is_joined(&last.text, lines) => Some(last.clone()),
                _ => {
                    let cache = self.sh.injected.lock().unwrap_or_else(|e| e.into_inner());
                    cache
                        .iter()
                        .find(|c| is_joined(&c.text, lines) && c.vars == self.vars)
                        .cloned()
                }
            };
            if let Some(hits) = found {
                stage(Stage::Normalize)?;
                stage(Stage::Scan)?;
                self.injected_last = Some((self.vars_gen, hits.clone()));
                return Ok(hits);
            }
        }
        let text = lines.join(" ");
        let view = self.normalize(&text)?;
        self.scan_into(&view, Keys::All, true)?;
        let hits = Arc::new(InjectedHits {
            text,
            vars: self.vars.clone(),
            matchers: self.aux.iter().map(|(m, _)| m).collect(),
        });
        if self.tracer.is_none() {
            let mut cache = self.sh.injected.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= INJECTED_CACHE {
                cache.remove(0);
            }
            cache.push(hits.clone());
            self.injected_last = Some((self.vars_gen, hits.clone()));
        }
        Ok(hits)
    }

    fn commit(
        &mut self,
        py: Python<'_>,
        action: Action,
        spoken: &PyObject,
        text: &Text<'_>,
        orig: &Bound<'_, PyString>,
    ) -> PyResult<()> {
        stage(Stage::Commit)?;
        let suppressed = action.suppresses();
        self.st.agent_turns = self.outcome.turn;
        self.st.seq += 1;
        if let Some(t) = self.outcome.t {
            self.st.last_t = Some(t);
        }
        if suppressed {
            self.st.blocked_turns += 1;
        } else if action == Action::Modify {
            self.st.modified_turns += 1;
        }
        self.advance_state(py, suppressed)?;
        if !self.outcome.injected.is_empty() && !self.st.obligations.is_empty() {
            self.meet_with_injected(py)?;
        }
        let seq = self.st.seq;
        let t = self.outcome.t;
        let violations = std::mem::take(&mut self.outcome.violations);
        let recorded = violations
            .iter()
            .try_for_each(|v| self.record(v, Some(seq), t).map(|_| ()));
        self.outcome.violations = violations;
        recorded?;
        let stored: Py<PyString> = if !suppressed && !self.outcome.pii_spans.is_empty() {
            self.stored_agent_text(py, spoken, text, orig)?
        } else {
            match spoken.bind(py).downcast::<PyString>() {
                Ok(s) => s.clone().unbind(),
                Err(_) => PyString::new(py, "").unbind(),
            }
        };
        self.event(py, Role::Agent, stored.clone_ref(py), t)?;
        self.last_stored = Some(stored);
        Ok(())
    }

    #[inline(never)] // out of the turn body: only a turn with PII gets here
    fn stored_agent_text(
        &mut self,
        py: Python<'_>,
        spoken: &PyObject,
        text: &Text<'_>,
        orig: &Bound<'_, PyString>,
    ) -> PyResult<Py<PyString>> {
        stage(Stage::StoredAgentText)?;
        let spoken = spoken.bind(py);
        if spoken.is(orig) || spoken.eq(orig)? {
            let spans = self.outcome.pii_spans.clone();
            return self.redact_for_storage(py, text, orig, &spans);
        }
        // the spoken text was rewritten: look again, so nothing unmasked reaches storage
        let spoken = match spoken.downcast::<PyString>() {
            Ok(s) => s.clone(),
            Err(_) => PyString::new(py, ""),
        };
        let (s, lossy) = py_text(&spoken)?;
        if crate::text::detectors::none_possible_in(&s) {
            // most rewrites (a phone number masked): no detector can hit them, so no view is built; the stages the
            // look stands for are still reached, so an injected fault fails the turn as it would
            stage(Stage::Normalize)?;
            stage(Stage::Scan)?;
            return Ok(spoken.clone().unbind());
        }
        let stext = Text::new(&s, if lossy { Some(spoken.clone()) } else { None });
        let view = self.respoken(text.s, &s)?;
        stage(Stage::Scan)?;
        let sh = self.sh.clone();
        sh.program.matchers.scan_detectors(&view, &self.vars, &mut self.aux)?;
        let spans = self.aux.detector_spans();
        if spans.is_empty() {
            return Ok(spoken.clone().unbind());
        }
        self.redact_for_storage(py, &stext, &spoken, &spans)
    }

    /// The turn body; `Err` fails open in the caller.
    fn agent_body<'py>(
        &mut self,
        py: Python<'py>,
        orig: &Bound<'py, PyString>,
        t: Option<T>,
        started: u64,
        decided: &mut Option<Action>,
        prepared: bool,
    ) -> R<Bound<'py, Decision>> {
        let timeout = self.sh.timeout_ns;
        let deadline = started.saturating_add(timeout);
        let (s, lossy) = py_text(orig)?;
        if past(deadline) {
            return Err(Fail::Over(None));
        }
        stage(Stage::Evaluate)?;
        if prepared {
            // `self.matches` holds the turn's matches already (a streamed turn's carried scan): the stages it
            // stands for are still reached, so an injected fault fails the turn as it fails a whole one
            stage(Stage::Normalize)?;
            stage(Stage::Scan)?;
        } else {
            // the call's own view, normalized into in place: no buffers to fetch, move or give back per turn
            let mut view = self.turn_view.take().unwrap_or_else(|| {
                Box::new(View {
                    nt: super::native::pooled(),
                })
            });
            stage(Stage::Normalize)?;
            crate::text::normalize_into(&s, &mut view.nt);
            let scanned = self.scan_into(&view, Keys::Agent, false);
            self.turn_view = Some(view);
            scanned?;
        }
        if past(deadline) {
            return Err(self.over_after_scan());
        }
        let text = Text::new(&s, if lossy { Some(orig.clone()) } else { None });
        // the view borrows other fields than these: nothing is moved out and back (the outcome is large)
        view!(self, py).evaluate(
            &mut self.st,
            &self.matches,
            &s,
            t,
            true,
            &mut self.outcome,
            self.tracer.as_mut(),
        );
        let (action, spoken) = self.decide(py, &text, orig)?;
        *decided = Some(action);
        if past(deadline) {
            let elapsed = now_ns().saturating_sub(started);
            self.st.timeouts += 1;
            return Ok(self.unavailable(py, orig, t, elapsed, true, None)?);
        }
        let findings = self.turn_findings();
        self.commit(py, action, &spoken, &text, orig)?;
        let preempt = self.take_preempt(py)?.unbind();
        let latency = now_ns().saturating_sub(started);
        self.latencies.push(latency);
        Ok(self.decision(py, action, spoken, findings, latency, preempt)?)
    }

    /// Out of time after the scan: the detector spans found so far go with the deferred turn.
    #[cold] // out of time
    fn over_after_scan(&self) -> Fail {
        Fail::Over(Some(self.matches.detector_spans()))
    }

    /// Check one agent turn before it is spoken (see the module docstring for the failure contract).
    pub fn agent_turn_checked<'py>(
        &mut self,
        py: Python<'py>,
        orig: &Bound<'py, PyString>,
        t: Option<T>,
    ) -> PyResult<Bound<'py, Decision>> {
        self.agent_turn_with(py, orig, t, None)
    }

    /// [`CallCore::agent_turn_checked`]; with `prepared`, the matches and the view of `orig` computed already
    /// (they are taken: the call keeps them as its last turn's), so the turn is not normalized and scanned again.
    pub fn agent_turn_with<'py>(
        &mut self,
        py: Python<'py>,
        orig: &Bound<'py, PyString>,
        t: Option<T>,
        prepared: Option<(&mut Matches, &mut View)>,
    ) -> PyResult<Bound<'py, Decision>> {
        self.last_stored = None;
        if self.late.is_some() {
            self.settle(py);
        }
        let started = now_ns();
        let seq0 = self.st.seq;
        let mut decided = None;
        let reuse = prepared.is_some();
        let mut lent = None;
        if let Some((m, view)) = prepared {
            std::mem::swap(&mut self.matches, m);
            // the turn's view stands for the call's while the turn is checked, as a whole turn's would: a rewrite
            // of the turn for storage is spliced from it (`respoken`) instead of normalized again. It goes back
            // after (its buffers return to the pool with the stream's, sized for streams)
            let own = self.turn_view.get_or_insert_with(|| {
                Box::new(View {
                    nt: super::native::pooled(),
                })
            });
            std::mem::swap(&mut **own, view);
            lent = Some(view);
        }
        let got = catch_unwind(AssertUnwindSafe(|| {
            self.agent_body(py, orig, t, started, &mut decided, reuse)
        }));
        if let (Some(view), Some(own)) = (lent, self.turn_view.as_deref_mut()) {
            std::mem::swap(own, view);
        }
        match got {
            Ok(Ok(d)) => Ok(d),
            Ok(Err(Fail::Over(spans))) => {
                self.st.timeouts += 1;
                let elapsed = now_ns().saturating_sub(started);
                self.defer(py, orig, t, elapsed, spans)
            }
            Ok(Err(Fail::Err)) | Err(_) => {
                self.st.errors += 1;
                self.undo_partial_turn(seq0, decided);
                let elapsed = now_ns().saturating_sub(started);
                self.unavailable(py, orig, t, elapsed, false, None)
            }
        }
    }

    /// Out of time before the rules ran: let the turn go (fail open or closed) and judge it later.
    #[cold] // out of time
    fn defer<'py>(
        &mut self,
        py: Python<'py>,
        orig: &Bound<'py, PyString>,
        t: Option<T>,
        elapsed: u64,
        spans: Option<Vec<Span>>,
    ) -> PyResult<Bound<'py, Decision>> {
        self.late = Some(Late {
            text: orig.clone().unbind(),
            t,
            spans,
        });
        self.let_go(py, orig, elapsed)
    }

    /// Evaluate the turn that ran out of time and record it, late.
    #[cold] // only after a turn that ran out of time: its normalize, scan and evaluate stay out of the turn body
    pub fn settle(&mut self, py: Python<'_>) {
        let Some(late) = self.late.take() else { return };
        let orig = late.text.bind(py).clone();
        let ok = (|| -> PyResult<()> {
            let (s, _) = py_text(&orig)?;
            stage(Stage::Evaluate)?;
            let view = self.normalize(&s)?;
            self.scan_into(&view, Keys::Agent, false)?;
            let mut outcome = std::mem::take(&mut self.outcome);
            let matches = std::mem::take(&mut self.matches);
            view!(self, py).evaluate(&mut self.st, &matches, &s, late.t, true, &mut outcome, None);
            self.matches = matches;
            self.outcome = outcome;
            Ok(())
        })();
        let commit = match ok {
            Ok(()) => true,
            Err(_) => {
                self.st.errors += 1;
                false
            }
        };
        self.record_unavailable(py, &orig, late.t, commit, late.spans);
    }

    /// An error inside the commit left the turn half-recorded: drop what it stored and keep its findings as late.
    #[cold] // an error path
    fn undo_partial_turn(&mut self, seq0: u32, decided: Option<Action>) {
        if self.st.seq == seq0 {
            return;
        }
        self.st.seq = seq0;
        self.st.agent_turns = self.st.agent_turns.saturating_sub(1);
        match decided {
            Some(a) if a.suppresses() => self.st.blocked_turns = self.st.blocked_turns.saturating_sub(1),
            Some(Action::Modify) => self.st.modified_turns = self.st.modified_turns.saturating_sub(1),
            _ => {}
        }
        while self.timeline.last().is_some_and(|e| e.seq > seq0) {
            self.timeline.pop();
        }
        self.redactions.retain(|r| r.turn <= seq0);
        for k in 0..self.findings.len() {
            if self.findings[k].turn.is_some_and(|t| t > seq0) {
                self.mark_late(k);
            }
        }
    }

    /// Fail open (or closed): the turn goes out as it was (or as the fallback line). `commit`: the evaluated
    /// outcome in `self.outcome` is recorded (late).
    #[cold] // an error or timeout path
    fn unavailable<'py>(
        &mut self,
        py: Python<'py>,
        orig: &Bound<'py, PyString>,
        t: Option<T>,
        elapsed: u64,
        commit: bool,
        spans: Option<Vec<Span>>,
    ) -> PyResult<Bound<'py, Decision>> {
        self.record_unavailable(py, orig, t, commit, spans);
        self.let_go(py, orig, elapsed)
    }

    /// The decision on a turn the gate did not act on (out of time, or an error): the turn as it was when the gate
    /// fails open, else the fallback line; counted as a fail-open event with its latency.
    fn let_go<'py>(
        &mut self,
        py: Python<'py>,
        orig: &Bound<'py, PyString>,
        elapsed: u64,
    ) -> PyResult<Bound<'py, Decision>> {
        self.st.fail_open_events += 1;
        self.latencies.push(elapsed);
        let empty = self.sh.strs.empty_tuple.clone_ref(py);
        if self.sh.fail_open {
            self.decision(py, Action::Pass, orig.clone().into_any().unbind(), None, elapsed, empty)
        } else {
            self.decision(py, Action::Block, self.fallback(py), None, elapsed, empty)
        }
    }

    /// Record a turn the gate did not act on: the text redacted by the detectors alone (or withheld); failing
    /// closed, the fallback line. Findings the evaluation computed are kept, marked late.
    fn record_unavailable(
        &mut self,
        py: Python<'_>,
        orig: &Bound<'_, PyString>,
        t: Option<T>,
        commit: bool,
        spans: Option<Vec<Span>>,
    ) {
        let fail_open = self.sh.fail_open;
        let got = (|| -> PyResult<()> {
            self.st.agent_turns += 1;
            self.st.seq += 1;
            if t.is_some() {
                self.st.last_t = t;
            }
            let mut spans = spans;
            if commit {
                self.advance_state(py, !fail_open)?;
                let violations = std::mem::take(&mut self.outcome.violations);
                let seq = self.st.seq;
                let mut result = Ok(());
                for v in &violations {
                    match self.record(v, Some(seq), t) {
                        Ok(true) => {
                            let k = self.findings.len() - 1;
                            self.mark_late(k);
                        }
                        Ok(false) => {}
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
                self.outcome.violations = violations;
                result?;
                spans = Some(self.outcome.pii_spans.clone());
            }
            let stored = if fail_open {
                self.redact_detectors(py, orig, spans, true)
            } else {
                match &self.sh.fallback_line {
                    Some(s) => s.clone_ref(py),
                    None => PyString::new(py, "").unbind(),
                }
            };
            self.event(py, Role::Agent, stored, t)
        })();
        if got.is_err() && self.timeline.last().is_none_or(|e| e.seq != self.st.seq) {
            let withheld = self.sh.strs.withheld.clone_ref(py);
            self.push_entry(Role::Agent, withheld, t);
        }
    }

    // ------------------------------------------------------------------------------------- caller turns

    fn caller_body(&mut self, py: Python<'_>, orig: &Bound<'_, PyString>, t: Option<T>) -> PyResult<()> {
        self.st.seq += 1;
        if t.is_some() {
            self.st.last_t = t;
        }
        let (s, lossy) = py_text(orig)?;
        let view = self.normalize(&s)?;
        self.scan_into(&view, Keys::All, false)?;
        let program = self.sh.program.clone();
        let matches = std::mem::take(&mut self.matches);
        let result = (|| -> PyResult<()> {
            if !matches.is_empty() {
                for &ci in &program.caller_cues {
                    let Check::Cue {
                        rule,
                        matcher,
                        and_not,
                        after,
                        ..
                    } = &program.checks[ci as usize]
                    else {
                        continue;
                    };
                    if !matches.contains(*matcher) || and_not.is_some_and(|a| matches.contains(a)) {
                        continue;
                    }
                    if after.is_some() && !self.st.after_open.iter().any(|(c, _)| *c == ci) {
                        // the agent's previous turn did not ask what this cue answers
                        if let Some(tr) = self.tracer.as_mut() {
                            tr.push(Event::DidNotFire {
                                rule: *rule,
                                check: ci,
                                reason: Reason::StateNotSet,
                            });
                        }
                        continue;
                    }
                    let view = view!(self, py);
                    if view.applies(&mut self.st, *rule, true) {
                        let start = self.st.agent_turns + 1;
                        view.open_cue(
                            &mut self.st,
                            ci,
                            start,
                            t.map_or(0.0, |t| t.f),
                            None,
                            self.tracer.as_mut(),
                        );
                    } else if let Some(tr) = self.tracer.as_mut() {
                        tr.push(Event::DidNotFire {
                            rule: *rule,
                            check: ci,
                            reason: Reason::NotApplicable,
                        });
                    }
                }
                for (mid, steps) in &program.state_steps_by_matcher {
                    if !matches.contains(*mid) {
                        continue;
                    }
                    for &(si, _) in steps {
                        let state = &program.states[si as usize];
                        if state.steps.len() == 1
                            && state.steps[0].speaker == Speaker::Caller
                            && step_hit(&matches, &state.steps[0]).is_some()
                        {
                            self.set_state(state.name, StateSetter::Caller);
                        }
                    }
                }
            }
            if !self.st.pending.is_empty() {
                self.answer(&program, &matches);
            }
            for e in &mut self.st.after_open {
                e.1 += 1;
            }
            let spans = matches.detector_spans();
            let stored = if spans.is_empty() {
                orig.clone().unbind()
            } else {
                let text = Text::new(&s, if lossy { Some(orig.clone()) } else { None });
                self.redact_for_storage(py, &text, orig, &spans)?
            };
            self.event(py, Role::Caller, stored.clone_ref(py), t)?;
            self.last_stored = Some(stored);
            Ok(())
        })();
        self.matches = matches;
        result
    }

    /// A caller turn in open exchanges: it answers (the state is set), declines (`and not`: the exchange ends
    /// unanswered), or neither (the exchange stays open until the agent speaks).
    fn answer(&mut self, program: &Program, matches: &Matches) {
        let pending = std::mem::take(&mut self.st.pending);
        let mut still = Vec::with_capacity(pending.len());
        for (si, n) in pending {
            let state = &program.states[si as usize];
            let answer = &state.steps[1];
            if answer.and_not.is_some_and(|a| matches.contains(a)) {
                continue;
            }
            if step_hit(matches, answer).is_some() {
                self.set_state(state.name, StateSetter::Answer);
                continue;
            }
            still.push((si, n + 1));
        }
        self.st.pending = still;
    }

    pub fn caller_turn_checked(&mut self, py: Python<'_>, orig: &Bound<'_, PyString>, t: Option<T>) {
        self.last_stored = None;
        if self.late.is_some() {
            self.settle(py);
        }
        let got = catch_unwind(AssertUnwindSafe(|| self.caller_body(py, orig, t)));
        if !matches!(got, Ok(Ok(()))) {
            self.st.errors += 1;
            self.st.fail_open_events += 1;
            if self.timeline.last().is_some_and(|e| e.seq == self.st.seq) {
                return; // stored already; what failed came after
            }
            let seq = self.st.seq;
            self.redactions.retain(|r| r.turn != seq);
            let stored = self.redact_detectors(py, orig, None, true);
            self.last_stored = None; // observers hear of turns the gate handled, as before
            self.push_entry(Role::Caller, stored, t);
        }
    }

    pub fn other_turn_checked(
        &mut self,
        py: Python<'_>,
        role: &Bound<'_, PyString>,
        orig: &Bound<'_, PyString>,
        t: Option<T>,
    ) {
        if self.late.is_some() {
            self.settle(py);
        }
        self.st.seq += 1;
        if t.is_some() {
            self.st.last_t = t;
        }
        let stored = self.redact_detectors(py, orig, None, true);
        self.push_entry(Role::Other(role.clone().unbind()), stored, t);
    }

    // ------------------------------------------------------------------------------------- end

    /// Close the windows still open at the end of the call.
    pub fn close_windows(&mut self, py: Python<'_>) -> PyResult<()> {
        let program = self.sh.program.clone();
        let obligations = std::mem::take(&mut self.st.obligations);
        let last_t = self.st.last_t;
        for ob in &obligations {
            let Check::MustSay {
                rule, matcher, in_cue, ..
            } = &program.checks[ob.check as usize]
            else {
                continue;
            };
            let rule = *rule;
            if let Some(why) = &self.unmatchable[*matcher as usize] {
                self.st.set_unknown(rule, Unknown::Text(why.clone()));
                continue;
            }
            if self.st.agent_turns == 0 || (*in_cue && ob.turns_seen == 0) {
                continue; // the window never saw an agent turn: nothing to judge
            }
            let view = view!(self, py);
            if view.applies(&mut self.st, rule, true) {
                self.record(&Violation::flag(rule, None, NO_KIND, None), None, last_t)?;
            } else if self.scope_off[rule as usize].is_some() {
                view.unjudged(&mut self.st, rule);
            }
        }
        if self.st.agent_turns == 0 {
            for (i, r) in program.rules.iter().enumerate() {
                if r.check_count > 0 && !self.st.rule_evaluated[i] {
                    self.st.set_unknown(i as RuleId, Unknown::Text("no agent turns".into()));
                }
            }
        }
        Ok(())
    }

    /// The missing metadata keys an expression's evaluation read (states read as unset), sorted.
    pub fn missing_inputs(&self, py: Python<'_>, e: &super::expr::Expr) -> Vec<String> {
        let ctx = Ctx {
            py,
            facts: &self.facts,
            states: &[],
            time: &self.time,
            missing: Some(std::cell::RefCell::new(Vec::new())),
            state_keys: &self.sh.state_keys,
        };
        ctx.eval(e);
        let names = &self.sh.program.field_names;
        let mut out: Vec<String> = ctx
            .missing
            .unwrap()
            .into_inner()
            .into_iter()
            .map(|f| names[f as usize].clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// A streamed turn in progress: evaluate it (not final: windows do not close on it) and plan the mode's
    /// rewrite.
    #[allow(clippy::too_many_arguments)]
    pub fn stream_evaluate(
        &mut self,
        py: Python<'_>,
        matches: &Matches,
        buf: &str,
        t: Option<T>,
        outcome: &mut Outcome,
        text: &Text<'_>,
        plan: &mut Plan,
    ) -> PyResult<()> {
        stage(Stage::Evaluate)?;
        view!(self, py).evaluate(&mut self.st, matches, buf, t, false, outcome, None);
        stage(Stage::Plan)?;
        let me: &CallCore = self;
        let mut digits = |seg: &str| spoken_digits(seg);
        view!(me, py).plan(outcome, text, plan, &mut digits);
        Ok(())
    }

    pub fn sticky(&self) -> std::sync::Arc<super::stream::Sticky> {
        self.sh.sticky.clone()
    }

    /// Take the call's rewind point for the stream with checkpoint id `owner`, about to commit its turn (a
    /// barge-in may put the call back as it was before that commit). A call keeps one, the latest: only the last
    /// committed turn can be rewound.
    pub fn checkpoint_for(&mut self, py: Python<'_>, owner: u64) {
        self.snapshot = Some(self.snapshot_now(py));
        self.checkpoint_owner = owner;
    }

    pub fn snapshot_now(&self, py: Python<'_>) -> Snapshot {
        Snapshot {
            state: self.st.clone(),
            late: self.late.as_ref().map(|l| Late {
                text: l.text.clone_ref(py),
                t: l.t,
                spans: l.spans.clone(),
            }),
            findings: self.findings.len(),
            redactions: self.redactions.len(),
            timeline: self.timeline.len(),
            latencies: self.latencies.len(),
        }
    }

    pub fn restore(&mut self, s: Snapshot) {
        self.st = s.state;
        self.late = s.late;
        self.findings.truncate(s.findings);
        self.redactions.truncate(s.redactions);
        self.timeline.truncate(s.timeline);
        self.latencies.truncate(s.latencies);
    }
}

/// Spoken digits of a segment (for masking a spoken number as "ending in NNNN").
fn spoken_digits(segment: &str) -> Option<String> {
    stage(Stage::Normalize).ok()?;
    let view = View::of(segment);
    let mut out = String::new();
    for i in 0..view.ntok() {
        let tok = view.tok(i);
        if !tok.is_empty() && tok.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(tok);
        }
    }
    Some(out)
}

/// Set a state (traced when it was not set before).
fn set_state(st: &mut TurnState, tracer: Option<&mut Tracer>, s: StateId, by: StateSetter) {
    if let Some(t) = tracer {
        if !st.states[s as usize] {
            t.push(Event::StateSet { state: s, by });
        }
    }
    st.set_state(s);
}

/// An agent turn was spoken: exchanges the caller already replied to are over; the questions this turn asks open
/// (or reopen) theirs.
fn agent_spoke(st: &mut TurnState, asked_states: &[u32], asked_cues: &[u32]) {
    st.pending.retain(|&(_, n)| n == 0);
    st.after_open.retain(|&(_, n)| n == 0);
    for &si in asked_states {
        match st.pending.iter_mut().find(|(s, _)| *s == si) {
            Some(e) => e.1 = 0,
            None => st.pending.push((si, 0)),
        }
    }
    for &ci in asked_cues {
        match st.after_open.iter_mut().find(|(c, _)| *c == ci) {
            Some(e) => e.1 = 0,
            None => st.after_open.push((ci, 0)),
        }
    }
}

// ------------------------------------------------------------------------------------------------- Python face

fn check_via_facade(
    slf: &Bound<'_, CallCore>,
    text: &Bound<'_, PyAny>,
    t: &Bound<'_, PyAny>,
    where_: &str,
) -> PyResult<()> {
    slf.call_method1("_check_turn", (text, t, where_))?;
    Ok(())
}

/// A turn method's boundary: the facade's checks (which raise) unless the arguments are the plain ones and the call
/// is open, then `run` on the call borrowed once, then the observers. One borrow of the call per turn: each borrow
/// is an atomic read-modify-write of its flag, and there were three.
fn at_boundary<'py, R>(
    slf: &Bound<'py, CallCore>,
    text: &Bound<'py, PyAny>,
    t: Option<&Bound<'py, PyAny>>,
    where_: &str,
    role: &str,
    run: impl FnOnce(&mut CallCore, &Bound<'py, PyString>, Option<T>) -> PyResult<R>,
) -> PyResult<R> {
    let py = slf.py();
    let none = py.None().into_bound(py);
    let t = t.unwrap_or(&none);
    let (text, tv) = match (text.downcast_exact::<PyString>(), plain_time(t)) {
        (Ok(text), Some(tv)) => (text, tv?),
        _ => {
            check_via_facade(slf, text, t, where_)?;
            (text.downcast::<PyString>()?, read_t(t)?)
        }
    };
    let mut me = slf.borrow_mut();
    if me.ended {
        // the facade raises (it reads the call: not while it is borrowed here)
        drop(me);
        check_via_facade(slf, text, t, where_)?;
        me = slf.borrow_mut();
    }
    let got = run(&mut me, text, tv)?;
    let observed = !me.observers.bind(py).is_empty();
    drop(me);
    if observed {
        notify(py, slf, role, t);
    }
    Ok(got)
}

pub(crate) fn notify(py: Python<'_>, slf: &Bound<'_, CallCore>, role: &str, t: &Bound<'_, PyAny>) {
    let (observers, stored) = {
        let me = slf.borrow();
        if me.observers.bind(py).is_empty() {
            return;
        }
        (
            me.observers.clone_ref(py),
            me.last_stored.as_ref().map(|s| s.clone_ref(py)),
        )
    };
    let Some(stored) = stored else { return };
    for obs in observers.bind(py).iter() {
        // an observer's failure is its own business and never reaches the turn loop
        let _ = obs.call_method1("on_turn", (slf, role, stored.bind(py), t));
    }
}

#[pymethods]
impl CallCore {
    #[new]
    #[pyo3(signature = (engine, observers, preempt, *_args, **_kwargs))]
    fn py_new(
        py: Python<'_>,
        engine: &Bound<'_, super::py::EngineCore>,
        observers: Bound<'_, PyAny>,
        preempt: Bound<'_, PyList>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let observers = PyTuple::new(py, observers.try_iter()?.collect::<PyResult<Vec<_>>>()?)?.unbind();
        Ok(CallCore::new_core(
            py,
            engine.get().shared.clone(),
            observers,
            preempt.unbind(),
        ))
    }

    /// Check one agent turn before it is spoken; returns the :class:`Decision`. Never raises on content.
    #[pyo3(signature = (text, t=None))]
    #[inline(never)] // a symbol of its own for benchmarks/*.py's callgrind toggles: PGO inlines PyO3's wrapper
    fn agent_turn<'py>(
        slf: &Bound<'py, Self>,
        text: &Bound<'py, PyAny>,
        t: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, Decision>> {
        let py = slf.py();
        at_boundary(slf, text, t, "agent_turn", "agent", |me, text, tv| {
            me.agent_turn_checked(py, text, tv)
        })
    }

    /// Feed a caller turn: it can open cues and set states; it is never blocked, and PII in it is redacted from
    /// what is stored.
    #[pyo3(signature = (text, t=None))]
    fn caller_turn(slf: &Bound<'_, Self>, text: &Bound<'_, PyAny>, t: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let py = slf.py();
        at_boundary(slf, text, t, "caller_turn", "caller", |me, text, tv| {
            me.caller_turn_checked(py, text, tv);
            Ok(())
        })
    }

    /// Keep a turn that is not speech (``system`` prompt, ``tool`` result) on the timeline. It is never scored;
    /// PII in it is redacted by the detectors.
    #[pyo3(signature = (role, text, t=None))]
    fn other_turn(
        slf: &Bound<'_, Self>,
        role: &Bound<'_, PyAny>,
        text: &Bound<'_, PyAny>,
        t: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let none = py.None().into_bound(py);
        let t = t.unwrap_or(&none);
        let Ok(role) = role.downcast::<PyString>() else {
            let kind = if role.is_none() {
                "None".to_string()
            } else {
                role.get_type().name()?.to_string()
            };
            return Err(PyTypeError::new_err(format!(
                "other_turn: role must be a str such as 'system' or 'tool', not {kind}"
            )));
        };
        let ok = text.is_exact_instance_of::<PyString>() && plain_t(t) && !slf.borrow().ended;
        if !ok {
            check_via_facade(slf, text, t, "other_turn")?;
        }
        let text = text.downcast::<PyString>()?;
        let tv = read_t(t)?;
        slf.borrow_mut().other_turn_checked(py, role, text, tv);
        Ok(())
    }

    /// Set what the call knows: facts (resolved), rule scopes, variables, exempt numbers, inject-text values.
    fn _set_context(
        &mut self,
        py: Python<'_>,
        facts: &Bound<'_, PyDict>,
        scope_off: &Bound<'_, PyList>,
        var_tokens: &Bound<'_, PyDict>,
        exempt: Vec<String>,
        fill: &Bound<'_, PyDict>,
    ) -> PyResult<()> {
        self.vars_gen += 1;
        let program = self.sh.program.clone();
        for (i, name) in program.field_names.iter().enumerate() {
            self.facts[i] = match facts.get_item(name)? {
                Some(v) if !v.is_none() => Some(super::py::to_value(&v)?),
                _ => None,
            };
        }
        for slot in self.scope_off.iter_mut() {
            *slot = None;
        }
        for item in scope_off.iter() {
            let (rule, missing, reason, from_pack): (usize, bool, String, bool) = item.extract()?;
            if rule >= self.scope_off.len() {
                return Err(PyValueError::new_err("scope_off: rule out of range"));
            }
            self.scope_off[rule] = Some(ScopeOff {
                missing,
                reason,
                from_pack,
            });
        }
        for (i, name) in program.matchers.variables.iter().enumerate() {
            self.vars.tokens[i] = match var_tokens.get_item(name)? {
                Some(v) if !v.is_none() => Some(v.extract::<Vec<String>>()?),
                _ => None,
            };
        }
        for (i, d) in program.matchers.detectors.iter().enumerate() {
            self.vars.exempt[i] = if d.exempt.as_deref() == Some("callback_numbers") {
                exempt.clone()
            } else {
                Vec::new()
            };
        }
        for (i, name) in program.fill_variables.iter().enumerate() {
            self.fill[i] = match fill.get_item(name)? {
                Some(v) if !v.is_none() => Some(v.extract::<String>()?),
                _ => None,
            };
        }
        // matchers that cannot match on this call: every leaf needs a variable it lacks
        for (mid, leaves) in program.matchers.matcher_vars.iter().enumerate() {
            self.unmatchable[mid] = leaves.as_ref().and_then(|leaves| {
                let missing: Vec<Vec<&str>> = leaves
                    .iter()
                    .map(|leaf| {
                        leaf.iter()
                            .filter(|&&v| self.vars.tokens[v as usize].as_ref().is_none_or(|t| t.is_empty()))
                            .map(|&v| program.matchers.variables[v as usize].as_str())
                            .collect()
                    })
                    .collect();
                if missing.iter().all(|m| !m.is_empty()) {
                    let mut names: Vec<&str> = missing.into_iter().flatten().collect();
                    names.sort_unstable();
                    names.dedup();
                    Some(format!("missing variable: {}", names.join(", ")))
                } else {
                    None
                }
            });
        }
        let _ = py;
        Ok(())
    }

    fn _start(&mut self, py: Python<'_>) -> PyResult<()> {
        self.start(py)
    }

    #[pyo3(signature = (t=None))]
    fn _check_requires(&mut self, py: Python<'_>, t: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let t = match t {
            Some(t) => read_t(t)?,
            None => None,
        };
        if !self.st.require_pending.is_empty() {
            self.check_requires(py, t)?;
        }
        Ok(())
    }

    fn _has_pending_requires(&self) -> bool {
        !self.st.require_pending.is_empty()
    }

    /// A fact update is a step of the call: it takes a sequence number and moves the clock.
    #[pyo3(signature = (t=None))]
    fn _begin_update(&mut self, t: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.st.seq += 1;
        if let Some(t) = t {
            if let Some(t) = read_t(t)? {
                self.st.last_t = Some(t);
            }
        }
        Ok(())
    }

    #[pyo3(signature = (text, t=None))]
    fn _facts_event(
        &mut self,
        py: Python<'_>,
        text: Bound<'_, PyString>,
        t: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let t = match t {
            Some(t) => read_t(t)?,
            None => None,
        };
        self.event(py, Role::Facts, text.unbind(), t)
    }

    /// Record a turn the gate could not act on (a stream that failed) and return the fail-open decision.
    #[pyo3(signature = (text, t=None))]
    fn _unavailable<'py>(
        &mut self,
        py: Python<'py>,
        text: &Bound<'py, PyString>,
        t: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, Decision>> {
        let t = match t {
            Some(t) => read_t(t)?,
            None => None,
        };
        self.unavailable(py, text, t, 0, false, None)
    }

    fn _settle(&mut self, py: Python<'_>) {
        self.settle(py);
    }

    #[getter]
    fn _late_pending(&self) -> bool {
        self.late.is_some()
    }

    #[pyo3(signature = (t=None))]
    fn _end(&mut self, py: Python<'_>, t: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        if let Some(t) = t {
            if let Some(t) = read_t(t)? {
                self.st.last_t = Some(t);
            }
        }
        self.ended = true;
        let closed = catch_unwind(AssertUnwindSafe(|| self.close_windows(py)));
        if !matches!(closed, Ok(Ok(()))) {
            self.st.errors += 1;
            self.st.fail_open_events += 1;
        }
        self.st.obligations.clear();
        Ok(())
    }

    /// ``text`` for storage with every hit of the pack set's detectors masked (``[kind]``), recorded as a
    /// redaction of the current turn unless ``record`` is false; the withheld marker if that cannot be done.
    #[pyo3(signature = (text, spans=None, *, record=true))]
    fn redact_by_detectors(
        &mut self,
        py: Python<'_>,
        text: &Bound<'_, PyString>,
        spans: Option<Vec<(u32, u32, String)>>,
        record: bool,
    ) -> Py<PyString> {
        let spans = spans.map(|v| {
            v.into_iter()
                .filter_map(|(s, e, k)| {
                    DetKind::parse(&k).map(|k| Span {
                        start: s,
                        end: e,
                        kind: k.code(),
                    })
                })
                .collect()
        });
        self.redact_detectors(py, text, spans, record)
    }

    /// ``text`` as the evidence stores it, nothing recorded: detector hits of a full scan masked (``[kind]``);
    /// ``[unavailable]`` if the scan fails.
    fn stored_form(&mut self, py: Python<'_>, text: &Bound<'_, PyString>) -> PyResult<Py<PyString>> {
        if text.to_str().map(str::is_empty).unwrap_or(false) {
            return Ok(text.clone().unbind());
        }
        let got = (|| -> PyResult<Py<PyString>> {
            let (s, lossy) = py_text(text)?;
            let view = View::of(&s);
            stage(Stage::Scan)?;
            let sh = self.sh.clone();
            sh.program
                .matchers
                .scan(Keys::All, &view, &self.vars, &mut self.aux, &mut self.scratch, None)?;
            let mut spans = self.aux.detector_spans();
            if spans.is_empty() {
                return Ok(text.clone().unbind());
            }
            spans.sort_unstable();
            spans.dedup();
            let t = Text::new(&s, if lossy { Some(text.clone()) } else { None });
            let edits: Vec<Edit> = spans
                .iter()
                .map(|sp| {
                    (
                        sp.start as usize,
                        sp.end as usize,
                        format!("[{}]", DetKind::from_code(sp.kind).map_or("pii", |k| k.name())),
                    )
                })
                .collect();
            let pieces = apply_edits(py, &t, &edits);
            self.py_text(py, &t, &pieces)
        })();
        Ok(got.unwrap_or_else(|_| PyString::new(py, "[unavailable]").unbind()))
    }

    /// Every match of one text on this call, by matcher id: ``{id: [(start, end, kind | None), ...]}``.
    fn scan<'py>(&mut self, py: Python<'py>, text: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyDict>> {
        let (s, _) = py_text(text)?;
        let view = View::of(&s);
        let sh = self.sh.clone();
        sh.program.matchers.scan(
            Keys::All,
            &view,
            &self.vars,
            &mut self.aux,
            &mut self.scratch,
            self.tracer.as_mut(),
        )?;
        let out = PyDict::new(py);
        for (mid, spans) in self.aux.iter() {
            let list = PyList::empty(py);
            for sp in spans {
                let kind = DetKind::from_code(sp.kind).map(|k| k.name());
                list.append((sp.start, sp.end, kind))?;
            }
            out.set_item(mid, list)?;
        }
        Ok(out)
    }

    // ------------------------------------------------------------------------------------- reads

    #[getter]
    fn agent_turns(&self) -> u32 {
        self.st.agent_turns
    }

    #[getter]
    fn seq(&self) -> u32 {
        self.st.seq
    }

    #[getter]
    fn last_t(&self, py: Python<'_>) -> PyObject {
        t_to_py(py, self.st.last_t)
    }

    #[getter]
    fn errors(&self) -> u32 {
        self.st.errors
    }

    #[setter]
    fn set_errors(&mut self, n: u32) {
        self.st.errors = n;
    }

    #[getter]
    fn timeouts(&self) -> u32 {
        self.st.timeouts
    }

    #[getter]
    fn fail_open_events(&self) -> u32 {
        self.st.fail_open_events
    }

    #[setter]
    fn set_fail_open_events(&mut self, n: u32) {
        self.st.fail_open_events = n;
    }

    #[getter]
    fn blocked_turns(&self) -> u32 {
        self.st.blocked_turns
    }

    #[getter]
    fn modified_turns(&self) -> u32 {
        self.st.modified_turns
    }

    #[setter]
    fn set_modified_turns(&mut self, n: u32) {
        self.st.modified_turns = n;
    }

    #[getter]
    fn latencies_ns(&self) -> Vec<u64> {
        self.latencies.clone()
    }

    fn _set_last_latency(&mut self, ns: u64) {
        if let Some(l) = self.latencies.last_mut() {
            *l = ns;
        }
    }

    /// The states set so far, in the order they were set: ``{"pack.state": True}``.
    #[getter]
    fn states<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for &s in &self.st.state_order {
            d.set_item(&self.sh.program.state_names[s as usize], true)?;
        }
        Ok(d)
    }

    /// Rule index -> ``(t, turn)`` of the turn that satisfied it, in the order they were satisfied.
    #[getter]
    fn rule_satisfied<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for &r in &self.st.satisfied_order {
            if let Some((t, turn)) = self.st.rule_satisfied[r as usize] {
                d.set_item(r, (t_to_py(py, t), turn))?;
            }
        }
        Ok(d)
    }

    /// Rule index -> ``(missing, reason, decided by the pack's scope)`` for the rules off on this call.
    #[getter]
    fn _scope_off(&self) -> Vec<(usize, bool, String, bool)> {
        self.scope_off
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.as_ref().map(|o| (i, o.missing, o.reason.clone(), o.from_pack)))
            .collect()
    }

    /// Rule indexes that fired.
    #[getter]
    fn rule_fired(&self) -> Vec<usize> {
        self.st
            .rule_fired
            .iter()
            .enumerate()
            .filter(|(_, &f)| f)
            .map(|(i, _)| i)
            .collect()
    }

    fn _mark_fired(&mut self, rule: usize) {
        if rule < self.st.rule_fired.len() {
            self.st.rule_fired[rule] = true;
        }
    }

    /// The findings so far, as scorecard dicts (``late`` only when true).
    #[getter]
    fn findings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.findings_from(py, 0)
    }

    fn findings_from<'py>(&self, py: Python<'py>, start: usize) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        let strs = &self.sh.strs;
        for f in self.findings.iter().skip(start) {
            let r = &strs.rules[f.rule as usize];
            let d = PyDict::new(py);
            d.set_item("rule_id", &r[0])?;
            d.set_item("pack_id", &r[1])?;
            d.set_item("severity", &r[2])?;
            d.set_item("action_taken", f.action.name())?;
            d.set_item("citation", &r[3])?;
            d.set_item("reason", &r[4])?;
            d.set_item("at_t", t_to_py(py, f.at_t))?;
            d.set_item("turn", f.turn)?;
            d.set_item("span", f.span.map(|(s, e)| vec![s, e]))?;
            d.set_item("remediated", f.remediated)?;
            if f.late {
                d.set_item("late", true)?;
            }
            out.append(d)?;
        }
        Ok(out)
    }

    /// Append a finding (a barge-in keeps a remediation made inside the spoken part).
    #[pyo3(signature = (rule, action, at_t, turn, span, remediated, late))]
    #[allow(clippy::too_many_arguments)]
    fn _append_finding(
        &mut self,
        rule: usize,
        action: &str,
        at_t: Option<&Bound<'_, PyAny>>,
        turn: Option<u32>,
        span: Option<(u32, u32)>,
        remediated: bool,
        late: bool,
    ) -> PyResult<()> {
        if rule >= self.sh.program.rules.len() {
            return Err(PyValueError::new_err("rule out of range"));
        }
        let at_t = match at_t {
            Some(t) => read_t(t)?,
            None => None,
        };
        let action = Act::parse(action).ok_or_else(|| PyValueError::new_err("unknown action"))?;
        self.findings.push(Finding {
            rule: rule as RuleId,
            action,
            at_t,
            turn,
            span,
            remediated,
            late,
        });
        self.st.rule_fired[rule] = true;
        Ok(())
    }

    #[getter]
    fn redactions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        for r in &self.redactions {
            let d = PyDict::new(py);
            d.set_item("kind", r.kind.name())?;
            d.set_item("turn", r.turn)?;
            d.set_item("span", vec![r.span.0, r.span.1])?;
            d.set_item("rule_id", py.None())?;
            out.append(d)?;
        }
        Ok(out)
    }

    /// The timeline as tuples ``(seq, seconds, role, stored text)`` (a barged-in agent turn carries its barge
    /// object as a fifth element).
    #[getter]
    fn timeline<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        let strs = &self.sh.strs;
        for e in &self.timeline {
            let role = match &e.role {
                Role::Agent => strs.agent.bind(py).clone(),
                Role::Caller => strs.caller.bind(py).clone(),
                Role::Facts => strs.facts.bind(py).clone(),
                Role::Other(r) => r.bind(py).clone(),
            };
            let t = PyFloat::new(py, e.t);
            match &e.barge {
                None => out.append((e.seq, t, role, e.text.bind(py)))?,
                Some(b) => out.append((e.seq, t, role, e.text.bind(py), b.bind(py)))?,
            }
        }
        Ok(out)
    }

    /// Replace the text (and barge object) of the agent entry ``seq`` (a barge-in amends a turn it cannot rewind).
    fn _amend_timeline(&mut self, seq: u32, text: Bound<'_, PyString>, barge: Bound<'_, PyAny>) -> bool {
        for e in self.timeline.iter_mut().rev() {
            if e.seq == seq && matches!(e.role, Role::Agent) {
                e.text = text.unbind();
                e.barge = Some(barge.unbind());
                return true;
            }
        }
        false
    }

    fn _set_last_barge(&mut self, barge: Bound<'_, PyAny>) {
        if let Some(e) = self.timeline.last_mut() {
            e.barge = Some(barge.unbind());
        }
    }

    #[getter]
    fn _last_timeline_seq(&self) -> Option<u32> {
        self.timeline.last().map(|e| e.seq)
    }

    #[getter]
    fn _finding_count(&self) -> usize {
        self.findings.len()
    }

    /// Whether the call's rewind point was taken for the stream with checkpoint id ``owner`` (forgotten here: usable
    /// once); see ``trace_engine.gate.bargein.recall``.
    fn _recall_checkpoint(&mut self, owner: u64) -> bool {
        let kept = owner != 0 && self.checkpoint_owner == owner;
        if kept {
            self.checkpoint_owner = 0;
        }
        kept
    }

    fn _drop_snapshot(&mut self) {
        self.snapshot = None;
    }

    /// Rewind to the snapshot (usable once); ``False`` when there is none.
    fn _rewind(&mut self) -> bool {
        match self.snapshot.take() {
            Some(s) => {
                self.restore(s);
                true
            }
            None => false,
        }
    }

    #[getter]
    fn _snapshot_findings(&self) -> Option<usize> {
        self.snapshot.as_ref().map(|s| s.findings)
    }

    /// Per rule, what the scorecard says of it: ``(index, status, detail)`` where status is ``fired``,
    /// ``satisfied`` (detail ``(t, turn)``), ``scope`` (detail ``(missing, reason, from_pack)``), ``unknown``
    /// (detail: a reason, or the missing keys of the expression that came out UNKNOWN), ``tier2``,
    /// ``always`` (satisfied at call end), ``when_unknown`` (detail: missing keys), ``when_false`` or ``none``.
    fn _rule_statuses<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        let program = &self.sh.program;
        for (i, rule) in program.rules.iter().enumerate() {
            let item: Bound<'py, PyAny> = if self.st.rule_fired[i] {
                (i, "fired", py.None()).into_pyobject(py)?.into_any()
            } else if let Some((t, turn)) = self.st.rule_satisfied[i] {
                (i, "satisfied", (t_to_py(py, t), turn)).into_pyobject(py)?.into_any()
            } else if let Some(off) = &self.scope_off[i] {
                (i, "scope", (off.missing, off.reason.as_str(), off.from_pack))
                    .into_pyobject(py)?
                    .into_any()
            } else if let Some(why) = &self.st.rule_unknown[i] {
                match why {
                    Unknown::Text(s) => (i, "unknown", s.as_str()).into_pyobject(py)?.into_any(),
                    Unknown::When => {
                        let keys = rule
                            .when
                            .as_ref()
                            .map(|e| self.missing_inputs(py, e))
                            .unwrap_or_default();
                        (i, "unknown_keys", keys).into_pyobject(py)?.into_any()
                    }
                    Unknown::Require(ci) => {
                        let keys = match &program.checks[*ci as usize] {
                            Check::Require { expr, .. } => self.missing_inputs(py, expr),
                            _ => Vec::new(),
                        };
                        (i, "unknown_keys", keys).into_pyobject(py)?.into_any()
                    }
                }
            } else if !rule.tier2.is_empty() && rule.check_count == 0 {
                (i, "tier2", rule.tier2.join(", ")).into_pyobject(py)?.into_any()
            } else if self.st.agent_turns > 0 {
                match &rule.when {
                    None => (i, "always", t_to_py(py, self.st.last_t)).into_pyobject(py)?.into_any(),
                    Some(e) => match view!(self, py).eval_truth(&self.st, e) {
                        None => (i, "when_unknown", self.missing_inputs(py, e))
                            .into_pyobject(py)?
                            .into_any(),
                        Some(true) => (i, "always", t_to_py(py, self.st.last_t)).into_pyobject(py)?.into_any(),
                        Some(false) => (i, "when_false", rule.when_text.clone().unwrap_or_default())
                            .into_pyobject(py)?
                            .into_any(),
                    },
                }
            } else {
                (i, "none", py.None()).into_pyobject(py)?.into_any()
            };
            out.append(item)?;
        }
        Ok(out)
    }

    /// Trace this call's evaluation (``trace explain``): events are collected until ``_take_trace``.
    fn _trace(&mut self, on: bool) {
        self.tracer = if on { Some(Tracer::default()) } else { None };
    }

    fn _take_trace<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty(py);
        if let Some(t) = &mut self.tracer {
            for e in t.events.drain(..) {
                out.append(e.to_py(py, &self.sh.program)?)?;
            }
        }
        Ok(out)
    }

    #[getter]
    fn _hold_back_tokens(&self) -> usize {
        self.sh.program.hold_back_tokens
    }

    #[getter]
    fn _fail_open(&self) -> bool {
        self.sh.fail_open
    }
}
