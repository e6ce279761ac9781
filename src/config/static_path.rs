//! A `static` path: files from a directory, as Crossbar's `static` web service serves the
//! browser app beside `/ws`. `directory` is resolved against the config file's folder and must
//! be a directory now; `package`/`resource` (Python package data) cannot be served by a Rust
//! binary, so they are refused with the directory form to write instead.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::endpoint::path_text;
use crate::config::loader::Loader;
use crate::config::model::{PathService, StaticService};
use crate::config::node::{Node, Obj, Result};

/// Crossbar's default `cache_timeout`: 12 hours.
pub const DEFAULT_CACHE_TIMEOUT: u64 = 12 * 60 * 60;

/// The `static` path at `obj` (its `type` checked by the caller).
pub(super) fn load_static_path(obj: &Obj, cx: &mut Loader) -> Result<PathService> {
    if obj.has("package") || obj.has("resource") {
        let key = if obj.has("package") {
            "package"
        } else {
            "resource"
        };
        return Err(obj.key_error(
            key,
            "Python package data (package/resource) cannot be served by Junction: copy the \
             files to a folder and write \"directory\": \"<that folder, relative to this \
             config file>\"",
        ));
    }
    obj.keys(
        &["type", "directory", "options"],
        &["debug"],
        &mut cx.ignored,
    )?;
    let node = obj.required("directory")?;
    let written = path_text(&node, cx)?;
    if written.is_empty() {
        return Err(node.error("expected a folder, found an empty string"));
    }
    let directory = cx.folder.join(written);
    // A missing folder is not an error: Crossbar starts with it and answers 404, and so does
    // Junction (`junction check` warns). Absolute and without `..` when it exists, so the
    // served root is fixed whatever the working directory.
    let directory = match directory.canonicalize() {
        Ok(real) if real.is_dir() => real,
        _ => std::path::absolute(&directory).unwrap_or(directory),
    };
    let mut service = StaticService {
        directory,
        directory_listing: false,
        mime_types: BTreeMap::new(),
        cache_timeout: Some(DEFAULT_CACHE_TIMEOUT),
        default_file: None,
        allow_cross_origin: true,
    };
    if let Some(options) = obj.get("options") {
        load_options(&options, &mut service, cx)?;
    }
    Ok(PathService::Static(service))
}

fn load_options(node: &Node, service: &mut StaticService, cx: &mut Loader) -> Result<()> {
    let options = node.object()?;
    options.keys(
        &[
            "enable_directory_listing",
            "mime_types",
            "cache_timeout",
            "default_file",
            "allow_cross_origin",
        ],
        &[],
        &mut cx.ignored,
    )?;
    if let Some(listing) = options.opt_bool("enable_directory_listing")? {
        service.directory_listing = listing;
    }
    if let Some(allow) = options.opt_bool("allow_cross_origin")? {
        service.allow_cross_origin = allow;
    }
    if let Some(timeout) = options.get("cache_timeout") {
        service.cache_timeout = if timeout.value.is_null() {
            None
        } else {
            Some(timeout.u64()?).filter(|seconds| *seconds > 0)
        };
    }
    if let Some(file) = options.get("default_file") {
        let name = file.non_empty_str()?;
        if Path::new(name)
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(file.error(format!(
                "\"{name}\" must name a file inside the directory (no \"..\", no absolute path)"
            )));
        }
        service.default_file = Some(name.to_string());
    }
    if let Some(types) = options.get("mime_types") {
        service.mime_types = load_mime_types(&types)?;
    }
    Ok(())
}

