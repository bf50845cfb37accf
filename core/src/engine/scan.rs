//! One scan of a turn: every phrase and regex atom in one Aho-Corasick automaton over the normalized view,
//! templates verified at their anchor hits, regexes run only where one of their atoms hit (YARA-style), then the
//! detectors.
//!
//! The result, [`Matches`], maps matcher ids to spans in the turn's original text (characters), in the order in
//! which a matcher's first span was found: automaton hits by end position (longer keys first at one end), then
//! variable-led templates, then regexes by leaf, then detectors. Everything the evaluator reports follows that
//! order, so it is the Python gate's.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};
use pyo3::prelude::*;
use regex::{Regex, RegexBuilder};

use super::program::{MatcherId, RawMatchers};
use super::textview::{DetKind, Hit, View};
use super::trace::{Event, Tracer};
use super::wordscan::{AtomAutomaton, WordAutomaton};

pub type VarId = u32;

/// A span in original characters; `kind` is a [`DetKind`] code, or 0 for phrases and regexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    pub kind: u8,
}

pub const NO_KIND: u8 = 0;

/// Gaps stand for one to this many words.
pub const GAP_MAX_WORDS: usize = 3;
/// Words that may stand before a variable's value without being part of it.
const ARTICLES: [&str; 3] = ["the", "a", "an"];

#[derive(Debug, Clone)]
pub enum Elem {
    Lit(String),
    Gap,
    Var { id: VarId, gap: bool },
}

/// A phrase with `{variables}` or `*` gaps.
#[derive(Debug, Clone)]
pub struct Template {
    pub elems: Vec<Elem>,
    /// index of the literal run used as the atom; `None` for a phrase made only of variables and gaps
    pub anchor: Option<usize>,
    pub anchor_len: usize,
    /// variables without a `|*` fallback
    pub required: Vec<VarId>,
}

impl Template {
    /// What the template reads after its atom's end, as `(tokens, variables)`: a literal is one token, a gap up to
    /// [`GAP_MAX_WORDS`], a variable an article and its value (`None` without an atom).
    fn reach_term(&self) -> Option<(usize, usize)> {
        let after = &self.elems[self.anchor? + self.anchor_len..];
        let fixed = after.iter().map(|e| match e {
            Elem::Lit(_) => 1,
            Elem::Gap => GAP_MAX_WORDS,
            Elem::Var { .. } => 1, // an article before the value
        });
        let vars = after.iter().filter(|e| matches!(e, Elem::Var { .. })).count();
        Some((fixed.sum(), vars))
    }
}

#[derive(Debug)]
pub struct PhraseLeaf {
    pub owners: Vec<MatcherId>,
    pub template: Option<Template>,
    pub text: String,
}

#[derive(Debug)]
pub struct RegexLeaf {
    pub owners: Vec<MatcherId>,
    pub source: String,
    pub regex: Regex,
    pub always: bool,
    /// the longest match in bytes, when bounded
    pub max_len: Option<usize>,
    /// whether every match is at least one byte long (a streamed turn resumes such a bounded regex, see
    /// [`RegexCarry`])
    pub never_empty: bool,
    /// the longest match when a whole turn may search only around the atoms' hits (see [`super::atomwindow`])
    pub window: Option<usize>,
    /// plain words appended to a text neither end a match nor change one ([`ends_off_words`])
    pub ends_off_words: bool,
}

#[derive(Debug)]
pub struct DetectorLeaf {
    pub owners: Vec<MatcherId>,
    pub kind: DetKind,
    pub exempt: Option<String>,
}

/// The keys a scan hears ([`Matchers::scan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// every key: a caller turn, the injected lines, any text (`CallCore.scan`)
    All,
    /// the keys an agent turn's evaluation reads ([`Matchers::agent_silent`])
    Agent,
}

#[derive(Debug, Clone, Copy)]
pub struct Payload {
    pub is_regex: bool,
    pub leaf: u32,
    pub len: u32,
}

#[derive(Debug)]
pub struct Matchers {
    pub count: u32,
    pub phrases: Vec<PhraseLeaf>,
    pub regexes: Vec<RegexLeaf>,
    pub detectors: Vec<DetectorLeaf>,
    /// the phrase keys over words: what a whole turn is scanned with (see [`super::wordscan`])
    pub words: Option<WordAutomaton>,
    /// the regex atoms alone, over bytes (atoms need not be word-aligned): their hits' patterns are
    /// `keys.len() + atom index`, whose payloads are the atom's regex payloads
    atoms: Option<AtomAutomaton>,
    /// the same keys as a byte automaton whose state a streamed turn carries from chunk to chunk (`None` when there
    /// are no keys or it could not be built: streams then scan their whole turn). Built with the program, not by the
    /// first stream: that stream's first feed waited for it, about 7 ms for the built-in packs (more with many
    /// blocked phrases), a stall in a live call's first streamed turn; a program that never streams pays that
    /// once, where it loads
    nfa: Option<ByteAutomaton>,
    keys: Vec<String>,
    /// per automaton pattern: what it stands for (phrase leaves first, then regex atoms); after the keys', one per
    /// atom of the `atoms` automaton, its regex payloads alone
    pub payloads: Vec<Vec<Payload>>,
    /// per automaton pattern: whether an agent turn's scan drops its hits, each of its payloads a phrase leaf whose
    /// matchers only caller turns read ([`Matchers::silence_for_agents`]; none until the program says which)
    pub agent_silent: Vec<bool>,
    pub pattern_len: Vec<u32>,
    pub atomless: Vec<u32>,
    pub always_regexes: Vec<u32>,
    /// variable names (templates and detector exemptions), index = `VarId`
    pub variables: Vec<String>,
    /// per matcher: for each leaf, the variables it needs; `None` unless every leaf needs one
    pub matcher_vars: Vec<Option<Vec<Vec<VarId>>>>,
    pub max_phrase_tokens: usize,
}

fn is_var(t: &str) -> bool {
    t.chars().count() > 2 && t.starts_with('{') && t.ends_with('}')
}

fn var_parts(t: &str) -> (&str, bool) {
    let inner = &t[1..t.len() - 1];
    match inner.split_once('|') {
        Some((name, fallback)) => (name, fallback == "*"),
        None => (inner, false),
    }
}

