//! PyO3 bindings of the text layer: the Python face is `trace_engine.text` (normalize, fold, the detectors).
//!
//! Python strings may hold lone surrogates, which UTF-8 (and so `&str`) cannot: such a text is processed with each
//! surrogate read as U+FFFD (both are kept by the fold and are neither letters, digits nor spaces, so every rule
//! treats them alike) and the surrogates are put back wherever original characters are copied out (the original,
//! the folded text, a phrase's `{placeholder}`).

use pyo3::exceptions::{PyIndexError, PyKeyError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::detectors::{self as det, Exempt, Hit, Kind, Mask, DETECTORS};
use super::fold::{fold, fold_char, CharFold};
use super::normalize::{normalize_into, normalize_phrase_view};
use super::{words, NormalizedText};

const REPLACEMENT: char = '\u{fffd}';

/// A Python `str` as Rust text: borrowed when it is valid UTF-8, else with U+FFFD for each lone surrogate and the
/// original code points kept to put them back.
pub(crate) enum PyText<'py> {
    Utf8(&'py str),
    Surrogates(String, Vec<u32>),
}

impl<'py> PyText<'py> {
    pub(crate) fn new(s: &'py Bound<'py, PyString>) -> PyResult<Self> {
        if let Ok(t) = s.to_str() {
            return Ok(PyText::Utf8(t));
        }
        let raw = s.call_method1("encode", ("utf-32-le", "surrogatepass"))?;
        let bytes = raw.downcast::<PyBytes>()?.as_bytes();
        let cps: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let text = cps
            .iter()
            .map(|&cp| char::from_u32(cp).unwrap_or(REPLACEMENT))
            .collect();
        Ok(PyText::Surrogates(text, cps))
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            PyText::Utf8(t) => t,
            PyText::Surrogates(t, _) => t,
        }
    }

    fn code_points(self) -> Option<Vec<u32>> {
        match self {
            PyText::Utf8(_) => None,
            PyText::Surrogates(_, cps) => Some(cps),
        }
    }
}

/// A Python `str` from code points that may include lone surrogates.
fn str_from_code_points<'py>(py: Python<'py>, cps: &[u32]) -> PyResult<Bound<'py, PyAny>> {
    let bytes: Vec<u8> = cps.iter().flat_map(|cp| cp.to_le_bytes()).collect();
    PyBytes::new(py, &bytes).call_method1("decode", ("utf-32-le", "surrogatepass"))
}

/// Folded characters with the original's surrogates put back (`source`: folded index -> original index).
fn restore(folded: &str, source: Option<&[usize]>, original: &[u32]) -> Vec<u32> {
    folded
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let o = source.map_or(i, |m| m[i]);
            match original.get(o) {
                Some(&cp) if c == REPLACEMENT && (0xD800..=0xDFFF).contains(&cp) => cp,
                _ => c as u32,
            }
        })
        .collect()
}

/// Character offsets of the normalized text's tokens (the Rust view keeps bytes).
fn char_offsets(nt: &NormalizedText) -> (Vec<usize>, Vec<usize>) {
    if nt.text.is_ascii() {
        return (nt.norm_starts.clone(), nt.norm_ends.clone());
    }
    let mut starts = Vec::with_capacity(nt.len());
    let mut ends = Vec::with_capacity(nt.len());
    let mut chars = 0;
    let mut byte = 0;
    for k in 0..nt.len() {
        chars += nt.text[byte..nt.norm_starts[k]].chars().count();
        starts.push(chars);
        chars += nt.token(k).chars().count();
        ends.push(chars);
        byte = nt.norm_ends[k];
    }
    (starts, ends)
}

