//! RFC 8785 (JSON Canonicalization Scheme) bytes of a Python value, byte for byte what the `rfc8785` package
//! writes, at native speed: every evidence record's body is this, so it is on the re-scoring hot path.
//!
//! Handled here: `None`, `bool`, `int` (and its subclasses, such as `IntEnum`), `float`, `str` (and subclasses,
//! such as `StrEnum`), exact `list`, `tuple` and `dict`. Anything else returns `None` and the Python side falls
//! back to `rfc8785.dumps`, which writes it or raises the error it always raised: a value the reference rejects
//! (an integer outside ±(2**53 - 1), NaN, infinity, a lone surrogate, a non-string key, an unsupported type), a
//! subclass of `dict`, `list`, `tuple` or `float` (the reference converts those through methods they may
//! override), or nesting deeper than [`MAX_DEPTH`].
//!
//! The RFC 8785 rules, as the reference applies them:
//! * numbers: ECMAScript `Number.prototype.toString` (RFC 8785 §3.2.2.3), written by `ryu-js`; `-0` is `0`;
//! * strings: UTF-8; `"` and `\` escaped, control characters below U+0020 as `\b \t \n \f \r` or `\u00xx`
//!   (lower-case hex), nothing else (§3.2.2.2);
//! * objects: members sorted by the UTF-16 code units of their names (§3.2.3), no whitespace anywhere.

