//! Text a peer chose (an authid, a realm name, a URI, a message built from them), made safe for
//! one log line: control characters escaped, so no peer can start a line of its own and forge
//! an entry; and cut after [`MAX_CHARS`] characters with the original length said, so a 1 MB
//! realm name costs a log line of a few hundred bytes.

use std::fmt::{self, Write};

/// How many characters of a peer's text a log line keeps.
pub const MAX_CHARS: usize = 200;

/// `text` as a log line may show it (see the module comment).
pub fn peer_text(text: &str) -> PeerText<'_> {
    PeerText(text)
}

/// Displays the text escaped and truncated.
#[derive(Debug, Clone, Copy)]
pub struct PeerText<'a>(&'a str);

impl fmt::Display for PeerText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (shown, c) in self.0.chars().enumerate() {
            if shown == MAX_CHARS {
                let total = self.0.chars().count();
                return write!(f, "... ({total} characters)");
            }
            if c.is_control() {
                // `\n`, `\u{1b}`, ...: visible, and never a line break.
                for escaped in c.escape_default() {
                    f.write_char(escaped)?;
                }
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        let forged = "x\n2026-12-04T00:00:00Z INFO session joined authid=admin\r\u{1b}[31m";
        let shown = peer_text(forged).to_string();
        assert!(!shown.contains('\n') && !shown.contains('\r') && !shown.contains('\u{1b}'));
        assert!(shown.starts_with("x\\n2026"), "{shown}");
        assert!(shown.ends_with("\\r\\u{1b}[31m"), "{shown}");
        assert_eq!(peer_text("com.example.ü€").to_string(), "com.example.ü€");
    }

    #[test]
    fn long_text_is_cut_with_its_length() {
        let long = "é".repeat(1_000_000);
        let shown = peer_text(&long).to_string();
        assert_eq!(
            shown,
            format!("{}... (1000000 characters)", "é".repeat(MAX_CHARS))
        );
        let exact = "a".repeat(MAX_CHARS);
        assert_eq!(peer_text(&exact).to_string(), exact);
    }
}
