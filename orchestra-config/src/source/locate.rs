//! Finding where a key path sits in a document's text.
//!
//! yaml_serde gives a location only with an error. So to find where a value sits, the
//! document is walked again by a seed that raises an error the moment it reaches the wanted
//! key or value: yaml_serde stamps that error with the line and column of the event it was
//! reading. This is exact for block and flow styles alike, and costs a re-parse only when a
//! diagnostic is being built.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Seg, Target};

/// The byte offset where the node at `path` starts, found by walking the document again.
pub(crate) fn locate(text: &str, path: &[Seg], target: Target) -> Option<usize> {
    if path.is_empty() {
        return Some(first_content(text));
    }
    let de = yaml_serde::Deserializer::from_str(text);
    let seed = Walk { rest: path, target };
    match seed.deserialize(de) {
        Err(e) if e.to_string().contains(FOUND) => {
            e.location().map(|l| floor_boundary(text, l.index()))
        }
        _ => None,
    }
}

/// `offset` clamped into `text` and moved back to a character boundary: yaml_serde's indexes
/// are not always byte offsets (a byte-order mark is skipped without being counted).
pub(crate) fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

/// Offset of the first character that is not blank or comment.
fn first_content(text: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && !trimmed.starts_with("---") {
            return offset + (line.len() - trimmed.len());
        }
        offset += line.len();
    }
    0
}

/// Length of the token at `start`: a quoted or plain scalar, a flow collection on one line,
/// or the rest of the line for a block collection.
pub(super) fn token_len(text: &str, start: usize, target: Target) -> usize {
    let rest = &text[start..];
    let line = rest.split('\n').next().unwrap_or("");
    let mut chars = line.char_indices();
    let len = match chars.next() {
        Some((_, q @ ('"' | '\''))) => {
            let mut escaped = false;
            line.char_indices()
                .skip(1)
                .find(|&(_, c)| {
                    let end = c == q && !escaped;
                    escaped = q == '"' && c == '\\' && !escaped;
                    end
                })
                .map_or(line.len(), |(i, _)| i + 1)
        }
        Some((_, open @ ('[' | '{'))) => {
            let close = if open == '[' { ']' } else { '}' };
            let mut depth = 0i32;
            line.char_indices()
                .find(|&(_, c)| {
                    if c == open {
                        depth += 1;
                    } else if c == close {
                        depth -= 1;
                    }
                    depth == 0
                })
                .map_or(line.len(), |(i, _)| i + 1)
        }
        Some(_) => {
            let in_flow = open_flow_depth(&text[..start]) > 0;
            plain_len(line, target, in_flow)
        }
        None => 0,
    };
    len.max(1).min(rest.len().max(1))
}

/// Whether the text before the token, on the token's line, leaves a flow collection open.
fn open_flow_depth(before: &str) -> i32 {
    let line = before.rsplit('\n').next().unwrap_or("");
    line.chars().fold(0, |d, c| match c {
        '[' | '{' => d + 1,
        ']' | '}' => d - 1,
        _ => d,
    })
}

/// Length of a plain scalar: up to a comment, the key's `:` or, in a flow, a `,`/`]`/`}`.
fn plain_len(line: &str, target: Target, in_flow: bool) -> usize {
    let bytes = line.as_bytes();
    let mut end = line.len();
    for (i, &b) in bytes.iter().enumerate() {
        let next_blank = bytes.get(i + 1).is_none_or(|n| *n == b' ' || *n == b'\t');
        let prev_blank = i > 0 && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t');
        if (b == b'#' && prev_blank)
            || (b == b':' && (target == Target::Key || in_flow) && next_blank)
            || (in_flow && matches!(b, b',' | b']' | b'}'))
        {
            end = i;
            break;
        }
    }
    line[..end].trim_end().len()
}

const FOUND: &str = "\u{1}orchestra: located\u{1}";

fn found<E: de::Error>() -> E {
    E::custom(FOUND)
}

/// Walks toward `rest`, raising [`FOUND`] at the target so its mark gets recorded.
struct Walk<'p> {
    rest: &'p [Seg],
    target: Target,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let wanted = match self.rest.split_first() {
            None => return Err(found()),
            Some((Seg::Key(wanted), tail)) => (wanted.as_str(), tail),
            Some((Seg::Index(_), _)) => return Ok(()),
        };
        let (wanted, tail) = wanted;
        let key_is_target = tail.is_empty() && self.target == Target::Key;
        let check = |k: &str| {
            if key_is_target && k == wanted {
                Err(FOUND.to_owned())
            } else {
                Ok(())
            }
        };
        while let Some(key) = map.next_key_seed(crate::node::CheckedKey {
            check: &check,
            refuse_complex: false,
        })? {
            if key.as_deref() == Some(wanted) {
                return map.next_value_seed(Walk {
                    rest: tail,
                    target: self.target,
                });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (wanted, tail) = match self.rest.split_first() {
            None => return Err(found()),
            Some((Seg::Index(wanted), tail)) => (wanted, tail),
            Some((Seg::Key(_), _)) => return Ok(()),
        };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Walk {
            rest: tail,
            target: self.target,
        })?;
        Ok(())
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        if self.rest.is_empty() {
            Err(found())
        } else {
            Ok(())
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
}

impl Walk<'_> {
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.rest.is_empty() {
            Err(found())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn key(k: &str) -> Seg {
        Seg::Key(k.into())
    }

    fn text_at(text: &str, path: &[Seg], target: Target) -> String {
        let f = SourceFile::new("x".into(), "x".into(), text.into());
        let span = f.span_of(path, target).expect("located");
        text[span.offset()..span.offset() + span.len()].to_owned()
    }

    #[test]
    fn finds_block_keys_and_values() {
        let t = "port: 8080\ndepend_on: [postgres]  # x\nready:\n  tcp: \"$PORT\"\n";
        assert_eq!(text_at(t, &[key("depend_on")], Target::Key), "depend_on");
        assert_eq!(text_at(t, &[key("depend_on")], Target::Value), "[postgres]");
        assert_eq!(
            text_at(t, &[key("depend_on"), Seg::Index(0)], Target::Value),
            "postgres"
        );
        assert_eq!(
            text_at(t, &[key("ready"), key("tcp")], Target::Value),
            "\"$PORT\""
        );
        assert_eq!(text_at(t, &[key("port")], Target::Value), "8080");
    }

    #[test]
    fn finds_flow_values() {
        let t = "ready: { tcp: 80, timeout: 5x }\n";
        assert_eq!(
            text_at(t, &[key("ready"), key("timeout")], Target::Value),
            "5x"
        );
        assert_eq!(
            text_at(t, &[key("ready"), key("timeout")], Target::Key),
            "timeout"
        );
    }

    #[test]
    fn missing_paths_are_none() {
        assert_eq!(locate("a: 1\n", &[key("b")], Target::Value), None);
        assert_eq!(locate("- 1\n", &[key("b")], Target::Value), None);
    }
}
