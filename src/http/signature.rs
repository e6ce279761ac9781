//! Signed HTTP bridge requests, Crossbar's contract: query arguments `key`, `timestamp`, `seq`,
//! `nonce`, `signature`, where `signature = base64url(HMAC-SHA256(secret, key + timestamp +
//! seq + nonce + body))` with `=` padding. Timestamps are UTC with fractional seconds and must
//! lie within the path's window in both directions; comparisons are constant-time.
//!
//! Beyond Crossbar: a (key, nonce) pair seen inside the window is refused as a replay
//! ([`ReplayGuard`]).

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use parking_lot::Mutex;
use sha2::Sha256;

use crate::config::SigningKey;
use crate::wamp::id::MAX_ID;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Why a request's signing arguments are refused; `status` is 400 or 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub message: String,
}

fn bad_request(message: impl Into<String>) -> Rejection {
    Rejection {
        status: 400,
        message: message.into(),
    }
}

fn unauthorized(message: impl Into<String>) -> Rejection {
    Rejection {
        status: 401,
        message: message.into(),
    }
}

/// The query arguments that take part in signing, as received (URL-decoded).
#[derive(Debug, Default, Clone)]
pub struct SigningArgs {
    pub key: Option<String>,
    pub timestamp: Option<String>,
    pub seq: Option<String>,
    pub nonce: Option<String>,
    pub signature: Option<String>,
}

impl SigningArgs {
    pub fn from_query(query: &str) -> SigningArgs {
        let mut args = SigningArgs::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "key" => &mut args.key,
                "timestamp" => &mut args.timestamp,
                "seq" => &mut args.seq,
                "nonce" => &mut args.nonce,
                "signature" => &mut args.signature,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        args
    }
}

/// The signature of a request, as Crossbar and crossbarconnect compute it.
pub fn sign(
    secret: &str,
    key: &str,
    timestamp: &str,
    seq: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    URL_SAFE.encode(
        mac(secret, key, timestamp, seq, nonce, body)
            .finalize()
            .into_bytes(),
    )
}

fn mac(
    secret: &str,
    key: &str,
    timestamp: &str,
    seq: &str,
    nonce: &str,
    body: &[u8],
) -> HmacSha256 {
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    for part in [
        key.as_bytes(),
        timestamp.as_bytes(),
        seq.as_bytes(),
        nonce.as_bytes(),
        body,
    ] {
        mac.update(part);
    }
    mac
}

/// The query string a signed request carries (what `junction sign` prints and `junction
/// publish` sends): `timestamp`, `seq`, `nonce`, `key`, `signature`, URL-encoded.
pub fn signed_query(key: &str, secret: &str, seq: u64, body: &[u8]) -> String {
    let timestamp = timestamp_now();
    let seq = seq.to_string();
    let nonce = rand::random_range(0..=MAX_ID).to_string();
    let signature = sign(secret, key, &timestamp, &seq, &nonce, body);
    form_urlencoded::Serializer::new(String::new())
        .append_pair("timestamp", &timestamp)
        .append_pair("seq", &seq)
        .append_pair("nonce", &nonce)
        .append_pair("key", key)
        .append_pair("signature", &signature)
        .finish()
}

/// The query string of an unsigned request, as crossbarconnect sends it.
pub fn unsigned_query(seq: u64) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("timestamp", &timestamp_now())
        .append_pair("seq", &seq.to_string())
        .finish()
}

/// The current time as Crossbar's timestamps write it: UTC, milliseconds, `Z`.
pub fn timestamp_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Parses `2011-10-14T16:59:51.123Z`: UTC (`Z`), with fractional seconds, as Crossbar requires.
pub fn parse_timestamp(text: &str) -> Result<jiff::Timestamp, Rejection> {
    let malformed = || {
        bad_request(format!(
            "invalid timestamp \"{text}\": expected UTC with fractional seconds, e.g. 2011-10-14T16:59:51.123Z"
        ))
    };
    let body = text.strip_suffix('Z').ok_or_else(malformed)?;
    let (seconds, fraction) = body.rsplit_once('.').ok_or_else(malformed)?;
    let shape_ok = seconds.len() == 19
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && seconds.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(malformed());
    }
    text.parse().map_err(|_| malformed())
}

/// How long either side of now a (key, nonce) pair is remembered when a path has no timestamp
/// window (`timestamp_delta_limit` 0): Crossbar's default window.
pub const NO_WINDOW_REPLAY_SPAN: Duration = Duration::from_secs(300);

