//! The scan of a streamed turn, kept up to date as chunks arrive: today a full scan of the turn so far on each feed
//! (see [`super::stream`]), with its buffers reused across feeds.

use pyo3::prelude::*;

use super::call::CallCore;
use super::scan::{Matches, Scratch};

/// A streamed turn's matches.
pub struct Incremental {
    matches: Matches,
    scratch: Scratch,
}

impl Incremental {
    pub fn new(call: &CallCore) -> Incremental {
        Incremental { matches: Matches::new(call.sh.program.matchers.count as usize), scratch: Scratch::default() }
    }

    /// The matches of the whole turn so far, `buf`.
    pub fn update(&mut self, call: &mut CallCore, buf: &str) -> PyResult<&Matches> {
        call.scan_text(buf, &mut self.matches, &mut self.scratch)?;
        Ok(&self.matches)
    }
}
