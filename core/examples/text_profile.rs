//! Profiling aid: the native text layer over a file of turns, one JSON string per line (or plain text lines).
//!
//!     cargo run --release --example text_profile -- turns.txt [rounds]
//!
//! Per turn: normalize into a reused view, then every detector through `detect_many`, with no Python in between.
//! Prints the mean over all rounds and, per turn, the min over the rounds (which removes preemption noise) as p50 /
//! p99 / max: what the evaluator in `core/src/engine` pays for the text layer.

use std::time::Instant;

use _core::text::detectors::{detect_many, Exempt, DETECTORS};
use _core::text::{normalize_into, NormalizedText};

/// A line as JSON string (the turns of a corpus, escapes and all), else the line itself.
fn decode(line: &str) -> String {
    let Some(inner) = line.strip_prefix('"').and_then(|l| l.strip_suffix('"')) else {
        return line.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(
                    u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{fffd}'),
                );
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("a file of turns, one per line");
    let rounds: usize = args.next().map_or(20, |r| r.parse().expect("rounds"));
    let text = std::fs::read_to_string(path).expect("readable");
    let turns: Vec<String> = text.lines().map(decode).collect();
    let none = Exempt::new();
    let requests: Vec<_> = DETECTORS.iter().map(|s| (s.kind, &none)).collect();
    let mut nt = NormalizedText::default();
    let mut hits = 0;
    let mut best = vec![u128::MAX; turns.len()];
    let t0 = Instant::now();
    for _ in 0..rounds {
        for (t, best) in turns.iter().zip(best.iter_mut()) {
            let s = Instant::now();
            normalize_into(t, &mut nt);
            hits += detect_many(&nt, &requests).iter().map(Vec::len).sum::<usize>();
            *best = (*best).min(s.elapsed().as_nanos());
        }
    }
    let ns = t0.elapsed().as_nanos() as f64 / (rounds * turns.len()) as f64;
    // TEXT_PROFILE_SLOWEST=N: the N slowest turns (by their min), to see what the tail is made of
    let slowest: usize = std::env::var("TEXT_PROFILE_SLOWEST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut order: Vec<usize> = (0..turns.len()).collect();
    order.sort_unstable_by_key(|&i| std::cmp::Reverse(best[i]));
    for &i in order.iter().take(slowest) {
        println!(
            "{:>7} ns  {:>5} chars  {:?}",
            best[i],
            turns[i].chars().count(),
            turns[i]
        );
    }
    if std::env::var_os("TEXT_PROFILE_SPLIT").is_some() {
        split(&turns, rounds);
    }
    best.sort_unstable();
    let at = |q: f64| best[((best.len() - 1) as f64 * q) as usize];
    println!(
        "{} turns x {rounds}: mean {ns:.0} ns/turn; min per turn p50 {} / p99 {} / max {} ns ({} hits)",
        turns.len(),
        at(0.5),
        at(0.99),
        best[best.len() - 1],
        hits / rounds
    );
}

/// TEXT_PROFILE_SPLIT=1: the total over all turns (min over the rounds) of normalize and of each detector alone.
fn split(turns: &[String], rounds: usize) {
    let none = Exempt::new();
    let mut nt = NormalizedText::default();
    let mut parts = vec![u128::MAX; 1 + DETECTORS.len()];
    for _ in 0..rounds {
        let mut round = vec![0u128; parts.len()];
        for t in turns {
            let s = Instant::now();
            normalize_into(t, &mut nt);
            round[0] += s.elapsed().as_nanos();
            for (k, spec) in DETECTORS.iter().enumerate() {
                let s = Instant::now();
                std::hint::black_box(detect_many(&nt, &[(spec.kind, &none)]));
                round[k + 1] += s.elapsed().as_nanos();
            }
        }
        for (p, r) in parts.iter_mut().zip(round) {
            *p = (*p).min(r);
        }
    }
    let per = |ns: u128| ns as f64 / turns.len() as f64;
    println!("normalize {:.0} ns/turn", per(parts[0]));
    for (k, spec) in DETECTORS.iter().enumerate() {
        println!(
            "{:<12} {:.0} ns/turn (with the more specific kinds it defers to)",
            spec.name,
            per(parts[k + 1])
        );
    }
}
