//! The compiled program: the tables `trace_engine.compile` emits (plain JSON, see `compile/program.py`), checked
//! and indexed for the evaluator.
//!
//! Loading never trusts the input: every index is range-checked, every enum spelled out, every regex compiled, and
//! a bad program is an `Err` with a message naming the table and row, never a panic. The derived indexes (checks by
//! matcher, cues by speaker, state steps by matcher, the automaton) are built here from the base tables, in the
//! order the evaluator's results depend on.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value as Json;

use super::expr::{Expr, Interner};
use super::scan::Matchers;

pub type RuleId = u32;
pub type CheckId = u32;
pub type MatcherId = u32;
pub type StateId = u32;

pub const PROGRAM_FORMAT: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    Agent,
    Caller,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RemedyKind {
    Flag,
    Mask,
    Redact,
    Inject,
    Block,
    Handoff,
}

impl RemedyKind {
    /// How far the remedy wants to go; the mode caps it.
    pub fn rank(self) -> u8 {
        match self {
            RemedyKind::Flag => 0,
            RemedyKind::Mask | RemedyKind::Redact | RemedyKind::Inject => 1,
            RemedyKind::Block => 2,
            RemedyKind::Handoff => 3,
        }
    }
}

/// A piece of an inject text: literal text, or a `{variable}` filled per call.
#[derive(Debug, Clone)]
pub enum TextPart {
    Lit(String),
    Var(String),
}

#[derive(Debug, Clone)]
pub struct Remedy {
    pub kind: RemedyKind,
    pub keep_last: Option<u32>,
    pub placeholder: Option<String>,
    pub text: Option<Vec<TextPart>>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub pack_id: String,
    pub severity: String,
    pub citation: String,
    pub reason: String,
    pub remedy: Remedy,
    pub when: Option<Expr>,
    pub when_text: Option<String>,
    pub tier2: Vec<String>,
    pub check_count: u32,
    pub scoped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    FirstTurn,
    Turns,
    Seconds,
    CallEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Always,
    Until,
    ForTurns,
}

#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub speaker: Speaker,
    pub matcher: MatcherId,
    pub unless: Option<MatcherId>,
    pub and_not: Option<MatcherId>,
}

#[derive(Debug, Clone)]
pub enum Check {
    MustSay {
        rule: RuleId,
        matcher: MatcherId,
        window: Window,
        amount: f64,
        in_cue: bool,
    },
    MustNotSay {
        rule: RuleId,
        matcher: MatcherId,
        unless: Option<MatcherId>,
        scope: ScopeKind,
        state: Option<StateId>,
        turns: u32,
        in_cue: bool,
    },
    Cue {
        rule: RuleId,
        speaker: Speaker,
        matcher: MatcherId,
        then: Vec<CheckId>,
        and_not: Option<MatcherId>,
        after: Option<Step>,
    },
    Require {
        rule: RuleId,
        expr: Expr,
    },
}

