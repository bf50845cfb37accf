//! What the gate returns for each agent turn: [`Decision`] and its [`TurnFinding`]s (exposed to Python as
//! `trace_engine.gate.Decision` / `TurnFinding`). Immutable; built once per turn, from interned strings; a
//! core-built decision's findings become Python objects on first access.

use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::call::Shared;
use super::scan::NO_KIND;

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

/// One finding of a turn as the core keeps it until Python asks for it: the rule, the action taken (`0..4`: pass,
/// flag, modify, block), the detector kind (`NO_KIND` for none) and the span in the turn's original text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compact {
    pub rule: u32,
    pub act: u8,
    pub kind: u8,
    pub span: Option<(u32, u32)>,
}

/// How many findings a decision keeps without a heap allocation (99.6 % of SGD's agent turns have at most two).
const INLINE: usize = 2;

/// The findings a core-built decision has not turned into Python objects yet, with the engine's interned strings
/// they are built from. Most turn loops never read `Decision.findings` on a turn without them, and many never read
/// them at all: the Python objects (8 references each, and a tuple) are built on first access.
pub struct Pending {
    sh: Arc<Shared>,
    len: u8,
    inline: [Compact; INLINE],
    /// all of them, when there are more than `INLINE`
    more: Box<[Compact]>,
}

impl Pending {
    /// The findings of `violations`, in order.
    pub fn new(sh: &Arc<Shared>, violations: impl ExactSizeIterator<Item = Compact>) -> Pending {
        const NONE: Compact = Compact {
            rule: 0,
            act: 0,
            kind: NO_KIND,
            span: None,
        };
        let mut p = Pending {
            sh: sh.clone(),
            len: 0,
            inline: [NONE; INLINE],
            more: Box::default(),
        };
        if violations.len() > INLINE {
            p.more = violations.collect();
        } else {
            for (slot, c) in p.inline.iter_mut().zip(violations) {
                *slot = c;
                p.len += 1;
            }
        }
        p
    }

    fn items(&self) -> &[Compact] {
        if self.more.is_empty() {
            &self.inline[..self.len as usize]
        } else {
            &self.more
        }
    }

    /// The findings as Python objects (what an eagerly built decision holds).
    #[inline(never)]
    fn build(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        let strs = &self.sh.strs;
        let items = self.items();
        if items.is_empty() {
            return Ok(strs.empty_tuple.clone_ref(py));
        }
        let mut out = Vec::with_capacity(items.len());
        for c in items {
            let act = c.act as usize;
            if c.span.is_none() && c.kind == NO_KIND {
                // a missed obligation: the engine's one immutable object for it
                out.push(strs.bare_findings[c.rule as usize][act].clone_ref(py));
                continue;
            }
            let r = &strs.rules[c.rule as usize];
            let span = match c.span {
                Some(s) => s.into_pyobject(py)?.into_any().unbind(),
                None => py.None(),
            };
            let kind = if c.kind == NO_KIND {
                py.None()
            } else {
                strs.kinds[c.kind as usize].clone_ref(py).into_any()
            };
            out.push(Py::new(
                py,
                TurnFinding {
                    rule_id: r[0].clone_ref(py),
                    pack_id: r[1].clone_ref(py),
                    severity: r[2].clone_ref(py),
                    citation: r[3].clone_ref(py),
                    reason: r[4].clone_ref(py),
                    span,
                    action_taken: strs.acts[act].clone_ref(py),
                    kind,
                },
            )?);
        }
        Ok(PyTuple::new(py, out)?.unbind())
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
    /// Written only at creation, or by [`Decision::issue`] while no one else holds the object (see there).
    fields: UnsafeCell<Fields>,
}

// SAFETY: the fields are written only while the writer holds the GIL and the only reference to the object
unsafe impl Sync for Decision {}

struct Fields {
    action: ManuallyDrop<Py<PyString>>,
    text: ManuallyDrop<PyObject>,
    /// the findings tuple, once built (a decision made in Python gets it at once; the core's on first access)
    findings: GILOnceCell<Py<PyTuple>>,
    /// what the core's decision builds `findings` from (`None`: no findings, or built in Python)
    pending: Option<Pending>,
    latency_ns: i64,
    preempt: ManuallyDrop<Py<PyTuple>>,
}

impl Fields {
    fn new(
        action: Py<PyString>,
        text: PyObject,
        pending: Option<Pending>,
        latency_ns: i64,
        preempt: Py<PyTuple>,
    ) -> Fields {
        Fields {
            action: ManuallyDrop::new(action),
            text: ManuallyDrop::new(text),
            findings: GILOnceCell::new(),
            pending,
            latency_ns,
            preempt: ManuallyDrop::new(preempt),
        }
    }
}

impl Decision {
    /// A decision whose findings are built when first read (`pending`: `None` when the turn has none).
    pub fn new_core(
        action: Py<PyString>,
        text: PyObject,
        pending: Option<Pending>,
        latency_ns: i64,
        preempt: Py<PyTuple>,
    ) -> Decision {
        Decision {
            fields: UnsafeCell::new(Fields::new(action, text, pending, latency_ns, preempt)),
        }
    }

