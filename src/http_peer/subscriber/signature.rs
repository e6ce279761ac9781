//! The `Junction-Signature` header of a signed subscriber (README.md, "HTTP subscriber"):
//! `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, Stripe's recipe, so the
//! receiver can check both who sent the body and that it is recent.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header's name.
pub const HEADER: &str = "junction-signature";

/// The header value for `body` sent at `t` (Unix seconds).
pub fn sign(secret: &str, t: u64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_documented_recipe() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).hexdigest())'
        assert_eq!(
            sign("s3cret", 1_700_000_000, b"{}"),
            "t=1700000000,v1=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf"
        );
    }
}