impl Check {
    pub fn rule(&self) -> RuleId {
        match self {
            Check::MustSay { rule, .. }
            | Check::MustNotSay { rule, .. }
            | Check::Cue { rule, .. }
            | Check::Require { rule, .. } => *rule,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StateDef {
    pub name: StateId,
    pub steps: Vec<Step>,
}

/// The program, checked, with the evaluator's indexes.
#[derive(Debug)]
pub struct Program {
    pub rules: Vec<Rule>,
    pub checks: Vec<Check>,
    pub states: Vec<StateDef>,
    /// every state name the program mentions (definitions, `until`, `state.X` in expressions): index = `StateId`
    pub state_names: Vec<String>,
    /// metadata keys expressions read: index = the field id expressions use
    pub field_names: Vec<String>,
    pub matchers: Matchers,
    // ---- derived
    /// must_say checks opened at call start
    pub top_must_say: Vec<CheckId>,
    /// per matcher: the always-on prohibitions (not inside a cue) on it
    pub must_not_by_matcher: Vec<Vec<CheckId>>,
    pub agent_cues: Vec<CheckId>,
    pub caller_cues: Vec<CheckId>,
    pub requires: Vec<CheckId>,
    /// (matcher, [(state, step index)]) in first-mention order
    pub state_steps_by_matcher: Vec<(MatcherId, Vec<(u32, u8)>)>,
    /// caller cues with an `after` step
    pub after_cues: Vec<CheckId>,
    /// streaming hold-back in normalized tokens
    pub hold_back_tokens: usize,
    /// variables filled into inject texts
    pub fill_variables: Vec<String>,
}

/// Per matcher: whether an agent turn's evaluation may read it. Agent turns read every check's matchers but a caller
/// cue's trigger and its exception, and every step's but a caller step's (a state's, or the step a caller cue waits
/// for); a caller cue's checks are read on agent turns, as checks of their own. A matcher no agent turn reads
/// matches on caller turns alone: an agent turn's scan drops the keys that stand for nothing else
/// ([`Matchers::silence_for_agents`]).
fn agent_reads(checks: &[Check], states: &[StateDef], n_matchers: usize) -> Vec<bool> {
    let mut reads = vec![false; n_matchers];
    let mut read = |ms: [Option<MatcherId>; 3]| ms.into_iter().flatten().for_each(|m| reads[m as usize] = true);
    let of_step = |s: &Step| match s.speaker {
        Speaker::Agent => [Some(s.matcher), s.unless, s.and_not],
        Speaker::Caller => [None; 3],
    };
    for c in checks {
        match c {
            Check::MustSay { matcher, .. } => read([Some(*matcher), None, None]),
            Check::MustNotSay { matcher, unless, .. } => read([Some(*matcher), *unless, None]),
            Check::Cue {
                speaker,
                matcher,
                and_not,
                after,
                ..
            } => {
                if *speaker == Speaker::Agent {
                    read([Some(*matcher), *and_not, None]);
                }
                if let Some(s) = after {
                    read(of_step(s));
                }
            }
            Check::Require { .. } => {}
        }
    }
    for s in states.iter().flat_map(|st| &st.steps) {
        read(of_step(s));
    }
    reads
}

// --------------------------------------------------------------------------------------------- raw (serde) form

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    format: u64,
    rules: Vec<RawRule>,
    checks: Vec<RawCheck>,
    states: Vec<RawState>,
    matchers: RawMatchers,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemedy {
    kind: String,
    keep_last: Option<u32>,
    placeholder: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    pack_id: String,
    pack_version: String,
    title: String,
    severity: String,
    citation: String,
    reason: String,
    remedy: RawRemedy,
    when: Option<Json>,
    when_text: Option<String>,
    tier2: Vec<String>,
    check_count: u32,
    scope: Vec<(String, Vec<Json>, bool)>,
    examples: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    speaker: String,
    matcher: u32,
    unless: Option<u32>,
    and_not: Option<u32>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
enum RawCheck {
    #[serde(rename = "must_say")]
    MustSay {
        rule: u32,
        matcher: u32,
        window: String,
        amount: f64,
        in_cue: bool,
    },
    #[serde(rename = "must_not_say")]
    MustNotSay {
        rule: u32,
        matcher: u32,
        unless: Option<u32>,
        scope: String,
        state: Option<String>,
        turns: u32,
        in_cue: bool,
    },
    #[serde(rename = "cue")]
    Cue {
        rule: u32,
        speaker: String,
        matcher: u32,
        then: Vec<u32>,
        and_not: Option<u32>,
        after: Option<RawStep>,
    },
    #[serde(rename = "require")]
    Require { rule: u32, expr: Json },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    name: String,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMatchers {
    pub count: u32,
    pub phrases: Vec<RawPhrase>,
    pub regexes: Vec<RawRegex>,
    pub detectors: Vec<RawDetector>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPhrase {
    pub tokens: Vec<String>,
    pub matchers: Vec<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegex {
    pub source: String,
    pub atoms: Vec<String>,
    pub matchers: Vec<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDetector {
    pub kind: String,
    pub exempt: Option<String>,
    pub matchers: Vec<u32>,
}

// --------------------------------------------------------------------------------------------- loading

fn speaker(s: &str, at: &str) -> Result<Speaker, String> {
    match s {
        "agent" => Ok(Speaker::Agent),
        "caller" => Ok(Speaker::Caller),
        _ => Err(format!("{at}: unknown speaker {s:?}")),
    }
}

fn remedy_kind(s: &str, at: &str) -> Result<RemedyKind, String> {
    Ok(match s {
        "flag" => RemedyKind::Flag,
        "mask" => RemedyKind::Mask,
        "redact" => RemedyKind::Redact,
        "inject" => RemedyKind::Inject,
        "block" => RemedyKind::Block,
        "handoff" => RemedyKind::Handoff,
        _ => return Err(format!("{at}: unknown remedy kind {s:?}")),
    })
}

/// Split an inject text into literal parts and `{variable}` parts (``[a-z_][a-z0-9_]*`` names, as the Python
/// gate's `_VAR` pattern reads them; anything else stays literal).
pub fn text_parts(text: &str) -> Vec<TextPart> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' {
            let mut j = i + 1;
            if j < b.len() && (b[j].is_ascii_lowercase() || b[j] == b'_') {
                j += 1;
                while j < b.len() && (b[j].is_ascii_lowercase() || b[j].is_ascii_digit() || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'}' {
                    if !lit.is_empty() {
                        out.push(TextPart::Lit(std::mem::take(&mut lit)));
                    }
                    out.push(TextPart::Var(text[i + 1..j].to_string()));
                    i = j + 1;
                    continue;
                }
            }
        }
        let ch_len = text[i..].chars().next().map(char::len_utf8).unwrap_or(1);
        lit.push_str(&text[i..i + ch_len]);
        i += ch_len;
    }
    if !lit.is_empty() {
        out.push(TextPart::Lit(lit));
    }
    out
}

impl Program {
    /// Parse and check a program (JSON bytes as `compile_packs` emits them).
    pub fn from_json(bytes: &[u8]) -> Result<Program, String> {
        let raw: RawProgram = serde_json::from_slice(bytes).map_err(|e| format!("program is not valid: {e}"))?;
        if raw.format != PROGRAM_FORMAT {
            return Err(format!(
                "program format {} is not supported (this engine reads {PROGRAM_FORMAT})",
                raw.format
            ));
        }
        let n_rules = raw.rules.len();
        let n_checks = raw.checks.len();
        let n_matchers = raw.matchers.count as usize;
        let mut interner = Interner::default();
        let mid = |m: u32, at: &str| -> Result<MatcherId, String> {
            if (m as usize) < n_matchers {
                Ok(m)
            } else {
                Err(format!("{at}: matcher {m} out of range (the program has {n_matchers})"))
            }
        };
        let opt_mid =
            |m: Option<u32>, at: &str| -> Result<Option<MatcherId>, String> { m.map(|m| mid(m, at)).transpose() };
        let rule_ix = |r: u32, at: &str| -> Result<RuleId, String> {
            if (r as usize) < n_rules {
                Ok(r)
            } else {
                Err(format!("{at}: rule {r} out of range"))
            }
        };
        let step = |s: &RawStep, at: &str| -> Result<Step, String> {
            Ok(Step {
                speaker: speaker(&s.speaker, at)?,
                matcher: mid(s.matcher, at)?,
                unless: opt_mid(s.unless, at)?,
                and_not: opt_mid(s.and_not, at)?,
            })
        };

        // states first: their names are the first interned states
        let mut states = Vec::with_capacity(raw.states.len());
        let mut defined: HashMap<String, usize> = HashMap::new();
        for (i, st) in raw.states.iter().enumerate() {
            let at = format!("states[{i}]");
            if st.steps.is_empty() || st.steps.len() > 2 {
                return Err(format!("{at}: a state has one or two steps"));
            }
            let steps = st.steps.iter().map(|s| step(s, &at)).collect::<Result<Vec<_>, _>>()?;
            if steps.len() == 2 && (steps[0].speaker != Speaker::Agent || steps[1].speaker != Speaker::Caller) {
                return Err(format!(
                    "{at}: two steps are a question and its answer: an agent step, then a caller step"
                ));
            }
            defined.insert(st.name.clone(), i);
            states.push(StateDef {
                name: interner.state(&st.name),
                steps,
            });
        }

        let mut rules = Vec::with_capacity(n_rules);
        for (i, r) in raw.rules.iter().enumerate() {
            let at = format!("rules[{i}]");
            let kind = remedy_kind(&r.remedy.kind, &at)?;
            let when = match &r.when {
                None | Some(Json::Null) => None,
                Some(j) => Some(Expr::from_json(j, &mut interner).map_err(|e| format!("{at}.when: {e}"))?),
            };
            let _ = (&r.pack_version, &r.title, &r.examples);
            for (fact, values, _) in &r.scope {
                if fact.is_empty() || values.is_empty() {
                    return Err(format!("{at}.scope: a condition names a fact and at least one value"));
                }
            }
            rules.push(Rule {
                id: r.id.clone(),
                pack_id: r.pack_id.clone(),
                severity: r.severity.clone(),
                citation: r.citation.clone(),
                reason: r.reason.clone(),
                remedy: Remedy {
                    kind,
                    keep_last: r.remedy.keep_last,
                    placeholder: r.remedy.placeholder.clone(),
                    text: r.remedy.text.as_deref().map(text_parts),
                },
                when,
                when_text: r.when_text.clone(),
                tier2: r.tier2.clone(),
                check_count: r.check_count,
                scoped: !r.scope.is_empty(),
            });
        }

        let mut checks = Vec::with_capacity(n_checks);
        for (i, c) in raw.checks.iter().enumerate() {
            let at = format!("checks[{i}]");
            checks.push(match c {
                RawCheck::MustSay {
                    rule,
                    matcher,
                    window,
                    amount,
                    in_cue,
                } => {
                    let window = match window.as_str() {
                        "first_turn" => Window::FirstTurn,
                        "turns" => Window::Turns,
                        "seconds" => Window::Seconds,
                        "call_end" => Window::CallEnd,
                        w => return Err(format!("{at}: unknown window {w:?}")),
                    };
                    if !amount.is_finite() || *amount < 0.0 {
                        return Err(format!("{at}: window amount must be a finite number >= 0"));
                    }
                    Check::MustSay {
                        rule: rule_ix(*rule, &at)?,
                        matcher: mid(*matcher, &at)?,
                        window,
                        amount: *amount,
                        in_cue: *in_cue,
                    }
                }
                RawCheck::MustNotSay {
                    rule,
                    matcher,
                    unless,
                    scope,
                    state,
                    turns,
                    in_cue,
                } => {
                    let scope = match scope.as_str() {
                        "always" => ScopeKind::Always,
                        "until" => ScopeKind::Until,
                        "for_turns" => ScopeKind::ForTurns,
                        s => return Err(format!("{at}: unknown scope {s:?}")),
                    };
                    if scope == ScopeKind::Until && state.is_none() {
                        return Err(format!("{at}: an `until` scope names a state"));
                    }
                    Check::MustNotSay {
                        rule: rule_ix(*rule, &at)?,
                        matcher: mid(*matcher, &at)?,
                        unless: opt_mid(*unless, &at)?,
                        scope,
                        state: state.as_deref().map(|s| interner.state(s)),
                        turns: *turns,
                        in_cue: *in_cue,
                    }
                }
                RawCheck::Cue {
                    rule,
                    speaker: sp,
                    matcher,
                    then,
                    and_not,
                    after,
                } => {
                    for &t in then {
                        if t as usize >= n_checks || t as usize <= i {
                            return Err(format!("{at}: cue check {t} out of range"));
                        }
                    }
                    let after = after.as_ref().map(|s| step(s, &at)).transpose()?;
                    if let Some(a) = &after {
                        if a.speaker != Speaker::Agent {
                            return Err(format!("{at}: `after` is an agent step"));
                        }
                    }
                    Check::Cue {
                        rule: rule_ix(*rule, &at)?,
                        speaker: speaker(sp, &at)?,
                        matcher: mid(*matcher, &at)?,
                        then: then.clone(),
                        and_not: opt_mid(*and_not, &at)?,
                        after,
                    }
                }
                RawCheck::Require { rule, expr } => Check::Require {
                    rule: rule_ix(*rule, &at)?,
                    expr: Expr::from_json(expr, &mut interner).map_err(|e| format!("{at}.expr: {e}"))?,
                },
            });
        }
        // a cue opens must_say / must_not_say checks marked in_cue, and nothing else
        for (i, c) in checks.iter().enumerate() {
            if let Check::Cue { then, .. } = c {
                for &t in then {
                    match &checks[t as usize] {
                        Check::MustSay { in_cue: true, .. } | Check::MustNotSay { in_cue: true, .. } => {}
                        _ => return Err(format!("checks[{i}]: a cue opens must_say / must_not_say checks only")),
                    }
                }
            }
        }

        let mut matchers = Matchers::build(&raw.matchers)?;
        matchers.silence_for_agents(&agent_reads(&checks, &states, n_matchers));

        // ---- derived indexes, in the order the evaluator's results depend on
        let mut top_must_say = Vec::new();
        let mut must_not_by_matcher = vec![Vec::new(); n_matchers];
        let mut agent_cues = Vec::new();
        let mut caller_cues = Vec::new();
        let mut requires = Vec::new();
        for (i, c) in checks.iter().enumerate() {
            let i = i as CheckId;
            match c {
                Check::MustNotSay {
                    matcher, in_cue: false, ..
                } => must_not_by_matcher[*matcher as usize].push(i),
                Check::MustSay { in_cue: false, .. } => top_must_say.push(i),
                Check::Cue {
                    speaker: Speaker::Agent,
                    ..
                } => agent_cues.push(i),
                Check::Cue {
                    speaker: Speaker::Caller,
                    ..
                } => caller_cues.push(i),
                Check::Require { .. } => requires.push(i),
                _ => {}
            }
        }
        let mut state_steps_by_matcher: Vec<(MatcherId, Vec<(u32, u8)>)> = Vec::new();
        let mut slot: HashMap<MatcherId, usize> = HashMap::new();
        for (si, st) in states.iter().enumerate() {
            for (k, s) in st.steps.iter().enumerate() {
                let at = *slot.entry(s.matcher).or_insert_with(|| {
                    state_steps_by_matcher.push((s.matcher, Vec::new()));
                    state_steps_by_matcher.len() - 1
                });
                state_steps_by_matcher[at].1.push((si as u32, k as u8));
            }
        }
        let after_cues = checks
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, Check::Cue { after: Some(_), .. }))
            .map(|(i, _)| i as CheckId)
            .collect();
        let mut fill_variables: Vec<String> = Vec::new();
        for r in &rules {
            for part in r.remedy.text.iter().flatten() {
                if let TextPart::Var(v) = part {
                    if !fill_variables.contains(v) {
                        fill_variables.push(v.clone());
                    }
                }
            }
        }
        let hold_back_tokens = matchers.max_phrase_tokens + 2;
        let _ = defined;
        Ok(Program {
            rules,
            checks,
            states,
            state_names: interner.states,
            field_names: interner.fields,
            matchers,
            top_must_say,
            must_not_by_matcher,
            agent_cues,
            caller_cues,
            requires,
            state_steps_by_matcher,
            after_cues,
            hold_back_tokens,
            fill_variables,
        })
    }
}
