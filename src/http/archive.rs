//! An `archive` path: the members of a ZIP archive (configured in `config/archive_path.rs`),
//! answered to GET and HEAD with their content type, an ETag (the member's CRC-32 and size)
//! and `If-None-Match` -> 304, and with `cache` the caching headers of a `static` path.
//!
//! Every member is unpacked into memory once, at start: an archive is a web app (autobahn.js,
//! a few megabytes), so requests are answered without file I/O on the async runtime or a ZIP
//! reader shared under a lock, and a corrupt member fails the start rather than a request.
//! Crossbar also keeps the archive open from start, so there as here a new archive file is
//! served after a restart.
//!
//! A member whose name is absolute or has a `..` (or a backslash) is never served: it is left
//! out when unpacking. A request path with `..` gets 404 like any other missing member.

use std::collections::HashMap;
use std::io::Read;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use percent_encoding::percent_decode_str;

use crate::config::{ArchiveService, DEFAULT_CACHE_TIMEOUT, open_archive};
use crate::http::response::{self, HttpResponse};
use crate::http::static_files::{cache_headers, configured_content_type, if_none_match};
use crate::http::web_services::only_get;

/// The most bytes all members may unpack to: 512 MiB (a guard against ZIP bombs).
const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;

/// One member, ready to send.
struct Member {
    body: Bytes,
    content_type: HeaderValue,
    etag: HeaderValue,
}

pub struct ArchivePath {
    /// The path of the table this is served at (`""` for `/`), taken off request paths.
    prefix: String,
    service: ArchiveService,
    /// Member name (as in the archive) -> member.
    members: HashMap<String, Member>,
}

impl ArchivePath {
    /// Reads and unpacks the archive; errors say what is wrong with the file.
    pub fn open(prefix: &str, service: &ArchiveService) -> Result<ArchivePath, String> {
        let mut archive = open_archive(&service.file, &service.hashes)?;
        let mut members = HashMap::new();
        let mut unpacked = 0u64;
        let file = service.file.display();
        for index in 0..archive.len() {
            let mut entry = archive
                .by_index(index)
                .map_err(|e| format!("{file}: member {index}: {e}"))?;
            // A name that does not decode is never asked for: left out like an unsafe one.
            let Ok(name) = entry.name().map(|name| name.into_owned()) else {
                continue;
            };
            if entry.is_dir() || !safe_name(&name) {
                continue;
            }
            let mut body = Vec::new();
            (&mut entry)
                .take(MAX_UNPACKED_BYTES - unpacked + 1)
                .read_to_end(&mut body)
                .map_err(|e| format!("{file}: cannot unpack {name}: {e}"))?;
            unpacked += body.len() as u64;
            if unpacked > MAX_UNPACKED_BYTES {
                return Err(format!(
                    "{file} unpacks to more than {MAX_UNPACKED_BYTES} bytes"
                ));
            }
            let etag = format!("\"{:08x}-{:x}\"", entry.crc32(), body.len());
            let member = Member {
                content_type: content_type(&service.mime_types, &name),
                etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
                body: Bytes::from(body),
            };
            members.insert(name, member);
        }
        tracing::debug!(%file, count = members.len(), "archive members to serve");
        Ok(ArchivePath {
            prefix: prefix.trim_end_matches('/').to_string(),
            service: service.clone(),
            members,
        })
    }

    pub fn handle<B>(&self, req: &Request<B>) -> HttpResponse {
        if let Some(refused) = only_get(req) {
            return refused;
        }
        let below = req.uri().path().get(self.prefix.len()..).unwrap_or("");
        let Some(member) = self.find(below) else {
            let message = format!("no file at {}{below}", self.prefix);
            return response::error(StatusCode::NOT_FOUND, &message, None);
        };
        let mut answer = if if_none_match(req.headers(), &member.etag) {
            let mut unchanged = Response::new(response::full(Bytes::new()));
            *unchanged.status_mut() = StatusCode::NOT_MODIFIED;
            unchanged
        } else {
            let mut found = Response::new(response::full(member.body.clone()));
            found
                .headers_mut()
                .insert(header::CONTENT_TYPE, member.content_type.clone());
            found
        };
        let headers = answer.headers_mut();
        headers.insert(header::ETAG, member.etag.clone());
        if self.service.cache {
            cache_headers(headers, DEFAULT_CACHE_TIMEOUT);
        }
        answer
    }

    /// The member `below` (the request path under this one) names: `default_object` for a
    /// path ending in `/`, under `object_prefix`; else `default_file`, if any.
    fn find(&self, below: &str) -> Option<&Member> {
        let decoded = percent_decode_str(below).decode_utf8().ok()?;
        let mut parts: Vec<&str> = Vec::new();
        for part in decoded.split('/').filter(|p| !p.is_empty() && *p != ".") {
            if part == ".." || part.contains('\\') || part.contains('\0') {
                return None;
            }
            parts.push(part);
        }
        let mut name = parts.join("/");
        if (decoded.is_empty() || decoded.ends_with('/'))
            && let Some(object) = &self.service.default_object
        {
            name = if name.is_empty() {
                object.clone()
            } else {
                format!("{name}/{object}")
            };
        }
        self.member(&name).or_else(|| {
            let file = self.service.default_file.as_deref()?;
            self.member(file)
        })
    }

    fn member(&self, name: &str) -> Option<&Member> {
        if self.service.object_prefix.is_empty() {
            self.members.get(name)
        } else {
            self.members
                .get(&format!("{}/{name}", self.service.object_prefix))
        }
    }
}

/// Whether a member name stays inside the archive: relative, no `..`, no backslash.
fn safe_name(name: &str) -> bool {
    !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains('\0')
        && name.split('/').all(|part| part != "..")
}

/// `mime_types` (and Crossbar's additions), else the usual table by extension, else bytes.
fn content_type(
    mime_types: &std::collections::BTreeMap<String, String>,
    name: &str,
) -> HeaderValue {
    let leaf = name.rsplit('/').next().unwrap_or(name);
    configured_content_type(mime_types, leaf)
        .or_else(|| mime_guess::from_path(leaf).first_raw().map(str::to_string))
        .and_then(|value| HeaderValue::from_str(&value).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn members_that_leave_the_archive_are_not_safe() {
        for name in ["index.html", "js/app.js", "a..b/c", ".well-known/x"] {
            assert!(safe_name(name), "{name}");
        }
        for name in ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", "a/.."] {
            assert!(!safe_name(name), "{name}");
        }
    }
}
