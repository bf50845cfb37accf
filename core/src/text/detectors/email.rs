//! The `email` detector: written (`jane.doe@example.com`), spoken ("jane dot doe at example dot com") and the mixed
//! forms speech recognition writes ("maria.g@outlook dot com", "s a m at g mail dot com"). Rules:
//! `trace_engine.text.detectors`.

use super::context::Ctx;
use super::validators::Check;
use super::{Exempt, Hit, Kind};
use crate::text::chars::{casefold, is_alnum, is_alpha, is_digit};

/// TLDs a spoken domain may end in (no network, no public-suffix list: in speech the TLD is the only evidence).
pub const TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "io", "co", "us", "uk", "ca", "info", "biz", "me", "ai", "app", "dev", "health",
    "tv", "mil", "int", "email", "online", "site",
];
/// Mail providers that speech recognition splits in two ("g mail", "hot mail", "out look", "ya hoo").
pub const PROVIDER_SPLITS: &[((&str, &str), &str)] = &[
    (("g", "mail"), "gmail"),
    (("gee", "mail"), "gmail"),
    (("hot", "mail"), "hotmail"),
    (("out", "look"), "outlook"),
    (("ya", "hoo"), "yahoo"),
    (("i", "cloud"), "icloud"),
    (("proton", "mail"), "protonmail"),
    (("y", "mail"), "ymail"),
    (("a", "ol"), "aol"),
    (("web", "mail"), "webmail"),
    (("zoho", "mail"), "zohomail"),
    (("g", "mx"), "gmx"),
    (("fast", "mail"), "fastmail"),
];
/// Words that say "@" after "at" ("jane at sign example dot com", Indian English "at the rate").
const AT_SUFFIXES: &[&[&str]] = &[&["sign"], &["symbol"], &["the", "rate", "of"], &["the", "rate"]];
/// Most words a spoken first domain label may be heard as ("lakeside roofing dot com").
const DOMAIN_WORDS: usize = 3;
/// Words that end a multi-word domain label: sentence words, not parts of a name.
const DOMAIN_STOP: &[&str] = &[
    "a", "an", "the", "my", "your", "our", "their", "his", "her", "its", "this", "that", "these", "those", "and", "or",
    "but", "of", "for", "to", "in", "on", "at", "by", "with", "from", "is", "are", "was", "were", "be", "been", "am",
    "will", "would", "can", "could", "should", "do", "does", "did", "not", "no", "yes", "please", "thanks", "thank",
    "you", "me", "us", "him", "them", "it", "we", "they", "i", "he", "she", "there", "here", "then", "than", "so",
    "if", "as",
];
/// Single words that are no local part on their own ("reach me at …", "we are at …").
const LOCAL_STOP: &[&str] = &[
    "me",
    "us",
    "him",
    "her",
    "it",
    "look",
    "is",
    "here",
    "there",
    "email",
    "you",
    "them",
    "at",
    "this",
    "that",
    "i",
    "we",
    "they",
    "am",
    "are",
    "was",
    "were",
    "be",
    "mail",
    "reach",
    "call",
    "text",
    "write",
    "contact",
    "arrive",
    "arrived",
    "stay",
    "staying",
    "work",
    "works",
    "live",
    "lives",
    "home",
    "office",
    "back",
    "not",
    "looking",
    "visit",
    "visiting",
    "check",
    "checking",
    "find",
    "found",
    "available",
    "online",
    "shop",
    "order",
    "register",
    "apply",
    "sign",
    "log",
    "logged",
    "login",
    "site",
    "website",
    "page",
    "portal",
    "app",
    "up",
    "in",
    "on",
    "out",
    "go",
    "going",
    "went",
];
/// Most labels a spoken local part may have ("jane dot m dot doe").
const LOCAL_LABELS: usize = 4;

fn joiner(t: &str) -> Option<&'static str> {
    match t {
        "dot" => Some("."),
        "underscore" => Some("_"),
        "dash" | "hyphen" => Some("-"),
        _ => None,
    }
}

