//! WAMP messages: the typed form of every message Junction reads or writes, how a decoded
//! list becomes one (with the shape checks that make a bad message a protocol violation),
//! and how one is written back as a list (empty Arguments/ArgumentsKw left out).

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use crate::wamp::id::Id;
use crate::wamp::value::{Dict, List, Value};

pub const HELLO: u64 = 1;
pub const WELCOME: u64 = 2;
pub const ABORT: u64 = 3;
pub const CHALLENGE: u64 = 4;
pub const AUTHENTICATE: u64 = 5;
pub const GOODBYE: u64 = 6;
pub const ERROR: u64 = 8;
pub const PUBLISH: u64 = 16;
pub const PUBLISHED: u64 = 17;
pub const SUBSCRIBE: u64 = 32;
pub const SUBSCRIBED: u64 = 33;
pub const UNSUBSCRIBE: u64 = 34;
pub const UNSUBSCRIBED: u64 = 35;
pub const EVENT: u64 = 36;
pub const CALL: u64 = 48;
pub const CANCEL: u64 = 49;
pub const RESULT: u64 = 50;
pub const REGISTER: u64 = 64;
pub const REGISTERED: u64 = 65;
pub const UNREGISTER: u64 = 66;
pub const UNREGISTERED: u64 = 67;
pub const INVOCATION: u64 = 68;
pub const INTERRUPT: u64 = 69;
pub const YIELD: u64 = 70;

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

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Hello {
        realm: String,
        details: Dict,
    },
    Welcome {
        session: Id,
        details: Dict,
    },
    Abort {
        details: Dict,
        reason: String,
    },
    Challenge {
        authmethod: String,
        extra: Dict,
    },
    Authenticate {
        signature: String,
        extra: Dict,
    },
    Goodbye {
        details: Dict,
        reason: String,
    },
    Error {
        request_type: u64,
        request: Id,
        details: Dict,
        error: String,
        payload: Payload,
    },
    Publish {
        request: Id,
        options: Dict,
        topic: String,
        payload: Payload,
    },
    Published {
        request: Id,
        publication: Id,
    },
    Subscribe {
        request: Id,
        options: Dict,
        topic: String,
    },
    Subscribed {
        request: Id,
        subscription: Id,
    },
    Unsubscribe {
        request: Id,
        subscription: Id,
    },
    Unsubscribed {
        request: Id,
    },
    Event {
        subscription: Id,
        publication: Id,
        details: Dict,
        payload: Payload,
    },
    Call {
        request: Id,
        options: Dict,
        procedure: String,
        payload: Payload,
    },
    Cancel {
        request: Id,
        options: Dict,
    },
    Result {
        request: Id,
        details: Dict,
        payload: Payload,
    },
    Register {
        request: Id,
        options: Dict,
        procedure: String,
    },
    Registered {
        request: Id,
        registration: Id,
    },
    Unregister {
        request: Id,
        registration: Id,
    },
    Unregistered {
        request: Id,
    },
    Invocation {
        request: Id,
        registration: Id,
        details: Dict,
        payload: Payload,
    },
    Interrupt {
        request: Id,
        options: Dict,
    },
    Yield {
        request: Id,
        options: Dict,
        payload: Payload,
    },
}

/// Why a decoded value is not a valid WAMP message; the text goes into the ABORT.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolViolation(pub String);

fn violation(msg: impl Into<String>) -> ProtocolViolation {
    ProtocolViolation(msg.into())
}

/// Reads the elements of one message list in order, naming what it expected on failure.
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

    fn end(mut self) -> Result<(), ProtocolViolation> {
        match self.items.next() {
            None => Ok(()),
            Some(_) => Err(violation(format!("{}: too many elements", self.name))),
        }
    }
}

impl Message {
    /// The message type code.
    pub fn code(&self) -> u64 {
        match self {
            Message::Hello { .. } => HELLO,
            Message::Welcome { .. } => WELCOME,
            Message::Abort { .. } => ABORT,
            Message::Challenge { .. } => CHALLENGE,
            Message::Authenticate { .. } => AUTHENTICATE,
            Message::Goodbye { .. } => GOODBYE,
            Message::Error { .. } => ERROR,
            Message::Publish { .. } => PUBLISH,
            Message::Published { .. } => PUBLISHED,
            Message::Subscribe { .. } => SUBSCRIBE,
            Message::Subscribed { .. } => SUBSCRIBED,
            Message::Unsubscribe { .. } => UNSUBSCRIBE,
            Message::Unsubscribed { .. } => UNSUBSCRIBED,
            Message::Event { .. } => EVENT,
            Message::Call { .. } => CALL,
            Message::Cancel { .. } => CANCEL,
            Message::Result { .. } => RESULT,
            Message::Register { .. } => REGISTER,
            Message::Registered { .. } => REGISTERED,
            Message::Unregister { .. } => UNREGISTER,
            Message::Unregistered { .. } => UNREGISTERED,
            Message::Invocation { .. } => INVOCATION,
            Message::Interrupt { .. } => INTERRUPT,
            Message::Yield { .. } => YIELD,
        }
    }