use std::ptr::addr_of_mut;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Nesting deeper than this goes to the reference (which raises `RecursionError` long before a hostile depth
/// could exhaust this thread's stack).
pub const MAX_DEPTH: usize = 200;

/// I-JSON's safe integer range, the one the reference enforces.
const SAFE_INT: i64 = (1 << 53) - 1;

/// The value cannot be written here; the caller falls back to the reference implementation.
struct Fallback;

type Written = Result<(), Fallback>;

/// Whether any byte of the 8 in `w` is below 0x20, `"` or `\\` (the bytes a JSON string escapes).
#[inline]
fn word_needs_escape(w: u64) -> bool {
    use crate::swar::{bytes_equal, HIGH, ONES};
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    below_space | bytes_equal(w, b'"') | bytes_equal(w, b'\\') != 0
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // skip eight clean bytes at a time: most strings have nothing to escape
        if i + 8 <= bytes.len() {
            let word = crate::swar::load(&bytes[i..i + 8]);
            if !word_needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(short);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn write_float(out: &mut Vec<u8>, v: f64) -> Written {
    if !v.is_finite() {
        return Err(Fallback);
    }
    if v == 0.0 {
        out.push(b'0'); // -0 too
        return Ok(());
    }
    let mut buffer = ryu_js::Buffer::new();
    out.extend_from_slice(buffer.format_finite(v).as_bytes());
    Ok(())
}

/// Orders object member names as RFC 8785 does: by UTF-16 code units. UTF-8 byte order is code point order,
/// which differs only where a character above U+FFFF (a surrogate pair, D800-DFFF) meets one in E000-FFFF.
fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.as_bytes().cmp(b.as_bytes())
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// The UTF-8 of a `str` (or subclass), or `None` for a lone surrogate (the reference rejects it).
///
/// Safety: `op` is a live `str`; the returned slice lives as long as it does.
unsafe fn utf8<'a>(op: *mut ffi::PyObject) -> Option<&'a str> {
    let mut len: ffi::Py_ssize_t = 0;
    let data = ffi::PyUnicode_AsUTF8AndSize(op, &mut len);
    if data.is_null() {
        ffi::PyErr_Clear();
        return None;
    }
    // CPython's UTF-8 of a str is valid UTF-8 by construction
    Some(std::str::from_utf8_unchecked(std::slice::from_raw_parts(
        data.cast::<u8>(),
        len as usize,
    )))
}

/// Writes one value. Works on borrowed pointers: nothing here runs Python code (no `__iter__`, `__index__` or
/// `__float__` of a subclass is consulted), so while the GIL is held the containers cannot change under us.
///
/// Safety: `op` is a live object and the GIL is held.
unsafe fn write_value(out: &mut Vec<u8>, op: *mut ffi::PyObject, depth: usize) -> Written {
    if depth > MAX_DEPTH {
        return Err(Fallback);
    }
    let ty = ffi::Py_TYPE(op);
    if ty == addr_of_mut!(ffi::PyUnicode_Type) {
        write_str(out, utf8(op).ok_or(Fallback)?);
    } else if ty == addr_of_mut!(ffi::PyDict_Type) {
        write_object(out, op, depth)?;
    } else if ty == addr_of_mut!(ffi::PyList_Type) || ty == addr_of_mut!(ffi::PyTuple_Type) {
        let list = ty == addr_of_mut!(ffi::PyList_Type);
        let n = if list {
            ffi::PyList_Size(op)
        } else {
            ffi::PyTuple_Size(op)
        };
        out.push(b'[');
        for k in 0..n {
            if k > 0 {
                out.push(b',');
            }
            let item = if list {
                ffi::PyList_GetItem(op, k)
            } else {
                ffi::PyTuple_GetItem(op, k)
            };
            write_value(out, item, depth + 1)?;
        }
        out.push(b']');
    } else if op == ffi::Py_None() {
        out.extend_from_slice(b"null");
    } else if ty == addr_of_mut!(ffi::PyBool_Type) {
        out.extend_from_slice(if op == ffi::Py_True() { b"true" } else { b"false" });
    } else if ty == addr_of_mut!(ffi::PyFloat_Type) {
        write_float(out, ffi::PyFloat_AsDouble(op))?;
    } else if ffi::PyLong_Check(op) != 0 {
        let mut overflow: std::os::raw::c_int = 0;
        let n = ffi::PyLong_AsLongLongAndOverflow(op, &mut overflow);
        if overflow != 0 || !(-SAFE_INT..=SAFE_INT).contains(&n) {
            return Err(Fallback);
        }
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    } else if ffi::PyUnicode_Check(op) != 0 {
        write_str(out, utf8(op).ok_or(Fallback)?);
    } else {
        return Err(Fallback);
    }
    Ok(())
}

/// Safety: `op` is a live exact `dict` and the GIL is held.
unsafe fn write_object(out: &mut Vec<u8>, op: *mut ffi::PyObject, depth: usize) -> Written {
    let mut members: Vec<(&str, *mut ffi::PyObject)> = Vec::with_capacity(ffi::PyDict_Size(op) as usize);
    let mut pos: ffi::Py_ssize_t = 0;
    let mut key: *mut ffi::PyObject = std::ptr::null_mut();
    let mut value: *mut ffi::PyObject = std::ptr::null_mut();
    while ffi::PyDict_Next(op, &mut pos, &mut key, &mut value) != 0 {
        if ffi::PyUnicode_Check(key) == 0 {
            return Err(Fallback);
        }
        members.push((utf8(key).ok_or(Fallback)?, value));
    }
    members.sort_unstable_by(|a, b| utf16_order(a.0, b.0));
    out.push(b'{');
    for (n, (name, value)) in members.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_str(out, name);
        out.push(b':');
        write_value(out, *value, depth + 1)?;
    }
    out.push(b'}');
    Ok(())
}

/// The RFC 8785 canonical bytes of `value`, or `None` when the reference implementation must decide (see the
/// module documentation).
#[pyfunction]
pub fn canonical_json<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> Option<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(1024);
    // Safety: `value` is alive for the call and we hold the GIL (`py`)
    unsafe { write_value(&mut out, value.as_ptr(), 0) }.ok()?;
    Some(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(canonical_json, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_sort_by_utf16_code_units() {
        // U+1F600 is D83D DE00 in UTF-16: before U+FB01, though after it in code point (and UTF-8) order
        let mut names = vec!["\u{fb01}", "\u{1f600}", "e", "\u{e9}", "E"];
        names.sort_by(|a, b| utf16_order(a, b));
        assert_eq!(names, vec!["E", "e", "\u{e9}", "\u{1f600}", "\u{fb01}"]);
    }

    #[test]
    fn strings_escape_only_what_rfc8785_escapes() {
        let mut out = Vec::new();
        write_str(&mut out, "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}/\u{2028}é");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}/\u{2028}é\""
        );
    }

    #[test]
    fn numbers_are_ecmascript() {
        for (v, want) in [
            (1.0, "1"),
            (-0.0, "0"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (1e-6, "0.000001"),
            (123.456, "123.456"),
            (5e-324, "5e-324"),
            (-1.5e300, "-1.5e+300"),
        ] {
            let mut out = Vec::new();
            assert!(write_float(&mut out, v).is_ok());
            assert_eq!(String::from_utf8(out).unwrap(), want, "{v}");
        }
        assert!(write_float(&mut Vec::new(), f64::NAN).is_err());
        assert!(write_float(&mut Vec::new(), f64::INFINITY).is_err());
    }
}
