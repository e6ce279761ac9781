//! WAMP application values: what travels in Arguments, ArgumentsKw, Details and Options.
//!
//! Bytes and strings stay distinct (`Value::Bytes` vs `Value::String`) so a msgpack `bin`
//! reaches a JSON peer as `"\u0000" + base64` and comes back as `bin`. The conversion happens
//! in `Serialize`/`Deserialize`, keyed on the format being human-readable (JSON) or not
//! (msgpack, CBOR), so no serializer needs a special case.
//!
//! Dictionary keys must be strings whatever the serialization (a CBOR or msgpack map with an
//! integer or bytes key is a decode error). CBOR tags reach the visitor as ciborium's tag
//! enum: the tag is dropped and its content kept (see `wamp::serializer` for why).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::{self, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A WAMP dictionary (Details, Options, ArgumentsKw). Keys are strings by the spec.
pub type Dict = BTreeMap<String, Value>;
/// A WAMP list (Arguments).
pub type List = Vec<Value>;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Integers that fit `i64`; larger unsigned ones are `UInt`.
    Int(i64),
    UInt(u64),
    Float(f64),
    String(String),
    Bytes(Vec<u8>),
    List(List),
    Dict(Dict),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A non-negative integer, whichever variant holds it.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Int(i) if *i >= 0 => Some(*i as u64),
            Value::UInt(u) => Some(*u),
            _ => None,
        }
    }

    /// A WAMP id in [1, 2^53]. Integral floats count: autobahn.js's msgpack encoder writes
    /// 2^53 as a float64, and wampy's CBOR encoder every number above 2^32.
    pub fn as_id(&self) -> Option<crate::wamp::id::Id> {
        let id = match self {
            Value::Float(f)
                if f.fract() == 0.0 && (1.0..=crate::wamp::id::MAX_ID as f64).contains(f) =>
            {
                *f as u64
            }
            other => other.as_u64()?,
        };
        crate::wamp::id::is_valid(id).then_some(id)
    }

    pub fn as_list(&self) -> Option<&List> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<u64> for Value {
    fn from(u: u64) -> Self {
        match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(u),
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<Dict> for Value {
    fn from(d: Dict) -> Self {
        Value::Dict(d)
    }
}

impl From<List> for Value {
    fn from(l: List) -> Self {
        Value::List(l)
    }
}

/// The JSON text form of bytes: a NUL character followed by standard padded base64.
pub fn bytes_to_json_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(1 + bytes.len().div_ceil(3) * 4);
    s.push('\0');
    BASE64.encode_string(bytes, &mut s);
    s
}

/// Reverses [`bytes_to_json_string`]; `None` when `s` is an ordinary string.
pub fn json_string_to_bytes(s: &str) -> Option<Vec<u8>> {
    let rest = s.strip_prefix('\0')?;
    BASE64.decode(rest).ok()
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::UInt(u) => serializer.serialize_u64(*u),
            Value::Float(f) => serializer.serialize_f64(*f),
            Value::String(s) => serializer.serialize_str(s),
            Value::Bytes(b) if serializer.is_human_readable() => {
                serializer.serialize_str(&bytes_to_json_string(b))
            }
            Value::Bytes(b) => serializer.serialize_bytes(b),
            Value::List(l) => {
                let mut seq = serializer.serialize_seq(Some(l.len()))?;
                for v in l {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Dict(d) => {
                let mut map = serializer.serialize_map(Some(d.len()))?;
                for (k, v) in d {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let human_readable = deserializer.is_human_readable();
        deserializer.deserialize_any(ValueVisitor { human_readable })
    }
}

struct ValueVisitor {
    /// JSON: strings that start with NUL carry bytes.
    human_readable: bool,
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a WAMP value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::from(u))
    }

    /// CBOR negative integers below `i64::MIN` and negative bignums (tag 3).
    fn visit_i128<E: de::Error>(self, i: i128) -> Result<Value, E> {
        if let Ok(i) = i64::try_from(i) {
            Ok(Value::Int(i))
        } else if let Ok(u) = u64::try_from(i) {
            Ok(Value::UInt(u))
        } else {
            Err(E::custom(format!("integer {i} is out of the 64-bit range")))
        }
    }

    /// CBOR bignums (tag 2).
    fn visit_u128<E: de::Error>(self, u: u128) -> Result<Value, E> {
        match u64::try_from(u) {
            Ok(u) => Ok(Value::from(u)),
            Err(_) => Err(E::custom(format!("integer {u} is out of the 64-bit range"))),
        }
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        if self.human_readable
            && let Some(bytes) = json_string_to_bytes(s)
        {
            return Ok(Value::Bytes(bytes));
        }
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        if self.human_readable && s.starts_with('\0') {
            return self.visit_str(&s);
        }
        Ok(Value::String(s))
    }

    /// MessagePack extension types (rmp_serde hands them over as a newtype of (tag, data)).
    /// msgpackr, which wampy.js uses, writes JavaScript `undefined` as extension 0 holding one
    /// zero byte: that is null. Other extensions keep their data as bytes.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let (tag, data): (i8, Value) = Deserialize::deserialize(d)?;
        Ok(match data {
            Value::Bytes(bytes) if tag == 0 && bytes == [0] => Value::Null,
            Value::Bytes(bytes) => Value::Bytes(bytes),
            other => other,
        })
    }

    fn visit_bytes<E>(self, b: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(b.to_vec()))
    }

    fn visit_byte_buf<E>(self, b: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(b))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element_seed(ValueSeed(self.human_readable))? {
            list.push(v);
        }
        Ok(Value::List(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut dict = Dict::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(ValueSeed(self.human_readable))?;
            dict.insert(key, value);
        }
        Ok(Value::Dict(dict))
    }

    /// A CBOR tag: ciborium hands a tagged item over as an enum whose variant is a pair (tag
    /// number, content). The content is kept, the tag dropped; except bignums (tags 2 and 3),
    /// which arrive here only when they do not fit 64 bits (or are malformed).
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (_, tagged) = data.variant::<de::IgnoredAny>()?;
        let (tag, value) = tagged.tuple_variant(2, Tagged(ValueSeed(self.human_readable)))?;
        if tag == 2 || tag == 3 {
            return Err(de::Error::custom(
                "bignum (CBOR tag 2 or 3) out of the 64-bit integer range",
            ));
        }
        Ok(value)
    }
}

