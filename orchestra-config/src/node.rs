//! The first stage of parsing: YAML text into a small tree of [`Node`]s.
//!
//! The tree is built by a serde visitor over yaml_serde, so syntax errors come with
//! yaml_serde's line and column. Building it ourselves (rather than using `yaml_serde::Value`)
//! lets a repeated key be refused at the repeated key itself: the error is raised while that
//! key is read, so yaml_serde stamps it with the key's position.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A parsed YAML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    /// How the value is described in "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "nothing",
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "a number",
            Self::Float(_) => "a decimal number",
            Self::Str(_) => "a string",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a map",
        }
    }

    /// A scalar as the text a user means by it (`true`, `5`, `x`); `None` for collections.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Self::Null => Some(String::new()),
            Self::Bool(b) => Some(b.to_string()),
            Self::Int(i) => Some(i.to_string()),
            Self::Float(f) => Some(f.to_string()),
            Self::Str(s) => Some(s.clone()),
            Self::Seq(_) | Self::Map(_) => None,
        }
    }
}

/// Marker in the message of the error raised at a repeated key.
pub(crate) const DUPLICATE_MARK: &str = "\u{1}duplicate key\u{1}";
/// Marker in the message of the error raised at a key that is not a scalar.
pub(crate) const COMPLEX_KEY_MARK: &str = "\u{1}complex key\u{1}";
/// Marker in the message of the error raised at a `!tag`.
pub(crate) const TAG_MARK: &str = "\u{1}tag\u{1}";

/// Parses a document; blank or comment-only text is [`Node::Null`].
pub(crate) fn parse(text: &str) -> Result<Node, yaml_serde::Error> {
    let meaningful = text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---" && t != "..."
    });
    if !meaningful {
        return Ok(Node::Null);
    }
    NodeSeed.deserialize(yaml_serde::Deserializer::from_str(text))
}

struct NodeSeed;

impl<'de> DeserializeSeed<'de> for NodeSeed {
    type Value = Node;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(i128::try_from(v).map_or(Node::Float(v as f64), Node::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(NodeSeed)? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let seen = RefCell::new(HashSet::new());
        let check = |k: &str| {
            if seen.borrow_mut().insert(k.to_owned()) {
                Ok(())
            } else {
                Err(format!("{DUPLICATE_MARK}{k}"))
            }
        };
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(CheckedKey {
            check: &check,
            refuse_complex: true,
        })? {
            let key = key.unwrap_or_default();
            let value = map.next_value_seed(NodeSeed)?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Node, A::Error> {
        Err(de::Error::custom(TAG_MARK))
    }
}

/// Reads a map key as text (`8080:` is the key "8080"), running `check` on it while the
/// key is being read, so that an error it returns carries the key's position. Keys that are
/// collections give `None`, or an error when `refuse_complex` is set.
pub(crate) struct CheckedKey<'c> {
    pub check: &'c dyn Fn(&str) -> Result<(), String>,
    pub refuse_complex: bool,
}

impl<'de> DeserializeSeed<'de> for CheckedKey<'_> {
    type Value = Option<String>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl CheckedKey<'_> {
    fn text<E: de::Error>(&self, key: String) -> Result<Option<String>, E> {
        (self.check)(&key).map_err(E::custom)?;
        Ok(Some(key))
    }
}

impl<'de> Visitor<'de> for CheckedKey<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<String>, E> {
        self.text(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<String>, E> {
        self.text(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<String>, E> {
        self.text(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<String>, E> {
        self.text(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
        self.text(v.to_owned())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        self.text(String::new())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.complex()
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.complex()
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Option<String>, A::Error> {
        Err(de::Error::custom(TAG_MARK))
    }
}

impl CheckedKey<'_> {
    fn complex<E: de::Error>(&self) -> Result<Option<String>, E> {
        if self.refuse_complex {
            Err(E::custom(COMPLEX_KEY_MARK))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_tree() {
        let n = parse("a: 1\nb: [x, true]\nc:\n").unwrap();
        assert_eq!(
            n,
            Node::Map(vec![
                ("a".into(), Node::Int(1)),
                (
                    "b".into(),
                    Node::Seq(vec![Node::Str("x".into()), Node::Bool(true)])
                ),
                ("c".into(), Node::Null),
            ])
        );
    }

    #[test]
    fn empty_and_comment_only_documents_are_null() {
        assert_eq!(parse("").unwrap(), Node::Null);
        assert_eq!(parse("# nothing\n\n  # here\n").unwrap(), Node::Null);
    }

    #[test]
    fn a_repeated_key_is_refused_where_it_repeats() {
        let err = parse("port: 1\nname: x\nport: 2\n").unwrap_err();
        assert!(err.to_string().contains(DUPLICATE_MARK));
        let loc = err.location().unwrap();
        assert_eq!((loc.line(), loc.column()), (3, 1));
    }
}
