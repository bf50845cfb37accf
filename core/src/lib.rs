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

/// The engine version (also the package version: maturin reads it from Cargo.toml).
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ENGINE_VERSION", ENGINE_VERSION)?;
    engine::py::register(m)?;
    canon::register(m)?;
    text::python::register(m)?;
    Ok(())
}