/// RE2 syntax → the `regex` crate's, with RE2's meaning: Perl classes and word boundaries are ASCII in RE2
/// (`\d` is `[0-9]`, `\s` is `[\t\n\f\r ]`, `\b` looks at ASCII word characters), and `\Q...\E` quotes.
pub fn translate_re2(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 16);
    let mut i = 0;
    let mut depth = 0usize; // inside a character class (nested classes count)
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            let inside = depth > 0;
            let rep: Option<&str> = match (n, inside) {
                ('d', false) => Some("[0-9]"),
                ('d', true) => Some("0-9"),
                ('D', _) => Some("[^0-9]"),
                ('w', false) => Some("[0-9A-Za-z_]"),
                ('w', true) => Some("0-9A-Za-z_"),
                ('W', _) => Some("[^0-9A-Za-z_]"),
                ('s', false) => Some("[\\t\\n\\x0C\\r ]"),
                ('s', true) => Some("\\t\\n\\x0C\\r "),
                ('S', _) => Some("[^\\t\\n\\x0C\\r ]"),
                ('b', false) => Some("(?-u:\\b)"),
                ('B', false) => Some("(?-u:\\B)"),
                ('C', false) => Some("(?s:.)"),
                _ => None,
            };
            if let Some(r) = rep {
                out.push_str(r);
                i += 2;
                continue;
            }
            if n == 'Q' {
                let mut j = i + 2;
                let mut lit = String::new();
                while j < chars.len() && !(chars[j] == '\\' && j + 1 < chars.len() && chars[j + 1] == 'E') {
                    lit.push(chars[j]);
                    j += 1;
                }
                out.push_str(&regex::escape(&lit));
                i = if j < chars.len() { j + 2 } else { j };
                continue;
            }
            out.push(c);
            out.push(n);
            i += 2;
            continue;
        }
        if c == '[' {
            if depth > 0 && i + 1 < chars.len() && chars[i + 1] == ':' {
                // [:alpha:] inside a class
                if let Some(end) =
                    (i + 2..chars.len().saturating_sub(1)).find(|&k| chars[k] == ':' && chars[k + 1] == ']')
                {
                    out.extend(&chars[i..end + 2]);
                    i = end + 2;
                    continue;
                }
            }
            depth += 1;
            out.push(c);
            i += 1;
            // a `]` right after `[` or `[^` is a literal
            if i < chars.len() && chars[i] == '^' {
                out.push('^');
                i += 1;
            }
            if i < chars.len() && chars[i] == ']' {
                out.push_str("\\]");
                i += 1;
            }
            continue;
        }
        if c == ']' && depth > 0 {
            depth -= 1;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The regex leaf of `src` (a pack's RE2 syntax) for `owners`; `always`: it has no atom, it runs on every turn.
fn compile_regex(src: &str, owners: Vec<MatcherId>, always: bool) -> Result<RegexLeaf, String> {
    let translated = translate_re2(src);
    let regex = RegexBuilder::new(&translated)
        .octal(true)
        .size_limit(8 << 20)
        .build()
        .map_err(|e| format!("regex /{src}/ cannot run: {e}"))?;
    let hir = regex_syntax::ParserBuilder::new()
        .octal(true)
        .build()
        .parse(&translated)
        .ok();
    let hir = hir.as_ref();
    Ok(RegexLeaf {
        owners,
        source: src.to_string(),
        regex,
        always,
        max_len: hir.and_then(|h| h.properties().maximum_len()),
        never_empty: hir.and_then(|h| h.properties().minimum_len()).is_some_and(|n| n > 0),
        window: hir.and_then(super::atomwindow::window_len),
        ends_off_words: hir.is_some_and(ends_off_words),
    })
}

/// Whether no match of `hir` ends in a lower-case ASCII letter or a space, nor asks where the text ends: then
/// words of lower-case letters, each after a space, appended to a text neither end a match nor change one (each
/// match ends before them, and what follows its end reads as a space did, or the end: a word boundary either way).
fn ends_off_words(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::Look;
    let looks = hir.properties().look_set();
    if [Look::End, Look::EndLF, Look::EndCRLF]
        .iter()
        .any(|&l| looks.contains(l))
    {
        return false;
    }
    let (may_end_in_words, may_be_empty) = last_character(hir);
    !may_end_in_words && !may_be_empty
}

/// Of the matches of `hir`: whether one may end in a lower-case ASCII letter or a space, and whether one may be
/// empty (then what comes before it decides where the match ends).
fn last_character(hir: &regex_syntax::hir::Hir) -> (bool, bool) {
    use regex_syntax::hir::{Class, HirKind};
    let in_words = |c: u32| c == u32::from(b' ') || (u32::from(b'a')..=u32::from(b'z')).contains(&c);
    let range_in_words = |lo: u32, hi: u32| lo <= u32::from(b' ') && u32::from(b' ') <= hi || lo <= 0x7a && hi >= 0x61;
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => (false, true),
        HirKind::Literal(lit) => match lit.0.last() {
            Some(&b) => (in_words(u32::from(b)), false),
            None => (false, true),
        },
        HirKind::Class(Class::Unicode(c)) => (
            c.ranges()
                .iter()
                .any(|r| range_in_words(r.start() as u32, r.end() as u32)),
            false,
        ),
        HirKind::Class(Class::Bytes(c)) => (
            c.ranges()
                .iter()
                .any(|r| range_in_words(u32::from(r.start()), u32::from(r.end()))),
            false,
        ),
        HirKind::Repetition(r) => {
            let (ends, empty) = last_character(&r.sub);
            (ends, empty || r.min == 0)
        }
        HirKind::Capture(c) => last_character(&c.sub),
        HirKind::Concat(subs) => {
            let mut ends = false;
            for sub in subs.iter().rev() {
                let (e, empty) = last_character(sub);
                ends |= e;
                if !empty {
                    return (ends, false);
                }
            }
            (ends, true)
        }
        HirKind::Alternation(subs) => subs
            .iter()
            .map(last_character)
            .fold((false, false), |(a, b), (e, m)| (a || e, b || m)),
    }
}

impl Matchers {
    pub(crate) fn build(raw: &RawMatchers) -> Result<Matchers, String> {
        let count = raw.count;
        let check_owners = |owners: &[u32], at: &str| -> Result<(), String> {
            if owners.is_empty() {
                return Err(format!("{at}: a leaf serves at least one matcher"));
            }
            for &m in owners {
                if m >= count {
                    return Err(format!("{at}: matcher {m} out of range"));
                }
            }
            Ok(())
        };
        let mut variables: Vec<String> = Vec::new();
        let var_id = |name: &str, variables: &mut Vec<String>| -> VarId {
            if let Some(i) = variables.iter().position(|v| v == name) {
                return i as VarId;
            }
            variables.push(name.to_string());
            (variables.len() - 1) as VarId
        };
        let mut keys: Vec<String> = Vec::new();
        let mut payloads: Vec<Vec<Payload>> = Vec::new();
        let mut key_ix: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut add_key =
            |key: String, is_regex: bool, leaf: usize, keys: &mut Vec<String>, payloads: &mut Vec<Vec<Payload>>| {
                let p = Payload {
                    is_regex,
                    leaf: leaf as u32,
                    len: key.len() as u32,
                };
                let at = *key_ix.entry(key.clone()).or_insert_with(|| {
                    keys.push(key);
                    payloads.push(Vec::new());
                    payloads.len() - 1
                });
                payloads[at].push(p);
            };
        let mut phrases = Vec::with_capacity(raw.phrases.len());
        let mut atomless = Vec::new();
        let mut max_tokens = 1usize;
        for (leaf, p) in raw.phrases.iter().enumerate() {
            let at = format!("matchers.phrases[{leaf}]");
            check_owners(&p.matchers, &at)?;
            if p.tokens.is_empty() || p.tokens.iter().any(|t| t.is_empty() || t.contains(' ')) {
                return Err(format!("{at}: a phrase is one or more tokens without spaces"));
            }
            let tokens = &p.tokens;
            max_tokens = max_tokens.max(tokens.iter().map(|t| if t == "*" { GAP_MAX_WORDS } else { 1 }).sum());
            let text = tokens.join(" ");
            if !tokens.iter().any(|t| t == "*" || is_var(t)) {
                add_key(text.clone(), false, leaf, &mut keys, &mut payloads);
                phrases.push(PhraseLeaf {
                    owners: p.matchers.clone(),
                    template: None,
                    text,
                });
                continue;
            }
            // the longest literal run (in characters; the first on a tie) is the atom
            let mut best: Option<(usize, usize)> = None;
            let mut best_len = 0usize;
            let mut run_start: Option<usize> = None;
            for i in 0..=tokens.len() {
                let literal = i < tokens.len() && tokens[i] != "*" && !is_var(&tokens[i]);
                if literal && run_start.is_none() {
                    run_start = Some(i);
                } else if !literal {
                    if let Some(s) = run_start {
                        let length: usize = tokens[s..i].iter().map(|t| t.chars().count()).sum();
                        if length > best_len {
                            best = Some((s, i - s));
                            best_len = length;
                        }
                        run_start = None;
                    }
                }
            }
            let mut elems = Vec::with_capacity(tokens.len());
            let mut required = Vec::new();
            for t in tokens {
                if t == "*" {
                    elems.push(Elem::Gap);
                } else if is_var(t) {
                    let (name, gap) = var_parts(t);
                    let id = var_id(name, &mut variables);
                    if !gap {
                        required.push(id);
                    }
                    elems.push(Elem::Var { id, gap });
                } else {
                    elems.push(Elem::Lit(t.clone()));
                }
            }
            let template = Template {
                elems,
                anchor: best.map(|b| b.0),
                anchor_len: best.map_or(0, |b| b.1),
                required,
            };
            match best {
                None => atomless.push(leaf as u32),
                Some((s, n)) => add_key(tokens[s..s + n].join(" "), false, leaf, &mut keys, &mut payloads),
            }
            phrases.push(PhraseLeaf {
                owners: p.matchers.clone(),
                template: Some(template),
                text,
            });
        }
        let mut regexes = Vec::with_capacity(raw.regexes.len());
        let mut always_regexes = Vec::new();
        for (leaf, r) in raw.regexes.iter().enumerate() {
            let at = format!("matchers.regexes[{leaf}]");
            check_owners(&r.matchers, &at)?;
            let atoms: Vec<&String> = r.atoms.iter().filter(|a| !a.trim().is_empty()).collect();
            let always = atoms.is_empty();
            let compiled = compile_regex(&r.source, r.matchers.clone(), always).map_err(|e| format!("{at}: {e}"))?;
            if always {
                always_regexes.push(leaf as u32);
            }
            for a in atoms {
                add_key(a.clone(), true, leaf, &mut keys, &mut payloads);
            }
            regexes.push(compiled);
        }
        let mut detectors = Vec::with_capacity(raw.detectors.len());
        for (leaf, d) in raw.detectors.iter().enumerate() {
            let at = format!("matchers.detectors[{leaf}]");
            check_owners(&d.matchers, &at)?;
            let kind = DetKind::parse(&d.kind).ok_or_else(|| format!("{at}: unknown detector {:?}", d.kind))?;
            if let Some(e) = &d.exempt {
                var_id(e, &mut variables);
            }
            detectors.push(DetectorLeaf {
                owners: d.matchers.clone(),
                kind,
                exempt: d.exempt.clone(),
            });
        }
        let pattern_len = keys.iter().map(|k| k.len() as u32).collect();
        let phrase_keys = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| payloads[*i].iter().any(|p| !p.is_regex));
        let words = WordAutomaton::build(phrase_keys.map(|(i, k)| (i as u32, k.as_str())));
        let mut atom_keys: Vec<&str> = Vec::new();
        for i in 0..keys.len() {
            let regex: Vec<Payload> = payloads[i].iter().filter(|p| p.is_regex).copied().collect();
            if !regex.is_empty() {
                atom_keys.push(&keys[i]);
                payloads.push(regex);
            }
        }
        // a dense DFA walked byte by byte (a start-byte prefilter would stop at every "a" of "account")
        let atoms = AtomAutomaton::build(&atom_keys);
        if atoms.is_none() && !atom_keys.is_empty() {
            return Err("automaton: the regex atoms cannot be built".to_string());
        }
        // which variables each matcher needs, leaf by leaf, in the order leaves were linked
        let mut leaf_vars: Vec<Vec<Vec<VarId>>> = vec![Vec::new(); count as usize];
        for p in &phrases {
            let needs = p.template.as_ref().map(|t| t.required.clone()).unwrap_or_default();
            for &m in &p.owners {
                leaf_vars[m as usize].push(needs.clone());
            }
        }
        for r in &regexes {
            for &m in &r.owners {
                leaf_vars[m as usize].push(Vec::new());
            }
        }
        for d in &detectors {
            for &m in &d.owners {
                leaf_vars[m as usize].push(Vec::new());
            }
        }
        let matcher_vars = leaf_vars
            .into_iter()
            .map(|v| {
                if !v.is_empty() && v.iter().all(|l| !l.is_empty()) {
                    Some(v)
                } else {
                    None
                }
            })
            .collect();
        Ok(Matchers {
            count,
            phrases,
            regexes,
            detectors,
            words,
            atoms,
            nfa: (!keys.is_empty()).then(|| ByteAutomaton::build(&keys)).flatten(),
            keys,
            agent_silent: vec![false; payloads.len()],
            payloads,
            pattern_len,
            atomless,
            always_regexes,
            variables,
            matcher_vars,
            max_phrase_tokens: max_tokens,
        })
    }
}

