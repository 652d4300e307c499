//! The checker's state and typed access to a table's entries, reporting
//! wrong types and unknown keys with their positions.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::config::algorithms::apply_algorithm_spec;
use crate::config::tree::{LineIndex, Node};
use crate::config::units::{parse_duration, parse_size};
use crate::config::Diagnostic;

pub(super) type Span = Range<usize>;

pub(super) struct Checker<'t> {
    pub(super) index: LineIndex<'t>,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) base: &'t Path,
}

impl Checker<'_> {
    pub(super) fn at(&mut self, span: &Span, message: impl Into<String>) {
        let (line, column) = self.index.span_start(span);
        self.diags.push(Diagnostic {
            line: Some(line),
            column: Some(column),
            message: message.into(),
        });
    }

    pub(super) fn whole_file(&mut self, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            line: None,
            column: None,
            message: message.into(),
        });
    }

    pub(super) fn line_of(&self, span: &Span) -> usize {
        self.index.span_start(span).0
    }

    /// Resolves a path from the file against the file's folder.
    pub(super) fn path(&mut self, key: &str, text: &str, span: &Span) -> Option<PathBuf> {
        if text.is_empty() {
            self.at(span, format!("`{key}`: empty path"));
            return None;
        }
        if text.starts_with('~') {
            self.at(
                span,
                format!("`{key}`: `~` is not expanded here; write the full path"),
            );
            return None;
        }
        Some(self.base.join(text))
    }
}

/// A table's entries by key, after unknown keys have been reported.
pub(super) struct Section<'n> {
    /// "[server]" or "[[users]]", for messages.
    pub(super) label: &'static str,
    pub(super) span: Span,
    pub(super) entries: HashMap<&'n str, &'n Spanned<Node>>,
}

pub(super) fn section<'n>(
    ck: &mut Checker<'_>,
    node: &'n Spanned<Node>,
    label: &'static str,
    known: &[&str],
) -> Option<Section<'n>> {
    let Node::Table(entries) = node.get_ref() else {
        ck.at(
            &node.span(),
            format!("{label} must be a table, found {}", node.get_ref().kind()),
        );
        return None;
    };
    let mut map = HashMap::new();
    for (key, value) in entries {
        let name = key.get_ref().as_str();
        if known.contains(&name) {
            map.insert(name, value);
        } else {
            ck.at(
                &key.span(),
                format!(
                    "unknown key `{name}` in {label}; expected one of: {}",
                    known.join(", ")
                ),
            );
        }
    }
    Some(Section {
        label,
        span: node.span(),
        entries: map,
    })
}

