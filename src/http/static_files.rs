//! A `static` path: files from one directory, for the browser app a Crossbar config serves
//! beside its `/ws` (files by tower-http's `ServeDir`: content types, `index.html` for
//! directories, Range, `If-Modified-Since`, HEAD).
//!
//! Around it, what Crossbar's static service adds or what a router must add: the request is
//! resolved here first and refused (404) when it names `..`, or a file or link that leads out
//! of the directory (ServeDir follows symbolic links); `mime_types` over the built-in table;
//! `cache_timeout` as `Cache-Control` and `Expires`; `default_file` for any path that names no
//! file (single-page apps); a directory listing when `enable_directory_listing` is set; CORS
//! headers for any origin (`allow_cross_origin`, default on as in Crossbar: the files are
//! public, and a GET of them does nothing).

use std::convert::Infallible;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use percent_encoding::percent_decode_str;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::config::StaticService;
use crate::http::response::{self, HttpResponse};

/// Content types Crossbar adds to the usual table.
const EXTRA_MIME_TYPES: &[(&str, &str)] = &[(".jgz", "text/javascript")];

pub struct StaticPath {
    /// The path of the table this is served at (`/` or `/app`), taken off request paths.
    prefix: String,
    service: StaticService,
    files: ServeDir<ServeFile>,
}

impl StaticPath {
    pub fn new(prefix: &str, service: &StaticService) -> StaticPath {
        let root = &service.directory;
        // Without a default file, a path that names no file falls through to a 404 (the
        // fallback is never asked: `serves_file` checked first).
        let fallback = ServeFile::new(root.join(service.default_file.as_deref().unwrap_or("")));
        StaticPath {
            prefix: prefix.trim_end_matches('/').to_string(),
            service: service.clone(),
            files: ServeDir::new(root)
                .append_index_html_on_directories(true)
                .fallback(fallback),
        }
    }

