//! An `archive` path: a web app served from a ZIP file, as Crossbar's `archive` web service
//! serves one (typically autobahn.js fetched from GitHub beside the app). The options are
//! Crossbar's; `archive` is resolved against the config file's folder and, when it is there,
//! opened now (a file that is not a ZIP, or that matches none of `hashes`, is an error naming
//! the key). A missing file is fine only with `origin` and `download: true`: it is fetched when
//! the node starts (`http/archive_download.rs`).

use std::io::{Cursor, Read};
use std::path::{Component, Path};

use sha2::{Digest, Sha256};
use zip::ZipArchive;

use crate::config::loader::Loader;
use crate::config::model::{ArchiveService, PathService};
use crate::config::node::{Node, Obj, Result};
use crate::config::static_path::load_mime_types;

/// The largest archive file Junction reads or downloads: 256 MiB (a web app, not a data set).
pub const MAX_ARCHIVE_BYTES: u64 = 256 * 1024 * 1024;

/// The `archive` path at `obj` (its `type` checked by the caller).
pub(super) fn load_archive_path(obj: &Obj, cx: &mut Loader) -> Result<PathService> {
    obj.keys(
        &[
            "type",
            "archive",
            "origin",
            "download",
            "cache",
            "object_prefix",
            "default_object",
            "mime_types",
            "hashes",
            "options",
        ],
        &["id", "debug"],
        &mut cx.ignored,
    )?;
    let archive = obj.required("archive")?;
    let written = archive.non_empty_str()?;
    let mut service = ArchiveService {
        file: cx.folder.join(written),
        download_from: None,
        cache: obj.opt_bool("cache")?.unwrap_or(false),
        object_prefix: String::new(),
        default_object: obj.opt("default_object", member_name)?,
        default_file: None,
        mime_types: Default::default(),
        hashes: Vec::new(),
    };
    if let Some(prefix) = obj.get("object_prefix") {
        let trimmed = prefix.str()?.trim_matches('/');
        if !trimmed.is_empty() && !inside(trimmed) {
            return Err(prefix.error(format!(
                "\"{trimmed}\" must name a folder inside the archive (no \"..\")"
            )));
        }
        service.object_prefix = trimmed.to_string();
    }
    if let Some(types) = obj.get("mime_types") {
        service.mime_types = load_mime_types(&types)?;
    }
    if let Some(hashes) = obj.get("hashes") {
        for hash in hashes.array()? {
            let hex = hash.str()?.to_ascii_lowercase();
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(hash.error("a SHA-256 digest is 64 hexadecimal digits"));
            }
            service.hashes.push(hex);
        }
    }
    if let Some(options) = obj.get("options") {
        let options = options.object()?;
        options.only(&["default_file"])?;
        service.default_file = options.opt("default_file", member_name)?;
    }
    let origin = obj.opt("origin", origin_url)?;
    let download = obj.opt_bool("download")?.unwrap_or(false);
    if service.file.is_file() {
        open_archive(&service.file, &service.hashes).map_err(|e| archive.error(e))?;
    } else if service.file.exists() {
        return Err(archive.error(format!("{} is not a file", service.file.display())));
    } else {
        match (origin, download) {
            (Some(url), true) => service.download_from = Some(url),
            (Some(_), false) => {
                return Err(archive.error(format!(
                    "no file at {} (set \"download\": true to fetch it from \"origin\" at start)",
                    service.file.display()
                )));
            }
            (None, _) => {
                return Err(archive.error(format!(
                    "no file at {} (resolved against the config file's folder; or give \
                     \"origin\" and \"download\": true to fetch it at start)",
                    service.file.display()
                )));
            }
        }
    }
    Ok(PathService::Archive(service))
}

/// A member name: relative, without `..` (it is looked up inside the archive).
fn member_name(node: &Node) -> Result<String> {
    let name = node.non_empty_str()?;
    if !inside(name) {
        return Err(node.error(format!(
            "\"{name}\" must name a file inside the archive (no \"..\", no absolute path)"
        )));
    }
    Ok(name.to_string())
}

/// Whether `name` is relative and has no `..` (nor a backslash, which some archivers write
/// for `/`).
fn inside(name: &str) -> bool {
    !name.contains('\\')
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn origin_url(node: &Node) -> Result<String> {
    let written = node.non_empty_str()?;
    match url::Url::parse(written) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(written.to_string()),
        _ => Err(node.error(format!("\"{written}\" is not an http or https URL"))),
    }
}

/// The ZIP archive in `file`, read whole into memory; its SHA-256 must be one of `hashes`
/// (when any). Errors say what is wrong with the file.
pub fn open_archive(
    file: &Path,
    hashes: &[String],
) -> std::result::Result<ZipArchive<Cursor<Vec<u8>>>, String> {
    let opened =
        std::fs::File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let mut bytes = Vec::new();
    opened
        .take(MAX_ARCHIVE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if bytes.len() as u64 > MAX_ARCHIVE_BYTES {
        return Err(format!(
            "{} is larger than {MAX_ARCHIVE_BYTES} bytes",
            file.display()
        ));
    }
    if !hashes.is_empty() {
        let digest = hex::encode(Sha256::digest(&bytes));
        if !hashes.contains(&digest) {
            return Err(format!(
                "{}: its SHA-256 is {digest}, which is not one of \"hashes\"",
                file.display()
            ));
        }
    }
    ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("{} is not a ZIP archive: {e}", file.display()))
}
