//! Cookie tracking and `cookie` authentication (Crossbar's): a [`CookieJar`] per
//! cookie-tracked WebSocket path gives each browser a random cookie on the upgrade, remembers
//! the login a session of that cookie made (by ticket, wampcra, a dynamic authenticator, ...)
//! and welcomes the cookie back as the same authid on that realm without credentials, until
//! the cookie expires or a session of it logs out (GOODBYE `wamp.close.logout`, which also
//! closes the cookie's other sessions).
//!
//! Cookies are known by the SHA-256 digest of their value, in memory and in the `file` store:
//! the value itself is a credential once it logged in, so it is kept nowhere and never logged.
//! The jar holds at most [`MAX_COOKIES`] cookies: clients without a cookie are unauthenticated
//! and must not be able to grow it without end.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rand::RngExt;
use sha2::{Digest, Sha256};
use tracing::warn;

use crate::config::{CookieStore, CookieTracking};
use crate::log_throttle::{Throttle, and_more};
use crate::router::auth::Identity;
use crate::store::cookies::{CookieFile, CookieLogin, StoredLogin, digest};
use crate::wamp::id::Id;

/// Most cookies one path tracks; past it, expired cookies are dropped first, then cookies that
/// never logged in and have no session, and if none can go the connection is not tracked.
pub const MAX_COOKIES: usize = 100_000;

static JAR_FULL: Throttle = Throttle::new();
static STORE_FAILED: Throttle = Throttle::new();

/// The cookies of one path.
pub struct CookieJar {
    config: CookieTracking,
    cookies: Mutex<HashMap<[u8; 32], Tracked>>,
    file: Option<CookieFile>,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieJar")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Tracked {
    /// Seconds since the Unix epoch when the cookie stops counting.
    expires: u64,
    login: Option<CookieLogin>,
    /// The joined sessions of the cookie (realm, session), closed by a logout.
    sessions: Vec<(String, Id)>,
}

/// What [`CookieJar::track`] found or made for a connection.
pub struct Tracking {
    pub cookie: TrackedCookie,
    /// The cookie's value (for a dynamic authenticator's `http_cbtid`; never logged).
    pub value: String,
    /// The `Set-Cookie` header value of a new cookie.
    pub set_cookie: Option<String>,
}

/// The cookie of one connection (its digest; the value is not kept).
#[derive(Clone)]
pub struct TrackedCookie {
    digest: [u8; 32],
    jar: Arc<CookieJar>,
}

impl std::fmt::Debug for TrackedCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrackedCookie(..)")
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

impl CookieJar {
    /// The jar of a path; with a `file` store, the logins kept there are loaded.
    pub fn open(config: &CookieTracking) -> Result<Arc<CookieJar>, String> {
        let mut cookies = HashMap::new();
        let file = match &config.store {
            CookieStore::Memory => None,
            CookieStore::File { path, purge } => {
                let file = CookieFile::open(path)?;
                if *purge {
                    file.purge()?;
                }
                for (digest, stored) in file.load(now())? {
                    cookies.insert(
                        digest,
                        Tracked {
                            expires: stored.expires,
                            login: Some(stored.login),
                            sessions: Vec::new(),
                        },
                    );
                }
                Some(file)
            }
        };
        Ok(Arc::new(CookieJar {
            config: config.clone(),
            cookies: Mutex::new(cookies),
            file,
        }))
    }