/// A turn's normalized view (see ``trace_engine.text.normalize``). ``text == " ".join(tokens)``; token ``i`` starts
/// at ``norm_starts[i]`` in ``text`` and came from ``original[orig_starts[i]:orig_ends[i]]``. Original starts and
/// ends are non-decreasing (tokens expanded from one contraction share its span). Offsets are characters.
#[pyclass(name = "NormalizedText", module = "trace_engine.text", frozen)]
pub struct PyNormalizedText {
    pub(crate) nt: NormalizedText,
    original: Py<PyString>,
    /// the original's code points when it has lone surrogates
    surrogates: Option<Vec<u32>>,
    /// token offsets in characters of `text`
    starts: Vec<usize>,
    ends: Vec<usize>,
    tokens_list: GILOnceCell<Py<PyList>>,
    norm_starts_list: GILOnceCell<Py<PyList>>,
    orig_starts_list: GILOnceCell<Py<PyList>>,
    orig_ends_list: GILOnceCell<Py<PyList>>,
    is_digits_list: GILOnceCell<Py<PyList>>,
    fold_value: GILOnceCell<PyObject>,
}

impl PyNormalizedText {
    pub(crate) fn build(original: Bound<'_, PyString>) -> PyResult<Self> {
        let text = PyText::new(&original)?;
        let mut nt = NormalizedText::default();
        normalize_into(text.as_str(), &mut nt);
        let (starts, ends) = char_offsets(&nt);
        Ok(PyNormalizedText {
            nt,
            original: original.clone().unbind(),
            surrogates: text.code_points(),
            starts,
            ends,
            tokens_list: GILOnceCell::new(),
            norm_starts_list: GILOnceCell::new(),
            orig_starts_list: GILOnceCell::new(),
            orig_ends_list: GILOnceCell::new(),
            is_digits_list: GILOnceCell::new(),
            fold_value: GILOnceCell::new(),
        })
    }

    fn list<T: Clone + for<'a> IntoPyObject<'a>>(
        py: Python<'_>,
        cell: &GILOnceCell<Py<PyList>>,
        values: impl FnOnce() -> Vec<T>,
    ) -> PyResult<Py<PyList>> {
        if let Some(l) = cell.get(py) {
            return Ok(l.clone_ref(py));
        }
        let l = PyList::new(py, values())?.unbind();
        Ok(cell.get_or_init(py, || l).clone_ref(py))
    }

    fn folded_string<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let Some(f) = &self.nt.fold else {
            return Ok(self.original.bind(py).clone().into_any());
        };
        match &self.surrogates {
            None => Ok(PyString::new(py, &f.text).into_any()),
            Some(cps) => str_from_code_points(py, &restore(&f.text, f.source.as_deref(), cps)),
        }
    }

    fn index(&self, i: isize) -> PyResult<usize> {
        let n = self.nt.len() as isize;
        let k = if i < 0 { i + n } else { i };
        if k < 0 || k >= n {
            return Err(PyIndexError::new_err("list index out of range"));
        }
        Ok(k as usize)
    }

    fn bisect_right(&self, x: isize) -> isize {
        self.starts.partition_point(|&s| s as isize <= x) as isize
    }

    fn text_char_len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }
}

#[pymethods]
impl PyNormalizedText {
    #[getter]
    fn original(&self, py: Python<'_>) -> Py<PyString> {
        self.original.clone_ref(py)
    }