    /// Builds a message from its decoded list form, checking the shape of every element.
    pub fn from_value(value: Value) -> Result<Message, ProtocolViolation> {
        let Value::List(items) = value else {
            return Err(violation("a message must be a list"));
        };
        let mut items = items.into_iter();
        let code = items
            .next()
            .and_then(|v| v.as_u64())
            .ok_or_else(|| violation("a message must start with its type code"))?;
        let name =
            type_name(code).ok_or_else(|| violation(format!("unknown message type {code}")))?;
        let mut f = Fields { name, items };
        let msg = match code {
            HELLO => Message::Hello {
                realm: f.string("Realm")?,
                details: f.dict("Details")?,
            },
            WELCOME => Message::Welcome {
                session: f.id("Session")?,
                details: f.dict("Details")?,
            },
            ABORT => Message::Abort {
                details: f.dict("Details")?,
                reason: f.string("Reason")?,
            },
            CHALLENGE => Message::Challenge {
                authmethod: f.string("AuthMethod")?,
                extra: f.dict("Extra")?,
            },
            AUTHENTICATE => Message::Authenticate {
                signature: f.string("Signature")?,
                extra: f.dict("Extra")?,
            },
            GOODBYE => Message::Goodbye {
                details: f.dict("Details")?,
                reason: f.string("Reason")?,
            },
            ERROR => Message::Error {
                request_type: f.int("REQUEST.Type")?,
                request: f.id("Request")?,
                details: f.dict("Details")?,
                error: f.string("Error")?,
                payload: f.payload()?,
            },
            PUBLISH => Message::Publish {
                request: f.id("Request")?,
                options: f.dict("Options")?,
                topic: f.string("Topic")?,
                payload: f.payload()?,
            },
            PUBLISHED => Message::Published {
                request: f.id("Request")?,
                publication: f.id("Publication")?,
            },
            SUBSCRIBE => Message::Subscribe {
                request: f.id("Request")?,
                options: f.dict("Options")?,
                topic: f.string("Topic")?,
            },
            SUBSCRIBED => Message::Subscribed {
                request: f.id("Request")?,
                subscription: f.id("Subscription")?,
            },
            UNSUBSCRIBE => Message::Unsubscribe {
                request: f.id("Request")?,
                subscription: f.id("Subscription")?,
            },
            UNSUBSCRIBED => {
                let request = f.id("Request")?;
                // The advanced profile may append Details; they carry nothing Junction needs.
                let _ = f.items.next();
                Message::Unsubscribed { request }
            }
            EVENT => Message::Event {
                subscription: f.id("Subscription")?,
                publication: f.id("Publication")?,
                details: f.dict("Details")?,
                payload: f.payload()?,
            },
            CALL => Message::Call {
                request: f.id("Request")?,
                options: f.dict("Options")?,
                procedure: f.string("Procedure")?,
                payload: f.payload()?,
            },
            CANCEL => Message::Cancel {
                request: f.id("Request")?,
                options: f.dict("Options")?,
            },
            RESULT => Message::Result {
                request: f.id("Request")?,
                details: f.dict("Details")?,
                payload: f.payload()?,
            },
            REGISTER => Message::Register {
                request: f.id("Request")?,
                options: f.dict("Options")?,
                procedure: f.string("Procedure")?,
            },
            REGISTERED => Message::Registered {
                request: f.id("Request")?,
                registration: f.id("Registration")?,
            },
            UNREGISTER => Message::Unregister {
                request: f.id("Request")?,
                registration: f.id("Registration")?,
            },
            UNREGISTERED => {
                let request = f.id("Request")?;
                let _ = f.items.next();
                Message::Unregistered { request }
            }
            INVOCATION => Message::Invocation {
                request: f.id("Request")?,
                registration: f.id("Registration")?,
                details: f.dict("Details")?,
                payload: f.payload()?,
            },
            INTERRUPT => Message::Interrupt {
                request: f.id("Request")?,
                options: f.dict("Options")?,
            },
            YIELD => Message::Yield {
                request: f.id("Request")?,
                options: f.dict("Options")?,
                payload: f.payload()?,
            },
            _ => unreachable!("type_name accepted only known codes"),
        };
        f.end()?;
        Ok(msg)
    }
}

/// The spec's name of a message type, `None` for codes Junction does not know.
pub fn type_name(code: u64) -> Option<&'static str> {
    Some(match code {
        HELLO => "HELLO",
        WELCOME => "WELCOME",
        ABORT => "ABORT",
        CHALLENGE => "CHALLENGE",
        AUTHENTICATE => "AUTHENTICATE",
        GOODBYE => "GOODBYE",
        ERROR => "ERROR",
        PUBLISH => "PUBLISH",
        PUBLISHED => "PUBLISHED",
        SUBSCRIBE => "SUBSCRIBE",
        SUBSCRIBED => "SUBSCRIBED",
        UNSUBSCRIBE => "UNSUBSCRIBE",
        UNSUBSCRIBED => "UNSUBSCRIBED",
        EVENT => "EVENT",
        CALL => "CALL",
        CANCEL => "CANCEL",
        RESULT => "RESULT",
        REGISTER => "REGISTER",
        REGISTERED => "REGISTERED",
        UNREGISTER => "UNREGISTER",
        UNREGISTERED => "UNREGISTERED",
        INVOCATION => "INVOCATION",
        INTERRUPT => "INTERRUPT",
        YIELD => "YIELD",
        _ => return None,
    })
}

