//! The `junction check` lines of `archive` and `cgi` paths.

use crate::config::model::{ArchiveService, CgiService};
use crate::config::static_path::DEFAULT_CACHE_TIMEOUT;

pub(super) fn archive_headline(path: &str, archive: &ArchiveService) -> String {
    let mut notes = Vec::new();
    if let Some(url) = &archive.download_from {
        notes.push(format!("missing: downloaded from {url} at start"));
    }
    if !archive.object_prefix.is_empty() {
        notes.push(format!("prefix {}/", archive.object_prefix));
    }
    if let Some(object) = &archive.default_object {
        notes.push(format!("default object {object}"));
    }
    if let Some(file) = &archive.default_file {
        notes.push(format!("default file {file}"));
    }
    if !archive.hashes.is_empty() {
        notes.push(format!("SHA-256 one of {}", archive.hashes.len()));
    }
    notes.push(if archive.cache {
        format!("cache {DEFAULT_CACHE_TIMEOUT} s")
    } else {
        "no caching".to_string()
    });
    format!(
        "{path}: files from ZIP archive {} ({})",
        archive.file.display(),
        notes.join(", ")
    )
}

pub(super) fn cgi_headline(path: &str, cgi: &CgiService) -> String {
    let runner = match &cgi.processor {
        Some(program) => format!("run by {}", program.display()),
        None => "run as programs".to_string(),
    };
    format!(
        "{path}: cgi scripts from {} ({runner}, timeout {} ms, body up to {} bytes)",
        cgi.directory.display(),
        cgi.timeout.as_millis(),
        cgi.post_body_limit
    )
}
