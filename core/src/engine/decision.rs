//! What the gate returns for each agent turn: [`Decision`] and its [`TurnFinding`]s (exposed to Python as
//! `trace_engine.gate.Decision` / `TurnFinding`). Immutable; built once per turn, from interned strings.

use std::mem::ManuallyDrop;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

/// One rule firing on one turn.
///
/// Fields: rule_id, pack_id, severity, citation, reason (from the rule); span ``(start, end)`` in the turn's
/// original text, or ``None`` for a missed obligation; action_taken ``pass`` (the gate failed open), ``flag``,
/// ``modify`` or ``block``; kind: the detector kind for PII hits (``credit_card``...), else ``None``.
#[pyclass(frozen, module = "trace_engine.gate.decision", name = "TurnFinding")]
pub struct TurnFinding {
    #[pyo3(get)]
    pub rule_id: Py<PyString>,
    #[pyo3(get)]
    pub pack_id: Py<PyString>,
    #[pyo3(get)]
    pub severity: Py<PyString>,
    #[pyo3(get)]
    pub citation: Py<PyString>,
    #[pyo3(get)]
    pub reason: Py<PyString>,
    #[pyo3(get)]
    pub span: PyObject,
    #[pyo3(get)]
    pub action_taken: Py<PyString>,
    #[pyo3(get)]
    pub kind: PyObject,
}

fn fields<'py>(py: Python<'py>, f: &TurnFinding) -> [Bound<'py, PyAny>; 8] {
    [
        f.rule_id.bind(py).clone().into_any(),
        f.pack_id.bind(py).clone().into_any(),
        f.severity.bind(py).clone().into_any(),
        f.citation.bind(py).clone().into_any(),
        f.reason.bind(py).clone().into_any(),
        f.span.bind(py).clone(),
        f.action_taken.bind(py).clone().into_any(),
        f.kind.bind(py).clone(),
    ]
}

#[pymethods]
impl TurnFinding {
    #[new]
    #[pyo3(signature = (rule_id, pack_id, severity, citation, reason, span, action_taken, kind=None))]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        py: Python<'_>,
        rule_id: Py<PyString>,
        pack_id: Py<PyString>,
        severity: Py<PyString>,
        citation: Py<PyString>,
        reason: Py<PyString>,
        span: Option<(i64, i64)>,
        action_taken: Py<PyString>,
        kind: Option<Py<PyString>>,
    ) -> PyResult<Self> {
        let span = match span {
            Some(s) => s.into_pyobject(py)?.into_any().unbind(),
            None => py.None(),
        };
        let kind = kind.map(|k| k.into_any()).unwrap_or_else(|| py.None());
        Ok(TurnFinding {
            rule_id,
            pack_id,
            severity,
            citation,
            reason,
            span,
            action_taken,
            kind,
        })
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("rule_id", &self.rule_id)?;
        d.set_item("pack_id", &self.pack_id)?;
        d.set_item("severity", &self.severity)?;
        d.set_item("citation", &self.citation)?;
        d.set_item("reason", &self.reason)?;
        let span = self.span.bind(py);
        if span.is_none() {
            d.set_item("span", py.None())?;
        } else {
            d.set_item(
                "span",
                PyList::new(py, span.try_iter()?.collect::<PyResult<Vec<_>>>()?)?,
            )?;
        }
        d.set_item("action_taken", &self.action_taken)?;
        d.set_item("kind", &self.kind)?;
        Ok(d)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.downcast::<TurnFinding>() else {
            return Ok(false);
        };
        let o = other.get();
        for (a, b) in fields(py, self).iter().zip(fields(py, o).iter()) {
            if !a.eq(b)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        PyTuple::new(py, fields(py, self))?.hash()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let f = fields(py, self);
        Ok(format!(
            "TurnFinding(rule_id={}, pack_id={}, severity={}, citation={}, reason={}, span={}, action_taken={}, kind={})",
            f[0].repr()?, f[1].repr()?, f[2].repr()?, f[3].repr()?, f[4].repr()?, f[5].repr()?, f[6].repr()?, f[7].repr()?
        ))
    }
}

/// The gate's answer for one agent turn (immutable).
///
/// Fields: action ``pass`` nothing fired; ``flag`` findings recorded, text unchanged; ``modify`` text rewritten;
/// ``block`` suppressed and replaced by the fallback line; ``handoff`` suppressed, transfer to a person. text: what
/// may be spoken (``None`` when suppressed and no fallback line is configured). findings: what fired. latency_ns:
/// time spent in the gate for this turn, commit included. preempt: instructions for this turn from Tier-2 findings
/// on earlier turns (advisory).
#[pyclass(frozen, module = "trace_engine.gate.decision", name = "Decision")]
pub struct Decision {
    pub action: ManuallyDrop<Py<PyString>>,
    pub text: ManuallyDrop<PyObject>,
    pub findings: ManuallyDrop<Py<PyTuple>>,
    #[pyo3(get)]
    pub latency_ns: i64,
    pub preempt: ManuallyDrop<Py<PyTuple>>,
}

