//! A TOML document as a tree in which every key and value keeps its byte
//! span, so that the config checker can walk the whole file, report every
//! unknown key and every bad value with its line and column, and not stop
//! at the first problem as a `#[serde(deny_unknown_fields)]` struct would.
//!
//! The spans come from `toml::Spanned`, which toml's deserializer fills in
//! for keys as well as values.

use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

/// One TOML value with the spans of everything inside it.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// An offset date-time, kept as its TOML text; nothing in the config
    /// takes one, so it only ever ends up in a "wrong type" message.
    Datetime(String),
    Array(Vec<Spanned<Node>>),
    /// Keys in file order; TOML itself rejects duplicate keys.
    Table(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl Node {
    /// What the value is, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::String(_) => "a string",
            Node::Integer(_) => "an integer",
            Node::Float(_) => "a float",
            Node::Boolean(_) => "a boolean",
            Node::Datetime(_) => "a date-time",
            Node::Array(_) => "an array",
            Node::Table(_) => "a table",
        }
    }
}

/// toml's deserializer hands a date-time to `deserialize_any` as a map with
/// this single private key (see toml_datetime's `FIELD`).
const DATETIME_FIELD: &str = "$__toml_private_datetime";

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Boolean(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Integer(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(Node::Integer)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<MaybeSpannedKey>()? {
            match key {
                MaybeSpannedKey::Datetime => {
                    let text: String = map.next_value()?;
                    return Ok(Node::Datetime(text));
                }
                MaybeSpannedKey::Key(key) => {
                    let value = map.next_value::<Spanned<Node>>()?;
                    entries.push((key, value));
                }
            }
        }
        Ok(Node::Table(entries))
    }
}

/// A table key with its span, or the marker of a date-time, whose key
/// deserializer knows nothing of spans.
enum MaybeSpannedKey {
    Key(Spanned<String>),
    Datetime,
}

impl<'de> Deserialize<'de> for MaybeSpannedKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A real key's deserializer answers this `Spanned` request with a
        // map of start, end and value; the date-time's private key
        // deserializer ignores the request and hands over its one string,
        // which `Spanned<String>`'s own visitor would reject. KeyVisitor
        // accepts either shape.
        deserializer.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, KeyVisitor)
    }
}

// These mirror serde_spanned's private protocol, which toml's deserializer
// recognises by name; `Spanned<String>` is built from the three fields.
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_FIELDS: &[&str] = &[
    "$__serde_spanned_private_start",
    "$__serde_spanned_private_end",
    "$__serde_spanned_private_value",
];

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = MaybeSpannedKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table key")
    }

    fn visit_str<E>(self, v: &str) -> Result<MaybeSpannedKey, E> {
        if v == DATETIME_FIELD {
            Ok(MaybeSpannedKey::Datetime)
        } else {
            // A key without span information: should not happen with toml's
            // deserializer, but an empty span is better than failing.
            Ok(MaybeSpannedKey::Key(Spanned::new(0..0, v.to_owned())))
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeSpannedKey, A::Error> {
        let mut start: Option<usize> = None;
        let mut end: Option<usize> = None;
        let mut value: Option<String> = None;
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "$__serde_spanned_private_start" => start = Some(map.next_value()?),
                "$__serde_spanned_private_end" => end = Some(map.next_value()?),
                "$__serde_spanned_private_value" => value = Some(map.next_value()?),
                _ => {
                    return Err(serde::de::Error::custom(format!(
                        "unexpected field {field} in a spanned key"
                    )))
                }
            }
        }
        match (start, end, value) {
            (Some(start), Some(end), Some(value)) => {
                Ok(MaybeSpannedKey::Key(Spanned::new(start..end, value)))
            }
            _ => Err(serde::de::Error::custom("incomplete spanned key")),
        }
    }
}

/// Parses a whole document into a spanned root table.
pub fn parse(text: &str) -> Result<Spanned<Node>, toml::de::Error> {
    let root: Spanned<Node> = toml::from_str(text)?;
    Ok(root)
}

/// Maps byte offsets to 1-based line and column numbers (columns count
/// characters, as editors do).
pub struct LineIndex<'a> {
    text: &'a str,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        LineIndex { text }
    }

    /// Line and column of the byte at `offset`, clamped to the text.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before.get(line_start..).unwrap_or("").chars().count() + 1;
        (line, col)
    }

    /// Position of the start of a span.
    pub fn span_start(&self, span: &Range<usize>) -> (usize, usize) {
        self.position(span.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(node: &Node) -> &[(Spanned<String>, Spanned<Node>)] {
        match node {
            Node::Table(t) => t,
            other => panic!("expected a table, got {other:?}"),
        }
    }

    #[test]
    fn keys_and_values_keep_their_positions() {
        let text = "# comment\n[server]\nlisten = [\"a\", \"b\"]\n\n[[users]]\nname = \"alice\"\n";
        let root = parse(text).unwrap();
        let index = LineIndex::new(text);
        let top = table(root.get_ref());
        assert_eq!(top.len(), 2);
        let (server_key, server) = &top[0];
        assert_eq!(server_key.get_ref(), "server");
        let (listen_key, listen) = &table(server.get_ref())[0];
        assert_eq!(listen_key.get_ref(), "listen");
        assert_eq!(index.span_start(&listen_key.span()), (3, 1));
        assert_eq!(index.span_start(&listen.span()), (3, 10));
        match listen.get_ref() {
            Node::Array(items) => {
                assert_eq!(items[1].get_ref(), &Node::String("b".into()));
                assert_eq!(index.span_start(&items[1].span()), (3, 16));
            }
            other => panic!("{other:?}"),
        }
        let (users_key, users) = &top[1];
        assert_eq!(users_key.get_ref(), "users");
        match users.get_ref() {
            Node::Array(items) => {
                let (name_key, name) = &table(items[0].get_ref())[0];
                assert_eq!(name_key.get_ref(), "name");
                assert_eq!(index.span_start(&name_key.span()), (6, 1));
                assert_eq!(name.get_ref(), &Node::String("alice".into()));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scalar_kinds_and_datetimes() {
        let text = "a = 1\nb = 1.5\nc = true\nd = 1979-05-27T07:32:00Z\n";
        let root = parse(text).unwrap();
        let kinds: Vec<&str> = table(root.get_ref())
            .iter()
            .map(|(_, v)| v.get_ref().kind())
            .collect();
        assert_eq!(kinds, ["an integer", "a float", "a boolean", "a date-time"]);
    }

    #[test]
    fn syntax_errors_carry_a_span() {
        let text = "a = 1\nb = = 2\n";
        let err = parse(text).unwrap_err();
        let span = err.span().unwrap();
        assert_eq!(LineIndex::new(text).span_start(&span).0, 2);
    }

    #[test]
    fn columns_count_characters() {
        let text = "é = 1\nkey";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text.find("= 1").unwrap()), (1, 3));
        assert_eq!(index.position(text.len()), (2, 4));
        assert_eq!(index.position(9999), (2, 4));
    }
}
