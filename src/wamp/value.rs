//! WAMP application values: what travels in Arguments, ArgumentsKw, Details and Options.
//!
//! Bytes and strings stay distinct (`Value::Bytes` vs `Value::String`) so a msgpack `bin`
//! reaches a JSON peer as `"\u0000" + base64` and comes back as `bin`. The conversion happens
//! in `Serialize`/`Deserialize`, keyed on the format being human-readable (JSON) or not
//! (msgpack, CBOR), so no serializer needs a special case.
//!
//! Integers of any size are carried exactly: a router forwards payloads it does not
//! interpret, and autobahn.js sends JavaScript `BigInt`s (2^128 - 1, say) as CBOR bignums and
//! expects them back. `Int` and `UInt` hold what fits 64 bits, `BigInt` only the rest, so
//! every integer has one representation and `==` means the same number. Their forms: JSON's
//! exact decimal literal; CBOR's bignums (tag 2, or tag 3 for `-1 - n`), written as the
//! minimal big-endian bytes and read at any length; MessagePack has no such integers, so a
//! MessagePack peer cannot be sent one (the encode fails), while the event store keeps them
//! as extension types 2 and 3 with the CBOR bignum's bytes. Serde does not tell a
//! serializer's format apart beyond human-readable or not, so the non-human-readable form is
//! chosen by the caller for the duration of one encode ([`with_bigint_form`]).
//!
//! Dictionary keys must be strings whatever the serialization (a CBOR or msgpack map with an
//! integer or bytes key is a decode error). CBOR tags reach the visitor as ciborium's tag
//! enum: the tag is dropped and its content kept (see `wamp::serializer::cbor` for why), except
//! bignums, which become integers.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use num_bigint::{BigInt, Sign};
use serde::de::{self, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
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
    /// An integer outside both the `i64` and the `u64` range, and only then: build it with
    /// [`Value::from_bigint`]. Boxed to keep `Value` at 32 bytes.
    BigInt(Box<BigInt>),
    Float(f64),
    String(String),
    Bytes(Vec<u8>),
    List(List),
    Dict(Dict),
}

impl Value {
    /// `n` in the one variant that holds it: `Int`, else `UInt`, else `BigInt`.
    pub fn from_bigint(n: BigInt) -> Value {
        if let Ok(i) = i64::try_from(&n) {
            Value::Int(i)
        } else if let Ok(u) = u64::try_from(&n) {
            Value::UInt(u)
        } else {
            Value::BigInt(Box::new(n))
        }
    }

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

