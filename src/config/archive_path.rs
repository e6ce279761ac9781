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

use crate::config::endpoint::path_text;
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
    let written = path_text(&archive, cx)?;
    if written.is_empty() {
        return Err(archive.error("expected a file name, found an empty string"));
    }
    let mut service = ArchiveService {
        file: cx.folder.join(&written),
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use sha2::{Digest, Sha256};

    use crate::config::load::{load_str_with_env, testing::*};
    use crate::config::model::{PathService, TransportKind};
    use crate::config::path_headline;

    const P: &str = "workers[0].transports[0].paths.x";

    fn load(fields: &str) -> Result<crate::config::Config, String> {
        let json = web_worker(REALM1, &format!(r#""x": {{"type": "archive"{fields}}}"#));
        load_str_with_env(&json, &|_| None).map_err(|e| e.to_string())
    }

    fn zip_file(dir: &std::path::Path) -> (String, String) {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        writer
            .start_file("a.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(b"a").unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        let file = dir.join("site.zip");
        std::fs::write(&file, &bytes).unwrap();
        let hash = hex::encode(Sha256::digest(&bytes));
        (file.display().to_string(), hash)
    }

    fn archive(config: &crate::config::Config) -> &crate::config::ArchiveService {
        let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
            panic!("a web transport");
        };
        let PathService::Archive(archive) = &paths["/x"] else {
            panic!("an archive path");
        };
        archive
    }

    #[test]
    fn options_are_read_and_summarised() {
        let dir = tempfile::tempdir().unwrap();
        let (file, hash) = zip_file(dir.path());
        let config = load(&format!(
            r#", "archive": "{file}", "cache": true, "object_prefix": "/pkg/",
                "default_object": "index.html", "mime_types": {{".MIN.js": "text/javascript"}},
                "hashes": ["{}"], "options": {{"default_file": "app.html"}}, "id": "a""#,
            hash.to_uppercase()
        ))
        .unwrap();
        let service = archive(&config);
        assert!(service.cache);
        assert_eq!(service.object_prefix, "pkg");
        assert_eq!(service.default_object.as_deref(), Some("index.html"));
        assert_eq!(service.default_file.as_deref(), Some("app.html"));
        assert_eq!(service.mime_types[".min.js"], "text/javascript");
        assert_eq!(service.hashes, vec![hash]);
        assert_eq!(service.download_from, None);
        assert_eq!(
            path_headline("/x", &PathService::Archive(service.clone())),
            format!(
                "/x: files from ZIP archive {file} (prefix pkg/, default object index.html, \
                 default file app.html, SHA-256 one of 1, cache 43200 s)"
            )
        );

        let missing = dir.path().join("later.zip").display().to_string();
        let config = load(&format!(
            r#", "archive": "{missing}", "origin": "https://example.com/a.zip", "download": true"#
        ))
        .unwrap();
        let service = archive(&config);
        assert_eq!(
            service.download_from.as_deref(),
            Some("https://example.com/a.zip")
        );
        assert!(
            path_headline("/x", &PathService::Archive(service.clone())).contains(
                "missing: downloaded from https://example.com/a.zip at start, no caching"
            )
        );
    }

    #[test]
    fn errors_name_the_key_and_say_what_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let (file, _) = zip_file(dir.path());
        let not_zip = dir.path().join("not.zip");
        std::fs::write(&not_zip, "plain text").unwrap();
        let missing = dir.path().join("missing.zip").display().to_string();
        let cases = [
            (
                String::new(),
                format!("{P}.archive: required key is missing"),
            ),
            (
                format!(r#", "archive": "{}""#, not_zip.display()),
                format!("{P}.archive: {} is not a ZIP archive", not_zip.display()),
            ),
            (
                format!(r#", "archive": "{}""#, dir.path().display()),
                format!("{P}.archive: {} is not a file", dir.path().display()),
            ),
            (
                format!(r#", "archive": "{missing}""#),
                format!("{P}.archive: no file at {missing} (resolved against"),
            ),
            (
                format!(r#", "archive": "{missing}", "origin": "https://example.com/a.zip""#),
                format!("{P}.archive: no file at {missing} (set \"download\": true"),
            ),
            (
                format!(r#", "archive": "{missing}", "origin": "ftp://x/a.zip", "download": true"#),
                format!("{P}.origin: \"ftp://x/a.zip\" is not an http or https URL"),
            ),
            (
                format!(r#", "archive": "{file}", "hashes": ["{}"]"#, "0".repeat(64)),
                format!("{P}.archive: {file}: its SHA-256 is"),
            ),
            (
                format!(r#", "archive": "{file}", "hashes": ["abc"]"#),
                format!("{P}.hashes[0]: a SHA-256 digest is 64 hexadecimal digits"),
            ),
            (
                format!(r#", "archive": "{file}", "default_object": "../x.html""#),
                format!("{P}.default_object: \"../x.html\" must name a file inside"),
            ),
            (
                format!(r#", "archive": "{file}", "object_prefix": "a/../.." "#),
                format!("{P}.object_prefix: \"a/../..\" must name a folder inside"),
            ),
            (
                format!(r#", "archive": "{file}", "mime_types": {{"js": "text/javascript"}}"#),
                format!("{P}.mime_types.js: \"js\" is not a file extension"),
            ),
            (
                format!(r#", "archive": "{file}", "options": {{"listing": true}}"#),
                format!("{P}.options.listing: unknown key"),
            ),
            (
                format!(r#", "archive": "{file}", "compress": true"#),
                format!("{P}.compress: unknown key"),
            ),
        ];
        for (fields, expected) in cases {
            let error = load(&fields).unwrap_err();
            assert!(
                error.starts_with(&expected),
                "{error}\nexpected: {expected}"
            );
        }
    }
}
