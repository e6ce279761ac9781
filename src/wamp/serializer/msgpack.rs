//! MessagePack decoding: one item read into a [`Value`] with rmp-serde, the whole input and
//! nothing more, nested no deeper than JSON allows. MessagePack encoding is in
//! [`Serialization::try_encode_any`](super::Serialization::try_encode_any).

use super::MAX_DEPTH;
use crate::wamp::value::Value;

/// One MessagePack item as a [`Value`], the whole input and nothing more (as JSON and CBOR).
pub(super) fn decode_msgpack(mut bytes: &[u8]) -> Result<Value, String> {
    let value: Value = {
        // A reader over the slice advances it, so what is left afterwards is trailing data
        // (`from_read_ref` would borrow strings instead of copying them, but keeps its position
        // to itself; `Value` owns its strings either way).
        let mut de = rmp_serde::Deserializer::new(&mut bytes);
        // The same nesting limit serde_json applies, so hostile input cannot exhaust the stack.
        de.set_max_depth(MAX_DEPTH);
        serde::Deserialize::deserialize(&mut de).map_err(|e| e.to_string())?
    };
    if !bytes.is_empty() {
        return Err(format!(
            "trailing data after the message ({} bytes)",
            bytes.len()
        ));
    }
    Ok(value)
}