    /// At the upgrade: the connection's cookie from its `Cookie` headers when this jar knows
    /// it and it has not expired, else a new one with the `Set-Cookie` value that hands it out.
    /// `None` when the jar is full.
    pub fn track<'h>(
        self: &Arc<Self>,
        cookie_headers: impl Iterator<Item = &'h str>,
    ) -> Option<Tracking> {
        let now = now();
        let mut cookies = self.cookies.lock();
        for value in cookie_headers.flat_map(|header| values_named(header, &self.config.name)) {
            let digest = digest(value);
            if cookies.get(&digest).is_some_and(|c| c.expires > now) {
                return Some(Tracking {
                    cookie: self.cookie(digest),
                    value: value.to_string(),
                    set_cookie: None,
                });
            }
        }
        if cookies.len() >= MAX_COOKIES && !make_room(&mut cookies, now) {
            drop(cookies);
            if let Some(suppressed) = JAR_FULL.admit() {
                warn!(
                    "cookie store {} full ({MAX_COOKIES} cookies): a connection is not tracked{}",
                    self.config.name,
                    and_more(suppressed)
                );
            }
            return None;
        }
        let value = new_value(self.config.length);
        let digest = digest(&value);
        cookies.insert(
            digest,
            Tracked {
                expires: now + self.config.max_age.as_secs(),
                login: None,
                sessions: Vec::new(),
            },
        );
        Some(Tracking {
            cookie: self.cookie(digest),
            set_cookie: Some(self.set_cookie(&value)),
            value,
        })
    }

    fn cookie(self: &Arc<Self>, digest: [u8; 32]) -> TrackedCookie {
        TrackedCookie {
            digest,
            jar: Arc::clone(self),
        }
    }

    /// Crossbar's `name=value;max-age=N`, with the configured attributes. (No `Secure` by
    /// default: it is about the page's scheme, not the WebSocket's.)
    fn set_cookie(&self, value: &str) -> String {
        let c = &self.config;
        let mut header = format!("{}={value};max-age={}", c.name, c.max_age.as_secs());
        if c.secure {
            header.push_str(";Secure");
        }
        if c.http_only {
            header.push_str(";HttpOnly");
        }
        if let Some(same_site) = &c.same_site {
            header.push_str(";SameSite=");
            header.push_str(same_site);
        }
        header
    }

    fn persist(&self, digest: &[u8; 32], stored: Option<StoredLogin>) {
        let Some(file) = &self.file else {
            return;
        };
        let written = match stored {
            Some(stored) => file.put(digest, &stored),
            None => file.remove(digest),
        };
        if let Err(e) = written
            && let Some(suppressed) = STORE_FAILED.admit()
        {
            warn!(
                error = %e,
                "a cookie login is not kept across restarts{}",
                and_more(suppressed)
            );
        }
    }
}

impl TrackedCookie {
    fn entry<T>(&self, f: impl FnOnce(&mut Tracked) -> T) -> Option<T> {
        let mut cookies = self.jar.cookies.lock();
        cookies.get_mut(&self.digest).map(f)
    }

    /// The login remembered for this cookie on `realm`, if it has not expired.
    pub fn login(&self, realm: &str) -> Option<Identity> {
        let now = now();
        let login = self
            .entry(|c| {
                if c.expires > now {
                    c.login.clone()
                } else {
                    None
                }
            })
            .flatten()?;
        if login.realm != realm {
            return None;
        }
        Some(Identity {
            authid: login.authid,
            authrole: login.authrole,
            authmethod: static_method(&login.authmethod),
            authprovider: "cookie",
            authextra: login.authextra,
        })
    }

    /// Remembers the login of a session of this cookie (one not made by the cookie itself).
    pub fn remember(&self, realm: &str, identity: &Identity) {
        let login = CookieLogin {
            realm: realm.to_string(),
            authid: identity.authid.clone(),
            authrole: identity.authrole.clone(),
            authmethod: identity.authmethod.to_string(),
            authextra: identity.authextra.clone(),
        };
        let stored = self.entry(|c| {
            if c.login.as_ref() == Some(&login) {
                return None;
            }
            c.login = Some(login.clone());
            Some(StoredLogin {
                expires: c.expires,
                login,
            })
        });
        if let Some(Some(stored)) = stored {
            self.jar.persist(&self.digest, Some(stored));
        }
    }

    /// Forgets the cookie's login (a logout, or a HELLO that no longer offers `cookie`); the
    /// sessions of the cookie, which a logout closes.
    pub fn forget(&self) -> Vec<(String, Id)> {
        let Some((had_login, sessions)) =
            self.entry(|c| (c.login.take().is_some(), c.sessions.clone()))
        else {
            return Vec::new();
        };
        if had_login {
            self.jar.persist(&self.digest, None);
        }
        sessions
    }

    /// Whether the cookie has a login to forget.
    pub fn has_login(&self) -> bool {
        self.entry(|c| c.login.is_some()).unwrap_or(false)
    }

