//! Turn evaluation: the rule/window/state machine over one turn's matches, and the mode planner.
//!
//! An agent turn is handled in three steps so that streaming reuses the first two: [`Evaluator::evaluate`] works
//! out, against the current state, which rules fire, which obligations are met or close, which states and cues the
//! turn sets; [`Evaluator::plan`] applies the mode (mask, redact, inject, suppress); the commit (in `call.rs`)
//! records findings and advances the state. Evaluation changes nothing but the "not evaluated" reasons a final
//! evaluation discovers (a condition that came out UNKNOWN, a window that could not be judged).

use pyo3::prelude::*;

use super::edits::{apply_edits, is_blank, mask_digits, rstrip, Edit, Piece, Text};
use super::expr::{truth, Ctx, TimeParser, Value};
use super::program::{
    Check, CheckId, MatcherId, Program, RemedyKind, RuleId, ScopeKind, StateId, Step, TextPart, Window,
};
use super::scan::{Matches, Span, NO_KIND};
use super::state::{Act, Obligation, Prohibition, TurnState, Unknown, T};
use super::trace::{Event, Reason, Tracer};

pub const INF: f64 = f64::INFINITY;
/// Speaking rate used to estimate when a turn ends and the usual gap before the agent's next turn: together
/// they decide whether a seconds deadline "falls on" the current turn.
pub const WORDS_PER_SECOND: f64 = 2.5;
pub const NEXT_TURN_GAP_S: f64 = 3.0;

/// A rule that fires on this turn, before the mode decides what happens to it.
#[derive(Debug, Clone)]
pub struct Violation {
    pub rule: RuleId,
    pub span: Option<(u32, u32)>,
    pub kind: u8,
    /// the obligation it misses: whether that obligation injects before the turn (`Some(prefix)`)
    pub obligation: Option<bool>,
    pub effective: u8,
    pub action: Act,
    pub remediated: bool,
}

impl Violation {
    pub fn flag(rule: RuleId, span: Option<(u32, u32)>, kind: u8, obligation: Option<bool>) -> Violation {
        Violation {
            rule,
            span,
            kind,
            obligation,
            effective: 0,
            action: Act::Flag,
            remediated: false,
        }
    }
}

/// Everything one agent turn would do.
#[derive(Debug, Default)]
pub struct Outcome {
    pub turn: u32,
    pub t: Option<T>,
    pub violations: Vec<Violation>,
    pub met: Vec<u64>,
    pub closed: Vec<u64>,
    pub opened: Vec<Obligation>,
    pub opened_prohibitions: Vec<Prohibition>,
    pub states_set: Vec<StateId>,
    pub pending_set: Vec<u32>,
    pub asked_cues: Vec<CheckId>,
    pub pii_spans: Vec<Span>,
    pub unresolved_prefix: bool,
    pub injected: Vec<String>,
    seen: Vec<(RuleId, u32, u32)>,
}

impl Outcome {
    /// An outcome with room for a typical turn's findings and obligation changes: a call's first turns do not grow
    /// its vectors (a growth is an allocation and the allocator's code, cold on a turn).
    pub fn with_room() -> Outcome {
        const ROOM: usize = 4;
        Outcome {
            violations: Vec::with_capacity(ROOM),
            met: Vec::with_capacity(ROOM),
            closed: Vec::with_capacity(ROOM),
            pii_spans: Vec::with_capacity(ROOM),
            seen: Vec::with_capacity(ROOM),
            ..Outcome::default()
        }
    }

    pub fn reset(&mut self, turn: u32, t: Option<T>) {
        self.turn = turn;
        self.t = t;
        self.violations.clear();
        self.met.clear();
        self.closed.clear();
        self.opened.clear();
        self.opened_prohibitions.clear();
        self.states_set.clear();
        self.pending_set.clear();
        self.asked_cues.clear();
        self.pii_spans.clear();
        self.unresolved_prefix = false;
        self.injected.clear();
        self.seen.clear();
    }
}

/// The rewrite a mode makes of one turn.
#[derive(Debug, Default)]
pub struct Plan {
    pub edits: Vec<Edit>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// 0 no, 2 block, 3 handoff
    pub suppress: u8,
}

impl Plan {
    pub fn clear(&mut self) {
        self.edits.clear();
        self.prefixes.clear();
        self.suffixes.clear();
        self.suppress = 0;
    }