    #[getter]
    fn text<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        PyString::new(py, &self.nt.text)
    }

    #[getter]
    fn tokens(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        Self::list(py, &self.tokens_list, || self.nt.tokens().collect::<Vec<_>>())
    }

    #[getter]
    fn norm_starts(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        Self::list(py, &self.norm_starts_list, || self.starts.clone())
    }

    #[getter]
    fn orig_starts(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        Self::list(py, &self.orig_starts_list, || self.nt.orig_starts.clone())
    }

    #[getter]
    fn orig_ends(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        Self::list(py, &self.orig_ends_list, || self.nt.orig_ends.clone())
    }

    #[getter]
    fn is_digits(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        Self::list(py, &self.is_digits_list, || self.nt.is_digits.clone())
    }

    /// Set only when folding changed the text: ``(folded text, token starts in it, token ends in it, source)``
    /// where ``source`` maps each folded character to its original index (``None``: every character kept its place).
    #[getter]
    fn fold(&self, py: Python<'_>) -> PyResult<PyObject> {
        if let Some(v) = self.fold_value.get(py) {
            return Ok(v.clone_ref(py));
        }
        let v: PyObject = match &self.nt.fold {
            None => py.None(),
            Some(f) => {
                let source: PyObject = match &f.source {
                    None => py.None(),
                    Some(m) => PyList::new(py, m)?.into_any().unbind(),
                };
                PyTuple::new(
                    py,
                    [
                        self.folded_string(py)?.unbind(),
                        PyList::new(py, &f.starts)?.into_any().unbind(),
                        PyList::new(py, &f.ends)?.into_any().unbind(),
                        source,
                    ],
                )?
                .into_any()
                .unbind()
            }
        };
        Ok(self.fold_value.get_or_init(py, || v).clone_ref(py))
    }

    /// The text the tokens were read from: ``original`` unless folding changed it.
    #[getter]
    fn folded<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.folded_string(py)
    }

    #[getter]
    fn folded_starts(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        match &self.nt.fold {
            None => self.orig_starts(py),
            Some(f) => Ok(PyList::new(py, &f.starts)?.unbind()),
        }
    }

    #[getter]
    fn folded_ends(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        match &self.nt.fold {
            None => self.orig_ends(py),
            Some(f) => Ok(PyList::new(py, &f.ends)?.unbind()),
        }
    }

    /// Original ``(start, end)`` of the folded characters ``folded[start:end]`` (``end > start``).
    fn folded_to_original(&self, start: usize, end: usize) -> PyResult<(usize, usize)> {
        match self.nt.fold.as_ref().and_then(|f| f.source.as_ref()) {
            None => Ok((start, end)),
            Some(m) => match (m.get(start), end.checked_sub(1).and_then(|e| m.get(e))) {
                (Some(&a), Some(&b)) => Ok((a, b + 1)),
                _ => Err(PyIndexError::new_err("list index out of range")),
            },
        }
    }

    /// Index of the token containing (or starting at) ``norm_offset``; on a separating space, the token before
    /// it. ``-1`` when there are no tokens; offsets are clamped to the text.
    fn token_at(&self, norm_offset: isize) -> isize {
        if self.nt.is_empty() {
            return -1;
        }
        (self.bisect_right(norm_offset) - 1).max(0)
    }

    fn is_token_start(&self, norm_offset: isize) -> bool {
        let n = self.text_char_len() as isize;
        0 <= norm_offset
            && norm_offset < n
            && (norm_offset == 0 || self.starts.binary_search(&(norm_offset as usize)).is_ok())
    }

    fn is_token_end(&self, norm_offset: isize) -> bool {
        let n = self.text_char_len() as isize;
        0 < norm_offset
            && norm_offset <= n
            && (norm_offset == n || self.ends.binary_search(&(norm_offset as usize)).is_ok())
    }

    /// Original ``(start, end)`` covering every token that ``text[norm_start:norm_end]`` touches.
    fn to_original(&self, norm_start: isize, norm_end: isize) -> (usize, usize) {
        let n = self.nt.len() as isize;
        if n == 0 {
            return (0, 0);
        }
        let mut i = self.bisect_right(norm_start) - 1;
        if i < 0 {
            i = 0;
        } else if i + 1 < n && norm_start >= self.ends[i as usize] as isize {
            i += 1; // on the space after token i
        }
        let last = if norm_end > norm_start {
            norm_end - 1
        } else {
            norm_start
        };
        let j = (self.bisect_right(last) - 1).max(i);
        (self.nt.orig_starts[i as usize], self.nt.orig_ends[j as usize])
    }

    /// Original span of tokens ``i..j`` inclusive.
    fn token_span(&self, i: isize, j: isize) -> PyResult<(usize, usize)> {
        Ok((self.nt.orig_starts[self.index(i)?], self.nt.orig_ends[self.index(j)?]))
    }

    fn __len__(&self) -> usize {
        self.nt.len()
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.downcast::<PyNormalizedText>() else {
            return Ok(false);
        };
        let o = other.get();
        Ok(self.original.bind(py).as_any().eq(o.original.bind(py))?
            && self.nt.text == o.nt.text
            && self.nt.norm_starts == o.nt.norm_starts
            && self.nt.orig_starts == o.nt.orig_starts
            && self.nt.orig_ends == o.nt.orig_ends
            && self.nt.is_digits == o.nt.is_digits
            && self.nt.fold == o.nt.fold)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "NormalizedText(original={}, text={:?}, tokens={})",
            self.original.bind(py).repr()?,
            self.nt.text,
            self.tokens(py)?.bind(py).repr()?
        ))
    }
}