    /// Whether this value holds an integer beyond 64 bits anywhere (what MessagePack cannot
    /// carry).
    pub fn contains_bigint(&self) -> bool {
        match self {
            Value::BigInt(_) => true,
            Value::List(list) => list.iter().any(Value::contains_bigint),
            Value::Dict(dict) => dict.values().any(Value::contains_bigint),
            _ => false,
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

/// How a non-human-readable serializer writes [`Value::BigInt`], and whether MessagePack
/// extensions 2 and 3 read back as one. Serde tells ciborium and rmp_serde apart no further
/// than "not human-readable", so whoever starts an encode says which form it wants with
/// [`with_bigint_form`]; JSON needs none (it writes the decimal literal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BigIntForm {
    /// Fail the serialization: what MessagePack peers get (MessagePack has no integers beyond
    /// 64 bits), and the default, so that no serializer writes garbage for want of a form.
    Refuse,
    /// CBOR: negative integers down to -2^64 as major type 1, the rest as bignums (tag 2 for
    /// n, tag 3 for -1 - n, minimal big-endian bytes), as RFC 8949 section 3.4.3 prefers.
    CborTag,
    /// The event store's MessagePack: extension 2 or 3 holding the bytes of the CBOR bignum.
    MsgPackExt,
}

/// The form in force on this thread, and the size of the first `BigInt` it refused.
#[derive(Clone, Copy)]
struct BigIntScope {
    form: BigIntForm,
    refused_digits: Option<usize>,
}

thread_local! {
    // Thread-local rather than a field: serde's `Serialize` has nowhere to pass it. Sound
    // because serializing and deserializing are synchronous calls that never yield, and every
    // scope puts back the one it replaced.
    static BIGINT_SCOPE: Cell<BigIntScope> = const {
        Cell::new(BigIntScope {
            form: BigIntForm::Refuse,
            refused_digits: None,
        })
    };
}

/// Runs `f` (one encode or decode) with [`Value::BigInt`] in `form`, then puts back the form
/// in force before, even when `f` panics.
pub fn with_bigint_form<R>(form: BigIntForm, f: impl FnOnce() -> R) -> R {
    struct Restore(BigIntScope);
    impl Drop for Restore {
        fn drop(&mut self) {
            BIGINT_SCOPE.set(self.0);
        }
    }
    let _restore = Restore(BIGINT_SCOPE.replace(BigIntScope {
        form,
        refused_digits: None,
    }));
    f()
}

/// The number of decimal digits of the first `BigInt` refused so far in the innermost
/// [`with_bigint_form`] scope: why an encode with [`BigIntForm::Refuse`] failed.
pub fn refused_bigint_digits() -> Option<usize> {
    BIGINT_SCOPE.get().refused_digits
}

fn bigint_form() -> BigIntForm {
    BIGINT_SCOPE.get().form
}

fn refuse_bigint(n: &BigInt) -> String {
    let digits = n.magnitude().to_string().len();
    let mut scope = BIGINT_SCOPE.get();
    scope.refused_digits.get_or_insert(digits);
    BIGINT_SCOPE.set(scope);
    format!("no integers beyond 64 bits in this serialization (a value of {digits} digits)")
}

/// CBOR's bignum tags, also the event store's MessagePack extension types for them.
const BIGNUM_POSITIVE: u64 = 2;
const BIGNUM_NEGATIVE: u64 = 3;

/// The integer a bignum stands for: `magnitude` (big-endian, leading zeros allowed), or
/// `-1 - magnitude` when `negative` (tag 3).
fn from_bignum(negative: bool, magnitude: &[u8]) -> Value {
    let n = BigInt::from_bytes_be(Sign::Plus, magnitude);
    Value::from_bigint(if negative { -1 - n } else { n })
}

/// The bignum that stands for `n`: whether it is negative (tag 3) and its minimal big-endian
/// magnitude.
fn to_bignum(n: &BigInt) -> (bool, Vec<u8>) {
    match n.sign() {
        // -1 - n, for a negative n, has the magnitude of n + 1.
        Sign::Minus => (true, (n + 1u8).magnitude().to_bytes_be()),
        Sign::NoSign | Sign::Plus => (false, n.magnitude().to_bytes_be()),
    }
}

/// Bytes that serialize as bytes (a `&[u8]` would be a sequence of integers).
struct ByteString<'a>(&'a [u8]);

impl Serialize for ByteString<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

fn serialize_bigint<S: Serializer>(n: &BigInt, serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        // JSON (serde_json is the one human-readable serializer WAMP values meet): the exact
        // decimal literal, which serde_json's own number type cannot hold.
        let literal =
            serde_json::value::RawValue::from_string(n.to_string()).map_err(S::Error::custom)?;
        return literal.serialize(serializer);
    }
    let (negative, magnitude) = match bigint_form() {
        BigIntForm::Refuse => return Err(S::Error::custom(refuse_bigint(n))),
        BigIntForm::CborTag => return serialize_cbor_bignum(n, serializer),
        BigIntForm::MsgPackExt => to_bignum(n),
    };
    let tag = if negative {
        BIGNUM_NEGATIVE
    } else {
        BIGNUM_POSITIVE
    };
    serializer.serialize_newtype_struct(
        rmp_serde::MSGPACK_EXT_STRUCT_NAME,
        &(tag as i8, ByteString(&magnitude)),
    )
}

