//! The WAMP protocol, free of I/O: values, messages, serializers, URIs, ids and error URIs.

pub mod uri;