/// The (tag number, content) pair of a CBOR tag, the content read with `S`.
struct Tagged<S>(S);

impl<'de, S: de::DeserializeSeed<'de>> Visitor<'de> for Tagged<S> {
    type Value = (u64, S::Value);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CBOR tag and its content")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let tag: u64 = seq
            .next_element()?
            .ok_or_else(|| de::Error::custom("CBOR tag without a number"))?;
        let value = seq
            .next_element_seed(self.0)?
            .ok_or_else(|| de::Error::custom("CBOR tag without content"))?;
        Ok((tag, value))
    }
}

/// A dictionary key: a string in every serialization. Anything else is refused with an error
/// that says so (rather than serde's generic "expected a string").
struct KeySeed;

impl<'de> de::DeserializeSeed<'de> for KeySeed {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string dictionary key (WAMP dictionary keys are strings)")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<String, E> {
        Ok(s.to_owned())
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<String, E> {
        Ok(s)
    }

    /// A tagged CBOR key: the tag is dropped, as for values.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<String, A::Error> {
        let (_, tagged) = data.variant::<de::IgnoredAny>()?;
        let (_, key) = tagged.tuple_variant(2, Tagged(KeySeed))?;
        Ok(key)
    }
}

/// Carries the human-readable flag into nested values (it is the same for the whole document).
struct ValueSeed(bool);

impl<'de> de::DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor {
            human_readable: self.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bytes_convention_round_trips() {
        let v = Value::List(vec![Value::Bytes(vec![0, 1, 2, 255]), "plain".into()]);
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(text, r#"["\u0000AAEC/w==","plain"]"#);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn msgpack_bin_is_bytes_and_str_is_string() {
        let v = Value::List(vec![Value::Bytes(b"\x00bin".to_vec()), "\u{0}AAE=".into()]);
        let packed = rmp_serde::to_vec(&v).unwrap();
        let back: Value = rmp_serde::from_slice(&packed).unwrap();
        // In msgpack a string that happens to start with NUL stays a string.
        assert_eq!(back, v);
    }

    #[test]
    fn msgpack_bin_becomes_json_nul_base64() {
        let packed = rmp_serde::to_vec(&Value::Bytes(b"hi".to_vec())).unwrap();
        let v: Value = rmp_serde::from_slice(&packed).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), r#""\u0000aGk=""#);
    }

    #[test]
    fn nul_string_with_invalid_base64_stays_a_string() {
        let v: Value = serde_json::from_str(r#""\u0000not base64!""#).unwrap();
        assert_eq!(v, Value::String("\0not base64!".into()));
    }

    #[test]
    fn msgpackr_undefined_is_null() {
        // msgpackr's pack({a: undefined}), as wampy.js sends options.
        let v: Value =
            rmp_serde::from_slice(&[0xde, 0x00, 0x01, 0xa1, 0x61, 0xd4, 0x00, 0x00]).unwrap();
        let mut expected = Dict::new();
        expected.insert("a".into(), Value::Null);
        assert_eq!(v, Value::Dict(expected));
        // Another extension keeps its data as bytes.
        let v: Value = rmp_serde::from_slice(&[0xd5, 0x07, 0x01, 0x02]).unwrap();
        assert_eq!(v, Value::Bytes(vec![1, 2]));
    }

    #[test]
    fn large_unsigned_integers_survive() {
        let v: Value = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(v, Value::UInt(u64::MAX));
        let v: Value = serde_json::from_str("9007199254740992").unwrap();
        assert_eq!(v.as_u64(), Some(1 << 53));
    }
}