/// Checks an optional `timestamp` against the window (`None`: no window, as Crossbar reads a
/// `timestamp_delta_limit` of 0; it must still be well formed): applies to unsigned requests
/// too.
pub fn check_timestamp(
    text: &str,
    window: Option<Duration>,
    now: jiff::Timestamp,
) -> Result<(), Rejection> {
    let ts = parse_timestamp(text)?;
    let Some(window) = window else {
        return Ok(());
    };
    let delta = now.duration_since(ts).unsigned_abs();
    if delta > window {
        let direction = if ts > now { "in the future" } else { "too old" };
        return Err(bad_request(format!(
            "timestamp {text} is {direction}: outside the {} s window",
            window.as_secs()
        )));
    }
    Ok(())
}

fn integer(name: &str, text: &str, max: u64) -> Result<u64, Rejection> {
    match text.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(bad_request(format!(
            "{name} must be an integer in [0, {max}], got \"{text}\""
        ))),
    }
}

/// Verifies a signed request; on success returns the (key, nonce) pair for the replay check.
pub fn verify(
    signing: &SigningKey,
    args: &SigningArgs,
    body: &[u8],
    window: Option<Duration>,
    now: jiff::Timestamp,
) -> Result<(String, u64), Rejection> {
    let field = |value: &Option<String>, name: &str| {
        value
            .clone()
            .ok_or_else(|| bad_request(format!("signed request without \"{name}\" query argument")))
    };
    let key = field(&args.key, "key")?;
    let timestamp = field(&args.timestamp, "timestamp")?;
    let seq = field(&args.seq, "seq")?;
    let nonce = field(&args.nonce, "nonce")?;
    let signature = field(&args.signature, "signature")?;
    check_timestamp(&timestamp, window, now)?;
    integer("seq", &seq, u64::MAX)?;
    let nonce_value = integer("nonce", &nonce, MAX_ID)?;
    if !bool::from(key.as_bytes().ct_eq(signing.key.as_bytes())) {
        return Err(unauthorized(format!("unknown key \"{key}\"")));
    }
    // Crossbar requires the padding; accepting the unpadded form too costs nothing.
    let given = URL_SAFE
        .decode(signature.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(signature.trim()))
        .map_err(|_| unauthorized("invalid signature"))?;
    mac(
        signing.secret.expose(),
        &key,
        &timestamp,
        &seq,
        &nonce,
        body,
    )
    .verify_slice(&given)
    .map_err(|_| unauthorized("invalid signature"))?;
    Ok((key, nonce_value))
}

/// Remembers (key, nonce) pairs for as long as their timestamp could still be accepted, so a
/// captured signed request cannot be sent again. Bounded: past `capacity` pairs the oldest are
/// forgotten early (a replay of those would need an attacker to outpace `capacity` requests).
pub struct ReplayGuard {
    capacity: usize,
    state: Mutex<ReplayState>,
}

#[derive(Default)]
struct ReplayState {
    seen: HashSet<(String, u64)>,
    expiry: VecDeque<(Instant, (String, u64))>,
}

impl ReplayGuard {
    pub fn new(capacity: usize) -> ReplayGuard {
        ReplayGuard {
            capacity,
            state: Mutex::default(),
        }
    }