/// A `str` argument, or `str(value)` of anything else.
fn as_py_str<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    match value.downcast::<PyString>() {
        Ok(s) => Ok(s.clone()),
        Err(_) => value.str(),
    }
}

/// Build the normalized view of ``text`` (see ``trace_engine.text.normalize``). Never raises for any ``str``;
/// non-``str`` input is coerced with ``str()``.
#[pyfunction]
fn normalize(text: &Bound<'_, PyAny>) -> PyResult<PyNormalizedText> {
    PyNormalizedText::build(as_py_str(text)?)
}

/// Normalize a rule phrase with the same rules; ``{variable}`` placeholders and ``*`` stay single tokens, verbatim.
#[pyfunction]
fn normalize_phrase<'py>(py: Python<'py>, phrase: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let phrase = as_py_str(phrase)?;
    let text = PyText::new(&phrase)?;
    let PyText::Surrogates(s, cps) = &text else {
        return Ok(PyString::new(py, &super::normalize::normalize_phrase(text.as_str())).into_any());
    };
    // put the surrogates back into the placeholders that copied them
    let view = normalize_phrase_view(s);
    let folded = match &view.fold {
        Some(f) => restore(&f.text, f.source.as_deref(), cps),
        None => cps.clone(),
    };
    let mut out: Vec<u32> = Vec::with_capacity(view.text.len());
    for k in 0..view.len() {
        if k > 0 {
            out.push(' ' as u32);
        }
        let token = view.token(k);
        if token.starts_with('{') {
            out.extend_from_slice(&folded[view.folded_start(k)..view.folded_end(k)]);
        } else {
            out.extend(token.chars().map(|c| c as u32));
        }
    }
    str_from_code_points(py, &out)
}

/// ``(folded, source)``: the folded text and, for each of its characters, the index of the original character it
/// came from; ``source`` is ``None`` when every character kept its place, and ``folded is text`` when nothing
/// changed (always for ASCII text).
#[pyfunction(name = "fold")]
fn py_fold<'py>(py: Python<'py>, text: Bound<'py, PyString>) -> PyResult<(Bound<'py, PyAny>, PyObject)> {
    let t = PyText::new(&text)?;
    let Some(f) = fold(t.as_str()) else {
        return Ok((text.into_any(), py.None()));
    };
    let folded: String = f.chars.iter().collect();
    let out = match t.code_points() {
        None => PyString::new(py, &folded).into_any(),
        Some(cps) => str_from_code_points(py, &restore(&folded, f.source.as_deref(), &cps))?,
    };
    let source = match f.source {
        None => py.None(),
        Some(m) => PyList::new(py, m)?.into_any().unbind(),
    };
    Ok((out, source))
}

/// Steps 1-4 of the fold for one character: ``""`` for an invisible one, else its folded form.
#[pyfunction(name = "fold_char")]
fn py_fold_char(ch: char) -> String {
    match fold_char(ch) {
        CharFold::Same => ch.to_string(),
        CharFold::Drop => String::new(),
        CharFold::Map(s) => s.to_string(),
        CharFold::Hangul(j, n) => j[..n].iter().collect(),
    }
}