    /// The spoken text.
    pub fn render(&self, py: Python<'_>, text: &Text<'_>) -> Vec<Piece> {
        let mut body = apply_edits(py, text, &self.edits);
        if !self.prefixes.is_empty() {
            let blank = is_blank(text, &body);
            let joined = joined_with(&self.prefixes, "", if blank { "" } else { " " });
            if blank {
                body.clear();
                body.push(Piece::Lit(joined));
            } else {
                body.insert(0, Piece::Lit(joined));
            }
        }
        if !self.suffixes.is_empty() {
            if is_blank(text, &body) {
                body.clear();
                body.push(Piece::Lit(joined_with(&self.suffixes, "", "")));
            } else {
                rstrip(text, &mut body);
                body.push(Piece::Lit(joined_with(&self.suffixes, " ", "")));
            }
        }
        body
    }
}

/// `before`, the lines joined by single spaces, then `after`, in one allocation.
fn joined_with(lines: &[String], before: &str, after: &str) -> String {
    let len = before.len() + after.len() + lines.iter().map(|l| l.len() + 1).sum::<usize>();
    let mut out = String::with_capacity(len);
    out.push_str(before);
    for (k, line) in lines.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(line);
    }
    out.push_str(after);
    out
}

/// A rule's scope on this call: out of scope (`missing: false`) or a fact it needs is missing.
#[derive(Debug, Clone)]
pub struct ScopeOff {
    pub missing: bool,
    pub reason: String,
    pub from_pack: bool,
}

/// Answers "does any span overlap [start, end)?" in O(log n): spans sorted by start, with the running maximum of
/// their ends (a span that starts before `end` overlaps iff the furthest end among them passes `start`).
pub struct SpanIndex<'a> {
    spans: &'a [Span],
    max_ends: Vec<u32>,
}

impl<'a> SpanIndex<'a> {
    pub fn new(spans: &'a [Span]) -> SpanIndex<'a> {
        let mut furthest = 0u32;
        let max_ends = spans
            .iter()
            .map(|s| {
                furthest = furthest.max(s.end);
                furthest
            })
            .collect();
        SpanIndex { spans, max_ends }
    }

    pub fn overlaps(&self, start: u32, end: u32) -> bool {
        let before = self.spans.partition_point(|s| s.start < end);
        before > 0 && self.max_ends[before - 1] > start
    }
}

/// One-off overlap test (builds the index).
pub fn overlaps(spans: &[Span], start: u32, end: u32) -> bool {
    SpanIndex::new(spans).overlaps(start, end)
}

/// Where a state step's (or an `after`'s) hit in this turn ends (the earliest), or `None` when the turn does not
/// count for it: no hit, every hit overlapped by its `unless`, or its `and not` anywhere in the turn.
pub fn step_hit(matches: &Matches, step: &Step) -> Option<u32> {
    let spans = matches.get(step.matcher)?;
    if spans.is_empty() {
        return None;
    }
    if let Some(a) = step.and_not {
        if matches.contains(a) {
            return None;
        }
    }
    match step.unless.and_then(|u| matches.get(u)).filter(|x| !x.is_empty()) {
        Some(exceptions) => {
            let index = SpanIndex::new(exceptions);
            spans
                .iter()
                .filter(|s| !index.overlaps(s.start, s.end))
                .map(|s| s.end)
                .min()
        }
        None => spans.iter().map(|s| s.end).min(),
    }
}

/// Whether a seconds deadline is best met on this turn: the next agent turn would likely start too late.
pub fn deadline_falls_on_turn(ob: &Obligation, t: Option<T>, words: usize, turn: u32) -> bool {
    match t {
        None => turn > ob.start_turn,
        Some(t) => t.f + words as f64 / WORDS_PER_SECOND + NEXT_TURN_GAP_S >= ob.deadline_t,
    }
}

/// Words in a turn, for estimating how long it takes to say (spaces, not tokens).
pub fn spoken_words(text: &str) -> usize {
    memchr::memchr_iter(b' ', text.as_bytes()).count() + 1
}

/// What the evaluator reads about a call besides its turn state.
pub struct CallView<'a, 'py> {
    pub py: Python<'py>,
    pub program: &'a Program,
    pub facts: &'a [Option<Value>],
    /// per rule: out of scope, or a fact it needs is missing (decided per call)
    pub scope_off: &'a [Option<ScopeOff>],
    /// per matcher: why it cannot match on this call (a variable it needs is missing)
    pub unmatchable: &'a [Option<String>],
    pub fill: &'a [Option<String>],
    pub mode_cap: u8,
    pub time: &'a TimeParser,
    pub state_keys: &'a [Option<u32>],
}

impl<'a, 'py> CallView<'a, 'py> {
    fn ctx<'b>(&'b self, st: &'b TurnState) -> Ctx<'b, 'py> {
        Ctx {
            py: self.py,
            facts: self.facts,
            states: &st.states,
            time: self.time,
            missing: None,
            state_keys: self.state_keys,
        }
    }

