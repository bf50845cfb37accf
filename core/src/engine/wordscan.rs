//! The whole-turn automaton over words: the phrase keys as an Aho-Corasick automaton whose alphabet is the words of
//! the keys, run over a turn's normalized tokens.
//!
//! **Why over words.** A phrase only counts where it starts and ends on a word boundary of the normalized text
//! ([`super::scan::Matchers::process_hits`] drops every other hit), and the normalized text is its tokens joined by
//! single spaces, as a key is its words. So the hits a byte automaton gives that are kept are exactly the runs of
//! consecutive tokens equal to a key's words. Stepping once per token instead of once per byte costs a hash probe
//! and a short edge search per word instead of a walk through a 170 KB byte automaton per character, and a token
//! that is in no key (most of them) sends the automaton to its root without touching any state.
//!
//! The hits come in the byte automaton's order once sorted as [`super::scan::Matchers::scan`] sorts them: by end,
//! then longer keys first (the keys ending at one token are the current state's and those down its dictionary
//! links, each shorter than the one before).
//!
//! **The assumption, checked.** A token never holds a space (the normalizer splits on whitespace). Were one to,
//! a key could match across it byte-wise; [`WordAutomaton::hits`] then returns `false` and the caller scans bytes.
//! (Such a token is in no key's words, so only tokens that are not are looked at.)
//!
//! Regex atoms are not word-aligned (`190` inside `1990`): they stay a small byte automaton of their own, which only
//! marks their regexes due.

use crate::swar;
use crate::text::NormalizedText;

const ROOT: u32 = 0;
const NONE: u32 = u32::MAX;
/// Edge lists longer than this are binary-searched.
const LINEAR_EDGES: usize = 8;

/// A word of the vocabulary: its first (up to) eight bytes, little-endian, zero-padded; its length; its id.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    head: u64,
    len: u32,
    id: u32,
}

/// One state: its edges `edges[first..first + count]` (sorted by word), its failure state, the key that ends here
/// (`NONE` if none) and the next state down the failure chain where a key ends (`NONE` if none).
#[derive(Debug, Clone, Copy)]
struct State {
    first: u32,
    count: u32,
    fail: u32,
    key: u32,
    out_link: u32,
}

/// The phrase keys as a word-level Aho-Corasick automaton (see the module docstring).
#[derive(Debug)]
pub struct WordAutomaton {
    /// open addressing by [`slot_of`], a power of two long; `len == 0` marks an empty slot (words are never empty)
    slots: Vec<Slot>,
    /// `slots.len() == 1 << bits`
    bits: u32,
    /// the bytes of each word after its first eight (compared only for longer words)
    tails: Vec<Box<[u8]>>,
    /// per word: the state the root goes to on it (`ROOT` when no key starts with it)
    root_next: Vec<u32>,
    states: Vec<State>,
    /// `(word, next state)`, grouped by state
    edges: Vec<(u32, u32)>,
}