// --------------------------------------------------------------------------------------------- matches

const NONE: u32 = u32::MAX;

thread_local! {
    /// Match sets given back by finished calls (see [`Matches::reused`]).
    static SPARE_MATCHES: std::cell::RefCell<Vec<Matches>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A turn's matches: matcher id → spans, in first-found order. Reused turn after turn without reallocating.
#[derive(Debug, Default)]
pub struct Matches {
    slot: Vec<u32>,
    entries: Vec<(MatcherId, Vec<Span>)>,
    len: usize,
}

impl Matches {
    pub fn new(count: usize) -> Matches {
        Matches {
            slot: vec![NONE; count],
            entries: Vec::new(),
            len: 0,
        }
    }

    /// An empty match set for `count` matchers, in the buffers of one a finished call gave back when there is one:
    /// a call starts with no span buffers, and each of its first turns would allocate one per matcher it hits.
    pub fn reused(count: usize) -> Matches {
        match SPARE_MATCHES.with(|s| s.borrow_mut().pop()) {
            Some(mut m) => {
                m.clear();
                m.slot.clear();
                m.slot.resize(count, NONE);
                m
            }
            None => Matches::new(count),
        }
    }

    /// Give a finished call's match set back for [`Matches::reused`] (a few are kept, their large buffers dropped).
    pub fn give_back(mut self) {
        self.clear();
        for e in &mut self.entries {
            if e.1.capacity() > 64 {
                e.1 = Vec::new();
            }
        }
        self.entries.truncate(1024);
        // at thread exit the pool may be gone already: then the buffers are just freed
        let _ = SPARE_MATCHES.try_with(|s| {
            let mut spare = s.borrow_mut();
            if spare.len() < 8 {
                spare.push(self);
            }
        });
    }

    pub fn clear(&mut self) {
        for e in &mut self.entries[..self.len] {
            self.slot[e.0 as usize] = NONE;
            e.1.clear();
        }
        self.len = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn add(&mut self, mid: MatcherId, span: Span) {
        let s = self.slot[mid as usize];
        if s == NONE {
            self.slot[mid as usize] = self.len as u32;
            if self.len < self.entries.len() {
                let e = &mut self.entries[self.len];
                e.0 = mid;
                e.1.push(span);
            } else {
                self.entries.push((mid, vec![span]));
            }
            self.len += 1;
        } else {
            let v = &mut self.entries[s as usize].1;
            if v.last() != Some(&span) {
                v.push(span);
            }
        }
    }

    #[inline]
    pub fn contains(&self, mid: MatcherId) -> bool {
        self.slot.get(mid as usize).is_some_and(|&s| s != NONE)
    }

    #[inline]
    pub fn get(&self, mid: MatcherId) -> Option<&[Span]> {
        match self.slot.get(mid as usize) {
            Some(&s) if s != NONE => Some(&self.entries[s as usize].1),
            _ => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (MatcherId, &[Span])> {
        self.entries[..self.len].iter().map(|(m, v)| (*m, v.as_slice()))
    }

    /// Whether `other` holds the same matches in the same order.
    pub fn same_as(&self, other: &Matches) -> bool {
        self.len == other.len && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }

    /// Becomes a copy of `other`, reusing its own buffers.
    pub fn copy_from(&mut self, other: &Matches) {
        self.clear();
        for (m, spans) in other.iter() {
            for &s in spans {
                self.add(m, s);
            }
        }
    }

    /// Several leaves of one matcher report in any order: sort and drop repeats.
    pub fn finish(&mut self) {
        for e in &mut self.entries[..self.len] {
            if e.1.len() > 1 {
                e.1.sort_unstable();
                e.1.dedup();
            }
        }
    }

    /// Detector spans (kind set), in matcher order.
    pub fn detector_spans(&self) -> Vec<Span> {
        let mut out = Vec::new();
        for (_, spans) in self.iter() {
            out.extend(spans.iter().filter(|s| s.kind != NO_KIND));
        }
        out
    }
}

/// What a call contributes to a scan: its variables' values as tokens and the exempt values per detector leaf.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanVars {
    pub tokens: Vec<Option<Vec<String>>>,
    /// per detector leaf: canonical exempt values
    pub exempt: Vec<Vec<String>>,
}

impl ScanVars {
    #[inline]
    fn value(&self, id: VarId) -> Option<&[String]> {
        self.tokens
            .get(id as usize)
            .and_then(|v| v.as_deref())
            .filter(|v| !v.is_empty())
    }
}

// --------------------------------------------------------------------------------------------- templates

fn fwd_gap(rest: &[Elem], toks: &View, pos: usize, vars: &ScanVars) -> Option<usize> {
    for width in 1..=GAP_MAX_WORDS {
        if pos + width > toks.ntok() {
            break;
        }
        if let Some(got) = fwd(rest, toks, pos + width, vars) {
            return Some(got);
        }
    }
    None
}

/// Match `elems` against `toks` from `pos`; the index after the match (shortest gaps first).
fn fwd(elems: &[Elem], toks: &View, mut pos: usize, vars: &ScanVars) -> Option<usize> {
    let Some((head, rest)) = elems.split_first() else {
        return Some(pos);
    };
    match head {
        Elem::Gap => fwd_gap(rest, toks, pos, vars),
        Elem::Var { id, gap } => match vars.value(*id) {
            None => {
                if *gap {
                    fwd_gap(rest, toks, pos, vars)
                } else {
                    None
                }
            }
            Some(value) => {
                if pos < toks.ntok() && ARTICLES.contains(&toks.tok(pos)) && value[0] != toks.tok(pos) {
                    pos += 1; // "from the acme solar"
                }
                if pos + value.len() > toks.ntok() || !toks.toks_equal(pos, value) {
                    return None;
                }
                fwd(rest, toks, pos + value.len(), vars)
            }
        },
        Elem::Lit(l) => {
            if pos < toks.ntok() && toks.tok(pos) == l {
                fwd(rest, toks, pos + 1, vars)
            } else {
                None
            }
        }
    }
}

/// What [`fwd`] gives when only the tokens before `fin` are known: the tokens after them may still change (a streamed
/// turn's last words) or come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// `fwd` fails whatever comes after the known tokens
    Fails,
    /// `fwd` gives this index whatever comes after them
    Gives(usize),
    /// it depends on what comes
    Open,
}

/// [`fwd`] on the tokens before `fin` alone: each step reads what `fwd` reads, and a token at `fin` or after is
/// [`Reading::Open`] (at the turn's end too: more may come).
fn fwd_known(elems: &[Elem], toks: &View, mut pos: usize, vars: &ScanVars, fin: usize) -> Reading {
    let Some((head, rest)) = elems.split_first() else {
        return Reading::Gives(pos);
    };
    match head {
        Elem::Gap => gap_known(rest, toks, pos, vars, fin),
        Elem::Var { id, gap } => match vars.value(*id) {
            None if *gap => gap_known(rest, toks, pos, vars, fin),
            None => Reading::Fails,
            Some(value) => {
                if pos >= fin {
                    return Reading::Open;
                }
                if ARTICLES.contains(&toks.tok(pos)) && value[0] != toks.tok(pos) {
                    pos += 1;
                }
                for (k, v) in value.iter().enumerate() {
                    if pos + k >= fin {
                        return Reading::Open;
                    }
                    if toks.tok(pos + k) != v {
                        return Reading::Fails;
                    }
                }
                fwd_known(rest, toks, pos + value.len(), vars, fin)
            }
        },
        Elem::Lit(_) if pos >= fin => Reading::Open,
        Elem::Lit(l) if toks.tok(pos) == l => fwd_known(rest, toks, pos + 1, vars, fin),
        Elem::Lit(_) => Reading::Fails,
    }
}

/// [`fwd_gap`] on the tokens before `fin` alone: the shortest gap that does not fail decides, once it is known.
fn gap_known(rest: &[Elem], toks: &View, pos: usize, vars: &ScanVars, fin: usize) -> Reading {
    for width in 1..=GAP_MAX_WORDS {
        if pos + width > fin {
            return Reading::Open;
        }
        match fwd_known(rest, toks, pos + width, vars, fin) {
            Reading::Fails => {}
            decided => return decided,
        }
    }
    Reading::Fails
}

fn back_gap(rest: &[Elem], toks: &View, end: usize, vars: &ScanVars) -> Option<usize> {
    for width in 1..=GAP_MAX_WORDS {
        if width > end {
            break;
        }
        if let Some(got) = back(rest, toks, end - width, vars) {
            return Some(got);
        }
    }
    None
}

/// Match `elems` so that they end just before token `end`; the start token index.
fn back(elems: &[Elem], toks: &View, end: usize, vars: &ScanVars) -> Option<usize> {
    let Some((head, rest)) = elems.split_last() else {
        return Some(end);
    };
    match head {
        Elem::Gap => back_gap(rest, toks, end, vars),
        Elem::Var { id, gap } => match vars.value(*id) {
            None => {
                if *gap {
                    back_gap(rest, toks, end, vars)
                } else {
                    None
                }
            }
            Some(value) => {
                if value.len() > end {
                    return None;
                }
                let start = end - value.len();
                if !toks.toks_equal(start, value) {
                    return None;
                }
                let got = back(rest, toks, start, vars);
                if got.is_none() && start > 0 && ARTICLES.contains(&toks.tok(start - 1)) {
                    return back(rest, toks, start - 1, vars); // "from the acme solar"
                }
                got
            }
        },
        Elem::Lit(l) => {
            if end >= 1 && toks.tok(end - 1) == l {
                back(rest, toks, end - 1, vars)
            } else {
                None
            }
        }
    }
}

/// Where an atom hit stands among the tokens, looked up once for all the templates anchored on it (about 30 share
/// the atom "dollars"): its first token, and the tokens where the literal before a gap may end ([`gap_literal_near`]).
struct AtomSite<'v> {
    tok: usize,
    /// tokens `tok - 2`, `tok - 3`, ... down to the first (at most [`GAP_MAX_WORDS`] of them: `before[..n]`)
    before: [&'v str; GAP_MAX_WORDS],
    n: usize,
}

impl<'v> AtomSite<'v> {
    /// The site of the atom hit at normalized byte `atom_start`; `None` for a view without tokens.
    fn at(view: &'v View, atom_start: usize) -> Option<AtomSite<'v>> {
        let tok = view.token_at(atom_start)?;
        let n = GAP_MAX_WORDS.min(tok.saturating_sub(1));
        let mut before = [""; GAP_MAX_WORDS];
        for (j, b) in before.iter_mut().enumerate().take(n) {
            *b = view.tok(tok - 2 - j);
        }
        Some(AtomSite { tok, before, n })
    }
}

/// Whether a template of the common shape `word * atom…` ("only * dollars": a literal, then a gap, then its atom)
/// has its literal one to [`GAP_MAX_WORDS`] tokens before the atom hit at `site`: exactly what [`back`] needs
/// before it can succeed there (`true` for any other shape). This test costs a few token compares, a verification
/// a token search and recursion.
#[inline]
fn gap_literal_near(t: &Template, site: &AtomSite<'_>) -> bool {
    let Some(anchor) = t.anchor else { return true };
    let (2.., Some(Elem::Gap), Some(Elem::Lit(l))) = (
        anchor,
        t.elems.get(anchor.wrapping_sub(1)),
        t.elems.get(anchor.wrapping_sub(2)),
    ) else {
        return true;
    };
    // `back_gap` tries widths 1..=GAP_MAX_WORDS (at most the atom's token index), and the literal must then end
    // just before the gap: at token `tok - 1 - width`, one of `before`
    site.before[..site.n].iter().any(|&b| b == l)
}

/// The template around an atom hit whose first token is `anchor_tok`: its normalized byte span, or `None`.
fn verify_template(t: &Template, view: &View, anchor_tok: usize, vars: &ScanVars) -> Option<(usize, usize)> {
    let anchor = t.anchor?;
    let toks = view;
    let first = back(&t.elems[..anchor], toks, anchor_tok, vars)?;
    let after = fwd(&t.elems[anchor + t.anchor_len..], toks, anchor_tok + t.anchor_len, vars)?;
    if after == first {
        return None;
    }
    Some(view.token_span(first, after))
}

/// A variable-led template with no literal atom: find the call's value of its first variable.
fn search_template(t: &Template, view: &View, vars: &ScanVars, out: &mut Vec<(usize, usize)>) {
    let Some(idx) = t.elems.iter().position(|e| matches!(e, Elem::Var { .. })) else {
        return;
    };
    let Elem::Var { id, .. } = t.elems[idx] else { return };
    let Some(value) = vars.value(id) else { return };
    let needle = value.join(" ");
    let text = view.nt.text.as_bytes();
    let toks = view;
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    let mut from = 0usize;
    // every occurrence, overlapping ones too (str.find from one past the last)
    while let Some(found) = finder.find(&text[from..]) {
        let pos = from + found;
        from = pos + 1;
        let stop = pos + needle.len();
        if (pos == 0 || text[pos - 1] == b' ') && (stop == text.len() || text[stop] == b' ') {
            let Some(anchor_tok) = view.token_at(pos) else { continue };
            let first = back(&t.elems[..idx], toks, anchor_tok, vars);
            let after = fwd(&t.elems[idx..], toks, anchor_tok, vars);
            if let (Some(first), Some(after)) = (first, after) {
                if after > first {
                    out.push(view.token_span(first, after));
                }
            }
        }
    }
}

// --------------------------------------------------------------------------------------------- scanning

/// What the automaton's earliest hits gave, kept by a streamed turn once no later text can change it.
#[derive(Debug, Default)]
pub struct Settled {
    /// `(phrase leaf, span)` in the order the hits gave them
    pub adds: Vec<(u32, Span)>,
    pub regex_due: Vec<bool>,
}

impl Settled {
    /// Nothing settled, in `self`'s buffers.
    pub fn cleared(mut self) -> Settled {
        self.adds.clear();
        self.regex_due.clear();
        self
    }
}

/// A regex match no later text changes: its normalized span and its original span.
type FinalMatch = ((usize, usize), (u32, u32));

/// A streamed turn's bounded regexes, resumed instead of rerun over the whole turn: per regex leaf, the point
/// `resume` before which its matches are final (`kept`, normalized spans) and no other match starts.
///
/// A regex whose matches are at most `max` bytes and never empty finds, searching on from a point where no match
/// is under way (the end of a match, or a point before which no match starts), what a search of the whole text
/// finds there: leftmost-first picks a match by its start and the text around it. Whether a match starts at `s`,
/// and which, reads `text[s - 1..s + max + 1]` (one byte either side for `\b`), so it is final once those bytes
/// are (`stable`: the normalized text before it never changes).
///
/// Whether a search changed the matches is told in the original text: a match that is not final may keep its
/// normalized span while the words it covers change ("123456 70" stays nine bytes when "seventy" becomes "seventy
/// eight", read "78"), and its original span then grows.
#[derive(Debug, Default)]
pub struct RegexCarry {
    /// the normalized text before this byte is final
    pub stable: usize,
    /// per regex leaf, where its search resumes and its final matches
    leaves: Vec<(usize, Vec<FinalMatch>)>,
    /// per regex leaf, the original spans of the matches the last search gave (kept and new), to tell whether a
    /// search changed them
    last: Vec<Vec<(u32, u32)>>,
    found: Vec<(u32, u32)>,
    /// normalized bytes the regexes searched (for tests that count work)
    pub searched_bytes: u64,
}

impl RegexCarry {
    /// The matches of `regex` (leaf `leaf`, matches of at most `max` bytes, never empty) in `text`, in order;
    /// returns whether they differ from what the last search of this leaf gave.
    fn run(&mut self, leaf: usize, regex: &Regex, max: usize, view: &View, emit: &mut dyn FnMut(usize, usize)) -> bool {
        if self.leaves.len() <= leaf {
            self.leaves.resize_with(leaf + 1, Default::default);
            self.last.resize_with(leaf + 1, Default::default);
        }
        let text = view.nt.text.as_str();
        let stable = self.stable.min(text.len());
        let (resume, kept) = &mut self.leaves[leaf];
        let found = &mut self.found;
        found.clear();
        let k0 = kept.len();
        for &((s, e), _) in kept.iter() {
            emit(s, e);
        }
        self.searched_bytes += text.len().saturating_sub(*resume) as u64;
        let mut pos = *resume;
        let mut pending = None; // the first match that is not final yet
        while pos < text.len() {
            let Some(m) = regex.find_at(text, pos) else { break };
            let original = view.to_original(m.start(), m.end());
            if pending.is_none() && m.start() + max < stable {
                kept.push(((m.start(), m.end()), original));
                *resume = m.end();
            } else {
                pending.get_or_insert(m.start());
            }
            found.push(original);
            emit(m.start(), m.end());
            pos = m.end();
        }
        // no match starts between `resume` and the pending one, and whether one does there is settled
        let quiet = pending.unwrap_or(text.len()).min(stable.saturating_sub(max + 1));
        if quiet > *resume {
            *resume = quiet;
        }
        let last = &mut self.last[leaf];
        let same = last.len() == k0 + found.len()
            && last[..k0].iter().zip(&kept[..k0]).all(|(a, k)| *a == k.1)
            && last[k0..] == found[..];
        if !same {
            last.clear();
            last.extend(kept[..k0].iter().map(|k| k.1));
            last.extend_from_slice(found);
        }
        !same
    }
}

/// Per-call scratch space for scans.
#[derive(Debug, Default)]
pub struct Scratch {
    hits: Vec<(usize, u32)>,
    regex_due: Vec<bool>,
    spans: Vec<(usize, usize)>,
    windows: Vec<(usize, usize)>,
}

impl Scratch {
    /// Scratch with room for a typical turn's automaton hits, so that a call's first turns do not grow it.
    pub fn with_room() -> Scratch {
        Scratch {
            hits: Vec::with_capacity(16),
            ..Scratch::default()
        }
    }
}

/// The phrase keys, template atoms and regex atoms as one byte automaton (standard semantics: every hit), for a
/// streamed turn, which carries its state from chunk to chunk and steps it over each chunk's new bytes only.
///
/// A dense DFA when it is small: a step is a byte-class lookup and one table read (about a tenth of the contiguous
/// NFA's, which walks sparse transitions and failure links). Its table has a row per state (at most one per key
/// byte) and a column per byte class, so many or long keys (a list of 100,000 blocked phrases) keep the NFA, whose
/// size grows with the keys alone.
#[derive(Debug)]
pub enum ByteAutomaton {
    Dfa(DFA),
    Nfa(NFA),
}

/// The largest dense table (bytes, estimated as states × byte classes × 4) built for streams.
const DFA_MAX_BYTES: usize = 4 << 20;

impl ByteAutomaton {
    fn build(keys: &[String]) -> Option<ByteAutomaton> {
        let states = 1 + keys.iter().map(String::len).sum::<usize>();
        let mut bytes = [false; 256];
        for k in keys {
            for &b in k.as_bytes() {
                bytes[b as usize] = true;
            }
        }
        let classes = 1 + bytes.iter().filter(|&&b| b).count();
        if states.saturating_mul(classes).saturating_mul(4) <= DFA_MAX_BYTES {
            if let Ok(dfa) = DFA::builder().match_kind(MatchKind::Standard).build(keys) {
                return Some(ByteAutomaton::Dfa(dfa));
            }
        }
        NFA::builder()
            .match_kind(MatchKind::Standard)
            .build(keys)
            .ok()
            .map(ByteAutomaton::Nfa)
    }
}

/// [`Matchers::carry_hits`] on one automaton, hits unsorted.
#[inline]
fn carry_on<A: Automaton>(
    a: &A,
    text: &[u8],
    from: usize,
    stop: usize,
    state: Option<u32>,
    hits: &mut Vec<(usize, u32)>,
) -> Option<(u32, u32)> {
    let mut sid = match state {
        Some(s) => StateID::new(s as usize).ok()?,
        None => a.start_state(Anchored::No).ok()?,
    };
    let mut step = |sid: StateID, from: usize, upto: usize| {
        let mut sid = sid;
        for (i, &b) in (from..).zip(&text[from..upto]) {
            sid = a.next_state(Anchored::No, sid, b);
            if a.is_match(sid) {
                for k in 0..a.match_len(sid) {
                    hits.push((i + 1, a.match_pattern(sid, k).as_u32()));
                }
            }
        }
        sid
    };
    if stop < from || stop > text.len() {
        step(sid, from, text.len());
        return None;
    }
    sid = step(sid, from, stop);
    let end = step(sid, stop, text.len());
    Some((sid.as_u32(), end.as_u32()))
}

/// The automaton's state after `bytes`, from `state`; `None` when a key an agent turn hears ends in them (`silent`:
/// [`Matchers::agent_silent`]).
#[inline]
fn step_without_hits<A: Automaton>(a: &A, silent: &[bool], state: u32, bytes: &[u8]) -> Option<u32> {
    let mut sid = StateID::new(state as usize).ok()?;
    for &b in bytes {
        sid = a.next_state(Anchored::No, sid, b);
        if a.is_match(sid) && (0..a.match_len(sid)).any(|k| !silent[a.match_pattern(sid, k).as_usize()]) {
            return None;
        }
    }
    Some(sid.as_u32())
}

impl Matchers {
    fn add_norm(&self, out: &mut Matches, owners: &[MatcherId], view: &View, start: usize, stop: usize) {
        let (s, e) = view.to_original(start, stop);
        let span = Span {
            start: s,
            end: e,
            kind: NO_KIND,
        };
        for &m in owners {
            out.add(m, span);
        }
    }

    /// Every match in one turn (see the module docstring) of the keys `keys` says: an agent turn's scan drops the
    /// keys only caller turns read ([`Matchers::agent_silent`]). `out` is cleared first.
    #[allow(clippy::too_many_arguments)]
    pub fn scan(
        &self,
        keys: Keys,
        view: &View,
        vars: &ScanVars,
        out: &mut Matches,
        scratch: &mut Scratch,
        tracer: Option<&mut Tracer>,
    ) -> PyResult<()> {
        scratch.hits.clear();
        if !view.nt.text.is_empty() {
            self.whole_turn_hits(view, &mut scratch.hits);
            if keys == Keys::Agent {
                scratch.hits.retain(|&(_, p)| !self.agent_silent[p as usize]);
            }
        }
        let hits = std::mem::take(&mut scratch.hits);
        let got = self.scan_hits(view, vars, None, None, &hits, None, out, scratch, tracer);
        scratch.hits = hits;
        got
    }

    /// The automaton's hits in a whole turn, for [`Matchers::process_hits`]: the phrase keys' word-aligned hits in
    /// the byte automaton's order (by end, longer keys first), then the regex atoms' hits as atom patterns (which
    /// only mark regexes due, so their order does not matter). A key's hits that are not word-aligned are not
    /// there: `process_hits` would drop them.
    fn whole_turn_hits(&self, view: &View, hits: &mut Vec<(usize, u32)>) {
        let text = &view.nt.text;
        let by_words = match &self.words {
            Some(words) => words.hits(&view.nt, hits),
            None => !self.payloads[..self.keys.len()]
                .iter()
                .any(|p| p.iter().any(|p| !p.is_regex)),
        };
        if !by_words {
            // a token with a space, or keys that are not words: the byte automaton, every key
            self.carry_hits(text.as_bytes(), 0, text.len(), None, hits);
            return;
        }
        if let Some(atoms) = &self.atoms {
            atoms.hits(text.as_bytes(), self.keys.len() as u32, hits);
        }
    }

    /// Automaton patterns: phrase keys, template atoms and regex atoms, deduplicated.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Heap bytes of the whole-turn automata (over words and over regex atoms).
    pub fn automaton_bytes(&self) -> usize {
        self.words.as_ref().map_or(0, WordAutomaton::memory_usage)
            + self.atoms.as_ref().map_or(0, AtomAutomaton::memory_usage)
    }

    /// Heap bytes of the automaton a stream carries (0: none).
    pub fn stream_automaton_bytes(&self) -> usize {
        match &self.nfa {
            Some(ByteAutomaton::Dfa(a)) => a.memory_usage(),
            Some(ByteAutomaton::Nfa(a)) => a.memory_usage(),
            None => 0,
        }
    }

    /// The automaton a stream carries (see `nfa`).
    pub fn nfa(&self) -> Option<&ByteAutomaton> {
        self.nfa.as_ref()
    }

    /// The automaton's hits in `text[from..]` (ends are offsets in `text`), resuming from `state` (the state after
    /// `text[..from]`; `None`: the start); returns the states after `text[..stop]` (`stop >= from`) and after all
    /// of `text`. Hits at one end come longer keys first, as [`Matchers::scan`] orders them.
    pub fn carry_hits(
        &self,
        text: &[u8],
        from: usize,
        stop: usize,
        state: Option<u32>,
        hits: &mut Vec<(usize, u32)>,
    ) -> Option<(u32, u32)> {
        let first = hits.len();
        let at_stop = match self.nfa()? {
            ByteAutomaton::Dfa(a) => carry_on(a, text, from, stop, state, hits),
            ByteAutomaton::Nfa(a) => carry_on(a, text, from, stop, state, hits),
        }?;
        let lens = &self.pattern_len;
        hits[first..].sort_unstable_by_key(|&(end, p)| (end, std::cmp::Reverse(lens[p as usize])));
        Some(at_stop)
    }

    /// The automaton's state after `bytes` of an agent turn, resuming from `state` (one [`Matchers::carry_hits`]
    /// returned); `None` when a key the turn hears ([`Matchers::agent_silent`]) ends in them (or there is no
    /// automaton).
    #[inline]
    pub fn step_without_hits(&self, state: u32, bytes: &[u8]) -> Option<u32> {
        let silent = &self.agent_silent;
        match self.nfa()? {
            ByteAutomaton::Dfa(a) => step_without_hits(a, silent, state, bytes),
            ByteAutomaton::Nfa(a) => step_without_hits(a, silent, state, bytes),
        }
    }

    /// Mark the automaton patterns an agent turn's scan drops ([`Matchers::agent_silent`]): those whose payloads
    /// are all phrase leaves of matchers that `agent_reads` says no agent turn reads. A regex atom is never silent
    /// (a regex leaf may be personal data that an agent turn's text is redacted by).
    pub fn silence_for_agents(&mut self, agent_reads: &[bool]) {
        let phrases = &self.phrases;
        self.agent_silent = (self.payloads.iter())
            .map(|ps| {
                !ps.is_empty()
                    && ps.iter().all(|p| {
                        !p.is_regex
                            && phrases[p.leaf as usize]
                                .owners
                                .iter()
                                .all(|&m| !agent_reads[m as usize])
                    })
            })
            .collect();
    }

    /// What the automaton's hits `hits` give: `emit(phrase leaf, span)` for each phrase (a template verified around
    /// its atom), and the regexes whose atoms hit marked due.
    pub fn process_hits(
        &self,
        view: &View,
        vars: &ScanVars,
        hits: &[(usize, u32)],
        regex_due: &mut [bool],
        mut tracer: Option<&mut Tracer>,
        emit: &mut dyn FnMut(u32, Span),
    ) {
        let text = view.nt.text.as_bytes();
        let n = text.len();
        for &(stop, pattern) in hits {
            let ends_word = stop == n || text[stop] == b' ';
            // the site of the hit's atom, once a template asks (its payloads are one key's: one length, one start)
            let mut site: Option<Option<AtomSite<'_>>> = None;
            for p in &self.payloads[pattern as usize] {
                if p.is_regex {
                    regex_due[p.leaf as usize] = true;
                    continue;
                }
                let start = stop - p.len as usize;
                if !ends_word || (start > 0 && text[start - 1] != b' ') {
                    continue;
                }
                let leaf = &self.phrases[p.leaf as usize];
                let found = match &leaf.template {
                    None => Some((start, stop)),
                    Some(t) => match site.get_or_insert_with(|| AtomSite::at(view, start)) {
                        Some(s) if gap_literal_near(t, s) => verify_template(t, view, s.tok, vars),
                        _ => None,
                    },
                };
                if let Some(tr) = tracer.as_deref_mut() {
                    tr.push(match found {
                        Some(_) => Event::Candidate {
                            leaf: p.leaf,
                            start: start as u32,
                            end: stop as u32,
                        },
                        None => Event::TemplateRejected {
                            leaf: p.leaf,
                            start: start as u32,
                            end: stop as u32,
                        },
                    });
                }
                if let Some((s, e)) = found {
                    let (s, e) = view.to_original(s, e);
                    emit(
                        p.leaf,
                        Span {
                            start: s,
                            end: e,
                            kind: NO_KIND,
                        },
                    );
                }
            }
        }
    }

    /// How many tokens after its last one a hit of automaton pattern `pattern` may read, given the longest variable
    /// value (in tokens). A streamed turn settles each hit as soon as the tokens it may read are final.
    ///
    /// 0 for a plain phrase or a regex atom: [`Matchers::process_hits`] reads the hit's own bytes, the byte before
    /// it and the byte after it, and after a final token that is a space or the text's end whatever text follows
    /// (the normalized text is its tokens joined by single spaces), which it reads alike. A template anchored on it
    /// reads the tokens its elements may take after the atom, plus one (what it reads before its atom is earlier
    /// text).
    pub fn hit_reach(&self, pattern: u32, longest_value: usize) -> usize {
        self.payloads[pattern as usize]
            .iter()
            .filter(|p| !p.is_regex)
            .filter_map(|p| self.phrases[p.leaf as usize].template.as_ref()?.reach_term())
            .map(|(fixed, n)| 1 + fixed + n * longest_value)
            .max()
            .unwrap_or(0)
    }

    /// Whether what the hit of `pattern` ending at normalized byte `stop` (in token `last_tok`) gives is known from
    /// the tokens before `fin` alone, before its [`Matchers::hit_reach`] is final: its own tokens are before `fin`,
    /// and every template anchored on it fails or matches there whatever the tokens from `fin` on are (most of a
    /// streamed turn's pending hits: "with" followed by "your" can no longer be "with {business_name}"). What it
    /// reads before its atom is earlier text, known too.
    pub fn hit_decided(
        &self,
        view: &View,
        vars: &ScanVars,
        stop: usize,
        pattern: u32,
        last_tok: usize,
        fin: usize,
    ) -> bool {
        // the atom's first token, once a template asks (the payloads are one key's: one length, one start)
        let mut atom_tok = None;
        last_tok < fin
            && self.payloads[pattern as usize].iter().all(|p| {
                if p.is_regex {
                    return true; // a regex's atom: its own tokens
                }
                let Some(t) = &self.phrases[p.leaf as usize].template else {
                    return true; // a plain phrase: its own tokens
                };
                // where `verify_template` reads on from
                let at = *atom_tok.get_or_insert_with(|| view.token_at(stop - p.len as usize));
                let (Some(anchor), Some(anchor_tok)) = (t.anchor, at) else {
                    return false;
                };
                let after = anchor_tok + t.anchor_len;
                fwd_known(&t.elems[anchor + t.anchor_len..], view, after, vars, fin) != Reading::Open
            })
    }

    /// Whether the regexes marked in `due` find what they found at the last search, searching on (a stream's,
    /// [`RegexCarry`]); `false` when one of them cannot be resumed (it is unbounded or may match empty).
    pub fn regexes_unchanged(&self, due: &[bool], view: &View, carry: &mut RegexCarry) -> bool {
        let mut unchanged = true;
        for (leaf, r) in self.regexes.iter().enumerate() {
            if !due.get(leaf).copied().unwrap_or(false) {
                continue;
            }
            match r.max_len {
                Some(max) if r.never_empty => unchanged &= !carry.run(leaf, &r.regex, max, view, &mut |_, _| {}),
                _ => return false,
            }
        }
        unchanged
    }

    /// Whether every regex marked in `due` can be resumed ([`RegexCarry`]).
    pub fn regexes_resume(&self, due: &[bool]) -> bool {
        self.regexes
            .iter()
            .zip(due)
            .all(|(r, &d)| !d || (r.max_len.is_some() && r.never_empty))
    }

    /// The longest variable value, in tokens (what a template's variable may read).
    pub fn longest_value(vars: &ScanVars) -> usize {
        vars.tokens.iter().flatten().map(Vec::len).max().unwrap_or(0)
    }

    /// Every match in one turn given the automaton's hits in its normalized text (sorted by end, longer keys first
    /// at one end). `out` is cleared first.
    #[allow(clippy::too_many_arguments)]
    pub fn scan_hits(
        &self,
        view: &View,
        vars: &ScanVars,
        settled: Option<&Settled>,
        mut regex_carry: Option<&mut RegexCarry>,
        hits: &[(usize, u32)],
        dets: Option<&[Vec<Hit>]>,
        out: &mut Matches,
        scratch: &mut Scratch,
        mut tracer: Option<&mut Tracer>,
    ) -> PyResult<()> {
        out.clear();
        if let Some(t) = tracer.as_deref_mut() {
            t.scan_start = t.events.len();
        }
        let text = view.nt.text.as_bytes();
        if text.is_empty() {
            return Ok(());
        }
        scratch.regex_due.clear();
        scratch.regex_due.resize(self.regexes.len(), false);
        if let Some(done) = settled {
            for &(leaf, span) in &done.adds {
                for &m in &self.phrases[leaf as usize].owners {
                    out.add(m, span);
                }
            }
            for (due, &was) in scratch.regex_due.iter_mut().zip(&done.regex_due) {
                *due |= was;
            }
        }
        let mut due = std::mem::take(&mut scratch.regex_due);
        self.process_hits(view, vars, hits, &mut due, tracer.as_deref_mut(), &mut |leaf, span| {
            for &m in &self.phrases[leaf as usize].owners {
                out.add(m, span);
            }
        });
        scratch.regex_due = due;
        for &leaf in &self.atomless {
            let pl = &self.phrases[leaf as usize];
            if let Some(t) = &pl.template {
                scratch.spans.clear();
                search_template(t, view, vars, &mut scratch.spans);
                for i in 0..scratch.spans.len() {
                    let (s, e) = scratch.spans[i];
                    self.add_norm(out, &pl.owners, view, s, e);
                }
            }
        }
        for &leaf in &self.always_regexes {
            scratch.regex_due[leaf as usize] = true;
        }
        for (leaf, r) in self.regexes.iter().enumerate() {
            if !scratch.regex_due[leaf] {
                continue;
            }
            if let Some(t) = tracer.as_deref_mut() {
                t.push(Event::RegexRan { leaf: leaf as u32 });
            }
            match (regex_carry.as_deref_mut(), r.max_len) {
                (Some(carry), Some(max)) if r.never_empty => {
                    carry.run(leaf, &r.regex, max, view, &mut |s, e| {
                        self.add_norm(out, &r.owners, view, s, e)
                    });
                }
                (None, _) if settled.is_none() && !r.always && r.window.is_some() => {
                    // a whole turn: only around the atoms' hits (every match contains one, see `atomwindow`)
                    let text = &view.nt.text;
                    let around = hits.iter().flat_map(|&(stop, pattern)| {
                        self.payloads[pattern as usize]
                            .iter()
                            .filter(|p| p.is_regex && p.leaf as usize == leaf)
                            .map(move |p| (stop, p.len as usize))
                    });
                    let mut windows = std::mem::take(&mut scratch.windows);
                    super::atomwindow::windows(text, r.window.unwrap_or(0), around, &mut windows);
                    super::atomwindow::find_in_windows(&r.regex, text, &windows, |s, e| {
                        self.add_norm(out, &r.owners, view, s, e)
                    });
                    scratch.windows = windows;
                }
                (carry, _) => {
                    if let Some(c) = carry {
                        c.searched_bytes += view.nt.text.len() as u64; // an unbounded regex: the whole turn again
                    }
                    for m in r.regex.find_iter(&view.nt.text) {
                        if m.end() > m.start() {
                            self.add_norm(out, &r.owners, view, m.start(), m.end());
                        }
                    }
                }
            }
        }
        match dets {
            Some(hits) => self.add_detector_hits(hits, out),
            None => self.detect(view, vars, out, tracer)?,
        }
        out.finish();
        Ok(())
    }

    /// The detector leaves' hits alone (what storage redaction needs), into `out` (cleared first).
    pub fn scan_detectors(&self, view: &View, vars: &ScanVars, out: &mut Matches) -> PyResult<()> {
        out.clear();
        if !view.nt.text.is_empty() {
            self.detect(view, vars, out, None)?;
        }
        out.finish();
        Ok(())
    }

    fn detect(&self, view: &View, vars: &ScanVars, out: &mut Matches, tracer: Option<&mut Tracer>) -> PyResult<()> {
        if self.detectors.is_empty() {
            return Ok(());
        }
        let Some(t) = tracer else {
            // the gate's path: spans straight into `out`, as `add_detector_hits` adds them, nothing collected
            let mut pre = crate::text::detectors::Precheck::new(&view.nt);
            if pre.any(&view.nt) {
                crate::engine::native::detect_each_checked(&view.nt, self.requests_iter(vars), pre, |i, h| {
                    add_detector_hit(&self.detectors[i], h, out)
                });
            }
            return Ok(());
        };
        // explained: the detectors' own preconditions (looser where a detector says why it rejects a candidate)
        let (hits, rejected) = crate::engine::native::detect_many_explained(&view.nt, &self.requests(vars))?;
        for r in rejected {
            t.push(Event::ValidatorRejected {
                detector: r.kind,
                start: r.start as u32,
                end: r.end as u32,
                check: r.check,
            });
        }
        self.add_detector_hits(&hits, out);
        Ok(())
    }

    /// What the detector leaves ask for: their kinds and the call's exempt values.
    fn requests<'a>(&'a self, vars: &'a ScanVars) -> Vec<(DetKind, &'a [String])> {
        self.requests_iter(vars).collect()
    }

    /// [`Matchers::requests`], one by one.
    fn requests_iter<'a>(
        &'a self,
        vars: &'a ScanVars,
    ) -> impl ExactSizeIterator<Item = (DetKind, &'a [String])> + Clone + 'a {
        self.detectors
            .iter()
            .enumerate()
            .map(|(i, d)| (d.kind, vars.exempt.get(i).map(Vec::as_slice).unwrap_or(&[])))
    }

    /// The detector leaves' hits in `nt`, the preconditions already looked at (a stream's, see
    /// [`crate::text::detectors::Precheck::of_text`]), each hit handed to `emit(leaf index, hit)`, leaf by leaf:
    /// nothing collected (a stream looks on most updates while a number is written).
    pub fn detector_each_checked(
        &self,
        nt: &crate::text::NormalizedText,
        vars: &ScanVars,
        pre: crate::text::detectors::Precheck,
        emit: impl FnMut(usize, Hit),
    ) {
        if pre.any_may() {
            crate::engine::native::detect_each_checked(nt, self.requests_iter(vars), pre, emit);
        }
    }

    /// Adds the detector leaves' hits (leaf by leaf) to `out`.
    pub fn add_detector_hits(&self, hits: &[Vec<Hit>], out: &mut Matches) {
        for (d, found) in self.detectors.iter().zip(hits.iter()) {
            for &h in found {
                add_detector_hit(d, h, out);
            }
        }
    }
}

/// Adds one hit of detector leaf `d` to `out`, for each matcher that owns the leaf.
#[inline]
fn add_detector_hit(d: &DetectorLeaf, h: Hit, out: &mut Matches) {
    let span = Span {
        start: h.start,
        end: h.end,
        kind: d.kind.code(),
    };
    for &m in &d.owners {
        out.add(m, span);
    }
}

#[cfg(test)]
mod tests {
    /// Which regexes plain words after a text can neither end nor change: those whose every match ends in a
    /// character other than a lower-case letter or a space and that do not ask where the text ends (the packs'
    /// account number and birth date patterns among them).
    #[test]
    fn ends_off_words_reads_the_last_character_of_every_match() {
        let ends = |p: &str| super::ends_off_words(&regex_syntax::parse(p).unwrap());
        for p in [
            r"account (?:number |no |num )?(?:is |of )?(?:\d[ -]?){5,16}\d",
            r"\b(?:\d\d? \d\d? (?:190|200)\d|(?:190|200)\d \d\d? \d\d?)\b",
            r"\d\b",
            r"[A-Z]{2}-\d+",
            r"code \d{4}\.",
        ] {
            assert!(ends(p), "{p}");
        }
        for p in [
            r"\d+$",
            r"(?m)\d$",
            r"\d\z",
            r"hello",
            r"\d[a-z]?",
            r"\d ?",
            r"x|\d",
            r"\d\w*",
            r"(?i)\dX",
            r"",
            r"\d[^0-9]",
        ] {
            assert!(!ends(p), "{p}");
        }
    }

    use super::*;

    fn span(start: u32) -> Span {
        Span {
            start,
            end: start + 1,
            kind: NO_KIND,
        }
    }

    /// Whatever tokens follow the known ones, `fwd` gives what `fwd_known` said it gives (`Fails`: nothing;
    /// `Gives(i)`: `i`), for templates' element lists after an atom (literals, gaps, variables set and unset, an
    /// article before a value) over every text of up to 4 known tokens and 3 more from a small vocabulary.
    #[test]
    fn fwd_known_is_what_fwd_gives_whatever_follows() {
        let lit = |w: &str| Elem::Lit(w.to_string());
        let (set, unset) = (0, 1);
        let elem_lists = [
            vec![Elem::Gap, lit("results")],
            vec![lit("results")],
            vec![lit("ok"), Elem::Gap, lit("results")],
            vec![Elem::Var { id: set, gap: false }],
            vec![Elem::Var { id: set, gap: false }, lit("ok")],
            vec![Elem::Gap, Elem::Var { id: set, gap: false }],
            vec![Elem::Var { id: unset, gap: false }],
            vec![Elem::Var { id: unset, gap: true }, lit("results")],
        ];
        let vars = ScanVars {
            tokens: vec![Some(vec!["acme".to_string(), "solar".to_string()]), None],
            exempt: Vec::new(),
        };
        let vocab = ["the", "acme", "solar", "results", "ok"];
        let texts = |n: usize| {
            (0..vocab.len().pow(n as u32)).map(move |mut k| {
                (0..n)
                    .map(|_| {
                        let w = vocab[k % vocab.len()];
                        k /= vocab.len();
                        w
                    })
                    .collect::<Vec<_>>()
            })
        };
        let (mut decided, mut open) = (0, 0);
        for known in (0..=4).flat_map(texts) {
            let view = View::of(&known.join(" "));
            let readings: Vec<_> = elem_lists
                .iter()
                .map(|elems| fwd_known(elems, &view, 0, &vars, known.len()))
                .collect();
            for more in (0..=3).flat_map(texts) {
                let words = [&known[..], &more[..]].concat();
                let whole = View::of(&words.join(" "));
                assert!(whole.nt.tokens().eq(words.iter().copied())); // each word is its own token
                for (elems, reading) in elem_lists.iter().zip(&readings) {
                    let got = fwd(elems, &whole, 0, &vars);
                    match reading {
                        Reading::Fails => assert_eq!(got, None, "{known:?} + {more:?}: {elems:?}"),
                        Reading::Gives(i) => assert_eq!(got, Some(*i), "{known:?} + {more:?}: {elems:?}"),
                        Reading::Open => {}
                    }
                }
            }
            decided += readings.iter().filter(|r| **r != Reading::Open).count();
            open += readings.iter().filter(|r| **r == Reading::Open).count();
        }
        // most readings are decided; an always-open `fwd_known` would pass the loop above
        assert!(decided > 4 * open, "decided {decided}, open {open}");
    }

    #[test]
    fn a_reused_match_set_starts_empty_and_fills_like_a_new_one() {
        let mut used = Matches::reused(10);
        for (mid, start) in [(3, 0), (7, 2), (3, 4), (9, 1)] {
            used.add(mid, span(start));
        }
        used.give_back();
        // a call of another engine (fewer matchers) takes the buffers back
        let mut reused = Matches::reused(5);
        let mut fresh = Matches::new(5);
        assert!(reused.is_empty() && (0..5).all(|m| !reused.contains(m) && reused.get(m).is_none()));
        assert!(!reused.contains(9) && reused.get(7).is_none());
        for (mid, start) in [(4, 8), (1, 3), (4, 9)] {
            reused.add(mid, span(start));
            fresh.add(mid, span(start));
        }
        assert!(reused.same_as(&fresh));
        assert_eq!(reused.get(4), Some(&[span(8), span(9)][..]));
    }
}
