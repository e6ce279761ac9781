//! [`CookieFile`]: the logins of tracking cookies kept in a redb file (a WebSocket path's
//! `"cookie": {"store": {"type": "file", "filename"}}`), so that a browser stays logged in
//! across router restarts.
//!
//! Keys are the SHA-256 digests of the cookie values, never the values: whoever reads the file
//! learns who logged in, not a cookie that would log them in. Values are MessagePack with field
//! names ([`CookieLogin`] and its expiry). Only cookies with a login are written; a tracking
//! cookie that never logged in lives in memory only.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::crossbar_cookies;
use crate::wamp::value::{BigIntForm, Dict, with_bigint_form};

/// The key a cookie is known by: the SHA-256 digest of its value.
pub fn digest(value: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(value.as_bytes()).into()
}

const LOGINS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("cookie_logins");

/// Who logged in under a cookie, and on which realm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CookieLogin {
    pub realm: String,
    pub authid: String,
    pub authrole: String,
    /// The method of the login the cookie remembers (`ticket`, `wampcra`, ...).
    pub authmethod: String,
    pub authextra: Dict,
}

/// A stored login and when its cookie expires (seconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredLogin {
    pub expires: u64,
    pub login: CookieLogin,
}

/// The redb file of one cookie-tracked path.
pub struct CookieFile {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for CookieFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl CookieFile {
    /// Opens (or creates) the file and its folder.
    /// A file Crossbar wrote (JSON lines) is imported: see [`crossbar_cookies`].
    pub fn open(path: &Path) -> Result<CookieFile, String> {
        let fail = |e: &dyn std::fmt::Display| format!("cookie store {}: {e}", path.display());
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let imported = if crossbar_cookies::is_crossbar_file(path) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let logins = crossbar_cookies::read_logins(path, now)?;
            let aside = crossbar_cookies::moved_aside(path);
            std::fs::rename(path, &aside).map_err(|e| fail(&e))?;
            tracing::info!(
                file = %path.display(),
                count = logins.len(),
                "cookie store was Crossbar's: its logins imported, the file moved to {}",
                aside.display()
            );
            logins
        } else {
            Vec::new()
        };
        let db = Database::builder()
            .set_check_integrity_on_open(true)
            .create(path)
            .map_err(|e| fail(&e))?;
        let file = CookieFile {
            db,
            path: path.to_owned(),
        };
        // Creates the table, so that a read never meets a missing one.
        file.write(|_| Ok(()))?;
        for (digest, stored) in &imported {
            file.put(digest, stored)?;
        }
        Ok(file)
    }

    /// Every stored login whose cookie has not expired at `now`; expired ones are deleted.
    pub fn load(&self, now: u64) -> Result<Vec<([u8; 32], StoredLogin)>, String> {
        let mut live = Vec::new();
        let mut expired = Vec::new();
        {
            let txn = self.db.begin_read().map_err(|e| self.error(e))?;
            let table = txn.open_table(LOGINS).map_err(|e| self.error(e))?;
            for entry in table.iter().map_err(|e| self.error(e))? {
                let (key, value) = entry.map_err(|e| self.error(e))?;
                let Ok(digest) = <[u8; 32]>::try_from(key.value()) else {
                    expired.push(key.value().to_vec());
                    continue;
                };
                match decode(value.value()) {
                    Ok(stored) if stored.expires > now => live.push((digest, stored)),
                    // Expired, or written by something else: not a login any more.
                    _ => expired.push(digest.to_vec()),
                }
            }
        }
        if !expired.is_empty() {
            self.write(|table| {
                for key in &expired {
                    table.remove(key.as_slice())?;
                }
                Ok(())
            })?;
        }
        Ok(live)
    }

    pub fn put(&self, digest: &[u8; 32], stored: &StoredLogin) -> Result<(), String> {
        let bytes = with_bigint_form(BigIntForm::MsgPackExt, || rmp_serde::to_vec_named(stored))
            .map_err(|e| self.error(e))?;
        self.write(|table| {
            table.insert(digest.as_slice(), bytes.as_slice())?;
            Ok(())
        })
    }

    /// Forgets every login (`purge_on_startup`).
    pub fn purge(&self) -> Result<(), String> {
        self.write(|table| {
            table.retain(|_, _| false)?;
            Ok(())
        })
    }

    pub fn remove(&self, digest: &[u8; 32]) -> Result<(), String> {
        self.write(|table| {
            table.remove(digest.as_slice())?;
            Ok(())
        })
    }

    fn write(
        &self,
        body: impl FnOnce(&mut redb::Table<&[u8], &[u8]>) -> Result<(), redb::Error>,
    ) -> Result<(), String> {
        let run = || -> Result<(), redb::Error> {
            let txn = self.db.begin_write()?;
            {
                let mut table = txn.open_table(LOGINS)?;
                body(&mut table)?;
            }
            txn.commit()?;
            Ok(())
        };
        run().map_err(|e| self.error(e))
    }

    fn error(&self, e: impl std::fmt::Display) -> String {
        format!("cookie store {}: {e}", self.path.display())
    }
}

fn decode(bytes: &[u8]) -> Result<StoredLogin, rmp_serde::decode::Error> {
    with_bigint_form(BigIntForm::MsgPackExt, || rmp_serde::from_slice(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wamp::value::Value;

    fn login(authid: &str) -> CookieLogin {
        let mut authextra = Dict::new();
        authextra.insert("raw".into(), Value::Bytes(vec![0, 255]));
        CookieLogin {
            realm: "realm1".into(),
            authid: authid.into(),
            authrole: "user".into(),
            authmethod: "ticket".into(),
            authextra,
        }
    }

    #[test]
    fn logins_survive_reopening_and_expired_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/cookies.dat");
        {
            let file = CookieFile::open(&path).unwrap();
            let joe = StoredLogin {
                expires: 200,
                login: login("joe"),
            };
            file.put(&[1; 32], &joe).unwrap();
            let old = StoredLogin {
                expires: 50,
                login: login("old"),
            };
            file.put(&[2; 32], &old).unwrap();
            file.put(&[3; 32], &joe).unwrap();
            file.remove(&[3; 32]).unwrap();
        }
        let file = CookieFile::open(&path).unwrap();
        let live = file.load(100).unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].0, [1; 32]);
        assert_eq!(live[0].1.login, login("joe"));
        // The expired one was deleted, not only skipped.
        assert_eq!(file.load(0).unwrap().len(), 1);
    }
}