#[inline]
fn is_dash(t: &str) -> bool {
    t == "dash" || t == "hyphen"
}

fn is_label(t: &str) -> bool {
    joiner(t).is_none() && t != "at" && !t.is_empty() && t.chars().all(is_alnum)
}

/// `str.isdigit()` of a token.
fn is_digits(t: &str) -> bool {
    !t.is_empty() && t.chars().all(is_digit)
}

fn is_letter(t: &str) -> bool {
    t.len() == 1 && t.as_bytes()[0].is_ascii_lowercase()
}

/// Tokens `a` and `b = a + 1` touch in the folded text (nothing between them but one `+` or hyphens).
fn glued(cx: &Ctx<'_>, a: usize, b: usize) -> bool {
    let (e, s) = (cx.fend(a), cx.fstart(b));
    s <= e || (s == e + 1 && cx.view.at(e) == '+') || hyphens_only(cx, e, s)
}

/// `-+` over the folded characters `e..s`.
fn hyphens_only(cx: &Ctx<'_>, e: usize, s: usize) -> bool {
    s > e && cx.chars(e, s).all(|c| c == '-')
}

/// Tokens `a` and `a + 1` are joined by hyphens only (one written domain label).
fn hyphenated(cx: &Ctx<'_>, a: usize) -> bool {
    hyphens_only(cx, cx.fend(a), cx.fstart(a + 1))
}

