//! The gate's clock and its test hooks.
//!
//! `now_ns` is a monotonic nanosecond clock (what `time.perf_counter_ns` reads). Tests inject faults by stage
//! ([`set_fault`], exposed as `trace_engine._core._set_fault`): raise an error when a stage is reached, or make a
//! stage "slow" by moving this clock forward, so fail-open and deadline behaviour are tested without patching
//! Python internals and without waiting. With no fault set, a stage check is one relaxed atomic load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use pyo3::exceptions::PyRuntimeError;
use pyo3::PyResult;

/// The stages a fault can be injected at (named as the tests name them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Evaluate,
    Normalize,
    Scan,
    Decide,
    Plan,
    Commit,
    AdvanceState,
    RecordFinding,
    StoredAgentText,
    RedactForStorage,
    ApplyEdits,
    Detectors,
    TimelineEvent,
    StreamRelease,
}

impl Stage {
    pub fn parse(s: &str) -> Option<Stage> {
        Some(match s {
            "evaluate" => Stage::Evaluate,
            "normalize" => Stage::Normalize,
            "scan" => Stage::Scan,
            "decide" => Stage::Decide,
            "plan" => Stage::Plan,
            "commit" => Stage::Commit,
            "advance state" => Stage::AdvanceState,
            "record finding" => Stage::RecordFinding,
            "stored agent text" => Stage::StoredAgentText,
            "redact for storage" => Stage::RedactForStorage,
            "apply edits" => Stage::ApplyEdits,
            "detectors" => Stage::Detectors,
            "timeline event" => Stage::TimelineEvent,
            "stream release" => Stage::StreamRelease,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub enum FaultKind {
    Raise,
    /// move the clock forward by this many nanoseconds
    Slow(u64),
}

static ANY_FAULT: AtomicBool = AtomicBool::new(false);
static SKEW_NS: AtomicU64 = AtomicU64::new(0);
static FAULTS: Mutex<Vec<(Stage, FaultKind)>> = Mutex::new(Vec::new());
static BASE: OnceLock<Instant> = OnceLock::new();

/// Monotonic nanoseconds (plus the skew "slow" faults add).
#[inline]
pub fn now_ns() -> u64 {
    let base = BASE.get_or_init(Instant::now);
    base.elapsed().as_nanos() as u64 + SKEW_NS.load(Ordering::Relaxed)
}

/// Reached `stage`: an injected fault fires here.
#[inline]
pub fn fault(stage: Stage) -> PyResult<()> {
    if !ANY_FAULT.load(Ordering::Relaxed) {
        return Ok(());
    }
    let faults = FAULTS.lock().map(|f| f.clone()).unwrap_or_default();
    for (s, kind) in faults {
        if s == stage {
            match kind {
                FaultKind::Raise => return Err(PyRuntimeError::new_err(format!("injected fault at {stage:?}"))),
                FaultKind::Slow(ns) => {
                    SKEW_NS.fetch_add(ns, Ordering::Relaxed);
                }
            }
        }
    }
    Ok(())
}

/// Add a fault (`None` clears them all).
pub fn set_fault(stage: Option<Stage>, kind: FaultKind) {
    let mut faults = FAULTS.lock().unwrap_or_else(|e| e.into_inner());
    match stage {
        None => faults.clear(),
        Some(s) => faults.push((s, kind)),
    }
    ANY_FAULT.store(!faults.is_empty(), Ordering::Relaxed);
}
