//! WAMP messages: the typed form of every message Junction reads or writes, how a decoded
//! list becomes one (with the shape checks that make a bad message a protocol violation),
//! and how one is written back as a list (empty Arguments/ArgumentsKw left out).
//!
//! Every message type is written once, in the `messages!` table at the end of this file:
//! its code, its name (the constant's, as the spec spells it), its variant and its elements
//! in wire order with the name the spec gives each. The code constants, [`Message`],
//! [`Message::code`], [`type_name`], the decoder ([`Message::from_value`]) and the encoder
//! (`Serialize`) are all generated from it, so a message cannot be decoded in one shape and
//! encoded in another. The element order and names are those of the message definitions in
//! the WAMP spec (basic profile; the advanced profile's extra elements where Junction reads
//! them).

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use crate::wamp::id::Id;
use crate::wamp::value::{Dict, List, Value};

/// Positional and keyword arguments of PUBLISH, EVENT, CALL, INVOCATION, YIELD, RESULT, ERROR.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payload {
    pub args: Option<List>,
    pub kwargs: Option<Dict>,
}

impl Payload {
    pub fn new(args: List, kwargs: Dict) -> Self {
        Payload {
            args: Some(args),
            kwargs: Some(kwargs),
        }
    }

    fn has_kwargs(&self) -> bool {
        self.kwargs.as_ref().is_some_and(|k| !k.is_empty())
    }

    fn has_args(&self) -> bool {
        self.args.as_ref().is_some_and(|a| !a.is_empty())
    }

    /// How many list elements [`serialize_payload`] writes: ArgumentsKw needs Arguments
    /// before it, even empty ones.
    fn written_len(&self) -> usize {
        if self.has_kwargs() {
            2
        } else if self.has_args() {
            1
        } else {
            0
        }
    }

    /// Whether Arguments or ArgumentsKw hold an integer beyond 64 bits (see
    /// [`Serialization::carries_bigints`](crate::wamp::serializer::Serialization::carries_bigints)).
    pub fn has_bigint(&self) -> bool {
        self.args.iter().flatten().any(Value::contains_bigint)
            || self
                .kwargs
                .iter()
                .flat_map(|k| k.values())
                .any(Value::contains_bigint)
    }
}

/// Why a decoded value is not a valid WAMP message; the text goes into the ABORT.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolViolation(pub String);

fn violation(msg: impl Into<String>) -> ProtocolViolation {
    ProtocolViolation(msg.into())
}

/// Reads the elements of one message list in order, naming what it expected on failure.
///
/// One method per element kind of the `messages!` table (`id`, `int`, `string`, `dict`,
/// `payload`), which calls the method of the kind's name.
struct Fields {
    name: &'static str,
    items: std::vec::IntoIter<Value>,
}

impl Fields {
    fn next(&mut self, what: &str) -> Result<Value, ProtocolViolation> {
        self.items
            .next()
            .ok_or_else(|| violation(format!("{}: missing {what}", self.name)))
    }

    fn id(&mut self, what: &str) -> Result<Id, ProtocolViolation> {
        let value = self.next(what)?;
        match value.as_id() {
            Some(i) => Ok(i),
            _ => Err(violation(format!(
                "{}: {what} must be an integer in [1, 2^53]",
                self.name
            ))),
        }
    }

    fn int(&mut self, what: &str) -> Result<u64, ProtocolViolation> {
        self.next(what)?.as_u64().ok_or_else(|| {
            violation(format!(
                "{}: {what} must be a non-negative integer",
                self.name
            ))
        })
    }

    fn string(&mut self, what: &str) -> Result<String, ProtocolViolation> {
        match self.next(what)? {
            Value::String(s) => Ok(s),
            _ => Err(violation(format!("{}: {what} must be a string", self.name))),
        }
    }

    fn dict(&mut self, what: &str) -> Result<Dict, ProtocolViolation> {
        match self.next(what)? {
            Value::Dict(d) => Ok(d),
            _ => Err(violation(format!("{}: {what} must be a dict", self.name))),
        }
    }

