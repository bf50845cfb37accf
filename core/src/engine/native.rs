//! The native text layer behind [`super::textview::TextLayer::Native`]: `crate::text`'s normalizer and detectors.

use pyo3::exceptions::PyRuntimeError;
use pyo3::PyResult;

use super::textview::{DetKind, Hit};
use crate::text::NormalizedText;

/// Whether `crate::text` provides the normalizer and detectors in this build.
pub const AVAILABLE: bool = false;

fn unavailable<T>() -> PyResult<T> {
    Err(PyRuntimeError::new_err("the native text layer is not in this build"))
}

pub fn normalize(_text: &str) -> PyResult<NormalizedText> {
    unavailable()
}

pub fn normalize_phrase(_phrase: &str) -> PyResult<String> {
    unavailable()
}

pub fn detect_many(_nt: &NormalizedText, _requests: &[(DetKind, &[String])]) -> PyResult<Vec<Vec<Hit>>> {
    unavailable()
}
