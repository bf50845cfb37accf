//! Profiling aid: the native text layer over a file of turns, one JSON string per line.
//!
//!     cargo run --release --example text_profile -- turns.txt [rounds]
//!
//! Prints nanoseconds per turn (normalize into a reused view, then every detector through `detect_many`).

use std::time::Instant;

use _core::text::detectors::{detect_many, Exempt, DETECTORS};
use _core::text::{normalize_into, NormalizedText};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("a file of turns, one per line");
    let rounds: usize = args.next().map_or(20, |r| r.parse().expect("rounds"));
    let text = std::fs::read_to_string(path).expect("readable");
    let turns: Vec<&str> = text.lines().collect();
    let none = Exempt::new();
    let requests: Vec<_> = DETECTORS.iter().map(|s| (s.kind, &none)).collect();
    let mut nt = NormalizedText::default();
    let mut hits = 0;
    let t0 = Instant::now();
    for _ in 0..rounds {
        for t in &turns {
            normalize_into(t, &mut nt);
            hits += detect_many(&nt, &requests).iter().map(Vec::len).sum::<usize>();
        }
    }
    let ns = t0.elapsed().as_nanos() as f64 / (rounds * turns.len()) as f64;
    println!("{} turns x {rounds}: {ns:.0} ns/turn ({hits} hits)", turns.len());
}