fn serialize_cbor_bignum<S: Serializer>(n: &BigInt, serializer: S) -> Result<S::Ok, S::Error> {
    use ciborium::tag::Required;
    match to_bignum(n) {
        (true, magnitude) if magnitude.len() <= 8 => {
            // -2^64 ..= -2^63 - 1: CBOR's negative integers reach these without a tag, and
            // ciborium writes an i128 that fits them so.
            let n = magnitude.iter().fold(0u64, |n, b| n << 8 | u64::from(*b));
            serializer.serialize_i128(-1 - i128::from(n))
        }
        (true, magnitude) => {
            Required::<_, BIGNUM_NEGATIVE>(ByteString(&magnitude)).serialize(serializer)
        }
        (false, magnitude) => {
            Required::<_, BIGNUM_POSITIVE>(ByteString(&magnitude)).serialize(serializer)
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::UInt(u) => serializer.serialize_u64(*u),
            Value::BigInt(n) => serialize_bigint(n, serializer),
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

    /// CBOR negative integers below `i64::MIN`, and bignums of up to 16 bytes whose value is
    /// negative (tag 3): ciborium reads those itself.
    fn visit_i128<E>(self, i: i128) -> Result<Value, E> {
        Ok(match i64::try_from(i) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::from_bigint(i.into()),
        })
    }

    /// CBOR bignums of up to 16 bytes (tag 2).
    fn visit_u128<E>(self, u: u128) -> Result<Value, E> {
        Ok(match u64::try_from(u) {
            Ok(u) => Value::from(u),
            Err(_) => Value::from_bigint(u.into()),
        })
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
    /// zero byte: that is null. In the event store ([`BigIntForm::MsgPackExt`]) extensions 2
    /// and 3 are integers beyond 64 bits. Other extensions keep their data as bytes.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let (tag, data): (i8, Value) = Deserialize::deserialize(d)?;
        let bignum = matches!(tag as u64, BIGNUM_POSITIVE | BIGNUM_NEGATIVE)
            && bigint_form() == BigIntForm::MsgPackExt;
        Ok(match data {
            Value::Bytes(bytes) if tag == 0 && bytes == [0] => Value::Null,
            Value::Bytes(bytes) if bignum => from_bignum(tag as u64 == BIGNUM_NEGATIVE, &bytes),
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
    /// which arrive here when their bytes are longer than 16 or of indefinite length (ciborium
    /// reads the others as 128-bit integers).
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (_, tagged) = data.variant::<de::IgnoredAny>()?;
        let (tag, value) = tagged.tuple_variant(2, Tagged(ValueSeed(self.human_readable)))?;
        match (tag, value) {
            (BIGNUM_POSITIVE | BIGNUM_NEGATIVE, Value::Bytes(magnitude)) => {
                Ok(from_bignum(tag == BIGNUM_NEGATIVE, &magnitude))
            }
            (BIGNUM_POSITIVE | BIGNUM_NEGATIVE, _) => Err(de::Error::custom(format!(
                "bignum (CBOR tag {tag}) whose content is not a byte string"
            ))),
            (_, value) => Ok(value),
        }
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

    fn big(decimal: &str) -> BigInt {
        decimal.parse().unwrap()
    }

    #[test]
    fn a_value_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 32);
    }

    #[test]
    fn every_integer_has_one_representation() {
        assert_eq!(Value::from_bigint(big("5")), Value::Int(5));
        assert_eq!(
            Value::from_bigint(big("-9223372036854775808")),
            Value::Int(i64::MIN)
        );
        assert_eq!(
            Value::from_bigint(big("9223372036854775808")),
            Value::UInt(1 << 63)
        );
        assert_eq!(
            Value::from_bigint(big("18446744073709551615")),
            Value::UInt(u64::MAX)
        );
        for beyond in ["18446744073709551616", "-9223372036854775809"] {
            let v = Value::from_bigint(big(beyond));
            assert_eq!(v, Value::BigInt(Box::new(big(beyond))));
            assert_eq!(v.as_u64(), None);
            assert_eq!(v.as_id(), None);
        }
    }

    #[test]
    fn json_writes_the_decimal_literal() {
        let v = Value::List(vec![
            Value::from_bigint(big("-18446744073709551617")),
            Value::from_bigint(big("18446744073709551616")),
        ]);
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(text, "[-18446744073709551617,18446744073709551616]");
    }

    /// `serde_json::Value` (what the HTTP bridge answers with) has no exact form for them:
    /// they become the nearest float, not an error.
    #[test]
    fn serde_json_values_get_the_nearest_float() {
        let v = Value::from_bigint(big("340282366920938463463374607431768211455"));
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            serde_json::json!(3.402823669209385e38)
        );
    }

    #[test]
    fn forms_are_scoped_and_restored_after_a_panic() {
        assert_eq!(bigint_form(), BigIntForm::Refuse);
        with_bigint_form(BigIntForm::CborTag, || {
            assert_eq!(bigint_form(), BigIntForm::CborTag);
            with_bigint_form(BigIntForm::MsgPackExt, || {
                assert_eq!(bigint_form(), BigIntForm::MsgPackExt);
            });
            assert_eq!(bigint_form(), BigIntForm::CborTag);
            let panicked = std::panic::catch_unwind(|| {
                with_bigint_form(BigIntForm::Refuse, || panic!("while encoding"))
            });
            assert!(panicked.is_err());
            assert_eq!(bigint_form(), BigIntForm::CborTag);
        });
        assert_eq!(bigint_form(), BigIntForm::Refuse);
    }

    #[test]
    fn refusals_say_how_long_the_integer_was() {
        let v = Value::from_bigint(big("-123456789012345678901234567890"));
        let e = with_bigint_form(BigIntForm::Refuse, || {
            let e = rmp_serde::to_vec(&v).unwrap_err();
            assert_eq!(refused_bigint_digits(), Some(30));
            e
        });
        assert!(e.to_string().contains("(a value of 30 digits)"), "{e}");
        with_bigint_form(BigIntForm::Refuse, || {
            assert_eq!(refused_bigint_digits(), None)
        });
    }

    /// MessagePack extensions 2 and 3 are integers in the event store's form only; from a
    /// peer they are an application's extensions like any other.
    #[test]
    fn msgpack_extensions_2_and_3_are_integers_in_the_store_form_only() {
        let v = Value::List(vec![
            Value::from_bigint(big("18446744073709551616")),
            Value::from_bigint(big("-18446744073709551617")),
            Value::from_bigint(big("-18446744073709551616")),
        ]);
        let packed = with_bigint_form(BigIntForm::MsgPackExt, || rmp_serde::to_vec(&v)).unwrap();
        // fixarray(3), then ext 8 (9 bytes) of type 2 and of type 3, and fixext 8 of type 3.
        let mut expected = vec![0x93, 0xc7, 0x09, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        expected.extend([0xc7, 0x09, 0x03, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend([0xd7, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(packed, expected);
        let back: Value =
            with_bigint_form(BigIntForm::MsgPackExt, || rmp_serde::from_slice(&packed)).unwrap();
        assert_eq!(back, v);
        // Small magnitudes read back as the 64-bit integers they are.
        let small: Value = with_bigint_form(BigIntForm::MsgPackExt, || {
            rmp_serde::from_slice(&[0xd4, 0x03, 0x04])
        })
        .unwrap();
        assert_eq!(small, Value::Int(-5));
        let from_peer: Value = rmp_serde::from_slice(&packed).unwrap();
        assert_eq!(
            from_peer.as_list().unwrap()[0],
            Value::Bytes(expected[4..13].to_vec())
        );
    }
}
