//! Expressions over call facts and states, evaluated with Kleene (three-valued) logic.
//!
//! The data form is `compile/expr.py`'s. `eval` returns `None` for UNKNOWN (an input it needs is missing or
//! unusable). Values follow Python's semantics, because the facts come from Python and the frozen gate is the
//! oracle: `True == 1 == 1.0`, a string never equals a number, ordering a string against a number is UNKNOWN, a
//! list never equals a tuple (a constant list is a tuple). Time stamps are parsed by Python's own
//! `datetime.fromisoformat` (through the engine's time parser, cached per call), so what counts as ISO 8601 is
//! exactly what the fact layer accepted.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use serde_json::Value as Json;

use super::program::StateId;

pub type FieldId = u32;

#[derive(Debug, Clone)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    List(Arc<Vec<Value>>),
    Tuple(Arc<Vec<Value>>),
    /// anything else (a dict, a datetime, a big int): compared by Python itself
    Other(Arc<Py<PyAny>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Has,
    Default,
    TimeOfDay,
    DaysBetween,
    Lower,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

#[derive(Debug, Clone)]
pub enum Expr {
    /// a metadata key (field id), and the key itself
    Field(FieldId),
    State(StateId),
    Const(Value),
    Call(Func, Vec<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
}

/// Names the program interns while loading: states and metadata fields.
#[derive(Default, Debug)]
pub struct Interner {
    pub states: Vec<String>,
    pub fields: Vec<String>,
    state_ix: HashMap<String, u32>,
    field_ix: HashMap<String, u32>,
}

impl Interner {
    pub fn state(&mut self, name: &str) -> StateId {
        if let Some(&i) = self.state_ix.get(name) {
            return i;
        }
        let i = self.states.len() as u32;
        self.states.push(name.to_string());
        self.state_ix.insert(name.to_string(), i);
        i
    }

    pub fn field(&mut self, name: &str) -> FieldId {
        if let Some(&i) = self.field_ix.get(name) {
            return i;
        }
        let i = self.fields.len() as u32;
        self.fields.push(name.to_string());
        self.field_ix.insert(name.to_string(), i);
        i
    }
}

const MAX_DEPTH: usize = 200;

fn const_value(j: &Json, top: bool) -> Result<Value, String> {
    Ok(match j {
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(f) = n.as_f64() {
                if n.is_u64() {
                    return Err("integer constant out of range".into());
                }
                Value::Float(f)
            } else {
                return Err("bad number".into());
            }
        }
        Json::String(s) => Value::Str(Arc::from(s.as_str())),
        Json::Array(items) if top => Value::Tuple(Arc::new(
            items.iter().map(|x| const_value(x, false)).collect::<Result<_, _>>()?,
        )),
        _ => return Err("a constant is a string, number, boolean or a list of those".into()),
    })
}

impl Expr {
    pub fn from_json(j: &Json, names: &mut Interner) -> Result<Expr, String> {
        Self::parse(j, names, 0)
    }

    fn parse(j: &Json, names: &mut Interner, depth: usize) -> Result<Expr, String> {
        if depth > MAX_DEPTH {
            return Err("expression nested too deeply".into());
        }
        let arr = j
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or("an expression is a non-empty array")?;
        let tag = arr[0].as_str().ok_or("an expression starts with its tag")?;
        let sub = |k: usize, names: &mut Interner| -> Result<Box<Expr>, String> {
            Ok(Box::new(Self::parse(
                arr.get(k).ok_or(format!("`{tag}` is missing an operand"))?,
                names,
                depth + 1,
            )?))
        };
        let list = |k: usize, names: &mut Interner| -> Result<Vec<Expr>, String> {
            arr.get(k)
                .and_then(Json::as_array)
                .ok_or(format!("`{tag}` needs a list of operands"))?
                .iter()
                .map(|x| Self::parse(x, names, depth + 1))
                .collect()
        };
        let arity = |n: usize| -> Result<(), String> {
            if arr.len() == n {
                Ok(())
            } else {
                Err(format!("`{tag}` takes {} operands", n - 1))
            }
        };
        Ok(match tag {
            "field" => {
                arity(2)?;
                Expr::Field(names.field(arr[1].as_str().ok_or("a field is named by a string")?))
            }
            "state" => {
                arity(2)?;
                Expr::State(names.state(arr[1].as_str().ok_or("a state is named by a string")?))
            }
            "const" => {
                arity(2)?;
                Expr::Const(const_value(&arr[1], true)?)
            }
            "call" => {
                arity(3)?;
                let func = match arr[1].as_str().unwrap_or("") {
                    "has" => (Func::Has, 1),
                    "default" => (Func::Default, 2),
                    "time_of_day" => (Func::TimeOfDay, 1),
                    "days_between" => (Func::DaysBetween, 2),
                    "lower" => (Func::Lower, 1),
                    other => return Err(format!("unknown function {other:?}")),
                };
                let args = list(2, names)?;
                if args.len() != func.1 {
                    return Err(format!("{:?} takes {} arguments", func.0, func.1));
                }
                // has(state.x) reads the metadata key "state.x", as the Python gate does
                if func.0 == Func::Has || func.0 == Func::Default {
                    if let Expr::State(s) = &args[0] {
                        let key = format!("state.{}", names.states[*s as usize]);
                        names.field(&key);
                    }
                }
                Expr::Call(func.0, args)
            }
            "cmp" => {
                arity(4)?;
                let op = match arr[1].as_str().unwrap_or("") {
                    "==" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    ">=" => CmpOp::Ge,
                    "in" => CmpOp::In,
                    "not_in" => CmpOp::NotIn,
                    other => return Err(format!("unknown comparison {other:?}")),
                };
                Expr::Cmp(op, sub(2, names)?, sub(3, names)?)
            }
            "between" => {
                arity(4)?;
                Expr::Between(sub(1, names)?, sub(2, names)?, sub(3, names)?)
            }
            "and" | "or" => {
                arity(2)?;
                let ops = list(1, names)?;
                if ops.is_empty() {
                    return Err(format!("`{tag}` needs operands"));
                }
                if tag == "and" {
                    Expr::And(ops)
                } else {
                    Expr::Or(ops)
                }
            }
            "not" => {
                arity(2)?;
                Expr::Not(sub(1, names)?)
            }
            "if" => {
                arity(4)?;
                Expr::If(sub(1, names)?, sub(2, names)?, sub(3, names)?)
            }
            other => return Err(format!("unknown expression {other:?}")),
        })
    }
}

/// A parsed time stamp: its local hour and minute, whether it has an offset, and microseconds since the epoch
/// (UTC for aware stamps, naive otherwise).
#[derive(Debug, Clone, Copy)]
pub struct TimeParts {
    pub hour: u32,
    pub minute: u32,
    pub aware: bool,
    pub micros: i128,
}

/// Parses time stamps with Python's `datetime.fromisoformat`, caching by the string.
pub struct TimeParser {
    pub func: Option<Py<PyAny>>,
    cache: Mutex<HashMap<Arc<str>, Option<TimeParts>>>,
}

impl TimeParser {
    pub fn new(func: Option<Py<PyAny>>) -> Self {
        TimeParser {
            func,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn call(&self, py: Python<'_>, arg: Bound<'_, PyAny>) -> Option<TimeParts> {
        let func = self.func.as_ref()?;
        let got = func.bind(py).call1((arg,)).ok()?;
        if got.is_none() {
            return None;
        }
        let (hour, minute, aware, micros): (u32, u32, bool, i128) = got.extract().ok()?;
        Some(TimeParts {
            hour,
            minute,
            aware,
            micros,
        })
    }

    pub fn parse(&self, py: Python<'_>, v: &Value) -> Option<TimeParts> {
        match v {
            Value::Str(s) => {
                if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(s).copied()) {
                    return hit;
                }
                let parsed = self.call(py, pyo3::types::PyString::new(py, s).into_any());
                if let Ok(mut cache) = self.cache.lock() {
                    if cache.len() < 256 {
                        cache.insert(s.clone(), parsed);
                    }
                }
                parsed
            }
            Value::Other(o) => self.call(py, o.bind(py).clone()),
            _ => None,
        }
    }
}

/// What an evaluation reads.
pub struct Ctx<'a, 'py> {
    pub py: Python<'py>,
    pub facts: &'a [Option<Value>],
    /// `states[i]`: state `i` is set (an empty slice: no state is set)
    pub states: &'a [bool],
    pub time: &'a TimeParser,
    /// the missing fields the evaluation read (for "not evaluated: missing metadata ..." reasons)
    pub missing: Option<RefCell<Vec<FieldId>>>,
    /// the field id of `state.X` metadata keys (for `has(state.X)`)
    pub state_keys: &'a [Option<FieldId>],
}

impl<'a, 'py> Ctx<'a, 'py> {
    fn field(&self, f: FieldId, record: bool) -> Option<&'a Value> {
        let v = self.facts.get(f as usize).and_then(Option::as_ref);
        if v.is_none() && record {
            if let Some(m) = &self.missing {
                m.borrow_mut().push(f);
            }
        }
        v
    }

    fn state(&self, s: StateId) -> bool {
        self.states.get(s as usize).copied().unwrap_or(false)
    }

    /// Evaluate; `None` is UNKNOWN.
    pub fn eval(&self, e: &Expr) -> Option<Value> {
        match e {
            Expr::Field(f) => self.field(*f, true).cloned(),
            Expr::State(s) => Some(Value::Bool(self.state(*s))),
            Expr::Const(v) => Some(v.clone()),
            Expr::Call(func, args) => self.call(*func, args),
            Expr::Cmp(op, l, r) => {
                let a = self.eval(l)?;
                let b = self.eval(r)?;
                compare(self.py, *op, &a, &b).map(Value::Bool)
            }
            Expr::Between(v, lo, hi) => {
                let (v, lo, hi) = (self.eval(v), self.eval(lo), self.eval(hi));
                let (v, lo, hi) = (v?, lo?, hi?);
                // lo <= v < hi, chained: the second comparison only when the first holds
                let first = compare(self.py, CmpOp::Le, &lo, &v)?;
                if !first {
                    return Some(Value::Bool(false));
                }
                compare(self.py, CmpOp::Lt, &v, &hi).map(Value::Bool)
            }
            Expr::And(ops) => {
                let mut unknown = false;
                for o in ops {
                    match self.eval(o) {
                        None => unknown = true,
                        Some(v) => {
                            if !truth(self.py, &v)? {
                                return Some(Value::Bool(false));
                            }
                        }
                    }
                }
                if unknown {
                    None
                } else {
                    Some(Value::Bool(true))
                }
            }
            Expr::Or(ops) => {
                let mut unknown = false;
                for o in ops {
                    match self.eval(o) {
                        None => unknown = true,
                        Some(v) => {
                            if truth(self.py, &v)? {
                                return Some(Value::Bool(true));
                            }
                        }
                    }
                }
                if unknown {
                    None
                } else {
                    Some(Value::Bool(false))
                }
            }
            Expr::Not(x) => {
                let v = self.eval(x)?;
                Some(Value::Bool(!truth(self.py, &v)?))
            }
            Expr::If(c, a, b) => {
                let c = self.eval(c)?;
                if truth(self.py, &c)? {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
        }
    }

    fn call(&self, func: Func, args: &[Expr]) -> Option<Value> {
        match func {
            Func::Has => Some(Value::Bool(match &args[0] {
                Expr::Field(f) => self.field(*f, false).is_some(),
                Expr::State(s) => self
                    .state_keys
                    .get(*s as usize)
                    .copied()
                    .flatten()
                    .is_some_and(|f| self.field(f, false).is_some()),
                other => self.eval(other).is_some(),
            })),
            Func::Default => match &args[0] {
                Expr::Field(f) => match self.field(*f, false) {
                    Some(v) => Some(v.clone()),
                    None => self.eval(&args[1]),
                },
                other => match self.eval(other) {
                    Some(v) => Some(v),
                    None => self.eval(&args[1]),
                },
            },
            Func::TimeOfDay => {
                let v = self.eval(&args[0])?;
                let t = self.time.parse(self.py, &v)?;
                Some(Value::Str(Arc::from(format!("{:02}:{:02}", t.hour, t.minute).as_str())))
            }
            Func::DaysBetween => {
                let a = self.eval(&args[0]);
                let b = self.eval(&args[1]);
                let a = self.time.parse(self.py, &a?)?;
                let b = self.time.parse(self.py, &b?)?;
                if a.aware != b.aware {
                    return None;
                }
                let micros = b.micros - a.micros;
                Some(Value::Float(micros as f64 / 1e6 / 86400.0))
            }
            Func::Lower => match self.eval(&args[0])? {
                Value::Str(s) => Some(Value::Str(Arc::from(python_lower(&s).as_str()))),
                _ => None,
            },
        }
    }
}

/// `str.lower()`: Unicode full lowercase mapping (Rust's `to_lowercase` applies the same mappings, final sigma
/// included).
pub fn python_lower(s: &str) -> String {
    s.to_lowercase()
}

/// Python's `bool(value)`; `None` when Python raises.
pub fn truth(py: Python<'_>, v: &Value) -> Option<bool> {
    Some(match v {
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(s) => !s.is_empty(),
        Value::List(l) | Value::Tuple(l) => !l.is_empty(),
        Value::Other(o) => o.bind(py).is_truthy().ok()?,
    })
}

enum Num {
    I(i64),
    F(f64),
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Bool(b) => Some(Num::I(*b as i64)),
        Value::Int(i) => Some(Num::I(*i)),
        Value::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

fn num_cmp(a: Num, b: Num) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::I(x), Num::F(y)) => (x as f64).partial_cmp(&y),
        (Num::F(x), Num::I(y)) => x.partial_cmp(&(y as f64)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
    }
}

fn to_py<'py>(py: Python<'py>, v: &Value) -> Bound<'py, PyAny> {
    use pyo3::types::{PyList, PyTuple};
    match v {
        Value::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i
            .into_pyobject(py)
            .map(|x| x.into_any())
            .unwrap_or_else(|_| py.None().into_bound(py)),
        Value::Float(f) => pyo3::types::PyFloat::new(py, *f).into_any(),
        Value::Str(s) => pyo3::types::PyString::new(py, s).into_any(),
        Value::List(l) => {
            let items: Vec<Bound<'py, PyAny>> = l.iter().map(|x| to_py(py, x)).collect();
            PyList::new(py, items)
                .map(|x| x.into_any())
                .unwrap_or_else(|_| py.None().into_bound(py))
        }
        Value::Tuple(l) => {
            let items: Vec<Bound<'py, PyAny>> = l.iter().map(|x| to_py(py, x)).collect();
            PyTuple::new(py, items)
                .map(|x| x.into_any())
                .unwrap_or_else(|_| py.None().into_bound(py))
        }
        Value::Other(o) => o.bind(py).clone(),
    }
}