    /// Whether `rule` applies now: in scope and its condition true. An UNKNOWN condition marks the rule not
    /// evaluated when `record` (a final evaluation), and the rule does not apply.
    pub fn applies(&self, st: &mut TurnState, rule: RuleId, record: bool) -> bool {
        if self.scope_off[rule as usize].is_some() {
            return false;
        }
        let Some(when) = &self.program.rules[rule as usize].when else {
            return true;
        };
        let verdict = {
            let ctx = self.ctx(st);
            ctx.eval(when).and_then(|v| truth(self.py, &v))
        };
        match verdict {
            None => {
                if record {
                    st.set_unknown(rule, Unknown::When);
                }
                false
            }
            Some(v) => v,
        }
    }

    pub fn eval_truth(&self, st: &TurnState, e: &super::expr::Expr) -> Option<bool> {
        let ctx = self.ctx(st);
        ctx.eval(e).and_then(|v| truth(self.py, &v))
    }

    pub fn open_obligation(&self, st: &mut TurnState, check: CheckId, start_turn: u32, t0: f64) -> Obligation {
        let Check::MustSay { window, amount, .. } = &self.program.checks[check as usize] else {
            unreachable!("obligations come from must_say checks")
        };
        st.next_id += 1;
        let id = st.next_id;
        let (deadline_turn, deadline_t, prefix) = match window {
            Window::FirstTurn => (start_turn as f64, INF, true),
            Window::Turns => (start_turn as f64 + amount - 1.0, INF, false),
            Window::Seconds => (INF, t0 + amount, false),
            Window::CallEnd => (INF, INF, false),
        };
        Obligation {
            id,
            check,
            start_turn,
            deadline_turn,
            deadline_t,
            prefix,
            turns_seen: 0,
        }
    }

