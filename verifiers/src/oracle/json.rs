//! JSON pointers (RFC 6901) resolved to a value's literal text.
//!
//! serde_json's `Value` turns every number into an f64 or a 64-bit integer
//! and loses the rest; its `arbitrary_precision` feature would keep the text
//! but changes number handling for every crate in the build. So documents
//! are kept as text and walked one level at a time with
//! [`RawValue`]: at each level the container is parsed once, skipping the
//! members not asked for, and the member asked for is returned as the slice
//! of text it was written as.
//!
//! Cost: resolving a pointer of depth `k` parses at most `k` nested
//! containers, so at most `k` times the document's length. Duplicate object
//! keys resolve to the last one, as `Value::pointer` does.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{
    number::{Decimal, MAX_NUMBER_CHARS, NumberError},
    params::FieldKind,
};

/// Parses a whole document (checking it is JSON) without building it.
pub(crate) fn document(text: &str) -> Result<&RawValue, serde_json::Error> {
    serde_json::from_str(text)
}

/// [`document`] over bytes (which must be UTF-8).
pub(crate) fn document_bytes(bytes: &[u8]) -> Result<&RawValue, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// The value at `pointer` in `root`, or `None` if the path does not exist.
pub(crate) fn pointer<'a>(root: &'a RawValue, pointer: &str) -> Option<&'a RawValue> {
    if pointer.is_empty() {
        return Some(root);
    }
    let mut current = root;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        current = child(current, &token)?;
    }
    Some(current)
}

fn child<'a>(value: &'a RawValue, token: &str) -> Option<&'a RawValue> {
    let text = value.get();
    let mut de = serde_json::Deserializer::from_str(text);
    match text.trim_start().as_bytes().first()? {
        b'{' => de.deserialize_map(Member { token }).ok()?,
        b'[' => de
            .deserialize_seq(Element {
                index: index(token)?,
            })
            .ok()?,
        _ => None,
    }
}

/// An array index token: `0` or digits without a leading zero.
fn index(token: &str) -> Option<usize> {
    if token.is_empty()
        || !token.bytes().all(|b| b.is_ascii_digit())
        || (token.len() > 1 && token.starts_with('0'))
    {
        return None;
    }
    token.parse().ok()
}

struct Member<'t> {
    token: &'t str,
}

impl<'de> Visitor<'de> for Member<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(matches) = map.next_key_seed(KeyIs(self.token))? {
            if matches {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Deserializes an object key into whether it equals the token.
struct KeyIs<'t>(&'t str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

struct Element {
    index: usize,
}

impl<'de> Visitor<'de> for Element {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let mut i = 0;
        // Every element is consumed: serde_json refuses a sequence left
        // half-read.
        loop {
            if i == self.index {
                match seq.next_element::<&'de RawValue>()? {
                    Some(v) => found = Some(v),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }
}

/// A value read from the proof or from a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    Number(Decimal),
    Text(String),
    Bool(bool),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(s) => write!(f, "{}", taskproof_core::quote(s)),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Why no value of the wanted type was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("no value")]
    Missing,
    #[error("a value of another type")]
    WrongType,
    #[error("a number that {0}")]
    Number(NumberError),
}

/// Reads a value of `kind`. Numbers may be JSON numbers or decimal strings
/// (many price APIs quote prices as strings), read exactly.
pub(crate) fn read(kind: FieldKind, value: Option<&RawValue>) -> Result<Scalar, ReadError> {
    let text = value.ok_or(ReadError::Missing)?.get().trim_ascii();
    let first = text.as_bytes().first().copied();
    match (kind, first) {
        (FieldKind::Number, Some(b'-' | b'0'..=b'9')) => Decimal::parse(text)
            .map(Scalar::Number)
            .map_err(ReadError::Number),
        (FieldKind::Number, Some(b'"')) => {
            // Quotes and a few escapes at most: a longer string is no number
            // worth decoding.
            if text.len() > MAX_NUMBER_CHARS + 2 {
                return Err(ReadError::Number(NumberError::OutOfRange));
            }
            let s: String = serde_json::from_str(text).map_err(|_| ReadError::WrongType)?;
            Decimal::parse(&s)
                .map(Scalar::Number)
                .map_err(ReadError::Number)
        }
        (FieldKind::String, Some(b'"')) => serde_json::from_str(text)
            .map(Scalar::Text)
            .map_err(|_| ReadError::WrongType),
        (FieldKind::Bool, _) if text == "true" => Ok(Scalar::Bool(true)),
        (FieldKind::Bool, _) if text == "false" => Ok(Scalar::Bool(false)),
        _ => Err(ReadError::WrongType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"a": {"b": [10, {"c": 1000000000000000001}], "b": [20]},
        "x/y": {"~k": "7.5"}, "a": {"b": [1, {"c": 1000000000000000064}]}, "t": true}"#;

    fn at(p: &str) -> Option<String> {
        pointer(document(DOC).unwrap(), p).map(|v| v.get().to_owned())
    }

    #[test]
    fn pointers_resolve_to_the_literal_text() {
        assert_eq!(at("/a/b/1/c").as_deref(), Some("1000000000000000064"));
        assert_eq!(at("/a/b/0").as_deref(), Some("1"));
        assert_eq!(at("/x~1y/~0k").as_deref(), Some("\"7.5\""));
        assert_eq!(at("/t").as_deref(), Some("true"));
        assert!(at("").is_some());
        for missing in ["/a/b/2", "/a/b/01", "/a/b/-", "/nope", "/t/x", "a"] {
            assert_eq!(at(missing), None, "{missing}");
        }
    }

    #[test]
    fn values_are_read_by_kind() {
        let doc = document(DOC).unwrap();
        let number = |p| read(FieldKind::Number, pointer(doc, p));
        assert_eq!(
            number("/a/b/1/c"),
            Ok(Scalar::Number(
                Decimal::parse("1000000000000000064").unwrap()
            ))
        );
        assert_eq!(
            number("/x~1y/~0k"),
            Ok(Scalar::Number(Decimal::parse("7.5").unwrap()))
        );
        assert_eq!(number("/t"), Err(ReadError::WrongType));
        assert_eq!(number("/nope"), Err(ReadError::Missing));
        assert_eq!(
            read(FieldKind::Bool, pointer(doc, "/t")),
            Ok(Scalar::Bool(true))
        );
        assert_eq!(
            read(FieldKind::String, pointer(doc, "/x~1y/~0k")),
            Ok(Scalar::Text("7.5".into()))
        );
        let huge = document(r#"{"n": 1e999999999, "s": "NaN"}"#).unwrap();
        assert_eq!(
            read(FieldKind::Number, pointer(huge, "/n")),
            Err(ReadError::Number(NumberError::OutOfRange))
        );
        assert_eq!(
            read(FieldKind::Number, pointer(huge, "/s")),
            Err(ReadError::Number(NumberError::Malformed))
        );
    }
}
