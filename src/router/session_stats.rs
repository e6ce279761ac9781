//! Sessions joining and leaving realms, and logins accepted or refused by authentication
//! method, counted for metrics. Once per session, not per message: a short lock is fine.
//!
//! Labels stay bounded: realms come from the config, and a method the client names that
//! Junction does not know counts as `other`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use parking_lot::Mutex;

/// The authentication methods Junction knows (anything else a client offers is `other`).
const METHODS: [&str; 8] = [
    "anonymous",
    "ticket",
    "wampcra",
    "scram",
    "cryptosign",
    "tls",
    "cookie",
    "trusted",
];

#[derive(Default)]
struct Counts {
    /// (joins, leaves) by realm.
    sessions: BTreeMap<String, (u64, u64)>,
    /// Logins by (method, accepted).
    logins: BTreeMap<(&'static str, bool), u64>,
}

static COUNTS: LazyLock<Mutex<Counts>> = LazyLock::new(Mutex::default);

/// A client session joined `realm`.
pub fn joined(realm: &str) {
    let mut counts = COUNTS.lock();
    if let Some(c) = counts.sessions.get_mut(realm) {
        c.0 += 1;
    } else {
        counts.sessions.insert(realm.to_owned(), (1, 0));
    }
}

/// A client session left `realm` (closed, killed or its connection lost).
pub fn left(realm: &str) {
    let mut counts = COUNTS.lock();
    if let Some(c) = counts.sessions.get_mut(realm) {
        c.1 += 1;
    } else {
        counts.sessions.insert(realm.to_owned(), (0, 1));
    }
}

/// A login by `method` was accepted (WELCOME) or refused (ABORT).
pub fn login(method: &str, accepted: bool) {
    let method = METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other");
    *COUNTS.lock().logins.entry((method, accepted)).or_default() += 1;
}

/// (realm, joins, leaves) for every realm that had a session.
pub fn sessions() -> Vec<(String, u64, u64)> {
    COUNTS
        .lock()
        .sessions
        .iter()
        .map(|(realm, (joins, leaves))| (realm.clone(), *joins, *leaves))
        .collect()
}

/// (method, accepted, logins).
pub fn logins() -> Vec<(&'static str, bool, u64)> {
    COUNTS
        .lock()
        .logins
        .iter()
        .map(|((method, accepted), n)| (*method, *accepted, *n))
        .collect()
}
