//! RFC 6901 JSON pointers (`payloadPointer`, `nextReference.pointer`): the one syntax check,
//! used by the config loader (errors naming the JSON path) and by the poller's selection.

use crate::config::node::{Node, Result};

/// Why a text is not an RFC 6901 JSON pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointerSyntaxError {
    /// Not empty and not starting with `/`.
    NoLeadingSlash,
    /// A `~` at byte offset `at` that is not followed by `0` or `1`.
    BadEscape { at: usize },
}

/// Checks RFC 6901 syntax: empty, or `/`-separated tokens where `~` is only in `~0`, `~1`.
pub fn check_pointer(text: &str) -> std::result::Result<(), PointerSyntaxError> {
    if !text.is_empty() && !text.starts_with('/') {
        return Err(PointerSyntaxError::NoLeadingSlash);
    }
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some((_, '0' | '1'))) {
            return Err(PointerSyntaxError::BadEscape { at });
        }
    }
    Ok(())
}

/// An RFC 6901 JSON pointer: empty, or `/`-separated tokens where `~` is only in `~0`, `~1`.
pub(super) fn json_pointer(node: &Node) -> Result<String> {
    let text = node.str()?;
    check_json_pointer(text).map_err(|message| node.error(message))?;
    Ok(text.to_string())
}

/// [`check_pointer`] with the config loader's message.
pub(super) fn check_json_pointer(text: &str) -> std::result::Result<(), String> {
    match check_pointer(text) {
        Ok(()) => Ok(()),
        Err(PointerSyntaxError::NoLeadingSlash) => Err(format!(
            "\"{text}\" is not a JSON pointer (RFC 6901): it must be empty or start with '/'"
        )),
        Err(PointerSyntaxError::BadEscape { at }) => Err(format!(
            "\"{text}\" is not a JSON pointer (RFC 6901): '~' at {at} must be followed by 0 or 1"
        )),
    }
}