    /// Records the pair; refuses it when it was seen within its lifetime.
    pub fn check(
        &self,
        pair: (String, u64),
        lifetime: Duration,
        now: Instant,
    ) -> Result<(), Rejection> {
        let mut state = self.state.lock();
        while let Some((expires, _)) = state.expiry.front() {
            if *expires > now && state.expiry.len() < self.capacity {
                break;
            }
            if let Some((_, old)) = state.expiry.pop_front() {
                state.seen.remove(&old);
            }
        }
        if !state.seen.insert(pair.clone()) {
            return Err(unauthorized(format!(
                "replayed request: nonce {} was already used",
                pair.1
            )));
        }
        state.expiry.push_back((now + lifetime, pair));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secret::Secret;

    const BODY: &[u8] = br#"{"topic":"com.myapp.topic1","args":["Hello, world"]}"#;

    fn signing() -> SigningKey {
        SigningKey {
            key: "foobar".into(),
            secret: Secret::new("secret123"),
        }
    }

    fn args(timestamp: &str, signature: &str) -> SigningArgs {
        SigningArgs {
            key: Some("foobar".into()),
            timestamp: Some(timestamp.into()),
            seq: Some("1".into()),
            nonce: Some("12345".into()),
            signature: Some(signature.into()),
        }
    }

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn reference_vector() {
        let sig = sign(
            "secret123",
            "foobar",
            "2011-10-14T16:59:51.123Z",
            "1",
            "12345",
            BODY,
        );
        assert_eq!(sig, "_jbcYQRw2XTEWw-fbom5uWM_SWv-tKqQ4U8_fTToO3I=");
    }

    #[test]
    fn valid_signature_with_and_without_padding() {
        let now = at("2011-10-14T17:00:00Z");
        let window = Some(Duration::from_secs(300));
        let a = args(
            "2011-10-14T16:59:51.123Z",
            "_jbcYQRw2XTEWw-fbom5uWM_SWv-tKqQ4U8_fTToO3I=",
        );
        assert_eq!(
            verify(&signing(), &a, BODY, window, now).unwrap(),
            ("foobar".into(), 12345)
        );
        let a = args(
            "2011-10-14T16:59:51.123Z",
            "_jbcYQRw2XTEWw-fbom5uWM_SWv-tKqQ4U8_fTToO3I",
        );
        assert!(verify(&signing(), &a, BODY, window, now).is_ok());
    }

    #[test]
    fn tampered_body_wrong_key_and_missing_fields() {
        let now = at("2011-10-14T17:00:00Z");
        let window = Some(Duration::from_secs(300));
        let good = args(
            "2011-10-14T16:59:51.123Z",
            "_jbcYQRw2XTEWw-fbom5uWM_SWv-tKqQ4U8_fTToO3I=",
        );
        assert_eq!(
            verify(&signing(), &good, b"{}", window, now)
                .unwrap_err()
                .status,
            401
        );
        let mut other_key = good.clone();
        other_key.key = Some("other".into());
        assert_eq!(
            verify(&signing(), &other_key, BODY, window, now)
                .unwrap_err()
                .status,
            401
        );
        let mut no_nonce = good.clone();
        no_nonce.nonce = None;
        let e = verify(&signing(), &no_nonce, BODY, window, now).unwrap_err();
        assert_eq!((e.status, e.message.contains("nonce")), (400, true));
        let mut bad_seq = good;
        bad_seq.seq = Some("x".into());
        assert_eq!(
            verify(&signing(), &bad_seq, BODY, window, now)
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn timestamp_shape_and_window() {
        let now = at("2020-01-01T00:00:00Z");
        let w = Some(Duration::from_secs(10));
        assert!(check_timestamp("2020-01-01T00:00:05.5Z", w, now).is_ok());
        assert!(check_timestamp("2019-12-31T23:59:55.000Z", w, now).is_ok());
        for bad in [
            "2020-01-01T00:00:05Z",
            "2020-01-01T00:00:05.1+01:00",
            "2020-01-01 00:00:05.1Z",
            "x",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
        let e = check_timestamp("2020-01-01T00:00:11.000Z", w, now).unwrap_err();
        assert!(e.message.contains("future"), "{}", e.message);
        let e = check_timestamp("2019-12-31T23:59:49.000Z", w, now).unwrap_err();
        assert!(e.message.contains("too old"), "{}", e.message);
        // No window (`timestamp_delta_limit` 0, as Crossbar reads it): any well-formed time.
        assert!(check_timestamp("2001-01-01T00:00:00.000Z", None, now).is_ok());
        assert!(check_timestamp("2001-01-01T00:00:00Z", None, now).is_err());
    }

    #[test]
    fn replays_are_refused_within_the_lifetime_only() {
        let guard = ReplayGuard::new(100);
        let t0 = Instant::now();
        let life = Duration::from_secs(60);
        assert!(guard.check(("k".into(), 1), life, t0).is_ok());
        assert_eq!(
            guard.check(("k".into(), 1), life, t0).unwrap_err().status,
            401
        );
        assert!(guard.check(("k".into(), 2), life, t0).is_ok());
        assert!(
            guard
                .check(("k".into(), 1), life, t0 + Duration::from_secs(61))
                .is_ok()
        );
    }

    #[test]
    fn replay_memory_is_bounded() {
        let guard = ReplayGuard::new(10);
        let t0 = Instant::now();
        for n in 0..1000 {
            assert!(
                guard
                    .check(("k".into(), n), Duration::from_secs(60), t0)
                    .is_ok()
            );
        }
        assert!(guard.state.lock().seen.len() <= 10);
    }

    #[test]
    fn signed_query_verifies() {
        let body = br#"{"topic":"t"}"#;
        let query = signed_query("foobar", "secret123", 7, body);
        let args = SigningArgs::from_query(&query);
        assert_eq!(args.seq.as_deref(), Some("7"));
        let now = jiff::Timestamp::now();
        assert!(verify(&signing(), &args, body, Some(Duration::from_secs(5)), now).is_ok());
        assert!(verify(&signing(), &args, b"{}", Some(Duration::from_secs(5)), now).is_err());
    }

    #[test]
    fn query_parsing_decodes() {
        let a = SigningArgs::from_query(
            "timestamp=2011-10-14T16%3A59%3A51.123Z&seq=1&key=foo+bar&x=%zz",
        );
        assert_eq!(a.timestamp.as_deref(), Some("2011-10-14T16:59:51.123Z"));
        assert_eq!(a.key.as_deref(), Some("foo bar"));
        assert_eq!(a.nonce, None);
    }
}