    pub async fn handle(&self, req: Request<Incoming>) -> HttpResponse {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut refused = response::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "a static path answers GET and HEAD",
                None,
            );
            refused
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return self.finish(refused, None);
        }
        let below = match req.uri().path().get(self.prefix.len()..) {
            Some(rest) if !rest.is_empty() => rest.to_string(),
            _ => "/".to_string(),
        };
        let Some(target) = resolve(&self.service.directory, &below) else {
            return self.not_found(&below);
        };
        if target.is_dir() && !target.join("index.html").is_file() {
            if self.service.directory_listing {
                return self.finish(listing(&target, req.uri().path()), None);
            }
            return self.default_or_not_found(req, &below).await;
        }
        if !target.exists() {
            return self.default_or_not_found(req, &below).await;
        }
        self.serve_file(req, &below, &target).await
    }

    async fn default_or_not_found(&self, req: Request<Incoming>, below: &str) -> HttpResponse {
        match &self.service.default_file {
            Some(file) if self.service.directory.join(file).is_file() => {
                let file = self.service.directory.join(file);
                self.serve_file(req, below, &file).await
            }
            _ => self.not_found(below),
        }
    }

    /// `file` (a directory: its index.html) as ServeDir answers `below`, with an ETag (weak:
    /// size and modification time), and 304 when `If-None-Match` already has it.
    async fn serve_file(&self, req: Request<Incoming>, below: &str, file: &Path) -> HttpResponse {
        let file = if file.is_dir() {
            file.join("index.html")
        } else {
            file.to_path_buf()
        };
        let tag = etag(&file);
        if let Some(tag) = &tag
            && if_none_match(req.headers(), tag)
        {
            let mut unchanged = Response::new(response::full(Bytes::new()));
            *unchanged.status_mut() = StatusCode::NOT_MODIFIED;
            unchanged.headers_mut().insert(header::ETAG, tag.clone());
            return self.finish(unchanged, None);
        }
        let mut served = self.serve(req, below).await;
        if let Some(tag) = tag
            && served.status().is_success()
        {
            served.headers_mut().insert(header::ETAG, tag);
        }
        self.finish(served, Some(&file))
    }

    fn not_found(&self, below: &str) -> HttpResponse {
        let message = format!("no file at {}{}", self.prefix, below);
        self.finish(response::error(StatusCode::NOT_FOUND, &message, None), None)
    }

    /// The answer of `ServeDir` for `below` (the path under this one).
    async fn serve(&self, req: Request<Incoming>, below: &str) -> HttpResponse {
        let (mut head, body) = req.into_parts();
        let query = head
            .uri
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        head.uri = format!("{below}{query}").parse::<Uri>().unwrap_or_default();
        let served: Result<Response<_>, Infallible> = self
            .files
            .clone()
            .oneshot(Request::from_parts(head, body))
            .await;
        let Ok(served) = served;
        served.map(|body| body.map_err(std::io::Error::other).boxed_unsync())
    }

    /// The headers every answer of this path gets: the content type `mime_types` gives the
    /// file served, caching, CORS.
    fn finish(&self, mut response: HttpResponse, file: Option<&Path>) -> HttpResponse {
        if let Some(content_type) = file.and_then(|file| self.content_type(file))
            && response.status().is_success()
            && let Ok(value) = HeaderValue::from_str(&content_type)
        {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        let fresh = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
        if let Some(seconds) = self.service.cache_timeout.filter(|_| fresh) {
            cache_headers(response.headers_mut(), seconds);
        }
        if self.service.allow_cross_origin {
            response.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
        response
    }

    /// What `mime_types` (or Crossbar's additions) say for `file`; `None`: ServeDir's guess.
    fn content_type(&self, file: &Path) -> Option<String> {
        configured_content_type(&self.service.mime_types, file.file_name()?.to_str()?)
    }
}

/// What `mime_types` (or Crossbar's additions) say for a file called `name`: the longest
/// suffix that has an entry wins (`.min.js` before `.js`). `None`: nothing configured.
pub(crate) fn configured_content_type(
    mime_types: &std::collections::BTreeMap<String, String>,
    name: &str,
) -> Option<String> {
    let name = name.to_ascii_lowercase();
    name.match_indices('.').find_map(|(at, _)| {
        let suffix = &name[at..];
        mime_types.get(suffix).cloned().or_else(|| {
            EXTRA_MIME_TYPES
                .iter()
                .find(|(known, _)| *known == suffix)
                .map(|(_, content_type)| content_type.to_string())
        })
    })
}

/// The file or directory `below` names inside `root`, or `None` when it would leave it: a
/// `..` (written or percent-encoded), a backslash or NUL, or a symbolic link whose target is
/// outside. A path that does not exist is returned as it is (nothing can be served from it).
fn resolve(root: &Path, below: &str) -> Option<PathBuf> {
    let decoded = percent_decode_str(below).decode_utf8().ok()?;
    if decoded.contains('\\') || decoded.contains('\0') {
        return None;
    }
    let mut path = root.to_path_buf();
    for part in decoded.split('/').filter(|p| !p.is_empty() && *p != ".") {
        match Path::new(part).components().next() {
            Some(Component::Normal(_)) => path.push(part),
            _ => return None,
        }
    }
    match path.canonicalize() {
        Ok(real) => real.starts_with(root).then_some(path),
        Err(_) => Some(path),
    }
}

/// A weak validator of `file`: its size and modification time.
fn etag(file: &Path) -> Option<HeaderValue> {
    let metadata = std::fs::metadata(file).ok()?;
    let modified = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    HeaderValue::from_str(&format!(
        "W/\"{:x}-{:x}\"",
        metadata.len(),
        modified.as_nanos()
    ))
    .ok()
}

/// Whether `If-None-Match` names `tag` (weak comparison, RFC 9110 13.1.2) or is `*`.
pub(crate) fn if_none_match(headers: &hyper::HeaderMap, tag: &HeaderValue) -> bool {
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let Ok(ours) = tag.to_str() else {
        return false;
    };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|candidate| candidate.trim() == "*" || weak(candidate) == weak(ours))
}

/// `Cache-Control: max-age=N, public` and the matching `Expires`, as Crossbar sends them.
pub(crate) fn cache_headers(headers: &mut hyper::HeaderMap, seconds: u64) {
    if let Ok(value) = HeaderValue::from_str(&format!("max-age={seconds}, public")) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    let expires = jiff::Timestamp::now()
        .checked_add(Duration::from_secs(seconds.min(10 * 365 * 24 * 3600)))
        .ok()
        .map(|at| at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string());
    if let Some(value) = expires.and_then(|e| HeaderValue::from_str(&e).ok()) {
        headers.insert(header::EXPIRES, value);
    }
}

/// An HTML list of `directory`'s entries (names escaped), directories first.
fn listing(directory: &Path, request_path: &str) -> HttpResponse {
    let mut entries: Vec<(bool, String)> = std::fs::read_dir(directory)
        .map(|read| {
            read.filter_map(|entry| entry.ok())
                .filter_map(|entry| {
                    let is_dir = entry.file_type().ok()?.is_dir();
                    Some((!is_dir, entry.file_name().to_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    let base = if request_path.ends_with('/') {
        request_path.to_string()
    } else {
        format!("{request_path}/")
    };
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title></head>\
         <body><h1>{0}</h1><ul>\n",
        escape(&base)
    );
    for (is_file, name) in entries {
        let slash = if is_file { "" } else { "/" };
        let href = percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC);
        html.push_str(&format!(
            "<li><a href=\"{}{href}{slash}\">{}{slash}</a></li>\n",
            escape(&base),
            escape(&name)
        ));
    }
    html.push_str("</ul></body></html>\n");
    let mut answer = Response::new(response::full(Bytes::from(html)));
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    answer
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