    /// Open the cue's checks; a check already open from an earlier cue stays as it is (no duplicates). With
    /// `into` (an agent turn being evaluated) they open in the outcome, otherwise in the call.
    pub fn open_cue(
        &self,
        st: &mut TurnState,
        cue: CheckId,
        start_turn: u32,
        t0: f64,
        mut into: Option<&mut Outcome>,
        mut tracer: Option<&mut Tracer>,
    ) {
        let Check::Cue { then, .. } = &self.program.checks[cue as usize] else {
            return;
        };
        if let Some(t) = tracer.as_deref_mut() {
            t.push(Event::CueOpened { check: cue });
        }
        for &ci in then {
            match &self.program.checks[ci as usize] {
                Check::MustSay { .. } => {
                    let open_in_call = st.obligations.iter().any(|o| o.check == ci);
                    let open_in_turn = into.as_ref().is_some_and(|o| o.opened.iter().any(|x| x.check == ci));
                    if open_in_call || open_in_turn {
                        continue;
                    }
                    let ob = self.open_obligation(st, ci, start_turn, t0);
                    if let Some(t) = tracer.as_deref_mut() {
                        t.push(Event::WindowOpened {
                            rule: self.program.checks[ci as usize].rule(),
                            check: ci,
                            obligation: true,
                        });
                    }
                    match into.as_deref_mut() {
                        Some(out) => out.opened.push(ob),
                        None => st.obligations.push(ob),
                    }
                }
                Check::MustNotSay { scope, turns, .. } => {
                    let end = if *scope == ScopeKind::ForTurns {
                        start_turn as f64 + *turns as f64 - 1.0
                    } else {
                        INF
                    };
                    let covered = st.prohibitions.iter().any(|p| p.check == ci && p.end_turn >= end)
                        || into
                            .as_ref()
                            .is_some_and(|o| o.opened_prohibitions.iter().any(|p| p.check == ci && p.end_turn >= end));
                    if covered {
                        continue;
                    }
                    let p = Prohibition {
                        check: ci,
                        start_turn,
                        end_turn: end,
                    };
                    if let Some(t) = tracer.as_deref_mut() {
                        t.push(Event::WindowOpened {
                            rule: self.program.checks[ci as usize].rule(),
                            check: ci,
                            obligation: false,
                        });
                    }
                    match into.as_deref_mut() {
                        Some(out) => out.opened_prohibitions.push(p),
                        None => st.prohibitions.push(p),
                    }
                }
                _ => {}
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_prohibition(
        &self,
        st: &mut TurnState,
        check: CheckId,
        matches: &Matches,
        out: &mut Outcome,
        turn_states: &[(StateId, u32)],
        record: bool,
        tracer: &mut Option<&mut Tracer>,
    ) {
        let Check::MustNotSay {
            rule,
            matcher,
            unless,
            scope,
            state,
            ..
        } = &self.program.checks[check as usize]
        else {
            return;
        };
        let mut allowed_from = None;
        if *scope == ScopeKind::Until {
            let s = state.expect("until names a state");
            if st.states[s as usize] {
                if let Some(t) = tracer.as_deref_mut() {
                    t.push(Event::DidNotFire {
                        rule: *rule,
                        check,
                        reason: Reason::StateSet,
                    });
                }
                return;
            }
            allowed_from = turn_states.iter().rev().find(|(x, _)| *x == s).map(|(_, e)| *e);
        }
        if !self.applies(st, *rule, record) {
            if let Some(t) = tracer.as_deref_mut() {
                t.push(Event::NotApplicable { rule: *rule, check });
                t.push(Event::DidNotFire {
                    rule: *rule,
                    check,
                    reason: Reason::NotApplicable,
                });
            }
            return;
        }
        let exceptions = unless
            .and_then(|u| matches.get(u))
            .filter(|x| !x.is_empty())
            .map(SpanIndex::new);
        let Some(spans) = matches.get(*matcher) else { return };
        // what excused the hits, for the trace's `did_not_fire` (only when every hit was excused)
        let (mut fired, mut excepted) = (false, false);
        for s in spans {
            if allowed_from.is_some_and(|a| s.start >= a) {
                if let Some(t) = tracer.as_deref_mut() {
                    t.push(Event::AllowedAfterState {
                        rule: *rule,
                        start: s.start,
                        end: s.end,
                    });
                }
                continue;
            }
            if exceptions.as_ref().is_some_and(|ex| ex.overlaps(s.start, s.end)) {
                if let Some(t) = tracer.as_deref_mut() {
                    t.push(Event::Excepted {
                        rule: *rule,
                        start: s.start,
                        end: s.end,
                    });
                }
                excepted = true;
                continue;
            }
            fired = true;
            let key = (*rule, s.start, s.end);
            if out.seen.contains(&key) {
                continue;
            }
            out.seen.push(key);
            if let Some(t) = tracer.as_deref_mut() {
                t.push(Event::Verified {
                    rule: *rule,
                    check,
                    start: s.start,
                    end: s.end,
                });
            }
            out.violations
                .push(Violation::flag(*rule, Some((s.start, s.end)), s.kind, None));
        }
        if let Some(t) = tracer.as_deref_mut() {
            if !fired && !spans.is_empty() {
                let reason = if excepted { Reason::Exception } else { Reason::StateSet };
                t.push(Event::DidNotFire {
                    rule: *rule,
                    check,
                    reason,
                });
            }
        }
    }

    /// For the trace: the rules whose words were said where they do not count (a cue's prohibition whose window is
    /// not open), and those whose only candidates the words around them rejected (a template mismatch).
    fn trace_missed(&self, st: &TurnState, matches: &Matches, out: &Outcome, tracer: &mut Tracer) {
        let program = self.program;
        let turn = out.turn;
        let live = |ci: CheckId| {
            st.prohibitions
                .iter()
                .chain(out.opened_prohibitions.iter())
                .any(|p| p.check == ci && p.start_turn <= turn && (turn as f64) <= p.end_turn)
        };
        for (ci, check) in program.checks.iter().enumerate() {
            if let Check::MustNotSay {
                rule,
                matcher,
                in_cue: true,
                ..
            } = check
            {
                if matches.contains(*matcher) && !live(ci as CheckId) {
                    tracer.push(Event::DidNotFire {
                        rule: *rule,
                        check: ci as CheckId,
                        reason: Reason::OutsideWindow,
                    });
                }
            }
        }
        let mut missed: Vec<(RuleId, CheckId)> = Vec::new();
        for leaf in tracer.rejected_leaves() {
            for &m in &program.matchers.phrases[leaf as usize].owners {
                if matches.contains(m) {
                    continue;
                }
                for &ci in &program.must_not_by_matcher[m as usize] {
                    let key = (program.checks[ci as usize].rule(), ci);
                    if !missed.contains(&key) {
                        missed.push(key);
                    }
                }
            }
        }
        for (rule, check) in missed {
            tracer.push(Event::DidNotFire {
                rule,
                check,
                reason: Reason::TemplateMismatch,
            });
        }
    }

    /// What this agent turn would do. `final_`: the whole turn (a streamed turn in progress cannot know yet
    /// whether a window closes on it). Only a final evaluation records "not evaluated" reasons.
    #[allow(clippy::too_many_arguments)]
    pub fn evaluate(
        &self,
        st: &mut TurnState,
        matches: &Matches,
        text: &str,
        t: Option<T>,
        final_: bool,
        out: &mut Outcome,
        mut tracer: Option<&mut Tracer>,
    ) {
        let program = self.program;
        let turn = st.agent_turns + 1;
        out.reset(turn, t);
        let traced_from = tracer.as_deref().map(|tr| tr.events.len());
        let mut words = None; // counted only when a seconds window may close on this turn (never mid-stream)
        let t0 = t.map_or(0.0, |t| t.f);
        let has_matches = !matches.is_empty();

        // agent cues open first: "same or next agent turn" windows include the cue turn
        if has_matches {
            for &ci in &program.agent_cues {
                let Check::Cue { rule, matcher, .. } = &program.checks[ci as usize] else {
                    continue;
                };
                if matches.contains(*matcher) && self.applies(st, *rule, final_) {
                    self.open_cue(st, ci, turn, t0, Some(out), tracer.as_deref_mut());
                }
            }
        }
        let opened_now = out.opened.len();

        // states this turn sets (committed only if the turn is spoken); a state set mid-turn already counts for
        // what the agent says after it
        let mut turn_states: Vec<(StateId, u32)> = Vec::new();
        if has_matches {
            for (mid, steps) in &program.state_steps_by_matcher {
                if !matches.contains(*mid) {
                    continue;
                }
                for &(si, k) in steps {
                    let state = &program.states[si as usize];
                    let step = &state.steps[k as usize];
                    if step.speaker != super::program::Speaker::Agent {
                        continue;
                    }
                    let Some(end) = step_hit(matches, step) else { continue };
                    if state.steps.len() == 1 {
                        out.states_set.push(state.name);
                        turn_states.push((state.name, end));
                    } else if k == 0 {
                        out.pending_set.push(si);
                    }
                }
            }
            for &ci in &program.after_cues {
                if let Check::Cue { after: Some(after), .. } = &program.checks[ci as usize] {
                    if step_hit(matches, after).is_some() {
                        out.asked_cues.push(ci);
                    }
                }
            }
            for (_, spans) in matches.iter() {
                out.pii_spans.extend(spans.iter().filter(|s| s.kind != NO_KIND));
            }
        }

        // prohibitions
        if has_matches {
            for (mid, _) in matches.iter() {
                for &ci in &program.must_not_by_matcher[mid as usize] {
                    self.check_prohibition(st, ci, matches, out, &turn_states, final_, &mut tracer);
                }
            }
            let n_call = st.prohibitions.len();
            for k in 0..n_call + out.opened_prohibitions.len() {
                let (check, start_turn, end_turn) = if k < n_call {
                    let p = &st.prohibitions[k];
                    (p.check, p.start_turn, p.end_turn)
                } else {
                    let p = &out.opened_prohibitions[k - n_call];
                    (p.check, p.start_turn, p.end_turn)
                };
                let Check::MustNotSay { matcher, .. } = &program.checks[check as usize] else {
                    continue;
                };
                if start_turn <= turn && (turn as f64) <= end_turn && matches.contains(*matcher) {
                    self.check_prohibition(st, check, matches, out, &turn_states, final_, &mut tracer);
                }
            }
        }
        if let Some(tr) = tracer.as_deref_mut() {
            self.trace_missed(st, matches, out, tr);
        }

        // obligations
        let n_call = st.obligations.len();
        for k in 0..n_call + opened_now {
            let ob = if k < n_call {
                st.obligations[k].clone()
            } else {
                out.opened[k - n_call].clone()
            };
            if turn < ob.start_turn {
                continue;
            }
            let Check::MustSay {
                rule, matcher, window, ..
            } = &program.checks[ob.check as usize]
            else {
                continue;
            };
            let (rule, matcher, window) = (*rule, *matcher, *window);
            let late = t.is_some_and(|t| t.f >= ob.deadline_t);
            if matches.contains(matcher) && !late {
                if self.applies(st, rule, final_) {
                    if let Some(tr) = tracer.as_deref_mut() {
                        tr.push(Event::ObligationMet { rule, check: ob.check });
                    }
                    out.met.push(ob.id);
                } else if let Some(tr) = tracer.as_deref_mut() {
                    tr.push(Event::DidNotFire {
                        rule,
                        check: ob.check,
                        reason: Reason::NotApplicable,
                    });
                }
                continue;
            }
            if !final_ {
                // a streamed turn cannot know yet whether it will need a prefix injected: hold it back
                if ob.prefix
                    && turn == ob.start_turn
                    && self.mode_cap >= 1
                    && program.rules[rule as usize].remedy.kind == RemedyKind::Inject
                {
                    out.unresolved_prefix = true;
                }
                continue;
            }
            if let Some(why) = &self.unmatchable[matcher as usize] {
                st.set_unknown(rule, Unknown::Text(why.clone()));
                out.closed.push(ob.id);
                continue;
            }
            let mut closes = turn as f64 >= ob.deadline_turn || late;
            if !closes && window == Window::Seconds && self.mode_cap >= 1 {
                let words = *words.get_or_insert_with(|| spoken_words(text));
                closes = deadline_falls_on_turn(&ob, t, words, turn);
            }
            if closes {
                out.closed.push(ob.id);
                if self.applies(st, rule, true) {
                    if let Some(tr) = tracer.as_deref_mut() {
                        tr.push(Event::WindowClosed {
                            rule,
                            check: ob.check,
                            met: false,
                        });
                    }
                    out.violations
                        .push(Violation::flag(rule, None, NO_KIND, Some(ob.prefix)));
                } else {
                    if let Some(tr) = tracer.as_deref_mut() {
                        tr.push(Event::DidNotFire {
                            rule,
                            check: ob.check,
                            reason: Reason::NotApplicable,
                        });
                    }
                    if self.scope_off[rule as usize].is_some() {
                        self.unjudged(st, rule);
                    }
                }
            } else if let Some(tr) = tracer.as_deref_mut() {
                tr.push(Event::DidNotFire {
                    rule,
                    check: ob.check,
                    reason: Reason::WindowOpen,
                });
            }
        }
        if let (Some(tr), Some(from)) = (tracer, traced_from) {
            // a rule that fires on this turn through another check (or another hit) did fire
            let fired = |r: RuleId| out.violations.iter().any(|v| v.rule == r);
            let mut k = from;
            while k < tr.events.len() {
                if matches!(tr.events[k], Event::DidNotFire { rule, .. } if fired(rule)) {
                    tr.events.remove(k);
                } else {
                    k += 1;
                }
            }
        }
    }

    /// An obligation's window closed while its rule was out of scope: if facts learned later bring the rule into
    /// scope, the scorecard must not call it satisfied.
    pub fn unjudged(&self, st: &mut TurnState, rule: RuleId) {
        if let Some(off) = &self.scope_off[rule as usize] {
            st.set_unknown(
                rule,
                Unknown::Text(format!("its window closed before its scope was known ({})", off.reason)),
            );
        }
    }

    /// Decide what each violation gets under the mode (sets the violations' actions).
    pub fn plan(
        &self,
        out: &mut Outcome,
        text: &Text<'_>,
        plan: &mut Plan,
        spoken_digits: &mut dyn FnMut(&str) -> Option<String>,
    ) {
        plan.clear();
        let cap = self.mode_cap;
        for k in 0..out.violations.len() {
            let v = &out.violations[k];
            let rule = &self.program.rules[v.rule as usize];
            let want = rule.remedy.kind.rank();
            let mut effective = want.min(cap);
            if effective == 1 && !self.modification(v, text, plan, spoken_digits) {
                // rewriting cannot fix it: block modes suppress the turn, modify mode flags it
                effective = if cap >= 2 { 2 } else { 0 };
            }
            if effective >= 2 {
                plan.suppress = plan.suppress.max(effective);
            }
            out.violations[k].effective = effective;
        }
        if plan.suppress > 0 && cap >= 3 {
            plan.suppress = 3; // human_handoff: every suppressed turn goes to a person
        }
        for v in &mut out.violations {
            if plan.suppress > 0 {
                v.action = Act::Block;
                v.remediated = true;
            } else if v.effective == 1 {
                v.action = Act::Modify;
                v.remediated = true;
            } else {
                v.action = Act::Flag;
                v.remediated = false;
            }
        }
    }

    fn modification(
        &self,
        v: &Violation,
        text: &Text<'_>,
        plan: &mut Plan,
        spoken_digits: &mut dyn FnMut(&str) -> Option<String>,
    ) -> bool {
        let rule = &self.program.rules[v.rule as usize];
        let remedy = &rule.remedy;
        match remedy.kind {
            RemedyKind::Inject => {
                let (Some(prefix), Some(parts)) = (v.obligation, &remedy.text) else {
                    return false;
                };
                if parts.is_empty() {
                    return false;
                }
                let Some(line) = self.fill(parts) else { return false };
                if prefix {
                    plan.prefixes.push(line);
                } else {
                    plan.suffixes.push(line);
                }
                true
            }
            RemedyKind::Redact | RemedyKind::Mask => {
                let Some((start, end)) = v.span else { return false };
                let (start, end) = (start as usize, end as usize);
                if remedy.kind == RemedyKind::Redact {
                    plan.edits.push((start, end, String::new()));
                } else if let Some(p) = &remedy.placeholder {
                    plan.edits.push((start, end, p.clone()));
                } else {
                    let segment = text.slice(start, end);
                    let positions = digit_positions(self.py, segment);
                    let masked = mask_digits(segment, &positions, remedy.keep_last.unwrap_or(0) as usize, || {
                        spoken_digits(segment)
                    });
                    plan.edits.push((start, end, masked));
                }
                true
            }
            _ => false,
        }
    }

    /// An inject text with the call's variables filled in; `None` when one is missing.
    pub fn fill(&self, parts: &[TextPart]) -> Option<String> {
        let mut out = String::with_capacity(128);
        for p in parts {
            match p {
                TextPart::Lit(s) => out.push_str(s),
                TextPart::Var(name) => {
                    let i = self.program.fill_variables.iter().position(|v| v == name)?;
                    out.push_str(self.fill.get(i)?.as_deref()?);
                }
            }
        }
        Some(out)
    }
}

/// The characters of `segment` that Python's `str.isdigit` accepts (asked of Python beyond ASCII).
pub fn digit_positions(py: Python<'_>, segment: &str) -> Vec<usize> {
    if segment.is_ascii() {
        return segment
            .bytes()
            .enumerate()
            .filter(|(_, b)| b.is_ascii_digit())
            .map(|(i, _)| i)
            .collect();
    }
    let mut out = Vec::new();
    for (i, c) in segment.chars().enumerate() {
        let digit = if c.is_ascii() {
            c.is_ascii_digit()
        } else {
            let mut buf = [0u8; 4];
            pyo3::types::PyString::new(py, c.encode_utf8(&mut buf))
                .call_method0("isdigit")
                .and_then(|b| b.extract::<bool>())
                .unwrap_or(false)
        };
        if digit {
            out.push(i);
        }
    }
    out
}

/// The rule whose obligation `ob` is met by what was said, `matched` telling which matchers matched it (an injected
/// disclosure is spoken too).
pub fn meets(program: &Program, ob: &Obligation, matched: impl Fn(MatcherId) -> bool) -> Option<RuleId> {
    let Check::MustSay { rule, matcher, .. } = &program.checks[ob.check as usize] else {
        return None;
    };
    if matched(*matcher as MatcherId) {
        Some(*rule)
    } else {
        None
    }
}
