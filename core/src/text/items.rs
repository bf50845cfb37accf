//! The item stream between the tokenizer and the number pass: `(text, original start, original end, gap, kind)`
//! with every item's text a range of one shared arena (no allocation per token).

/// The characters between an item and the one before it: whitespace only (or nothing).
pub(crate) const GAP_WS: u8 = 0;
/// Hyphens and whitespace.
pub(crate) const GAP_HYPHEN: u8 = 1;
/// Anything else (a comma, a dot…).
pub(crate) const GAP_OTHER: u8 = 2;

pub(crate) const K_WORD: u8 = 0;
pub(crate) const K_DIGITS: u8 = 1;
pub(crate) const K_DECIMAL: u8 = 2;
pub(crate) const K_PLACEHOLDER: u8 = 3;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Item {
    /// byte range of the item's text in [`Items::arena`]
    pub t: (u32, u32),
    /// original span (characters of the scanned text)
    pub s: usize,
    pub e: usize,
    pub gap: u8,
    pub kind: u8,
}

#[derive(Debug, Default)]
pub(crate) struct Items {
    pub arena: String,
    pub v: Vec<Item>,
    /// a second item buffer for passes that rebuild the stream (swapped with `v`, so both are reused)
    pub spare: Vec<Item>,
}

impl Items {
    #[inline]
    pub fn text(&self, it: &Item) -> &str {
        &self.arena[it.t.0 as usize..it.t.1 as usize]
    }

    /// Appends `s` to the arena; returns its range.
    #[inline]
    pub fn push_str(&mut self, s: &str) -> (u32, u32) {
        let a = self.arena.len() as u32;
        self.arena.push_str(s);
        (a, self.arena.len() as u32)
    }

    #[inline]
    pub fn push(&mut self, s: &str, start: usize, end: usize, gap: u8, kind: u8) {
        let t = self.push_str(s);
        self.v.push(Item {
            t,
            s: start,
            e: end,
            gap,
            kind,
        });
    }
}