    /// Optional trailing Arguments and ArgumentsKw.
    fn payload(&mut self) -> Result<Payload, ProtocolViolation> {
        let args = match self.items.next() {
            None => None,
            Some(Value::List(l)) => Some(l),
            Some(_) => {
                return Err(violation(format!(
                    "{}: Arguments must be a list",
                    self.name
                )));
            }
        };
        let kwargs = match self.items.next() {
            None => None,
            Some(Value::Dict(d)) => Some(d),
            Some(_) => {
                return Err(violation(format!(
                    "{}: ArgumentsKw must be a dict",
                    self.name
                )));
            }
        };
        Ok(Payload { args, kwargs })
    }

    /// The advanced profile may append Details (UNSUBSCRIBED, UNREGISTERED); they carry
    /// nothing Junction needs.
    fn optional_details(&mut self) {
        let _ = self.items.next();
    }

    fn end(mut self) -> Result<(), ProtocolViolation> {
        match self.items.next() {
            None => Ok(()),
            Some(_) => Err(violation(format!("{}: too many elements", self.name))),
        }
    }
}

/// The Rust type of an element kind of the `messages!` table.
macro_rules! element_type {
    (id) => {
        Id
    };
    (int) => {
        u64
    };
    (string) => {
        String
    };
    (dict) => {
        Dict
    };
    (payload) => {
        Payload
    };
}

/// How many list elements an element of the `messages!` table takes when written: one,
/// or what the payload holds (Arguments and ArgumentsKw are left out when empty).
macro_rules! written_len {
    (payload, $value:ident) => {
        $value.written_len()
    };
    ($kind:ident, $value:ident) => {
        1
    };
}

/// Writes an element of the `messages!` table.
macro_rules! write_element {
    ($seq:ident, payload, $value:ident) => {
        serialize_payload(&mut $seq, $value)?
    };
    ($seq:ident, $kind:ident, $value:ident) => {
        $seq.serialize_element($value)?
    };
}

/// Generates everything about the message types from one table. Each row:
///
/// `CODE_NAME = code => Variant { field: kind "SpecName", ... }`
///
/// where `kind` is `id`, `int`, `string` or `dict` (one element, checked by the [`Fields`]
/// method of that name, `SpecName` naming it in errors) or `payload` (the optional trailing
/// Arguments and ArgumentsKw, always last). A row ending in `..optional_details` accepts one
/// more element and ignores it.
macro_rules! messages {
    ($(
        $code:ident = $number:literal => $variant:ident {
            $($field:ident: $kind:ident $($what:literal)?),+ $(,)?
            $(..$skip:ident)?
        }
    ),+ $(,)?) => {
        $(pub const $code: u64 = $number;)+

        /// One WAMP message, a variant per message type.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Message {
            $($variant { $($field: element_type!($kind)),+ },)+
        }

        impl Message {
            /// The message type code.
            pub fn code(&self) -> u64 {
                match self {
                    $(Message::$variant { .. } => $code,)+
                }
            }

            /// Builds a message from its decoded list form, checking the shape of every
            /// element.
            pub fn from_value(value: Value) -> Result<Message, ProtocolViolation> {
                let Value::List(items) = value else {
                    return Err(violation("a message must be a list"));
                };
                let mut items = items.into_iter();
                let code = items
                    .next()
                    .and_then(|v| v.as_u64())
                    .ok_or_else(|| violation("a message must start with its type code"))?;
                match code {
                    $($code => {
                        let mut f = Fields { name: stringify!($code), items };
                        let msg = Message::$variant {
                            $($field: f.$kind($($what)?)?,)+
                        };
                        $(f.$skip();)?
                        f.end()?;
                        Ok(msg)
                    })+
                    _ => Err(violation(format!("unknown message type {code}"))),
                }
            }
        }

        /// The spec's name of a message type, `None` for codes Junction does not know.
        pub fn type_name(code: u64) -> Option<&'static str> {
            Some(match code {
                $($code => stringify!($code),)+
                _ => return None,
            })
        }

        /// Writes a message as its list form without first building a `Value` tree.
        impl Serialize for Message {
            // A function of its own, as the hand-written encoder was: inlined into
            // `Serialization::try_encode_any`, the table's one-`match` form cost JSON encodes
            // ~4% more instructions (callgrind; the JSON writer's appends went out of line).
            #[inline(never)]
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Message::$variant { $($field),+ } => {
                        let len = 1 $(+ written_len!($kind, $field))+;
                        let mut seq = s.serialize_seq(Some(len))?;
                        seq.serialize_element(&$code)?;
                        $(write_element!(seq, $kind, $field);)+
                        seq.end()
                    })+
                }
            }
        }
    };
}

