//! The `payloadPointer` selection of an http-poller topic (README, http-poller section: the
//! payload is the part of the response body the pointer selects). Pure: no I/O. The `transform`
//! applied after it is [`crate::config::topic::Transform`].
//!
//! Decisions:
//! - A pointer is RFC 6901: empty (the whole document) or `/`-separated tokens where `~` is
//!   only allowed as `~0` or `~1` ([`check_pointer`], checked at load time);
//!   [`select`] refuses a pointer that does not resolve (an error event, not `null`).

use serde_json::Value;

use crate::config::topic::{PointerSyntaxError, check_pointer};

/// Why a pointer was refused or did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    #[error("invalid JSON pointer '{pointer}': {reason}")]
    Invalid { pointer: String, reason: String },
    #[error("JSON pointer '{pointer}' does not resolve")]
    Unresolved { pointer: String },
}

/// Checks RFC 6901 syntax ([`check_pointer`], the check the config loader makes).
pub fn validate_pointer(pointer: &str) -> Result<(), PointerError> {
    let reason = match check_pointer(pointer) {
        Ok(()) => return Ok(()),
        Err(PointerSyntaxError::NoLeadingSlash) => "must be empty or start with '/'",
        Err(PointerSyntaxError::BadEscape { .. }) => "'~' must be followed by '0' or '1'",
    };
    Err(PointerError::Invalid {
        pointer: pointer.to_string(),
        reason: reason.to_string(),
    })
}

/// The value at `pointer` in `body`; an invalid or unresolved pointer is an error.
pub fn select<'a>(body: &'a Value, pointer: &str) -> Result<&'a Value, PointerError> {
    validate_pointer(pointer)?;
    body.pointer(pointer)
        .ok_or_else(|| PointerError::Unresolved {
            pointer: pointer.to_string(),
        })
}

/// Like [`select`], taking the value out of `body` without cloning.
pub fn select_owned(mut body: Value, pointer: &str) -> Result<Value, PointerError> {
    validate_pointer(pointer)?;
    body.pointer_mut(pointer)
        .map(Value::take)
        .ok_or_else(|| PointerError::Unresolved {
            pointer: pointer.to_string(),
        })
}
