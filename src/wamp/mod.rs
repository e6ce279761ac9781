//! The WAMP protocol, free of I/O: values, messages, serializers, URIs, ids and error URIs.

pub mod error;
pub mod id;
pub mod message;
pub mod serializer;
pub mod uri;
pub mod value;