fn py_compare(py: Python<'_>, op: CmpOp, a: &Value, b: &Value) -> Option<bool> {
    use pyo3::basic::CompareOp;
    let (x, y) = (to_py(py, a), to_py(py, b));
    let got = match op {
        CmpOp::Eq => x.rich_compare(&y, CompareOp::Eq),
        CmpOp::Ne => x.rich_compare(&y, CompareOp::Ne),
        CmpOp::Lt => x.rich_compare(&y, CompareOp::Lt),
        CmpOp::Le => x.rich_compare(&y, CompareOp::Le),
        CmpOp::Gt => x.rich_compare(&y, CompareOp::Gt),
        CmpOp::Ge => x.rich_compare(&y, CompareOp::Ge),
        CmpOp::In => return y.contains(&x).ok(),
        CmpOp::NotIn => return y.contains(&x).ok().map(|c| !c),
    };
    got.ok()?.is_truthy().ok()
}

/// Python's `==` for the values facts and constants take.
pub fn py_eq(py: Python<'_>, a: &Value, b: &Value) -> Option<bool> {
    if matches!(a, Value::Other(_)) || matches!(b, Value::Other(_)) {
        return py_compare(py, CmpOp::Eq, a, b);
    }
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return Some(num_cmp(x, y) == Some(std::cmp::Ordering::Equal));
    }
    Some(match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            for (p, q) in x.iter().zip(y.iter()) {
                if !py_eq(py, p, q)? {
                    return Some(false);
                }
            }
            true
        }
        _ => false,
    })
}

