//! The engine's Python face: `trace_engine._core.Program`, `EngineCore`, and the conversions between Python
//! values and the evaluator's.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::call::{Shared, Strs};
use super::clock::{set_fault, FaultKind, Stage};
use super::decision::TurnFinding;
use super::expr::Value;
use super::program::Program;
use super::textview::DetKind;

/// A program loaded into the core (validated; see `compile/program.py` for the format).
#[pyclass(frozen, module = "trace_engine._core", name = "Program")]
pub struct ProgramPy {
    pub program: Arc<Program>,
}

#[pymethods]
impl ProgramPy {
    #[new]
    fn new(data: &[u8]) -> PyResult<Self> {
        Program::from_json(data)
            .map(|p| ProgramPy { program: Arc::new(p) })
            .map_err(PyValueError::new_err)
    }

    /// Streaming hold-back in normalized tokens.
    #[getter]
    fn hold_back_tokens(&self) -> usize {
        self.program.hold_back_tokens
    }

    #[getter]
    fn matcher_count(&self) -> u32 {
        self.program.matchers.count
    }

    /// Automaton patterns (phrases, template atoms and regex atoms, deduplicated).
    #[getter]
    fn automaton_patterns(&self) -> usize {
        self.program.matchers.key_count()
    }

    /// Heap bytes of the whole-turn automata, over words and over regex atoms (their cache footprint on the hot
    /// path).
    #[getter]
    fn automaton_bytes(&self) -> usize {
        self.program.matchers.automaton_bytes()
    }

    /// Heap bytes of the automaton streams carry from chunk to chunk (0: no keys), built as the program loads.
    #[getter]
    fn stream_automaton_bytes(&self) -> usize {
        self.program.matchers.stream_automaton_bytes()
    }

    /// Variables the matchers read (template variables and detector exemptions).
    #[getter]
    fn variables(&self) -> Vec<String> {
        self.program.matchers.variables.clone()
    }

    /// Variables inject texts read.
    #[getter]
    fn fill_variables(&self) -> Vec<String> {
        self.program.fill_variables.clone()
    }
}

/// A Python value as the evaluator's.
pub fn to_value(v: &Bound<'_, PyAny>) -> PyResult<Value> {
    if v.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        return Ok(match v.extract::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Other(Arc::new(v.clone().unbind())),
        });
    }
    if let Ok(f) = v.downcast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = v.downcast::<PyString>() {
        if let Ok(s) = s.to_str() {
            return Ok(Value::Str(Arc::from(s)));
        }
    }
    if v.is_exact_instance_of::<PyList>() {
        let items = v
            .downcast::<PyList>()?
            .iter()
            .map(|x| to_value(&x))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Value::List(Arc::new(items)));
    }
    if v.is_exact_instance_of::<PyTuple>() {
        let items = v
            .downcast::<PyTuple>()?
            .iter()
            .map(|x| to_value(&x))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Value::Tuple(Arc::new(items)));
    }
    Ok(Value::Other(Arc::new(v.clone().unbind())))
}

/// What an engine's calls share: the program, the text layer and the gate's settings.
#[pyclass(frozen, module = "trace_engine._core")]
pub struct EngineCore {
    pub shared: Arc<Shared>,
}

fn mode_cap(mode: &str) -> PyResult<u8> {
    Ok(match mode {
        "warn" => 0,
        "modify" => 1,
        "block" => 2,
        "human_handoff" => 3,
        _ => return Err(PyValueError::new_err(format!("unknown mode {mode:?}"))),
    })
}