impl Decision {
    pub fn new_core(
        action: Py<PyString>,
        text: PyObject,
        findings: Py<PyTuple>,
        latency_ns: i64,
        preempt: Py<PyTuple>,
    ) -> Decision {
        Decision {
            action: ManuallyDrop::new(action),
            text: ManuallyDrop::new(text),
            findings: ManuallyDrop::new(findings),
            latency_ns,
            preempt: ManuallyDrop::new(preempt),
        }
    }
}

/// A decision is freed by Python (its `tp_dealloc`, with the GIL held) once per turn: its references are released
/// directly, without pyo3's per-reference check of whether this thread holds the GIL (a thread-local read each).
impl Drop for Decision {
    fn drop(&mut self) {
        // SAFETY: a `Decision` lives in a Python object or in code holding the GIL; each field is taken once
        unsafe {
            let py = Python::assume_gil_acquired();
            ManuallyDrop::take(&mut self.action).drop_ref(py);
            ManuallyDrop::take(&mut self.text).drop_ref(py);
            ManuallyDrop::take(&mut self.findings).drop_ref(py);
            ManuallyDrop::take(&mut self.preempt).drop_ref(py);
        }
    }
}

#[pymethods]
impl Decision {
    #[new]
    #[pyo3(signature = (action, text, findings=None, latency_ns=0, preempt=None))]
    fn new(
        py: Python<'_>,
        action: Py<PyString>,
        text: PyObject,
        findings: Option<Bound<'_, PyAny>>,
        latency_ns: i64,
        preempt: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let tuple = |x: Option<Bound<'_, PyAny>>| -> PyResult<Py<PyTuple>> {
            Ok(match x {
                None => PyTuple::empty(py).unbind(),
                Some(v) => PyTuple::new(py, v.try_iter()?.collect::<PyResult<Vec<_>>>()?)?.unbind(),
            })
        };
        Ok(Decision::new_core(
            action,
            text,
            tuple(findings)?,
            latency_ns,
            tuple(preempt)?,
        ))
    }

    #[getter]
    fn action(&self, py: Python<'_>) -> Py<PyString> {
        self.action.clone_ref(py)
    }

    #[getter]
    fn text(&self, py: Python<'_>) -> PyObject {
        self.text.clone_ref(py)
    }

    #[getter]
    fn findings(&self, py: Python<'_>) -> Py<PyTuple> {
        self.findings.clone_ref(py)
    }

    #[getter]
    fn preempt(&self, py: Python<'_>) -> Py<PyTuple> {
        self.preempt.clone_ref(py)
    }

    /// True when the turn loop should transfer the call to a person.
    #[getter]
    fn handoff(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.action.bind(py).to_str()? == "handoff")
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("action", &*self.action)?;
        d.set_item("text", &*self.text)?;
        let findings = PyList::empty(py);
        for f in self.findings.bind(py).iter() {
            findings.append(f.call_method0("to_dict")?)?;
        }
        d.set_item("findings", findings)?;
        d.set_item("latency_ns", self.latency_ns)?;
        d.set_item("preempt", PyList::new(py, self.preempt.bind(py).iter())?)?;
        Ok(d)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.downcast::<Decision>() else {
            return Ok(false);
        };
        let o = other.get();
        Ok(self.action.bind(py).as_any().eq(o.action.bind(py))?
            && self.text.bind(py).eq(o.text.bind(py))?
            && self.findings.bind(py).as_any().eq(o.findings.bind(py))?
            && self.latency_ns == o.latency_ns
            && self.preempt.bind(py).as_any().eq(o.preempt.bind(py))?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Decision(action={}, text={}, findings={}, latency_ns={}, preempt={})",
            self.action.bind(py).repr()?,
            self.text.bind(py).repr()?,
            self.findings.bind(py).repr()?,
            self.latency_ns,
            self.preempt.bind(py).repr()?
        ))
    }

    /// Unpacking like the named tuple it replaces: ``action, text, findings, latency_ns, preempt = decision``.
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let items: [Bound<'py, PyAny>; 5] = [
            self.action.bind(py).clone().into_any(),
            self.text.bind(py).clone(),
            self.findings.bind(py).clone().into_any(),
            self.latency_ns.into_pyobject(py)?.into_any(),
            self.preempt.bind(py).clone().into_any(),
        ];
        PyTuple::new(py, items)?.into_any().try_iter().map(|i| i.into_any())
    }
}
