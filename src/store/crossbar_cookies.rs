//! Crossbar's own cookie file (its `file` cookie store: one JSON object per line, appended as
//! cookies are created and their logins change), read once so that browsers logged in under
//! Crossbar stay logged in when Junction takes over the same `filename`.
//!
//! Crossbar keeps the cookie values in clear (`id`); Junction keeps only their digests, so the
//! file is moved aside (`<filename>.crossbar`) after its logins are imported into the redb
//! store that takes its place.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::cookies::{CookieLogin, StoredLogin, digest};
use crate::wamp::value::Dict;

/// One line of Crossbar's file (fields it may leave out default to none).
#[derive(Deserialize)]
struct Record {
    id: String,
    created: Option<String>,
    modified: Option<String>,
    max_age: Option<u64>,
    authid: Option<String>,
    authrole: Option<String>,
    authmethod: Option<String>,
    authrealm: Option<String>,
}

/// Whether `path` holds Crossbar's JSON lines rather than a redb database.
pub fn is_crossbar_file(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// The logins of Crossbar's file still alive at `now` (the last record of each cookie counts;
/// anonymous logins are skipped, as Junction does not remember them).
pub fn read_logins(path: &Path, now: u64) -> Result<Vec<([u8; 32], StoredLogin)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cookie store {}: {e}", path.display()))?;
    let mut last: HashMap<String, Record> = HashMap::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let record: Record = serde_json::from_str(line).map_err(|e| {
            format!(
                "cookie store {}: line {} is not a Crossbar cookie record: {e}",
                path.display(),
                n + 1
            )
        })?;
        last.insert(record.id.clone(), record);
    }
    let mut logins = Vec::new();
    for record in last.into_values() {
        let (Some(authid), Some(authrole), Some(authmethod), Some(realm)) = (
            record.authid,
            record.authrole,
            record.authmethod,
            record.authrealm,
        ) else {
            continue;
        };
        let since = record.modified.or(record.created).and_then(|t| {
            t.parse::<jiff::Timestamp>()
                .ok()
                .and_then(|t| u64::try_from(t.as_second()).ok())
        });
        let expires = since.unwrap_or(now) + record.max_age.unwrap_or(7 * 86400);
        if authmethod == "anonymous" || expires <= now {
            continue;
        }
        let login = CookieLogin {
            realm,
            authid,
            authrole,
            authmethod,
            authextra: Dict::new(),
        };
        logins.push((digest(&record.id), StoredLogin { expires, login }));
    }
    Ok(logins)
}

/// Where Crossbar's file goes once imported.
pub fn moved_aside(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".crossbar");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_record_of_each_live_cookie_is_its_login() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cookies.dat");
        std::fs::write(
            &path,
            concat!(
                r#"{"id": "abc", "created": "2026-12-01T10:00:00.000Z", "max_age": 604800, "authid": null, "authrole": null, "authmethod": null, "authrealm": null, "authextra": null}"#,
                "\n",
                r#"{"id": "abc", "modified": "2026-12-01T10:00:01.000Z", "max_age": 604800, "authid": "joe", "authrole": "user", "authmethod": "wampcra", "authrealm": "realm1", "authextra": null}"#,
                "\n",
                r#"{"id": "old", "modified": "2017-04-16T13:31:53.855Z", "max_age": 604800, "authid": "ann", "authrole": "user", "authmethod": "ticket", "authrealm": "realm1"}"#,
                "\n",
                r#"{"id": "anon", "modified": "2026-12-01T10:00:01.000Z", "max_age": 604800, "authid": "x", "authrole": "anonymous", "authmethod": "anonymous", "authrealm": "realm1"}"#,
                "\n"
            ),
        )
        .unwrap();
        assert!(is_crossbar_file(&path));
        let now = "2026-12-05T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second() as u64;
        let logins = read_logins(&path, now).unwrap();
        assert_eq!(
            logins.len(),
            1,
            "the expired and the anonymous ones are not logins"
        );
        assert_eq!(logins[0].0, digest("abc"));
        assert_eq!(logins[0].1.login.authid, "joe");
        assert_eq!(logins[0].1.login.authmethod, "wampcra");
        std::fs::write(&path, "garbage\n").unwrap();
        assert!(!is_crossbar_file(&path));
    }
}
