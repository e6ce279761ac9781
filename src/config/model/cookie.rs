//! Cookie tracking of a WebSocket path (Crossbar's `cookie` option): the cookie's name, size,
//! lifetime and attributes, and where the logins made under it are kept.

use std::path::PathBuf;
use std::time::Duration;

/// `"cookie": {"name", "length", "max_age", "secure", "http_strict", "same_site", "store"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct CookieTracking {
    /// The cookie's name (default `cbtid`).
    pub name: String,
    /// Characters of its random value (default 24, 6 to 64).
    pub length: usize,
    /// Its lifetime, sent as `Max-Age` and enforced by the router (default 7 days).
    pub max_age: Duration,
    /// `secure`: the `Secure` attribute.
    pub secure: bool,
    /// `http_strict`: the `HttpOnly` attribute.
    pub http_only: bool,
    /// `same_site`: `Strict`, `Lax` or `None`.
    pub same_site: Option<String>,
    pub store: CookieStore,
}

/// `store`: `{"type": "memory"}` (the default), `{"type": "file", "filename"}` or
/// `{"type": "database", "path"}` (Crossbar's LMDB folder; Junction keeps a redb file in it).
#[derive(Debug, Clone, PartialEq)]
pub enum CookieStore {
    Memory,
    /// A redb file (relative paths from the config folder) keeping the logins across restarts.
    File {
        path: PathBuf,
        /// `purge_on_startup`: forget every stored login when the router starts.
        purge: bool,
    },
}