    pub fn attach(&self, realm: &str, session: Id) {
        self.entry(|c| c.sessions.push((realm.to_string(), session)));
    }

    pub fn detach(&self, session: Id) {
        self.entry(|c| c.sessions.retain(|(_, s)| *s != session));
    }

    /// A stable authid for anonymous sessions of this cookie (Crossbar uses the cookie value
    /// itself; authids are visible to other sessions, so Junction derives one instead).
    pub fn anonymous_authid(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"junction anonymous authid\0");
        hasher.update(self.digest);
        let hash = hasher.finalize();
        format!("cookie-{}", hex::encode(&hash[..12]))
    }
}

/// The method names a login can have, as the `&'static str` an [`Identity`] carries.
fn static_method(name: &str) -> &'static str {
    const METHODS: [&str; 7] = [
        "anonymous",
        "ticket",
        "wampcra",
        "cryptosign",
        "scram",
        "tls",
        "cookie",
    ];
    METHODS.into_iter().find(|m| *m == name).unwrap_or("cookie")
}

/// Drops expired cookies, else one that never logged in and has no session; whether there is
/// room now.
fn make_room(cookies: &mut HashMap<[u8; 32], Tracked>, now: u64) -> bool {
    cookies.retain(|_, c| c.expires > now || !c.sessions.is_empty());
    if cookies.len() < MAX_COOKIES {
        return true;
    }
    let idle = cookies
        .iter()
        .find(|(_, c)| c.login.is_none() && c.sessions.is_empty())
        .map(|(digest, _)| *digest);
    match idle {
        Some(digest) => {
            cookies.remove(&digest);
            true
        }
        None => false,
    }
}

/// A new cookie value: `length` letters and digits.
fn new_value(length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..length)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The values of the cookies called `name` in one `Cookie` header (`a=1; b="2"`).
fn values_named<'h>(header: &'h str, name: &'h str) -> impl Iterator<Item = &'h str> {
    header.split(';').filter_map(move |pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then(|| value.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar(max_age: u64) -> Arc<CookieJar> {
        CookieJar::open(&CookieTracking {
            name: "cbtid".into(),
            length: 24,
            max_age: Duration::from_secs(max_age),
            secure: false,
            http_only: false,
            same_site: None,
            store: CookieStore::Memory,
        })
        .unwrap()
    }

    #[test]
    fn cookie_headers_are_parsed_by_name() {
        let values: Vec<&str> =
            values_named("a=1; cbtid=\"xyz\";cbtid=2 ; cbtidx=3", "cbtid").collect();
        assert_eq!(values, ["xyz", "2"]);
        assert_eq!(values_named("garbage", "cbtid").count(), 0);
    }

    #[test]
    fn a_known_cookie_is_kept_and_an_unknown_one_replaced() {
        let jar = jar(60);
        let set = jar.track(std::iter::empty()).unwrap().set_cookie.unwrap();
        let value = set
            .split(';')
            .next()
            .unwrap()
            .strip_prefix("cbtid=")
            .unwrap();
        assert_eq!(value.len(), 24);
        let header = format!("cbtid={value}");
        let again = jar.track(std::iter::once(header.as_str())).unwrap();
        assert_eq!((again.set_cookie, again.value.as_str()), (None, value));
        let other = jar.track(std::iter::once("cbtid=forged")).unwrap();
        assert!(other.set_cookie.is_some());
    }

    #[test]
    fn the_jar_is_bounded() {
        let jar = jar(60);
        let mut kept = Vec::new();
        for i in 0..MAX_COOKIES {
            let cookie = jar.track(std::iter::empty()).unwrap().cookie;
            // Sessions pin a cookie: these cannot be dropped to make room.
            cookie.attach("realm1", i as Id + 1);
            kept.push(cookie);
        }
        assert!(jar.track(std::iter::empty()).is_none(), "full: not tracked");
        kept[0].detach(1);
        assert!(
            jar.track(std::iter::empty()).is_some(),
            "an idle cookie made room"
        );
        assert_eq!(jar.cookies.lock().len(), MAX_COOKIES);
    }
}