messages! {
    HELLO = 1 => Hello { realm: string "Realm", details: dict "Details" },
    WELCOME = 2 => Welcome { session: id "Session", details: dict "Details" },
    ABORT = 3 => Abort { details: dict "Details", reason: string "Reason" },
    CHALLENGE = 4 => Challenge { authmethod: string "AuthMethod", extra: dict "Extra" },
    AUTHENTICATE = 5 => Authenticate { signature: string "Signature", extra: dict "Extra" },
    GOODBYE = 6 => Goodbye { details: dict "Details", reason: string "Reason" },
    ERROR = 8 => Error {
        request_type: int "REQUEST.Type",
        request: id "Request",
        details: dict "Details",
        error: string "Error",
        payload: payload,
    },
    PUBLISH = 16 => Publish {
        request: id "Request",
        options: dict "Options",
        topic: string "Topic",
        payload: payload,
    },
    PUBLISHED = 17 => Published { request: id "Request", publication: id "Publication" },
    SUBSCRIBE = 32 => Subscribe {
        request: id "Request",
        options: dict "Options",
        topic: string "Topic",
    },
    SUBSCRIBED = 33 => Subscribed { request: id "Request", subscription: id "Subscription" },
    UNSUBSCRIBE = 34 => Unsubscribe { request: id "Request", subscription: id "Subscription" },
    UNSUBSCRIBED = 35 => Unsubscribed { request: id "Request", ..optional_details },
    EVENT = 36 => Event {
        subscription: id "Subscription",
        publication: id "Publication",
        details: dict "Details",
        payload: payload,
    },
    CALL = 48 => Call {
        request: id "Request",
        options: dict "Options",
        procedure: string "Procedure",
        payload: payload,
    },
    CANCEL = 49 => Cancel { request: id "Request", options: dict "Options" },
    RESULT = 50 => Result { request: id "Request", details: dict "Details", payload: payload },
    REGISTER = 64 => Register {
        request: id "Request",
        options: dict "Options",
        procedure: string "Procedure",
    },
    REGISTERED = 65 => Registered { request: id "Request", registration: id "Registration" },
    UNREGISTER = 66 => Unregister { request: id "Request", registration: id "Registration" },
    UNREGISTERED = 67 => Unregistered { request: id "Request", ..optional_details },
    INVOCATION = 68 => Invocation {
        request: id "Request",
        registration: id "Registration",
        details: dict "Details",
        payload: payload,
    },
    INTERRUPT = 69 => Interrupt { request: id "Request", options: dict "Options" },
    YIELD = 70 => Yield { request: id "Request", options: dict "Options", payload: payload },
}

/// Arguments only when there is something to send; an empty list before non-empty ArgumentsKw.
fn serialize_payload<S: SerializeSeq>(seq: &mut S, p: &Payload) -> Result<(), S::Error> {
    let args = p.args.as_ref().filter(|a| !a.is_empty());
    match p.kwargs.as_ref().filter(|k| !k.is_empty()) {
        Some(kwargs) => {
            match args {
                Some(args) => seq.serialize_element(args)?,
                None => seq.serialize_element(&[] as &[Value])?,
            }
            seq.serialize_element(kwargs)
        }
        None => match args {
            Some(args) => seq.serialize_element(args),
            None => Ok(()),
        },
    }
}