    /// The decision of a call's turn, in the object `held` holds when nothing else holds it any more.
    ///
    /// A turn loop drops each decision before the next turn, so a call keeps the last one it returned and fills it
    /// again: no object to allocate, zero and free per turn (its type looked up, its memory taken from and given
    /// back to Python's allocator). When the turn loop still holds it, the next decision is a new object and the
    /// call keeps that one instead. Nothing can tell a refilled decision from a new one: no one else can reach the
    /// object (its only reference is `held`; decisions are not tracked by the garbage collector and take no weak
    /// references), and it is refilled before it is handed out again, with the GIL held.
    pub fn issue<'py>(
        py: Python<'py>,
        held: &mut Option<Py<Decision>>,
        action: Py<PyString>,
        text: PyObject,
        pending: Option<Pending>,
        latency_ns: i64,
        preempt: Py<PyTuple>,
    ) -> PyResult<Bound<'py, Decision>> {
        if let Some(d) = held.as_ref() {
            // SAFETY: a live object (`held` owns a reference); the GIL is held
            if unsafe { pyo3::ffi::Py_REFCNT(d.as_ptr()) } == 1 {
                // SAFETY: `held` has the only reference, so nothing reads the fields while they are replaced
                let mut old = unsafe {
                    std::mem::replace(
                        &mut *d.get().fields.get(),
                        Fields::new(action, text, pending, latency_ns, preempt),
                    )
                };
                release(py, &mut old); // may free objects, never this one: it is refilled already
                return Ok(d.bind(py).clone());
            }
        }
        let d = Bound::new(py, Decision::new_core(action, text, pending, latency_ns, preempt))?;
        *held = Some(d.clone().unbind());
        Ok(d)
    }

    #[inline(always)]
    fn f(&self) -> &Fields {
        // SAFETY: written only by `issue`, when no one else holds the object (so not during this borrow)
        unsafe { &*self.fields.get() }
    }

    /// The action and the text (what Python reads as ``action`` and ``text``), without new references.
    pub fn action_and_text<'a, 'py>(&'a self, py: Python<'py>) -> (&'a Bound<'py, PyString>, &'a Bound<'py, PyAny>) {
        let f = self.f();
        (f.action.bind(py), f.text.bind(py))
    }

    /// The findings tuple: built from the pending findings on first access, the same object afterwards.
    pub fn findings_tuple<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyTuple>> {
        let f = self.f();
        let t = f.findings.get_or_try_init(py, || match &f.pending {
            Some(p) => p.build(py),
            None => Ok(PyTuple::empty(py).unbind()),
        })?;
        Ok(t.bind(py))
    }
}