/// The word tables (one definition, in Rust) for the Python face.
fn word_tables<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let contractions = PyDict::new(py);
    for (w, exp) in words::CONTRACTIONS {
        contractions.set_item(w, PyTuple::new(py, exp.iter())?)?;
    }
    d.set_item("CONTRACTIONS", contractions)?;
    d.set_item(
        "GENERIC_SUFFIXES",
        PyTuple::new(py, words::GENERIC_SUFFIXES.iter().copied())?,
    )?;
    d.set_item("UNITS", words::UNITS.iter().copied().into_py_dict(py)?)?;
    d.set_item("TEENS", words::TEENS.iter().copied().into_py_dict(py)?)?;
    d.set_item("TENS", words::TENS.iter().copied().into_py_dict(py)?)?;
    d.set_item("SCALES", words::SCALES.iter().copied().into_py_dict(py)?)?;
    d.set_item("REPEATERS", words::REPEATERS.iter().copied().into_py_dict(py)?)?;
    d.set_item("ZERO_WORDS", PyTuple::new(py, words::ZERO_WORDS)?)?;
    d.set_item("FILLERS", PyTuple::new(py, words::FILLERS)?)?;
    d.set_item("HUNDRED", words::HUNDRED)?;
    let skeleton = PyDict::new(py);
    for &(cp, s) in super::tables::SKELETON {
        skeleton.set_item(char::from_u32(cp).unwrap_or(REPLACEMENT), s)?;
    }
    d.set_item("SKELETON", skeleton)?;
    d.set_item("UNICODE_VERSION", super::tables::UNICODE_VERSION)?;
    Ok(d)
}

// ------------------------------------------------------------------------------------------- detectors

/// One detector finding. ``start``/``end`` are offsets in the ORIGINAL text; ``value`` is canonical.
#[pyclass(name = "DetectorHit", module = "trace_engine.text", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash, Clone)]
pub struct PyDetectorHit {
    #[pyo3(get)]
    kind: &'static str,
    #[pyo3(get)]
    start: usize,
    #[pyo3(get)]
    end: usize,
    #[pyo3(get)]
    value: String,
}

impl From<Hit> for PyDetectorHit {
    fn from(h: Hit) -> Self {
        PyDetectorHit {
            kind: h.kind.name(),
            start: h.start,
            end: h.end,
            value: h.value,
        }
    }
}

#[pymethods]
impl PyDetectorHit {
    #[new]
    fn new(kind: &str, start: usize, end: usize, value: String) -> PyResult<Self> {
        Ok(PyDetectorHit {
            kind: kind_of(kind)?.name(),
            start,
            end,
            value,
        })
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str) {
        ("kind", "start", "end", "value")
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "DetectorHit(kind={}, start={}, end={}, value={})",
            PyString::new(py, self.kind).repr()?,
            self.start,
            self.end,
            PyString::new(py, &self.value).repr()?
        ))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, HitArgs)> {
        let h = slf.get();
        Ok((slf.get_type().into_any(), (h.kind, h.start, h.end, h.value.clone())))
    }
}