/// The slot of a word in a table of `1 << bits` slots: the product's high bits (its low bits depend only on the
/// word's first bytes).
#[inline(always)]
fn slot_of(head: u64, len: usize, bits: u32) -> usize {
    ((head ^ (len as u64).rotate_right(8)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

/// The first (up to) eight bytes of `text[s..e]`, little-endian, zero-padded.
#[inline(always)]
fn head_of(text: &[u8], s: usize, e: usize) -> u64 {
    let len = e - s;
    if s + 8 <= text.len() {
        let x = swar::load(&text[s..s + 8]);
        if len >= 8 {
            x
        } else {
            x & ((1u64 << (8 * len)) - 1)
        }
    } else {
        let mut x = 0u64;
        for (k, &b) in text[s..e.min(s + 8)].iter().enumerate() {
            x |= (b as u64) << (8 * k);
        }
        x
    }
}

/// Whether a [`head_of`] holds a space (its padding bytes are zero, not spaces).
#[inline(always)]
fn has_space(head: u64) -> bool {
    swar::bytes_equal(head, b' ') != 0
}

/// The index of the first of the eight bytes of `x` (little-endian) that is one of `bytes`; 8 when none is.
#[inline(always)]
fn first_of(x: u64, bytes: [u8; 3]) -> usize {
    let found = swar::bytes_equal(x, bytes[0]) | swar::bytes_equal(x, bytes[1]) | swar::bytes_equal(x, bytes[2]);
    (found.trailing_zeros() / 8) as usize
}

impl WordAutomaton {
    /// The automaton of `keys` (`(key id, key)`, distinct keys); `None` when there are none, or when a key is not
    /// words joined by single spaces.
    pub fn build<'a>(keys: impl IntoIterator<Item = (u32, &'a str)>) -> Option<WordAutomaton> {
        use std::collections::HashMap;
        let mut vocab: HashMap<&'a str, u32> = HashMap::new();
        let mut words: Vec<&'a str> = Vec::new();
        // the trie: per state its children by word; its key
        let mut children: Vec<HashMap<u32, u32>> = vec![HashMap::new()];
        let mut key_at: Vec<u32> = vec![NONE];
        let mut any = false;
        for (id, key) in keys {
            if key.is_empty() || key.split(' ').any(str::is_empty) {
                return None; // not words joined by single spaces: let the byte automaton have it
            }
            any = true;
            let mut s = ROOT;
            for w in key.split(' ') {
                let wid = *vocab.entry(w).or_insert_with(|| {
                    words.push(w);
                    (words.len() - 1) as u32
                });
                s = match children[s as usize].get(&wid) {
                    Some(&n) => n,
                    None => {
                        let n = children.len() as u32;
                        children.push(HashMap::new());
                        key_at.push(NONE);
                        children[s as usize].insert(wid, n);
                        n
                    }
                };
            }
            key_at[s as usize] = id;
        }
        if !any {
            return None;
        }
        // the vocabulary's hash table, at most half full: most tokens are in no key, and a miss probes on to an
        // empty slot (four slots a cache line, so mostly within the line it starts in). A quarter full doubled the
        // table (64 KB for the built-in packs) and a turn's probes, each a random line, were what the competitors
        // in trace bench evicted most.
        let size = (words.len() * 2).next_power_of_two().max(16);
        let bits = size.trailing_zeros();
        let mut slots = vec![Slot::default(); size];
        let mut tails = Vec::with_capacity(words.len());
        for (id, w) in words.iter().enumerate() {
            let b = w.as_bytes();
            let head = head_of(b, 0, b.len());
            let mut i = slot_of(head, b.len(), bits);
            while slots[i].len != 0 {
                i = (i + 1) & (size - 1);
            }
            slots[i] = Slot {
                head,
                len: b.len() as u32,
                id: id as u32,
            };
            tails.push(b.get(8..).unwrap_or(&[]).to_vec().into_boxed_slice());
        }
        // flat states and sorted edges
        let mut states = Vec::with_capacity(children.len());
        let mut edges = Vec::new();
        for (s, ch) in children.iter().enumerate() {
            let mut list: Vec<(u32, u32)> = ch.iter().map(|(&w, &n)| (w, n)).collect();
            list.sort_unstable();
            states.push(State {
                first: edges.len() as u32,
                count: list.len() as u32,
                fail: ROOT,
                key: key_at[s],
                out_link: NONE,
            });
            edges.extend(list);
        }
        let mut root_next = vec![ROOT; words.len()];
        for &(w, n) in &edges[..states[0].count as usize] {
            root_next[w as usize] = n;
        }
        let mut wa = WordAutomaton {
            slots,
            bits,
            tails,
            root_next,
            states,
            edges,
        };
        // failure and dictionary links, breadth first
        let mut queue = std::collections::VecDeque::new();
        for k in 0..wa.states[0].count as usize {
            let n = wa.edges[k].1;
            queue.push_back(n);
        }
        while let Some(s) = queue.pop_front() {
            let st = wa.states[s as usize];
            for k in st.first as usize..(st.first + st.count) as usize {
                let (w, child) = wa.edges[k];
                let fail = wa.step(st.fail, w);
                let f = &wa.states[fail as usize];
                let out_link = if f.key != NONE { fail } else { f.out_link };
                let c = &mut wa.states[child as usize];
                c.fail = fail;
                c.out_link = out_link;
                queue.push_back(child);
            }
        }
        Some(wa)
    }

    /// The word id of `text[s..e]`, whose [`head_of`] is `head`.
    #[inline(always)]
    fn word(&self, text: &[u8], s: usize, e: usize, head: u64) -> Option<u32> {
        let len = e - s;
        let slots = &self.slots[..];
        let mask = slots.len() - 1;
        let mut i = slot_of(head, len, self.bits);
        loop {
            let slot = &slots[i & mask];
            if slot.len == 0 {
                return None;
            }
            if slot.head == head
                && slot.len as usize == len
                && (len <= 8 || *self.tails[slot.id as usize] == text[s + 8..e])
            {
                return Some(slot.id);
            }
            i = (i + 1) & mask;
        }
    }

    /// The child of `s` on word `w`.
    #[inline(always)]
    fn child(&self, s: u32, w: u32) -> Option<u32> {
        let st = &self.states[s as usize];
        let edges = &self.edges[st.first as usize..(st.first + st.count) as usize];
        if edges.len() <= LINEAR_EDGES {
            edges.iter().find(|e| e.0 == w).map(|e| e.1)
        } else {
            edges.binary_search_by_key(&w, |e| e.0).ok().map(|k| edges[k].1)
        }
    }

    /// The state after `s` reads word `w`.
    #[inline]
    fn step(&self, mut s: u32, w: u32) -> u32 {
        loop {
            if s == ROOT {
                return self.root_next[w as usize];
            }
            if let Some(n) = self.child(s, w) {
                return n;
            }
            s = self.states[s as usize].fail;
        }
    }

    /// Pushes `(end, key id)` for every run of consecutive tokens of `nt` that equals a key, in order of end, longer
    /// keys first at one end. `false` (with `hits` as it was) when a token holds a space (see the module docstring).
    pub fn hits(&self, nt: &NormalizedText, hits: &mut Vec<(usize, u32)>) -> bool {
        let first = hits.len();
        let text = nt.text.as_bytes();
        let root_next = &self.root_next[..];
        let mut s = ROOT;
        for (&a, &b) in nt.norm_starts.iter().zip(&nt.norm_ends) {
            let head = head_of(text, a, b);
            s = match self.word(text, a, b, head) {
                // no word of a key holds a space, so a token with one is checked only here
                None if has_space(head) || (b - a > 8 && text[a + 8..b].contains(&b' ')) => {
                    hits.truncate(first);
                    return false;
                }
                None => ROOT,
                Some(w) if s == ROOT => root_next[w as usize],
                Some(w) => self.step(s, w),
            };
            if s == ROOT {
                continue;
            }
            let st = &self.states[s as usize];
            let mut k = if st.key != NONE { s } else { st.out_link };
            while k != NONE {
                let st = &self.states[k as usize];
                hits.push((b, st.key));
                k = st.out_link;
            }
        }
        true
    }

    /// Heap bytes (its cache footprint).
    pub fn memory_usage(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>()
            + self
                .tails
                .iter()
                .map(|t| t.len() + std::mem::size_of::<Box<[u8]>>())
                .sum::<usize>()
            + self.root_next.len() * 4
            + self.states.len() * std::mem::size_of::<State>()
            + self.edges.len() * 8
    }
}

/// The regex atoms as a dense byte DFA: one class-table load and one transition load per byte.
///
/// It is tabulated from the `aho-corasick` crate's own automaton (the transitions of every state reachable from the
/// start, per byte class), so it finds what that automaton's overlapping search finds. A byte that is in no atom
/// takes every state where it takes the start state (no atom's prefix ends in it), so such bytes share one class.
#[derive(Debug)]
pub struct AtomAutomaton {
    class: [u8; 256],
    classes: usize,
    /// per state (premultiplied by `classes`) and class: the next state, premultiplied
    trans: Vec<u32>,
    /// states from this one (premultiplied) on are match states
    first_match: u32,
    /// per match state (`(id - first_match) / classes`): its atoms (automaton pattern ids)
    out: Vec<Vec<u32>>,
    /// the bytes that take the start state elsewhere, when there are at most three (`None`: more): from the start
    /// state, eight bytes at a time are skipped while none of them is one
    start_bytes: Option<[u8; 3]>,
}

impl AtomAutomaton {
    /// The automaton of `atoms` (distinct, non-empty); `None` when there are none or the crate cannot build them.
    pub fn build(atoms: &[&str]) -> Option<AtomAutomaton> {
        use aho_corasick::automaton::{Automaton, StateID};
        use aho_corasick::{nfa::noncontiguous::NFA, Anchored, MatchKind};
        if atoms.is_empty() {
            return None;
        }
        let nfa = NFA::builder().match_kind(MatchKind::Standard).build(atoms).ok()?;
        let mut class = [0u8; 256];
        let mut reps = vec![0u8]; // a byte of class 0 (in no atom), if there is one
        for a in atoms {
            for &b in a.as_bytes() {
                if class[b as usize] == 0 {
                    class[b as usize] = reps.len() as u8;
                    reps.push(b);
                }
                if reps.len() > 255 {
                    return None;
                }
            }
        }
        if let Some(b) = (0..=255u8).find(|&b| class[b as usize] == 0) {
            reps[0] = b;
        }
        let classes = reps.len();
        // the reachable states, breadth first; then numbered with the match states last
        let start = nfa.start_state(Anchored::No).ok()?;
        let mut seen: std::collections::HashMap<StateID, usize> = std::collections::HashMap::new();
        let mut order = vec![start];
        seen.insert(start, 0);
        let mut next: Vec<Vec<StateID>> = Vec::new();
        let mut k = 0;
        while k < order.len() {
            let sid = order[k];
            let row: Vec<StateID> = reps.iter().map(|&b| nfa.next_state(Anchored::No, sid, b)).collect();
            for &t in &row {
                if let std::collections::hash_map::Entry::Vacant(e) = seen.entry(t) {
                    e.insert(order.len());
                    order.push(t);
                }
            }
            next.push(row);
            k += 1;
        }
        let mut number = vec![0u32; order.len()];
        let plain: Vec<usize> = (0..order.len()).filter(|&i| !nfa.is_match(order[i])).collect();
        let matching: Vec<usize> = (0..order.len()).filter(|&i| nfa.is_match(order[i])).collect();
        for (n, &i) in plain.iter().chain(&matching).enumerate() {
            number[i] = (n * classes) as u32;
        }
        let mut trans = vec![0u32; order.len() * classes];
        for (i, row) in next.iter().enumerate() {
            for (c, t) in row.iter().enumerate() {
                trans[number[i] as usize + c] = number[seen[t]];
            }
        }
        let out = matching
            .iter()
            .map(|&i| {
                (0..nfa.match_len(order[i]))
                    .map(|m| nfa.match_pattern(order[i], m).as_u32())
                    .collect()
            })
            .collect();
        if number[0] != 0 {
            return None; // the start state matches: an empty atom
        }
        let leaving: Vec<u8> = (0..=255u8)
            .filter(|&b| trans[class[b as usize] as usize] != 0)
            .collect();
        let start_bytes = match leaving[..] {
            [] => None,
            [a] => Some([a, a, a]),
            [a, b] => Some([a, b, b]),
            [a, b, c] => Some([a, b, c]),
            _ => None,
        };
        Some(AtomAutomaton {
            class,
            classes,
            trans,
            first_match: (plain.len() * classes) as u32,
            out,
            start_bytes,
        })
    }

    /// Pushes `(end, base + atom)` for every occurrence of every atom in `text`.
    #[inline]
    pub fn hits(&self, text: &[u8], base: u32, hits: &mut Vec<(usize, u32)>) {
        // the tables in locals: `hits` is written in the loop, and the compiler would otherwise reload them per byte
        let (trans, class, first_match) = (&self.trans[..], &self.class, self.first_match);
        let mut sid = 0u32;
        let mut i = 0;
        while i < text.len() {
            if sid == 0 {
                if let Some(bytes) = self.start_bytes {
                    // in the start state every other byte leaves it there: skip to the first that does not
                    while i + 8 <= text.len() {
                        let at = first_of(swar::load(&text[i..i + 8]), bytes);
                        i += at;
                        if at < 8 {
                            break;
                        }
                    }
                    if i == text.len() {
                        break;
                    }
                }
            }
            sid = trans[sid as usize + class[text[i] as usize] as usize];
            i += 1;
            if sid >= first_match {
                for &p in &self.out[(sid - first_match) as usize / self.classes] {
                    hits.push((i, base + p));
                }
            }
        }
    }

    /// Heap bytes.
    pub fn memory_usage(&self) -> usize {
        256 + self.trans.len() * 4 + self.out.iter().map(|o| 24 + o.len() * 4).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasick, MatchKind};

    /// The byte automaton's word-aligned hits, sorted as the scan sorts them.
    fn byte_hits(keys: &[&str], text: &str) -> Vec<(usize, u32)> {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(keys)
            .unwrap();
        let b = text.as_bytes();
        let mut out: Vec<(usize, u32)> = ac
            .find_overlapping_iter(text)
            .filter(|m| (m.start() == 0 || b[m.start() - 1] == b' ') && (m.end() == b.len() || b[m.end()] == b' '))
            .map(|m| (m.end(), m.pattern().as_u32()))
            .collect();
        out.sort_unstable_by_key(|&(end, p)| (end, std::cmp::Reverse(keys[p as usize].len())));
        out
    }

    fn view(tokens: &[&str]) -> NormalizedText {
        let mut nt = NormalizedText::default();
        for t in tokens {
            if !nt.text.is_empty() {
                nt.text.push(' ');
            }
            nt.norm_starts.push(nt.text.len());
            nt.text.push_str(t);
            nt.norm_ends.push(nt.text.len());
        }
        nt
    }

    fn word_hits(keys: &[&str], nt: &NormalizedText) -> Vec<(usize, u32)> {
        let wa = WordAutomaton::build(keys.iter().enumerate().map(|(i, k)| (i as u32, *k))).unwrap();
        let mut out = Vec::new();
        assert!(wa.hits(nt, &mut out));
        out
    }

    #[test]
    fn overlapping_and_nested_keys() {
        let keys = [
            "the reason for my call",
            "reason for",
            "my call",
            "call",
            "for my",
            "telemarketing",
            "a b a",
        ];
        for tokens in [
            &["the", "reason", "for", "my", "call", "call"][..],
            &["a", "b", "a", "b", "a", "c", "a", "b", "a"][..],
            &["telemarketingx", "telemarketing", "calls", "call"][..],
            &[][..],
        ] {
            let nt = view(tokens);
            assert_eq!(word_hits(&keys, &nt), byte_hits(&keys, &nt.text), "{tokens:?}");
        }
    }

    #[test]
    fn random_texts_agree_with_the_byte_automaton() {
        let words = [
            "a",
            "b",
            "ab",
            "the",
            "call",
            "calling",
            "to",
            "offer",
            "you",
            "abcdefghij",
            "abcdefghik",
            "x",
        ];
        let mut next = crate::draws(0x2545_F491_4F6C_DD1Du64);
        for _ in 0..300 {
            let mut keys: Vec<String> = Vec::new();
            for _ in 0..1 + next(12) {
                let k: Vec<&str> = (0..1 + next(4)).map(|_| words[next(words.len())]).collect();
                let k = k.join(" ");
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let tokens: Vec<&str> = (0..next(30)).map(|_| words[next(words.len())]).collect();
            let nt = view(&tokens);
            assert_eq!(word_hits(&keys, &nt), byte_hits(&keys, &nt.text), "{keys:?} {tokens:?}");
        }
    }

    #[test]
    fn a_token_with_a_space_is_refused() {
        let wa = WordAutomaton::build([(0, "a b")]).unwrap();
        let mut nt = view(&["x", "a b"]);
        nt.norm_starts[1] = 2;
        let mut out = vec![(1, 7)];
        assert!(!wa.hits(&nt, &mut out));
        assert_eq!(out, [(1, 7)]);
    }

    #[test]
    fn atoms_agree_with_the_crate() {
        for atoms in [
            &["190", "191", "199", "200", "account", "count", "a", "19"][..],
            &["190", "200", "account"][..],
            &["ab"][..],
        ] {
            let dfa = AtomAutomaton::build(atoms).unwrap();
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(atoms)
                .unwrap();
            for text in [
                "",
                "my account number is 1990 or 2001",
                "accountant 19190 a",
                "zzz",
                "1999200account",
                "the quick brown fox jumps over the lazy dog and then 19",
                "xxxxxxxxxxxxxxxxxxxxxxxa",
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx1",
            ] {
                let mut got = Vec::new();
                dfa.hits(text.as_bytes(), 10, &mut got);
                let mut want: Vec<(usize, u32)> = ac
                    .find_overlapping_iter(text)
                    .map(|m| (m.end(), 10 + m.pattern().as_u32()))
                    .collect();
                got.sort_unstable();
                want.sort_unstable();
                assert_eq!(got, want, "{text}");
            }
        }
    }
}