/// An EVENT written from borrowed parts, so one publication is encoded per subscription and
/// serializer without copying its payload into an owned `Message` first.
pub struct EventRef<'a> {
    pub subscription: Id,
    pub publication: Id,
    pub details: &'a Dict,
    pub payload: &'a Payload,
}

impl Serialize for EventRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let extra = match (&self.payload.args, &self.payload.kwargs) {
            (_, Some(k)) if !k.is_empty() => 2,
            (Some(a), _) if !a.is_empty() => 1,
            _ => 0,
        };
        let mut seq = s.serialize_seq(Some(4 + extra))?;
        seq.serialize_element(&EVENT)?;
        seq.serialize_element(&self.subscription)?;
        seq.serialize_element(&self.publication)?;
        seq.serialize_element(self.details)?;
        serialize_payload(&mut seq, self.payload)?;
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    #[test]
    fn hello_decodes() {
        let v = list(vec![
            Value::Int(1),
            "realm1".into(),
            Value::Dict(Dict::new()),
        ]);
        assert_eq!(
            Message::from_value(v).unwrap(),
            Message::Hello {
                realm: "realm1".into(),
                details: Dict::new()
            }
        );
    }

    #[test]
    fn shape_errors_name_the_element() {
        let cases = [
            (
                list(vec![Value::Int(1), Value::Int(5), Value::Dict(Dict::new())]),
                "HELLO: Realm must be a string",
            ),
            (
                list(vec![
                    Value::Int(32),
                    Value::Int(1),
                    Value::Dict(Dict::new()),
                ]),
                "SUBSCRIBE: missing Topic",
            ),
            (
                list(vec![Value::Int(34), Value::Int(0), Value::Int(1)]),
                "UNSUBSCRIBE: Request must be an integer in [1, 2^53]",
            ),
            (
                list(vec![
                    Value::Int(16),
                    Value::Int(1),
                    Value::Dict(Dict::new()),
                    "t".into(),
                    Value::Dict(Dict::new()),
                ]),
                "PUBLISH: Arguments must be a list",
            ),
            (
                list(vec![
                    Value::Int(67),
                    Value::Int(1),
                    Value::Dict(Dict::new()),
                    Value::Int(3),
                ]),
                "UNREGISTERED: too many elements",
            ),
            (Value::Dict(Dict::new()), "a message must be a list"),
            (list(vec![Value::Int(7)]), "unknown message type 7"),
        ];
        for (value, expected) in cases {
            assert_eq!(Message::from_value(value).unwrap_err().0, expected);
        }
    }

    #[test]
    fn request_id_upper_bound() {
        let at = |id: u64| list(vec![Value::Int(66), Value::from(id), Value::Int(1)]);
        assert!(Message::from_value(at(1 << 53)).is_ok());
        assert!(Message::from_value(at((1 << 53) + 1)).is_err());
    }

    #[test]
    fn integral_float_ids_are_accepted() {
        let at = |f: f64| list(vec![Value::Int(66), Value::Float(f), Value::Int(1)]);
        assert!(Message::from_value(at(9007199254740992.0)).is_ok());
        assert!(Message::from_value(at(1.5)).is_err());
        assert!(Message::from_value(at(0.0)).is_err());
    }

    #[test]
    fn unsubscribed_accepts_advanced_details() {
        let v = list(vec![
            Value::Int(35),
            Value::Int(9),
            Value::Dict(Dict::new()),
        ]);
        assert_eq!(
            Message::from_value(v).unwrap(),
            Message::Unsubscribed { request: 9 }
        );
    }

    #[test]
    fn every_known_code_has_a_name() {
        for code in [
            1, 2, 3, 4, 5, 6, 8, 16, 17, 32, 33, 34, 35, 36, 48, 49, 50, 64, 65, 66, 67, 68, 69, 70,
        ] {
            assert!(type_name(code).is_some(), "{code}");
        }
        assert!(type_name(7).is_none());
    }
}
