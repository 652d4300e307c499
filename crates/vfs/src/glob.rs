//! Glob patterns for path rules and file-name filters.
//!
//! `*` matches any run of bytes except `/`, `**` any run including `/`, `?`
//! one byte other than `/`, and `[abc]` / `[a-z]` / `[!abc]` one byte from
//! (or not from) a set. Everything else matches itself. A pattern ending in
//! `/**` also matches the folder itself (`/in/**` matches `/in`), so a rule
//! for a folder covers listing it. Matching works on
//! bytes, since client paths need not be UTF-8.

use std::fmt;

/// A compiled glob pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    tokens: Vec<Token>,
    /// For a pattern ending in `/**`: how many tokens come before it.
    folder_prefix: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Byte(u8),
    AnyByte,
    Star,
    DoubleStar,
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
}

/// Why a pattern does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("glob pattern {pattern:?}: {reason}")]
pub struct GlobError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Patterns longer than this are refused: they come from configuration,
/// but matching cost grows with their length.
const MAX_PATTERN_LEN: usize = 1024;

impl Glob {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let err = |reason| GlobError {
            pattern: pattern.to_string(),
            reason,
        };
        if pattern.is_empty() {
            return Err(err("empty pattern"));
        }
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(err("longer than 1024 bytes"));
        }
        let bytes = pattern.as_bytes();
        let mut tokens = Vec::new();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'*' if bytes.get(i + 1) == Some(&b'*') => {
                    tokens.push(Token::DoubleStar);
                    i += 2;
                    while bytes.get(i) == Some(&b'*') {
                        i += 1;
                    }
                }
                b'*' => {
                    tokens.push(Token::Star);
                    i += 1;
                }
                b'?' => {
                    tokens.push(Token::AnyByte);
                    i += 1;
                }
                b'[' => {
                    i += 1;
                    let negated = matches!(bytes.get(i), Some(b'!') | Some(b'^'));
                    if negated {
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let Some(&c) = bytes.get(i) else {
                            return Err(err("unclosed `[`"));
                        };
                        if c == b']' && !first {
                            i += 1;
                            break;
                        }
                        first = false;
                        if bytes.get(i + 1) == Some(&b'-')
                            && bytes.get(i + 2).is_some_and(|&e| e != b']')
                        {
                            let end = bytes.get(i + 2).copied().unwrap_or(c);
                            if end < c {
                                return Err(err("range out of order in `[...]`"));
                            }
                            ranges.push((c, end));
                            i += 3;
                        } else {
                            ranges.push((c, c));
                            i += 1;
                        }
                    }
                    tokens.push(Token::Class { negated, ranges });
                }
                _ => {
                    tokens.push(Token::Byte(b));
                    i += 1;
                }
            }
        }
        let n = tokens.len();
        let folder_prefix = match tokens.get(n.saturating_sub(2)..) {
            Some([Token::Byte(b'/'), Token::DoubleStar]) if n > 2 => Some(n - 2),
            _ => None,
        };
        Ok(Glob {
            text: pattern.to_string(),
            tokens,
            folder_prefix,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the whole of `input` matches.
    pub fn matches(&self, input: &[u8]) -> bool {
        if matches_tokens(&self.tokens, input) {
            return true;
        }
        self.folder_prefix
            .and_then(|n| self.tokens.get(..n))
            .is_some_and(|prefix| matches_tokens(prefix, input))
    }
}

fn matches_tokens(tokens: &[Token], input: &[u8]) -> bool {
    // Iterative matching with one backtrack point per kind of star
    // (the classic wildcard algorithm): linear in practice, never
    // exponential, whatever the client sends.
    let (mut t, mut s) = (0usize, 0usize);
    // (token index after the star, input index it matched up to)
    let mut star: Option<(usize, usize)> = None;
    let mut double: Option<(usize, usize)> = None;
    loop {
        match (tokens.get(t), input.get(s)) {
            (Some(Token::DoubleStar), _) => {
                double = Some((t + 1, s));
                star = None;
                t += 1;
                continue;
            }
            (Some(Token::Star), _) => {
                star = Some((t + 1, s));
                t += 1;
                continue;
            }
            (Some(tok), Some(&c)) if single_matches(tok, c) => {
                t += 1;
                s += 1;
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        // Mismatch: let the innermost star swallow one more byte.
        if let Some((after, from)) = star {
            if input.get(from).is_some_and(|&c| c != b'/') {
                star = Some((after, from + 1));
                t = after;
                s = from + 1;
                continue;
            }
        }
        if let Some((after, from)) = double {
            if from < input.len() {
                double = Some((after, from + 1));
                star = None;
                t = after;
                s = from + 1;
                continue;
            }
        }
        return false;
    }
}

fn single_matches(token: &Token, c: u8) -> bool {
    match token {
        Token::Byte(b) => *b == c,
        Token::AnyByte => c != b'/',
        Token::Class { negated, ranges } => {
            c != b'/' && ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) != *negated
        }
        Token::Star | Token::DoubleStar => false,
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().matches(s.as_bytes())
    }

    #[test]
    fn literals_and_single_stars_stay_within_a_component() {
        assert!(m("/a/b.txt", "/a/b.txt"));
        assert!(!m("/a/b.txt", "/a/b.txt2"));
        assert!(m("*.txt", "notes.txt"));
        assert!(!m("*.txt", "dir/notes.txt"));
        assert!(m("/uploads/*", "/uploads/x"));
        assert!(!m("/uploads/*", "/uploads/x/y"));
        assert!(m("/uploads/*", "/uploads/"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
    }

    #[test]
    fn double_stars_cross_components() {
        assert!(m("/uploads/**", "/uploads/x/y/z"));
        assert!(m("/uploads/**", "/uploads/"));
        assert!(!m("/uploads/**", "/uploadsX"));
        assert!(m("**/*.exe", "/a/b/c.exe"));
        assert!(!m("**/*.exe", "/a/b/c.exe.txt"));
        assert!(m("/a/**/z", "/a/b/c/z"));
        assert!(m("**", "/anything/at/all"));
        // A folder rule covers the folder itself.
        assert!(m("/in/**", "/in"));
        assert!(!m("/in/**", "/inbox"));
        assert!(m("/in/**", "/in/x"));
    }

    #[test]
    fn question_marks_and_classes() {
        assert!(m("file?.log", "file1.log"));
        assert!(!m("file?.log", "file/.log"));
        assert!(m("[abc].txt", "b.txt"));
        assert!(!m("[abc].txt", "d.txt"));
        assert!(m("[!abc].txt", "d.txt"));
        assert!(m("[a-z0-9]*", "q9"));
        assert!(!m("[a-z]*", "Q"));
        assert!(m("[]]x", "]x"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(Glob::new("").is_err());
        assert!(Glob::new("[abc").is_err());
        assert!(Glob::new("[z-a]").is_err());
        assert!(Glob::new(&"a".repeat(2000)).is_err());
    }

    #[test]
    fn hostile_inputs_stay_linear() {
        let g = Glob::new("*a*a*a*a*a*a*a*a*b").unwrap();
        let input = vec![b'a'; 5000];
        assert!(!g.matches(&input));
        let g = Glob::new("**a**a**a**a**b").unwrap();
        assert!(!g.matches(&input));
    }
}
