//! An `archive` path: files served from a ZIP archive.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// `{"type": "archive", "archive", "origin", "download", "cache", "object_prefix",
/// "default_object", "mime_types", "hashes", "options": {"default_file"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveService {
    /// `archive`: the ZIP file, made absolute against the config file's folder.
    pub file: PathBuf,
    /// `origin` with `download: true`: where to fetch the archive at start when the file is
    /// missing (http or https). `None`: the file must be there.
    pub download_from: Option<String>,
    /// `cache` (default false): answers carry `Cache-Control` and `Expires` as a `static`
    /// path's do (12 hours); without it only the ETag lets a browser revalidate.
    pub cache: bool,
    /// `object_prefix`: the folder inside the archive the path's root maps to (no slashes at
    /// either end; empty: the archive's root).
    pub object_prefix: String,
    /// `default_object`: the member served for `/` and any path ending in `/`.
    pub default_object: Option<String>,
    /// `options.default_file`: the member served for any path that names no member.
    pub default_file: Option<String>,
    /// `mime_types`: suffix (with its dot) -> content type, over the built-in table.
    pub mime_types: BTreeMap<String, String>,
    /// `hashes`: SHA-256 digests (lowercase hex) the archive file must match one of; empty:
    /// not verified.
    pub hashes: Vec<String>,
}
