//! The gate's clock and its test hooks.
//!
//! `now_ns` is a monotonic nanosecond clock (what `time.perf_counter_ns` reads). Tests inject faults by stage
//! ([`set_fault`], exposed as `trace_engine._core._set_fault`): raise an error when a stage is reached, or make a
//! stage "slow" by moving this clock forward, so fail-open and deadline behaviour are tested without patching
//! Python internals and without waiting. With no fault set, a stage check is one relaxed atomic load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

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
/// the clock's zero: when it was first read
static BASE: OnceLock<u64> = OnceLock::new();

/// The precise monotonic clock (`CLOCK_MONOTONIC`, what `time.perf_counter_ns` reads), in nanoseconds.
#[cfg(target_os = "linux")]
fn precise_raw() -> u64 {
    raw_ns(libc::CLOCK_MONOTONIC).unwrap_or(0)
}

#[cfg(target_os = "linux")]
fn raw_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[cfg(not(target_os = "linux"))]
fn precise_raw() -> u64 {
    static ZERO: OnceLock<std::time::Instant> = OnceLock::new();
    ZERO.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
}

fn base() -> u64 {
    *BASE.get_or_init(precise_raw)
}

/// Monotonic nanoseconds (plus the skew "slow" faults add).
#[inline]
pub fn now_ns() -> u64 {
    let base = base();
    precise_raw().saturating_sub(base) + SKEW_NS.load(Ordering::Relaxed)
}

/// Whether [`now_ns`] is past `deadline`. A precise clock read costs 30-100 ns on virtual machines (a turn reads
/// it twice regardless: its start and its latency), so the deadline checks in between read the kernel's coarse
/// clock first (`CLOCK_MONOTONIC_COARSE`: the time of its last tick, never ahead of the precise clock and behind
/// it by at most a tick, 1-4 ms): when even that plus two ticks is before the deadline, the precise clock would say
/// the same. The slack is two ticks and no more, so the default 10 ms budget (4 ms ticks) takes the coarse path
/// whenever a turn is under 2 ms old. Near the deadline, with a budget under two ticks, or after a "slow" fault,
/// it reads the precise clock.
#[inline]
pub fn past(deadline: u64) -> bool {
    #[cfg(target_os = "linux")]
    {
        static SLACK: OnceLock<Option<u64>> = OnceLock::new();
        let slack = *SLACK.get_or_init(|| {
            let mut res = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: `res` is a valid, writable timespec
            let ok = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut res) } == 0;
            let tick = res.tv_sec as u64 * 1_000_000_000 + res.tv_nsec as u64;
            // no usable coarse clock: always read the precise one
            (ok && tick > 0 && tick <= 100_000_000).then_some(2 * tick)
        });
        if let (Some(slack), Some(coarse)) = (slack, raw_ns(libc::CLOCK_MONOTONIC_COARSE)) {
            let coarse = coarse.saturating_sub(base()) + SKEW_NS.load(Ordering::Relaxed);
            if coarse.saturating_add(slack) <= deadline {
                return false;
            }
        }
    }
    now_ns() > deadline
}

/// Reached `stage`: an injected fault fires here.
#[inline(always)]
pub fn fault(stage: Stage) -> PyResult<()> {
    if !ANY_FAULT.load(Ordering::Relaxed) {
        return Ok(());
    }
    injected(stage)
}

#[cold]
#[inline(never)]
fn injected(stage: Stage) -> PyResult<()> {
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
