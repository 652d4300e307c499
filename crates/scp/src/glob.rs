//! Shell-style matching of one path component, for source-mode arguments such as
//! `scp -f 'dir/*.txt'` that OpenSSH's server would leave to the user's shell.
//!
//! Supported: `*` (any run of bytes), `?` (one byte), `[...]` (a set, with ranges `a-z` and
//! negation `[!...]` or `[^...]`; a `]` first in the set is literal). As in `sh`, a quoted
//! character is literal, and a name starting with `.` matches only a pattern starting with a
//! literal `.`. Bytes are compared as bytes (no locale collation, no case folding).

/// One pattern byte and whether it was quoted (and so literal).
pub(crate) type PatByte = (u8, bool);

/// Whether the pattern has an unquoted `*`, `?` or `[`.
pub(crate) fn has_magic(pattern: &[PatByte]) -> bool {
    pattern
        .iter()
        .any(|&(b, quoted)| !quoted && matches!(b, b'*' | b'?' | b'['))
}

/// Whether `name` matches `pattern`.
pub(crate) fn matches(pattern: &[PatByte], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pattern.first().map(|&(b, _)| b) != Some(b'.') {
        return false;
    }
    match_from(pattern, name)
}

/// Iterative matcher with single-star backtracking: on a mismatch, the last `*` absorbs one
/// more byte. Linear in `pattern.len() * name.len()` at worst, so hostile patterns are cheap.
fn match_from(pattern: &[PatByte], name: &[u8]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, name index it absorbed to).
    let mut star: Option<(usize, usize)> = None;
    loop {
        let here = pattern.get(p).copied();
        let byte = name.get(n).copied();
        let step = match (here, byte) {
            (Some((b'*', false)), _) => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            (None, None) => return true,
            (Some(_), None) | (None, Some(_)) => None,
            (Some((b'?', false)), Some(_)) => Some(1),
            (Some((b'[', false)), Some(c)) => match class(pattern.get(p + 1..).unwrap_or_default())
            {
                Some((set, len)) => set.contains(c).then_some(len + 1),
                // An unclosed `[` is an ordinary character.
                None => (c == b'[').then_some(1),
            },
            (Some((lit, _)), Some(c)) => (lit == c).then_some(1),
        };
        match step {
            Some(len) => {
                p += len;
                n += 1;
            }
            None => match star {
                Some((sp, sn)) if sn < name.len() => {
                    star = Some((sp, sn + 1));
                    p = sp;
                    n = sn + 1;
                }
                _ => return false,
            },
        }
    }
}

/// A bracket expression's set.
struct Set<'a> {
    negated: bool,
    items: &'a [PatByte],
}

impl Set<'_> {
    fn contains(&self, c: u8) -> bool {
        let mut found = false;
        let mut i = 0;
        while let Some(&(lo, _)) = self.items.get(i) {
            let is_range = matches!(self.items.get(i + 1), Some(&(b'-', false)))
                && self.items.get(i + 2).is_some();
            if is_range {
                let hi = self.items.get(i + 2).map_or(lo, |&(hi, _)| hi);
                found |= lo <= c && c <= hi;
                i += 3;
            } else {
                found |= lo == c;
                i += 1;
            }
        }
        found != self.negated
    }
}

/// Parses the set after a `[`; returns it and how many pattern bytes it spans, including the
/// closing `]`. `None` if there is no closing `]`.
fn class(after: &[PatByte]) -> Option<(Set<'_>, usize)> {
    let negated = matches!(after.first(), Some(&(b'!' | b'^', false)));
    let start = usize::from(negated);
    // A `]` right after `[` or `[!` belongs to the set.
    let search_from = start + 1;
    let close = after
        .iter()
        .enumerate()
        .skip(search_from)
        .find(|&(_, &(b, quoted))| b == b']' && !quoted)
        .map(|(i, _)| i)?;
    let items = after.get(start..close)?;
    Some((Set { negated, items }, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(text: &str) -> Vec<PatByte> {
        text.bytes().map(|b| (b, false)).collect()
    }

    fn m(pattern: &str, name: &str) -> bool {
        matches(&pat(pattern), name.as_bytes())
    }

    #[test]
    fn star_and_question() {
        assert!(m("*", "abc"));
        assert!(m("*.txt", "a.txt"));
        assert!(!m("*.txt", ".txt.txt")); // a leading dot needs a literal dot
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(m("a*b*c", "abc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("?", "x"));
        assert!(!m("?", ""));
        assert!(!m("?", "xy"));
        assert!(m("a?c", "abc"));
        assert!(m("**x", "x"));
        assert!(!m("*", ".hidden"));
        assert!(m(".*", ".hidden"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn brackets() {
        assert!(m("[abc]", "b"));
        assert!(!m("[abc]", "d"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[^a-c]x", "dx"));
        assert!(m("[]]", "]"));
        assert!(m("[!]]", "a"));
        assert!(m("[a-]", "-"));
        // Unclosed: literal.
        assert!(m("[ab", "[ab"));
        assert!(!m("[ab", "a"));
        assert!(m("f[0-9][0-9]", "f42"));
    }

    #[test]
    fn quoted_bytes_are_literal() {
        let p = vec![(b'*', true)];
        assert!(matches(&p, b"*"));
        assert!(!matches(&p, b"a"));
        assert!(!has_magic(&p));
        assert!(has_magic(&pat("a[b")));
        assert!(!has_magic(&pat("plain")));
    }

    #[test]
    fn hostile_pattern_is_fast() {
        let p = pat(&"*a".repeat(50));
        let name = "a".repeat(49) + "b";
        // Completes quickly thanks to single-star backtracking.
        assert!(!matches(&p, name.as_bytes()));
    }

    #[test]
    fn unicode_names() {
        assert!(m("caf*", "café"));
        assert!(m("*é", "café"));
    }
}