/// `DetectorHit(kind, start, end, value)`'s arguments (pickling).
type HitArgs = (&'static str, usize, usize, String);

fn kind_of(name: &str) -> PyResult<Kind> {
    Kind::from_name(name).ok_or_else(|| PyKeyError::new_err(name.to_string()))
}

fn hits(py: Python<'_>, found: Vec<Hit>) -> PyResult<Py<PyList>> {
    Ok(PyList::new(py, found.into_iter().map(PyDetectorHit::from))?.unbind())
}

/// Canonical exempt values of ``kind`` from strings (the face turns other values into strings first).
#[pyfunction]
fn canonical_exempt(kind: &str, values: Vec<String>) -> PyResult<Exempt> {
    Ok(det::canonical_exempt(kind_of(kind)?, values.iter().map(String::as_str)))
}

/// Run detector ``kind`` over ``nt`` with CANONICAL exempt values. Raises ``KeyError`` for an unknown kind.
#[pyfunction]
#[pyo3(signature = (kind, nt, exempt = None))]
fn detect(py: Python<'_>, kind: &str, nt: &PyNormalizedText, exempt: Option<Exempt>) -> PyResult<Py<PyList>> {
    let kind = kind_of(kind)?;
    hits(py, det::detect(kind, &nt.nt, &exempt.unwrap_or_default()))
}

/// Requests ``(kind, canonical exempt values)`` from Python: the kind names are read in place and an empty set is
/// not converted (most requests have no exempt values; converting them cost more than the detectors' precondition).
fn requests(requests: &Bound<'_, PyAny>) -> PyResult<Vec<(Kind, Option<Exempt>)>> {
    let mut out = Vec::with_capacity(requests.len().unwrap_or(0));
    for item in requests.try_iter()? {
        let (name, exempt): (Bound<'_, PyString>, Bound<'_, PyAny>) = item?.extract()?;
        let kind = kind_of(name.to_str()?)?;
        let exempt = if exempt.is_none() || exempt.len()? == 0 {
            None
        } else {
            Some(exempt.extract::<Exempt>()?)
        };
        out.push((kind, exempt));
    }
    Ok(out)
}

fn with_requests<T>(requests: &[(Kind, Option<Exempt>)], f: impl FnOnce(&[(Kind, &Exempt)]) -> T) -> T {
    let none = Exempt::new();
    let reqs: Vec<(Kind, &Exempt)> = requests
        .iter()
        .map(|(k, e)| (*k, e.as_ref().unwrap_or(&none)))
        .collect();
    f(&reqs)
}

/// Hits per request ``(kind, canonical exempt values)``, one finding per value (see the face).
#[pyfunction]
fn detect_many(py: Python<'_>, nt: &PyNormalizedText, requests: &Bound<'_, PyAny>) -> PyResult<Py<PyList>> {
    let found = with_requests(&self::requests(requests)?, |reqs| det::detect_many(&nt.nt, reqs));
    let lists = found.into_iter().map(|h| hits(py, h)).collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, lists)?.unbind())
}

/// ``detect_many`` flattened and sorted by ``(start, end, kind)``.
#[pyfunction]
fn detect_all(py: Python<'_>, nt: &PyNormalizedText, requests: &Bound<'_, PyAny>) -> PyResult<Py<PyList>> {
    hits(
        py,
        with_requests(&self::requests(requests)?, |reqs| det::detect_all(&nt.nt, reqs)),
    )
}

/// Cheap precondition: ``kind`` can have a hit in ``nt`` (``digits``: digit characters in ``nt.text``).
#[pyfunction]
fn possible(kind: &str, nt: &PyNormalizedText, digits: usize) -> PyResult<bool> {
    Ok(det::possible(kind_of(kind)?, &nt.nt, digits))
}

#[pyfunction]
fn luhn_ok(digits: &str) -> bool {
    det::luhn_ok(digits)
}

#[pyfunction]
fn ssn_ok(d: &str) -> bool {
    det::ssn_ok(d)
}

#[pyfunction]
fn nanp_ok(d10: &str) -> bool {
    det::nanp_ok(d10)
}

#[pyfunction]
fn aba_ok(d9: &str) -> bool {
    det::aba_ok(d9)
}

#[pyfunction]
fn mbi_ok(s: &str) -> bool {
    det::mbi_ok(s)
}

thread_local! {
    static BENCH_VIEW: std::cell::RefCell<NormalizedText> = std::cell::RefCell::new(NormalizedText::default());
}