/// Writes a message as its list form without first building a `Value` tree.
impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let code = self.code();
        let payload_len = |p: &Payload| {
            if p.has_kwargs() {
                2
            } else if p.has_args() {
                1
            } else {
                0
            }
        };
        let len = 1 + match self {
            Message::Unsubscribed { .. } | Message::Unregistered { .. } => 1,
            Message::Error { payload, .. } => 4 + payload_len(payload),
            Message::Publish { payload, .. }
            | Message::Event { payload, .. }
            | Message::Call { payload, .. }
            | Message::Invocation { payload, .. } => 3 + payload_len(payload),
            Message::Result { payload, .. } | Message::Yield { payload, .. } => {
                2 + payload_len(payload)
            }
            Message::Subscribe { .. } | Message::Register { .. } => 3,
            _ => 2,
        };
        let mut seq = s.serialize_seq(Some(len))?;
        seq.serialize_element(&code)?;
        let mut payload_to_write = None;
        match self {
            Message::Hello { realm, details } => {
                seq.serialize_element(realm)?;
                seq.serialize_element(details)?;
            }
            Message::Welcome { session, details } => {
                seq.serialize_element(session)?;
                seq.serialize_element(details)?;
            }
            Message::Abort { details, reason } | Message::Goodbye { details, reason } => {
                seq.serialize_element(details)?;
                seq.serialize_element(reason)?;
            }
            Message::Challenge { authmethod, extra } => {
                seq.serialize_element(authmethod)?;
                seq.serialize_element(extra)?;
            }
            Message::Authenticate { signature, extra } => {
                seq.serialize_element(signature)?;
                seq.serialize_element(extra)?;
            }
            Message::Error {
                request_type,
                request,
                details,
                error,
                payload,
            } => {
                seq.serialize_element(request_type)?;
                seq.serialize_element(request)?;
                seq.serialize_element(details)?;
                seq.serialize_element(error)?;
                payload_to_write = Some(payload);
            }
            Message::Publish {
                request,
                options,
                topic,
                payload,
            } => {
                seq.serialize_element(request)?;
                seq.serialize_element(options)?;
                seq.serialize_element(topic)?;
                payload_to_write = Some(payload);
            }
            Message::Published {
                request,
                publication,
            } => {
                seq.serialize_element(request)?;
                seq.serialize_element(publication)?;
            }
            Message::Subscribe {
                request,
                options,
                topic,
            } => {
                seq.serialize_element(request)?;
                seq.serialize_element(options)?;
                seq.serialize_element(topic)?;
            }
            Message::Subscribed {
                request,
                subscription,
            }
            | Message::Unsubscribe {
                request,
                subscription,
            } => {
                seq.serialize_element(request)?;
                seq.serialize_element(subscription)?;
            }
            Message::Unsubscribed { request } | Message::Unregistered { request } => {
                seq.serialize_element(request)?;
            }
            Message::Event {
                subscription,
                publication,
                details,
                payload,
            } => {
                seq.serialize_element(subscription)?;
                seq.serialize_element(publication)?;
                seq.serialize_element(details)?;
                payload_to_write = Some(payload);
            }
            Message::Call {
                request,
                options,
                procedure,
                payload,
            } => {
                seq.serialize_element(request)?;
                seq.serialize_element(options)?;
                seq.serialize_element(procedure)?;
                payload_to_write = Some(payload);
            }
            Message::Cancel { request, options } | Message::Interrupt { request, options } => {
                seq.serialize_element(request)?;
                seq.serialize_element(options)?;
            }
            Message::Result {
                request,
                details,
                payload,
            }
            | Message::Yield {
                request,
                options: details,
                payload,
            } => {
                seq.serialize_element(request)?;
                seq.serialize_element(details)?;
                payload_to_write = Some(payload);
            }
            Message::Register {
                request,
                options,
                procedure,
            } => {
                seq.serialize_element(request)?;
                seq.serialize_element(options)?;
                seq.serialize_element(procedure)?;
            }
            Message::Registered {
                request,
                registration,
            }
            | Message::Unregister {
                request,
                registration,
            } => {
                seq.serialize_element(request)?;
                seq.serialize_element(registration)?;
            }
            Message::Invocation {
                request,
                registration,
                details,
                payload,
            } => {
                seq.serialize_element(request)?;
                seq.serialize_element(registration)?;
                seq.serialize_element(details)?;
                payload_to_write = Some(payload);
            }
        }
        if let Some(p) = payload_to_write {
            serialize_payload(&mut seq, p)?;
        }
        seq.end()
    }
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