/// `xn--[a-z0-9]+(?:-[a-z0-9]+)*`
fn punycode(label: &str) -> bool {
    let Some(rest) = label.strip_prefix("xn--") else {
        return false;
    };
    !rest.is_empty()
        && rest
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// The last token of a WRITTEN domain glued to the `@` token `k`: labels (tokens joined by hyphens) joined by glued
/// dots, ending at its last strong TLD (built-in, two letters, punycode), else at its last generic one (two or more
/// letters), so a sentence glued to the address (`bob@example.com.Thanks`) is left out.
fn written_domain(cx: &Ctx<'_>, k: usize) -> Option<usize> {
    let n = cx.n();
    let mut j = k + 1;
    if j >= n || !is_label(cx.tok(j)) || !glued(cx, k, j) {
        return None;
    }
    let (mut strong, mut generic) = (None, None);
    let mut first = true;
    loop {
        let a = j;
        while j + 1 < n && is_label(cx.tok(j + 1)) && hyphenated(cx, j) {
            j += 1;
        }
        if !first {
            let label = casefold(&cx.chars(cx.fstart(a), cx.fend(j)).collect::<String>());
            let chars = label.chars().count();
            let alpha = !label.is_empty() && label.chars().all(is_alpha);
            if TLDS.contains(&label.as_str()) || (chars == 2 && alpha) || punycode(&label) {
                strong = Some(j);
            } else if chars >= 2 && alpha {
                generic = Some(j);
            }
        }
        first = false;
        if j + 2 < n
            && cx.tok(j + 1) == "dot"
            && is_label(cx.tok(j + 2))
            && glued(cx, j, j + 1)
            && glued(cx, j + 1, j + 2)
        {
            j += 2;
        } else {
            break;
        }
    }
    strong.or(generic)
}

/// A domain label starting at token `j`: a word, a provider split in two ("g mail"), or words joined by spoken
/// "dash"/"hyphen" or written hyphens. `(last token, label)`.
fn domain_label(cx: &Ctx<'_>, mut j: usize) -> Option<(usize, String)> {
    let n = cx.n();
    if j >= n || !is_label(cx.tok(j)) {
        return None;
    }
    let provider = if j + 1 < n {
        let pair = (cx.tok(j), cx.tok(j + 1));
        PROVIDER_SPLITS.iter().find(|(p, _)| *p == pair).map(|(_, name)| *name)
    } else {
        None
    };
    let mut label = match provider {
        Some(name) => {
            j += 1;
            name.to_string()
        }
        None => cx.tok(j).to_string(),
    };
    loop {
        if j + 2 < n && is_dash(cx.tok(j + 1)) && is_label(cx.tok(j + 2)) {
            label.push('-');
            label.push_str(cx.tok(j + 2));
            j += 2;
        } else if j + 1 < n && is_label(cx.tok(j + 1)) && hyphenated(cx, j) {
            label.push('-');
            label.push_str(cx.tok(j + 1));
            j += 1;
        } else {
            return Some((j, label));
        }
    }
}

/// A spoken or mixed domain starting at token `j`: labels joined by `dot`, cut at the last built-in TLD.
/// `(last token, domain)`.
fn spoken_domain(cx: &Ctx<'_>, j: usize) -> Option<(usize, String)> {
    let n = cx.n();
    let (mut j, mut label) = domain_label(cx, j)?;
    // a first label heard as several words ("lakeside roofing dot com"): content words right before a "dot"
    let mut words = 1;
    while words < DOMAIN_WORDS
        && j + 2 < n
        && !DOMAIN_STOP.contains(&cx.tok(j + 1))
        && is_label(cx.tok(j + 1))
        && !is_digits(cx.tok(j + 1))
        && !DOMAIN_STOP.contains(&label.as_str())
    {
        let mut ahead = j + 1;
        while ahead < n && ahead - j <= DOMAIN_WORDS - words && cx.tok(ahead) != "dot" && !is_dash(cx.tok(ahead)) {
            ahead += 1;
        }
        if ahead >= n
            || cx.tok(ahead) != "dot"
            || (j + 1..ahead).any(|t| DOMAIN_STOP.contains(&cx.tok(t)) || !is_label(cx.tok(t)))
        {
            break;
        }
        for t in j + 1..ahead {
            label.push_str(cx.tok(t));
        }
        words += ahead - j - 1;
        j = ahead - 1;
    }
    let mut labels = vec![label];
    let (mut best, mut best_labels) = (None, 0);
    while j + 2 < n && cx.tok(j + 1) == "dot" {
        let Some((next, label)) = domain_label(cx, j + 2) else {
            break;
        };
        j = next;
        let tld = TLDS.contains(&label.as_str());
        labels.push(label);
        if tld {
            best = Some(j);
            best_labels = labels.len();
        }
    }
    best.map(|b| (b, labels[..best_labels].join(".")))
}

/// How many tokens say "@" from the `at` token `k` ("at", "at sign", "at the rate of").
fn at_width(cx: &Ctx<'_>, k: usize) -> usize {
    let n = cx.n();
    if k + 1 < n && matches!(cx.tok(k + 1), "sign" | "symbol" | "the") {
        for suffix in AT_SUFFIXES {
            if k + 1 + suffix.len() <= n && suffix.iter().enumerate().all(|(q, w)| cx.tok(k + 1 + q) == *w) {
                return 1 + suffix.len();
            }
        }
    }
    1
}

/// First token of a spoken local part ending right before the `at` token `k`: 1 to [`LOCAL_LABELS`] labels joined
/// by dot/underscore/dash/hyphen; a digit label may follow a word label directly ("john two three"); letters spelled
/// one at a time are one label. A single-label local part that is a function word is rejected.
fn spoken_local(cx: &Ctx<'_>, k: usize) -> Option<usize> {
    if k == 0 || !is_label(cx.tok(k - 1)) {
        return None;
    }
    let mut i = k - 1;
    let mut labels = 1;
    if is_digits(cx.tok(i))
        && i >= 1
        && is_label(cx.tok(i - 1))
        && !is_digits(cx.tok(i - 1))
        && !LOCAL_STOP.contains(&cx.tok(i - 1))
    {
        i -= 1; // "john 23": one label
    }
    while labels < LOCAL_LABELS && i >= 2 && joiner(cx.tok(i - 1)).is_some() && is_label(cx.tok(i - 2)) {
        i -= 2;
        labels += 1;
    }
    if is_letter(cx.tok(i)) {
        while i >= 1 && is_letter(cx.tok(i - 1)) {
            i -= 1;
        }
    } else if i >= 1 && is_letter(cx.tok(i - 1)) {
        // spelled initials before a name ("d r smith at …"); a lone "a" or "i" is a word, not an initial
        let mut h = i - 1;
        while h >= 1 && is_letter(cx.tok(h - 1)) {
            h -= 1;
        }
        if i - h > 1 || !matches!(cx.tok(h), "a" | "i") {
            i = h;
        }
    }
    if k - i == 1 && LOCAL_STOP.contains(&cx.tok(i)) {
        return None;
    }
    Some(i)
}

/// First token of a written local part glued to the `@` token `k`.
fn written_local(cx: &Ctx<'_>, k: usize) -> Option<usize> {
    if k == 0 {
        return None;
    }
    let mut i = k - 1;
    if !glued(cx, i, k) || !(is_label(cx.tok(i)) || is_digits(cx.tok(i))) {
        return None;
    }
    while i > 0 && glued(cx, i - 1, i) && cx.tok(i - 1) != "at" {
        let prev = cx.tok(i - 1);
        if is_label(prev) {
            i -= 1;
        } else if matches!(prev, "dot" | "underscore") && i >= 2 && is_label(cx.tok(i - 2)) && glued(cx, i - 2, i - 1) {
            i -= 2;
        } else {
            break;
        }
    }
    Some(i)
}

/// Whether the normalized text has the token `dot`: it is its tokens joined by single spaces, so a `dot` token is
/// ` dot ` in it, or `dot` at its start or end (the reverse may fail only for a token with a space inside, and then
/// the detector merely runs).
pub(crate) fn has_dot_token(text: &str) -> bool {
    let b = text.as_bytes();
    b == b"dot" || b.starts_with(b"dot ") || b.ends_with(b" dot") || first_inner_dot(b).is_some()
}

/// Where `b` (normalized text) first holds ` dot `: a `dot` token with a token on each side.
pub(crate) fn first_inner_dot(b: &[u8]) -> Option<usize> {
    static DOT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(" dot "));
    DOT.find(b)
}