impl<'n> Section<'n> {
    pub(super) fn get(&self, key: &str) -> Option<&'n Spanned<Node>> {
        self.entries.get(key).copied()
    }

    pub(super) fn wrong_type(
        &self,
        ck: &mut Checker<'_>,
        key: &str,
        value: &Spanned<Node>,
        expected: &str,
    ) {
        ck.at(
            &value.span(),
            format!(
                "`{key}` in {} must be {expected}, found {}",
                self.label,
                value.get_ref().kind()
            ),
        );
    }

    pub(super) fn string(&self, ck: &mut Checker<'_>, key: &str) -> Option<(&'n str, Span)> {
        let value = self.get(key)?;
        match value.get_ref() {
            Node::String(s) => Some((s.as_str(), value.span())),
            _ => {
                self.wrong_type(ck, key, value, "a string");
                None
            }
        }
    }

    /// A string or an array of strings, each with its span.
    pub(super) fn strings(
        &self,
        ck: &mut Checker<'_>,
        key: &str,
    ) -> Option<(Vec<(&'n str, Span)>, Span)> {
        let value = self.get(key)?;
        match value.get_ref() {
            Node::String(s) => Some((vec![(s.as_str(), value.span())], value.span())),
            Node::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match item.get_ref() {
                        Node::String(s) => out.push((s.as_str(), item.span())),
                        other => {
                            ck.at(
                                &item.span(),
                                format!(
                                    "`{key}` in {} must hold strings, found {}",
                                    self.label,
                                    other.kind()
                                ),
                            );
                            ok = false;
                        }
                    }
                }
                ok.then_some((out, value.span()))
            }
            _ => {
                self.wrong_type(ck, key, value, "a string or an array of strings");
                None
            }
        }
    }

    pub(super) fn boolean(&self, ck: &mut Checker<'_>, key: &str) -> Option<bool> {
        let value = self.get(key)?;
        match value.get_ref() {
            Node::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(ck, key, value, "true or false");
                None
            }
        }
    }

    pub(super) fn integer(
        &self,
        ck: &mut Checker<'_>,
        key: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let value = self.get(key)?;
        match value.get_ref() {
            Node::Integer(n) if (min..=max).contains(n) => Some(*n),
            Node::Integer(n) => {
                ck.at(
                    &value.span(),
                    format!("`{key}` must be between {min} and {max}, found {n}"),
                );
                None
            }
            _ => {
                self.wrong_type(ck, key, value, "an integer");
                None
            }
        }
    }

    /// A duration: a string such as "2m" or an integer number of seconds.
    /// Some(None) when absent; None after an error.
    pub(super) fn duration(&self, ck: &mut Checker<'_>, key: &str) -> Option<Option<Duration>> {
        let Some(value) = self.get(key) else {
            return Some(None);
        };
        let parsed = match value.get_ref() {
            Node::String(s) => parse_duration(s),
            Node::Integer(n) => u64::try_from(*n)
                .map(Duration::from_secs)
                .map_err(|_| format!("bad duration {n}: negative")),
            _ => {
                self.wrong_type(
                    ck,
                    key,
                    value,
                    "a duration such as \"2m\" or a number of seconds",
                );
                return None;
            }
        };
        match parsed {
            Ok(d) => Some(Some(d)),
            Err(e) => {
                ck.at(&value.span(), format!("`{key}`: {e}"));
                None
            }
        }
    }

    /// A byte count: a string such as "1G" or an integer.
    pub(super) fn size(&self, ck: &mut Checker<'_>, key: &str) -> Option<Option<u64>> {
        let Some(value) = self.get(key) else {
            return Some(None);
        };
        let parsed = match value.get_ref() {
            Node::String(s) => parse_size(s),
            Node::Integer(n) => u64::try_from(*n).map_err(|_| format!("bad size {n}: negative")),
            _ => {
                self.wrong_type(ck, key, value, "a size such as \"1G\" or a number of bytes");
                return None;
            }
        };
        match parsed {
            Ok(n) => Some(Some(n)),
            Err(e) => {
                ck.at(&value.span(), format!("`{key}`: {e}"));
                None
            }
        }
    }

    /// An algorithm list in OpenSSH syntax (a string), or an array of names
    /// (a full list). Absent: the non-legacy defaults.
    pub(super) fn algorithms<T: Copy>(
        &self,
        ck: &mut Checker<'_>,
        key: &str,
        all: &[T],
        name: fn(T) -> &'static str,
        is_legacy: fn(T) -> bool,
    ) -> Option<Vec<T>> {
        let defaults: Vec<&str> = all
            .iter()
            .filter(|a| !is_legacy(**a))
            .map(|a| name(*a))
            .collect();
        let supported: Vec<&str> = all.iter().map(|a| name(*a)).collect();
        let spec = match self.get(key) {
            None => return Some(all.iter().copied().filter(|a| !is_legacy(*a)).collect()),
            Some(value) => match value.get_ref() {
                Node::String(s) => (s.clone(), value.span()),
                Node::Array(_) => {
                    let (names, span) = self.strings(ck, key)?;
                    let joined: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                    (joined.join(","), span)
                }
                _ => {
                    self.wrong_type(
                        ck,
                        key,
                        value,
                        "a string such as \"+name,name\" or an array of names",
                    );
                    return None;
                }
            },
        };
        match apply_algorithm_spec(&defaults, &supported, &spec.0) {
            Ok(names) => Some(
                names
                    .iter()
                    .filter_map(|n| all.iter().copied().find(|a| name(*a) == n))
                    .collect(),
            ),
            Err(e) => {
                ck.at(&spec.1, format!("`{key}`: {e}"));
                None
            }
        }
    }
}