/// Python's ordering (`<` and friends); `None` where Python raises TypeError.
fn py_order(py: Python<'_>, a: &Value, b: &Value) -> Option<Option<std::cmp::Ordering>> {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return Some(num_cmp(x, y));
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(Some(x.as_ref().cmp(y.as_ref()))),
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                if !py_eq(py, p, q)? {
                    return py_order(py, p, q);
                }
            }
            Some(Some(x.len().cmp(&y.len())))
        }
        _ => None,
    }
}

/// One comparison; `None` is UNKNOWN (the values cannot be compared).
pub fn compare(py: Python<'_>, op: CmpOp, a: &Value, b: &Value) -> Option<bool> {
    use std::cmp::Ordering::*;
    if matches!(a, Value::Other(_)) || matches!(b, Value::Other(_)) {
        return py_compare(py, op, a, b);
    }
    match op {
        CmpOp::Eq => py_eq(py, a, b),
        CmpOp::Ne => py_eq(py, a, b).map(|x| !x),
        CmpOp::In | CmpOp::NotIn => {
            let found = match b {
                Value::List(items) | Value::Tuple(items) => {
                    let mut hit = false;
                    for item in items.iter() {
                        if py_eq(py, item, a)? {
                            hit = true;
                            break;
                        }
                    }
                    hit
                }
                Value::Str(hay) => match a {
                    Value::Str(needle) => hay.contains(needle.as_ref()),
                    _ => return None,
                },
                _ => return None,
            };
            Some(if op == CmpOp::In { found } else { !found })
        }
        CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => {
            let ord = py_order(py, a, b)?;
            Some(match (op, ord) {
                (_, None) => false, // NaN
                (CmpOp::Lt, Some(o)) => o == Less,
                (CmpOp::Le, Some(o)) => o != Greater,
                (CmpOp::Gt, Some(o)) => o == Greater,
                (CmpOp::Ge, Some(o)) => o != Less,
                _ => unreachable!(),
            })
        }
    }
}
