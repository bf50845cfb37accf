//! `trace_engine._core`: the native gate core, exposed to Python through PyO3.
//!
//! The Python package keeps the facade (`Engine`, `Call`, `AgentStream`, `Decision`, `Scorecard`), evidence and
//! everything off the hot path; this crate holds what runs on every turn. The module is the single source of the
//! engine version, so scorecards and etags name exactly the core that produced them.

use pyo3::prelude::*;

pub mod canon;
pub mod engine;
pub mod swar;
pub mod text;

/// For tests: words that are not ASCII, of the kinds the text layer tells apart: letters that fold (accents, a
/// ligature, wide letters and digits, a combining mark), lookalikes that fold only among themselves, curly quotes and
/// apostrophes, dashes, an ellipsis, characters that vanish (zero-width, a byte-order mark), and some that do not fold.
#[cfg(test)]
pub(crate) const NON_ASCII_WORDS: [&str; 25] = [
    "caf\u{e9}",
    "Caf\u{c9}",
    "na\u{ef}ve",
    "it\u{2019}s",
    "I\u{2019}ll",
    "\u{2019}",
    "\u{201c}quoted\u{201d}",
    "\u{2014}",
    "well\u{2014}",
    "\u{2026}",
    "wait\u{2026}",
    "\u{455}top",
    "\u{455}top\u{436}",
    "\u{436}",
    "\u{ff15}\u{ff15}\u{ff15}",
    "\u{ff4f}\u{ff4e}\u{ff45}",
    "\u{2460}",
    "\u{bd}",
    "\u{fb01}le",
    "e\u{301}",
    "\u{200b}",
    "\u{feff}x",
    "\u{4e2d}\u{6587}",
    "r\u{e9}sum\u{e9}",
    "\u{a3}5",
];

/// For tests: a xorshift generator from `seed`, as a function of `n` that draws below `n` (deterministic texts and
/// keys for the randomized tests, no dependency).
#[cfg(test)]
pub(crate) fn draws(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}

/// The engine version (also the package version: maturin reads it from Cargo.toml).
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How this core was compiled: `"pgo"` when profile-guided (`tools/build_core.py` passes `--cfg trace_pgo` with the
/// profile), else `"plain"`. `trace bench` reports it beside its figures, which differ by build.
pub const NATIVE_BUILD: &str = if cfg!(trace_pgo) { "pgo" } else { "plain" };

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ENGINE_VERSION", ENGINE_VERSION)?;
    m.add("NATIVE_BUILD", NATIVE_BUILD)?;
    engine::py::register(m)?;
    canon::register(m)?;
    text::python::register(m)?;
    Ok(())
}
