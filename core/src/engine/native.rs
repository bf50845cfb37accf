//! The evaluator's text layer: `crate::text`'s normalizer and detectors, with the normalized views' buffers reused.

use std::sync::OnceLock;

use pyo3::PyResult;

use super::textview::{DetKind, Hit};
use crate::text::detectors::{self, Exempt, Kind, Rejection};
use crate::text::NormalizedText;

thread_local! {
    /// Normalized views given back by dropped [`super::textview::View`]s: a turn reuses their buffers instead of
    /// allocating new ones (a few views are alive at once: the turn, its stored form, a streamed turn).
    static POOL: std::cell::RefCell<Vec<NormalizedText>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The normalized view of `text`, in buffers reused from earlier views.
pub fn normalize(text: &str) -> NormalizedText {
    let mut nt = pooled();
    crate::text::normalize_into(text, &mut nt);
    nt
}

/// Buffers for a normalized view, reused from an earlier view when there is one.
pub fn pooled() -> NormalizedText {
    POOL.with(|p| p.borrow_mut().pop()).unwrap_or_default()
}

/// Give a view's buffers back for reuse.
pub fn recycle(nt: NormalizedText) {
    POOL.with(|p| {
        let mut pool = p.borrow_mut();
        if pool.len() < 8 && nt.text.capacity() <= 1 << 16 {
            pool.push(nt);
        }
    });
}

pub fn normalize_phrase(phrase: &str) -> PyResult<String> {
    Ok(crate::text::normalize_phrase(phrase))
}

fn no_exempt() -> &'static Exempt {
    static EMPTY: OnceLock<Exempt> = OnceLock::new();
    EMPTY.get_or_init(Exempt::new)
}

/// Hits per request; `requests` carry exempt values already in canonical form (the call's variables, canonicalized
/// once at call start by the same rules).
pub fn detect_many(nt: &NormalizedText, requests: &[(DetKind, &[String])]) -> PyResult<Vec<Vec<Hit>>> {
    detect_many_checked(nt, requests, detectors::Precheck::new(nt))
}

/// [`detect_many`] with the preconditions looked at so far.
pub fn detect_many_checked(
    nt: &NormalizedText,
    requests: &[(DetKind, &[String])],
    pre: detectors::Precheck,
) -> PyResult<Vec<Vec<Hit>>> {
    Ok(with_requests(requests.iter().copied(), |reqs| {
        spans(detectors::detect_many_checked(nt, reqs, pre))
    }))
}

/// [`detect_many`], and the candidates the detectors rejected and why (for the tracer only).
pub fn detect_many_explained(
    nt: &NormalizedText,
    requests: &[(DetKind, &[String])],
) -> PyResult<(Vec<Vec<Hit>>, Vec<Rejection>)> {
    Ok(with_requests(requests.iter().copied(), |reqs| {
        let (hits, rejected) = detectors::detect_many_explained(nt, reqs);
        (spans(hits), rejected)
    }))
}

/// [`detect_many_checked`] over requests given one by one (no vector of them to build), each hit's span handed to
/// `emit(request index, span)` in the order [`detect_many`] lists them: nothing is collected, copied or freed.
pub fn detect_each_checked<'a>(
    nt: &NormalizedText,
    requests: impl ExactSizeIterator<Item = (DetKind, &'a [String])> + Clone,
    pre: detectors::Precheck,
    mut emit: impl FnMut(usize, Hit),
) {
    with_requests(requests, |reqs| {
        detectors::detect_each_checked(nt, reqs, pre, |i, h| {
            emit(
                i,
                Hit {
                    start: h.start as u32,
                    end: h.end as u32,
                },
            )
        })
    })
}

fn with_requests<'a, R>(
    requests: impl ExactSizeIterator<Item = (DetKind, &'a [String])> + Clone,
    f: impl FnOnce(&[(Kind, &Exempt)]) -> R,
) -> R {
    // the common case, every turn: no exempt values and a few detector leaves, so no set and no vector to build
    const FEW: usize = 16;
    let n = requests.len();
    if n <= FEW && requests.clone().all(|(_, ex)| ex.is_empty()) {
        let mut reqs = [(Kind::CreditCard, no_exempt()); FEW];
        for (slot, (k, _)) in reqs.iter_mut().zip(requests) {
            slot.0 = k.0;
        }
        return f(&reqs[..n]);
    }
    let owned: Vec<(Kind, Option<Exempt>)> = requests
        .map(|(k, ex)| (k.0, (!ex.is_empty()).then(|| ex.iter().cloned().collect())))
        .collect();
    let reqs: Vec<(Kind, &Exempt)> = owned
        .iter()
        .map(|(k, ex)| (*k, ex.as_ref().unwrap_or_else(|| no_exempt())))
        .collect();
    f(&reqs)
}

fn spans(found: Vec<Vec<detectors::Hit>>) -> Vec<Vec<Hit>> {
    found
        .into_iter()
        .map(|hits| {
            hits.into_iter()
                .map(|h| Hit {
                    start: h.start as u32,
                    end: h.end as u32,
                })
                .collect()
        })
        .collect()
}