#[pymethods]
impl EngineCore {
    /// ``time_parser``: ``value -> (hour, minute, aware, micros) | None``.
    #[new]
    #[pyo3(signature = (program, *, mode, timeout_ns, fail_open, fallback_line=None, handoff_line=None, time_parser=None, sticky_words=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        program: &Bound<'_, ProgramPy>,
        mode: &str,
        timeout_ns: u64,
        fail_open: bool,
        fallback_line: Option<Py<PyString>>,
        handoff_line: Option<Py<PyString>>,
        time_parser: Option<Py<PyAny>>,
        sticky_words: Vec<String>,
    ) -> PyResult<Self> {
        let program = program.get().program.clone();
        let s = |x: &str| PyString::intern(py, x).unbind();
        let mut kinds = vec![s("")];
        for k in DetKind::all() {
            kinds.push(s(k.name()));
        }
        let rules: Vec<[Py<PyString>; 5]> = program
            .rules
            .iter()
            .map(|r| {
                [
                    s(&r.id),
                    s(&r.pack_id),
                    s(&r.severity),
                    PyString::new(py, &r.citation).unbind(),
                    PyString::new(py, &r.reason).unbind(),
                ]
            })
            .collect();
        let acts = [s("pass"), s("flag"), s("modify"), s("block")];
        let bare = |r: &[Py<PyString>; 5], act: &Py<PyString>| {
            let [rule_id, pack_id, severity, citation, reason] = r.each_ref().map(|x| x.clone_ref(py));
            let finding = TurnFinding::new(
                py,
                rule_id,
                pack_id,
                severity,
                citation,
                reason,
                None,
                act.clone_ref(py),
                None,
            )?;
            Py::new(py, finding)
        };
        let bare_findings = rules
            .iter()
            .map(|r| {
                Ok([
                    bare(r, &acts[0])?,
                    bare(r, &acts[1])?,
                    bare(r, &acts[2])?,
                    bare(r, &acts[3])?,
                ])
            })
            .collect::<PyResult<Vec<_>>>()?;
        let strs = Strs {
            actions: [s("pass"), s("flag"), s("modify"), s("block"), s("handoff")],
            acts,
            kinds,
            rules,
            withheld: s(super::call::WITHHELD),
            agent: s("agent"),
            caller: s("caller"),
            facts: s("facts"),
            empty_tuple: PyTuple::empty(py).unbind(),
            bare_findings,
        };
        let mut redact_kinds: Vec<DetKind> = Vec::new();
        for d in &program.matchers.detectors {
            if !redact_kinds.contains(&d.kind) {
                redact_kinds.push(d.kind);
            }
        }
        let state_keys = program
            .state_names
            .iter()
            .map(|name| {
                let key = format!("state.{name}");
                program.field_names.iter().position(|f| *f == key).map(|i| i as u32)
            })
            .collect();
        Ok(EngineCore {
            shared: Arc::new(Shared {
                program,
                timeout_ns,
                fail_open,
                fallback_line,
                handoff_line,
                mode_cap: mode_cap(mode)?,
                strs,
                time_func: time_parser,
                redact_kinds,
                state_keys,
                sticky: Arc::new(super::stream::Sticky::new(sticky_words)),
                injected: std::sync::Mutex::new(Vec::new()),
                literals: std::sync::Mutex::new(Vec::new()),
                py_literals: std::sync::Mutex::new(Vec::new()),
                stream_room: Default::default(),
            }),
        })
    }
}

/// Inject a fault at a stage (tests): ``mode`` ``"raise"`` or ``"slow"`` (move the gate's clock ``ns``
/// forward); ``stage=None`` clears every fault.
#[pyfunction]
#[pyo3(signature = (stage=None, mode="raise", ns=0))]
pub fn _set_fault(stage: Option<&str>, mode: &str, ns: u64) -> PyResult<()> {
    let stage = match stage {
        None => None,
        Some(s) => Some(Stage::parse(s).ok_or_else(|| PyValueError::new_err(format!("unknown stage {s:?}")))?),
    };
    let kind = match mode {
        "raise" => FaultKind::Raise,
        "slow" => FaultKind::Slow(ns),
        _ => return Err(PyValueError::new_err(format!("unknown fault mode {mode:?}"))),
    };
    set_fault(stage, kind);
    Ok(())
}

/// The gate's monotonic clock, in nanoseconds.
#[pyfunction]
pub fn _now_ns() -> u64 {
    super::clock::now_ns()
}

/// Translate an RE2 expression to the syntax the core runs (tests and lint).
#[pyfunction]
pub fn translate_re2(src: &str) -> String {
    super::scan::translate_re2(src)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ProgramPy>()?;
    m.add_class::<EngineCore>()?;
    m.add_class::<super::call::CallCore>()?;
    m.add_class::<super::stream::StreamCore>()?;
    m.add_class::<super::decision::Decision>()?;
    m.add_class::<super::decision::TurnFinding>()?;
    m.add_function(wrap_pyfunction!(_set_fault, m)?)?;
    m.add_function(wrap_pyfunction!(_now_ns, m)?)?;
    m.add_function(wrap_pyfunction!(translate_re2, m)?)?;
    m.add("TRACE_EVENTS", super::trace::EVENTS.to_vec())?;
    m.add(
        "TRACE_REASONS",
        super::trace::REASONS
            .iter()
            .map(|(_, n, d)| (*n, *d))
            .collect::<Vec<_>>(),
    )?;
    m.add(
        "VALIDATOR_CHECKS",
        crate::text::detectors::CHECKS
            .iter()
            .map(|(_, n, d)| (*n, *d))
            .collect::<Vec<_>>(),
    )?;
    Ok(())
}
