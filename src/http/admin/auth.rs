//! The dashboard's logins: users and passwords from the config (compared in constant time),
//! and the session tokens handed out as the `junction_admin` cookie: 256 random bits,
//! base64url, kept in memory and forgotten after 8 hours without use. Passwords and tokens are
//! never logged.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::header::{self, HeaderMap};
use parking_lot::Mutex;
use subtle::ConstantTimeEq;

use crate::config::{AdminRole, AdminUser};

/// The cookie holding a login's token.
pub const COOKIE: &str = "junction_admin";
/// A login unused for this long is forgotten.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(8 * 3600);
/// At most this many logins are kept; the least recently used goes first.
const MAX_LOGINS: usize = 1024;

/// Who a valid token belongs to.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: String,
    pub role: AdminRole,
    last_used: Instant,
}

/// The users of one admin path and their current logins.
pub struct Logins {
    users: Vec<AdminUser>,
    tokens: Mutex<HashMap<String, Login>>,
}

impl Logins {
    pub fn new(users: Vec<AdminUser>) -> Logins {
        Logins {
            users,
            tokens: Mutex::default(),
        }
    }

    /// A new token for `user` when `password` is theirs. Every user's password is compared
    /// (in constant time), so the answer's timing does not tell which user names exist.
    pub fn log_in(&self, user: &str, password: &str) -> Option<(String, AdminRole)> {
        let mut found = None;
        for candidate in &self.users {
            let name_ok = candidate.user.as_bytes().ct_eq(user.as_bytes());
            let password_ok = candidate
                .password
                .expose()
                .as_bytes()
                .ct_eq(password.as_bytes());
            if bool::from(name_ok & password_ok) {
                found = Some(candidate);
            }
        }
        let found = found?;
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let mut tokens = self.tokens.lock();
        let now = Instant::now();
        tokens.retain(|_, login| now.duration_since(login.last_used) < IDLE_EXPIRY);
        if tokens.len() >= MAX_LOGINS
            && let Some(oldest) = tokens
                .iter()
                .min_by_key(|(_, login)| login.last_used)
                .map(|(token, _)| token.clone())
        {
            tokens.remove(&oldest);
        }
        tokens.insert(
            token.clone(),
            Login {
                user: found.user.clone(),
                role: found.role,
                last_used: now,
            },
        );
        Some((token, found.role))
    }

    /// The login of the request's cookie, if it is valid and not expired (its idle time
    /// starts again).
    pub fn check(&self, headers: &HeaderMap) -> Option<Login> {
        let token = cookie_token(headers)?;
        let mut tokens = self.tokens.lock();
        let login = tokens.get_mut(&token)?;
        let now = Instant::now();
        if now.duration_since(login.last_used) >= IDLE_EXPIRY {
            tokens.remove(&token);
            return None;
        }
        login.last_used = now;
        Some(login.clone())
    }

    /// Forgets the request's token.
    pub fn log_out(&self, headers: &HeaderMap) {
        if let Some(token) = cookie_token(headers) {
            self.tokens.lock().remove(&token);
        }
    }
}

/// The `junction_admin` value of the request's `Cookie` headers.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_owned())
        })
}

/// The `Set-Cookie` value for `token` on `path` (empty to clear it).
pub fn set_cookie(token: &str, path: &str, tls: bool) -> String {
    let max_age = if token.is_empty() { "; Max-Age=0" } else { "" };
    let secure = if tls { "; Secure" } else { "" };
    format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path={path}{max_age}{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secret::Secret;
    use hyper::header::HeaderValue;

    fn logins() -> Logins {
        Logins::new(vec![
            AdminUser {
                user: "ops".into(),
                password: Secret::new("pw1"),
                role: AdminRole::Admin,
            },
            AdminUser {
                user: "watch".into(),
                password: Secret::new("pw2"),
                role: AdminRole::Viewer,
            },
        ])
    }

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_token_is_given_for_the_right_password_only() {
        let logins = logins();
        assert!(logins.log_in("ops", "pw2").is_none());
        assert!(logins.log_in("nobody", "pw1").is_none());
        assert!(logins.log_in("ops", "").is_none());
        let (token, role) = logins.log_in("watch", "pw2").unwrap();
        assert_eq!(role, AdminRole::Viewer);
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        let headers = with_cookie(&format!("a=b; {COOKIE}={token}"));
        assert_eq!(logins.check(&headers).unwrap().user, "watch");
        assert!(
            logins
                .check(&with_cookie(&format!("{COOKIE}=x{token}")))
                .is_none()
        );
        logins.log_out(&headers);
        assert!(logins.check(&headers).is_none());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_on_the_path() {
        assert_eq!(
            set_cookie("t", "/admin", false),
            "junction_admin=t; HttpOnly; SameSite=Strict; Path=/admin"
        );
        assert!(set_cookie("t", "/admin", true).ends_with("; Secure"));
        assert!(set_cookie("", "/admin", false).contains("Max-Age=0"));
    }
}