pub(crate) fn email(cx: &mut Ctx<'_>, exempt: &Exempt) -> Vec<Hit> {
    let n = cx.n();
    let mut hits = Vec::new();
    if !has_dot_token(&cx.nt.text) {
        return hits; // every domain has a dot, written ("example.com" reads "example dot com") or spoken
    }
    let mut last_end: Option<usize> = None;
    for k in 1..n {
        if cx.tok(k) != "at" || last_end.is_some_and(|e| k <= e) {
            continue;
        }
        let written = cx.chars_eq(cx.fstart(k), cx.fend(k), "@");
        let (end, domain) = match written.then(|| written_domain(cx, k)).flatten() {
            Some(end) => (
                end,
                casefold(&cx.chars(cx.fstart(k + 1), cx.fend(end)).collect::<String>()),
            ),
            // spoken, or a written "@" before a spoken domain ("maria.g@outlook dot com")
            None => match spoken_domain(cx, k + at_width(cx, k)) {
                Some(found) => found,
                None => {
                    cx.reject(Kind::Email, k, k, Check::EmailDomain);
                    continue;
                }
            },
        };
        let (i, local) = match written.then(|| written_local(cx, k)).flatten() {
            Some(i) => (i, casefold(&cx.chars(cx.fstart(i), cx.fend(k - 1)).collect::<String>())),
            None => match spoken_local(cx, k) {
                Some(i) => (i, (i..k).map(|t| joiner(cx.tok(t)).unwrap_or(cx.tok(t))).collect()),
                None => {
                    cx.reject(Kind::Email, k.saturating_sub(1), end, Check::EmailLocal);
                    continue;
                }
            },
        };
        let value = format!("{local}@{domain}");
        if exempt.contains(&value) {
            cx.reject(Kind::Email, i, end, Check::Exempt);
            continue;
        }
        hits.push(Hit::tokens(Kind::Email, cx.nt, i, end, value));
        last_end = Some(end);
    }
    hits
}