/// `mime_types`: extension (with its dot, e.g. `".svg"` or `".min.js"`) -> content type; the
/// keys lowercased (shared with `archive` paths).
pub(super) fn load_mime_types(node: &Node) -> Result<BTreeMap<String, String>> {
    let mut types = BTreeMap::new();
    for (extension, content_type) in node.object()?.entries() {
        if !extension.starts_with('.') || extension.len() < 2 {
            return Err(content_type.error(format!(
                "\"{extension}\" is not a file extension (write it with its dot: \".svg\")"
            )));
        }
        let value = content_type.non_empty_str()?;
        if value.parse::<mime::Mime>().is_err() {
            return Err(content_type.error(format!("\"{value}\" is not a content type")));
        }
        types.insert(extension.to_ascii_lowercase(), value.to_string());
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use crate::config::load::{load_str_with_env, testing::*};
    use crate::config::model::{PathService, TransportKind};

    fn static_path(fields: &str) -> String {
        web_worker(REALM1, &format!(r#""/": {{"type": "static"{fields}}}"#))
    }

    fn load(json: &str) -> Result<crate::config::Config, String> {
        load_str_with_env(json, &|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn a_directory_is_resolved_and_options_are_read() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::create_dir(folder.path().join("web")).unwrap();
        let json = static_path(&format!(
            r#", "directory": "{}", "options": {{"enable_directory_listing": true,
                "mime_types": {{".JGZ": "text/javascript"}}, "cache_timeout": null,
                "default_file": "index.html"}}"#,
            folder.path().join("web").display()
        ));
        let config = load(&json).unwrap();
        let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
            panic!("a web transport");
        };
        let PathService::Static(files) = &paths["/"] else {
            panic!("a static path");
        };
        assert!(files.directory.is_absolute());
        assert!(files.directory_listing);
        assert_eq!(files.mime_types[".jgz"], "text/javascript");
        assert_eq!(files.cache_timeout, None);
        assert_eq!(files.default_file.as_deref(), Some("index.html"));
        assert!(files.allow_cross_origin);
    }

    #[test]
    fn errors_name_the_key_and_say_what_to_write() {
        let p = "workers[0].transports[0].paths./";
        let package = load(&static_path(r#", "package": "app", "resource": "web""#)).unwrap_err();
        assert!(
            package.starts_with(&format!("{p}.package: Python package data")),
            "{package}"
        );
        assert!(package.contains("\"directory\""), "{package}");
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path().display();
        let bad_type = load(&static_path(&format!(
            r#", "directory": "{dir}", "options": {{"mime_types": {{"svg": "image/svg+xml"}}}}"#
        )))
        .unwrap_err();
        assert!(bad_type.contains("write it with its dot"), "{bad_type}");
        let escape = load(&static_path(&format!(
            r#", "directory": "{dir}", "options": {{"default_file": "../x.html"}}"#
        )))
        .unwrap_err();
        assert!(escape.contains("no \"..\""), "{escape}");
        let unknown = load(&static_path(&format!(
            r#", "directory": "{dir}", "options": {{"listing": true}}"#
        )))
        .unwrap_err();
        assert!(unknown.contains("unknown key"), "{unknown}");
    }

    /// `$VAR` and `${VAR}` (the whole string, as Crossbar reads them) in path-like strings:
    /// a static directory, TLS files, a Unix socket path.
    #[test]
    fn environment_variables_in_paths() {
        let dir = tempfile::tempdir().unwrap();
        let web = dir.path().join("web");
        std::fs::create_dir(&web).unwrap();
        let certificate = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/fixtures/tls/server.crt");
        let key = certificate.with_file_name("server.key");
        let socket = dir.path().join("junction.sock");
        let vars = [
            ("WEB_DIR", web.display().to_string()),
            ("CERT", certificate.display().to_string()),
            ("KEY", key.display().to_string()),
            ("SOCK", socket.display().to_string()),
        ];
        let env = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        };
        let json = worker(
            REALM1,
            r#"{"type": "web", "endpoint": {"type": "tcp", "port": 8443,
                   "tls": {"certificate": "$CERT", "key": "${KEY}"}},
                "paths": {"/": {"type": "static", "directory": "${WEB_DIR}"}}},
               {"type": "rawsocket", "endpoint": {"type": "unix", "path": "$SOCK"}}"#,
        );
        let config = load_str_with_env(&json, &env).unwrap();
        let transports = &config.workers[0].transports;
        let TransportKind::Web { paths, .. } = &transports[0].kind else {
            panic!("a web transport");
        };
        let PathService::Static(files) = &paths["/"] else {
            panic!("a static path");
        };
        assert_eq!(files.directory, web.canonicalize().unwrap());
        assert_eq!(
            transports[0].endpoint.tls().unwrap().certificate,
            certificate
        );
        assert_eq!(transports[0].endpoint.tls().unwrap().key, key);
        let crate::config::Endpoint::Unix(unix) = &transports[1].endpoint else {
            panic!("a unix endpoint");
        };
        assert_eq!(unix.path, socket);

        let unset = load_str_with_env(&json, &|_| None).unwrap_err().to_string();
        assert_eq!(
            unset,
            "workers[0].transports[0].paths./.directory: environment variable WEB_DIR is not set"
        );
    }
}