/// Benchmarks only: nanoseconds the core spends on ``text`` (normalize into a reused view, then ``detect_many``
/// with ``requests``), timed inside the core (no Python call, no Python objects), and the number of hits.
#[pyfunction]
fn _time_text(text: &str, requests: Vec<(String, Exempt)>) -> PyResult<(u64, usize)> {
    let kinds = requests
        .iter()
        .map(|(k, _)| kind_of(k))
        .collect::<PyResult<Vec<Kind>>>()?;
    let reqs: Vec<(Kind, &Exempt)> = kinds.iter().zip(&requests).map(|(&k, (_, e))| (k, e)).collect();
    Ok(BENCH_VIEW.with(|view| {
        let mut nt = view.borrow_mut();
        let t0 = std::time::Instant::now();
        super::normalize_into(text, &mut nt);
        let found = det::detect_many(&nt, &reqs);
        let ns = t0.elapsed().as_nanos() as u64;
        (ns, found.iter().map(Vec::len).sum())
    }))
}

/// The detector registry as plain data, in registry order (the one definition the Python side derives from).
fn detector_specs<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for spec in &DETECTORS {
        let d = PyDict::new(py);
        d.set_item("name", spec.name)?;
        d.set_item("title", spec.title)?;
        d.set_item("doc", spec.doc)?;
        d.set_item("examples", PyList::new(py, spec.examples.iter().copied())?)?;
        d.set_item("specificity", spec.specificity)?;
        d.set_item("min_digits", spec.min_digits)?;
        d.set_item("needs_at", spec.needs_at)?;
        d.set_item("presidio_entity", spec.presidio_entity)?;
        let guardrail = match &spec.guardrail {
            None => None,
            Some(g) => {
                let gd = PyDict::new(py);
                gd.set_item("title", g.title)?;
                gd.set_item("severity", g.severity)?;
                match g.mask {
                    Mask::KeepLast(n) => gd.set_item("keep_last", n)?,
                    Mask::Placeholder(p) => gd.set_item("placeholder", p)?,
                }
                gd.set_item("reason", g.reason)?;
                gd.set_item("exempt_variable", g.exempt_variable)?;
                Some(gd)
            }
        };
        d.set_item("guardrail", guardrail)?;
        out.append(d)?;
    }
    Ok(out)
}

fn detector_tables<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("TLDS", PyTuple::new(py, det::TLDS)?)?;
    d.set_item("ID_LABELS", PyTuple::new(py, det::ID_LABELS)?)?;
    let providers = PyDict::new(py);
    for ((a, b), name) in det::PROVIDER_SPLITS {
        providers.set_item((a, b), name)?;
    }
    d.set_item("PROVIDER_SPLITS", providers)?;
    Ok(d)
}

use pyo3::types::IntoPyDict;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNormalizedText>()?;
    m.add_function(wrap_pyfunction!(normalize, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_phrase, m)?)?;
    m.add_function(wrap_pyfunction!(py_fold, m)?)?;
    m.add_function(wrap_pyfunction!(py_fold_char, m)?)?;
    m.add("TEXT_TABLES", word_tables(m.py())?)?;
    m.add_class::<PyDetectorHit>()?;
    m.add_function(wrap_pyfunction!(canonical_exempt, m)?)?;
    m.add_function(wrap_pyfunction!(detect, m)?)?;
    m.add_function(wrap_pyfunction!(detect_many, m)?)?;
    m.add_function(wrap_pyfunction!(detect_all, m)?)?;
    m.add_function(wrap_pyfunction!(possible, m)?)?;
    m.add_function(wrap_pyfunction!(luhn_ok, m)?)?;
    m.add_function(wrap_pyfunction!(ssn_ok, m)?)?;
    m.add_function(wrap_pyfunction!(nanp_ok, m)?)?;
    m.add_function(wrap_pyfunction!(aba_ok, m)?)?;
    m.add_function(wrap_pyfunction!(mbi_ok, m)?)?;
    m.add_function(wrap_pyfunction!(_time_text, m)?)?;
    m.add("DETECTOR_SPECS", detector_specs(m.py())?)?;
    m.add("DETECTOR_TABLES", detector_tables(m.py())?)?;
    Ok(())
}