/// Release a decision's references directly, without pyo3's per-reference check of whether this thread holds the
/// GIL (a thread-local read each): a decision is freed (or refilled) once per turn, by code holding the GIL. The
/// fields must not be read afterwards (the rest of them are dropped as usual).
fn release(py: Python<'_>, f: &mut Fields) {
    // SAFETY: called once per `Fields`, just before it is dropped
    unsafe {
        ManuallyDrop::take(&mut f.action).drop_ref(py);
        ManuallyDrop::take(&mut f.text).drop_ref(py);
        if let Some(t) = f.findings.take() {
            t.drop_ref(py);
        }
        ManuallyDrop::take(&mut f.preempt).drop_ref(py);
    }
}

/// A decision is freed by Python (its `tp_dealloc`, with the GIL held).
impl Drop for Decision {
    fn drop(&mut self) {
        // SAFETY: a `Decision` lives in a Python object or in code holding the GIL
        let py = unsafe { Python::assume_gil_acquired() };
        release(py, self.fields.get_mut());
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
        let d = Decision::new_core(action, text, None, latency_ns, tuple(preempt)?);
        let _ = d.f().findings.set(py, tuple(findings)?);
        Ok(d)
    }

    #[getter]
    fn action(&self, py: Python<'_>) -> Py<PyString> {
        self.f().action.clone_ref(py)
    }

    #[getter]
    fn text(&self, py: Python<'_>) -> PyObject {
        self.f().text.clone_ref(py)
    }

    #[getter]
    fn latency_ns(&self) -> i64 {
        self.f().latency_ns
    }

    #[getter]
    fn findings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        Ok(self.findings_tuple(py)?.clone())
    }

    #[getter]
    fn preempt(&self, py: Python<'_>) -> Py<PyTuple> {
        self.f().preempt.clone_ref(py)
    }

    /// True when the turn loop should transfer the call to a person.
    #[getter]
    fn handoff(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.f().action.bind(py).to_str()? == "handoff")
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("action", &*self.f().action)?;
        d.set_item("text", &*self.f().text)?;
        let findings = PyList::empty(py);
        for f in self.findings_tuple(py)?.iter() {
            findings.append(f.call_method0("to_dict")?)?;
        }
        d.set_item("findings", findings)?;
        d.set_item("latency_ns", self.f().latency_ns)?;
        d.set_item("preempt", PyList::new(py, self.f().preempt.bind(py).iter())?)?;
        Ok(d)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.downcast::<Decision>() else {
            return Ok(false);
        };
        let o = other.get();
        Ok(self.f().action.bind(py).as_any().eq(o.f().action.bind(py))?
            && self.f().text.bind(py).eq(o.f().text.bind(py))?
            && self.findings_tuple(py)?.as_any().eq(o.findings_tuple(py)?)?
            && self.f().latency_ns == o.f().latency_ns
            && self.f().preempt.bind(py).as_any().eq(o.f().preempt.bind(py))?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Decision(action={}, text={}, findings={}, latency_ns={}, preempt={})",
            self.f().action.bind(py).repr()?,
            self.f().text.bind(py).repr()?,
            self.findings_tuple(py)?.repr()?,
            self.f().latency_ns,
            self.f().preempt.bind(py).repr()?
        ))
    }

    /// Unpacking like the named tuple it replaces: ``action, text, findings, latency_ns, preempt = decision``.
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let items: [Bound<'py, PyAny>; 5] = [
            self.f().action.bind(py).clone().into_any(),
            self.f().text.bind(py).clone(),
            self.findings_tuple(py)?.clone().into_any(),
            self.f().latency_ns.into_pyobject(py)?.into_any(),
            self.f().preempt.bind(py).clone().into_any(),
        ];
        PyTuple::new(py, items)?.into_any().try_iter().map(|i| i.into_any())
    }
}
