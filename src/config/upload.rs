//! An `upload` path: Crossbar's file upload service (chunked multipart POSTs from resumable.js,
//! progress events to a topic). `directory` and `temp_directory` are resolved against the config
//! file's folder; `directory` must exist, `temp_directory` is made at start if its parent
//! exists; `form_fields` names the fields by meaning; the options bound what may be uploaded.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::bridge::realm_and_role;
use crate::config::endpoint::path_text;
use crate::config::loader::Loader;
use crate::config::model::{PathService, UploadFormFields, UploadService};
use crate::config::node::{Node, Obj, Result};

/// `max_file_size` when absent: 10 MiB, Crossbar's default.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// The `upload` path at `obj` (its `type` checked by the caller).
pub(super) fn load_upload_path(obj: &Obj, cx: &mut Loader) -> Result<PathService> {
    obj.keys(
        &[
            "type",
            "realm",
            "role",
            "directory",
            "temp_directory",
            "form_fields",
            "options",
        ],
        &["debug"],
        &mut cx.ignored,
    )?;
    let (realm, role) = realm_and_role(obj, cx)?;
    let directory = folder(&obj.required("directory")?, cx)?;
    let temp_directory = obj.opt("temp_directory", |node| scratch_folder(node, cx))?;
    if temp_directory.as_ref() == Some(&directory) {
        return Err(obj.key_error(
            "temp_directory",
            "must not be the upload directory (it holds a folder of chunks per unfinished file)",
        ));
    }
    let form_fields = load_form_fields(&obj.required("form_fields")?)?;
    let mut service = UploadService {
        realm: realm.name,
        role,
        directory,
        temp_directory,
        form_fields,
        max_file_size: DEFAULT_MAX_FILE_SIZE,
        file_types: None,
        file_permissions: None,
        max_pending_uploads: 100,
        pending_upload_timeout: std::time::Duration::from_secs(86_400),
    };
    if let Some(options) = obj.get("options") {
        let options = options.object()?;
        options.only(&[
            "max_file_size",
            "file_types",
            "file_permissions",
            "max_pending_uploads",
            "pending_upload_timeout",
        ])?;
        if let Some(n) = options.opt("max_pending_uploads", |n| n.u64_min(1))? {
            service.max_pending_uploads = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(s) = options.opt("pending_upload_timeout", |n| n.u64_min(1))? {
            service.pending_upload_timeout = std::time::Duration::from_secs(s);
        }
        if let Some(size) = options.opt_u64("max_file_size")? {
            service.max_file_size = size;
        }
        service.file_types = options.opt("file_types", file_types)?;
        service.file_permissions = options.opt("file_permissions", permissions)?;
    }
    Ok(PathService::Upload(service))
}

/// A folder that exists, made absolute (so the running node does not depend on its working
/// directory).
fn folder(node: &Node, cx: &Loader) -> Result<PathBuf> {
    let written = path_text(node, cx)?;
    if written.is_empty() {
        return Err(node.error("expected a folder, found an empty string"));
    }
    let path = cx.folder.join(&written);
    if !path.is_dir() {
        return Err(node.error(format!(
            "\"{written}\" is not a directory (resolved against the config file's folder: {})",
            path.display()
        )));
    }
    path.canonicalize()
        .map_err(|e| node.error(format!("cannot open directory {}: {e}", path.display())))
}

/// A folder that exists, or whose parent exists: it holds only scratch files, so it is made at
/// start (Crossbar's fileupload example names one that its repository does not have).
fn scratch_folder(node: &Node, cx: &Loader) -> Result<PathBuf> {
    let written = node.non_empty_str()?;
    let path = cx.folder.join(written);
    if path.exists() {
        return folder(node, cx);
    }
    // Made absolute through its parent, without `..`: the folder start makes is the one shown.
    let parent = path.parent().and_then(|p| p.canonicalize().ok());
    match (parent, path.file_name()) {
        (Some(parent), Some(name)) => Ok(parent.join(name)),
        _ => Err(node.error(format!(
            "\"{written}\" is not a directory, nor in one (resolved against the config file's \
             folder: {})",
            path.display()
        ))),
    }
}

fn load_form_fields(node: &Node) -> Result<UploadFormFields> {
    let obj = node.object()?;
    obj.only(&[
        "file_name",
        "mime_type",
        "total_size",
        "chunk_number",
        "chunk_size",
        "total_chunks",
        "content",
        "on_progress",
        "session",
        "chunk_extra",
        "finish_extra",
    ])?;
    // Two meanings in one field would make every request ambiguous.
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (key, value) in obj.entries() {
        let name = value.non_empty_str()?;
        if let Some(first) = seen.insert(name, key) {
            return Err(value.error(format!("field name \"{name}\" is also used for {first}")));
        }
    }
    let required = |key: &str| -> Result<String> { Ok(obj.required(key)?.str()?.to_owned()) };
    let optional =
        |key: &str| -> Result<Option<String>> { Ok(obj.opt_str(key)?.map(str::to_owned)) };
    Ok(UploadFormFields {
        file_name: required("file_name")?,
        mime_type: required("mime_type")?,
        total_size: required("total_size")?,
        chunk_number: required("chunk_number")?,
        chunk_size: required("chunk_size")?,
        total_chunks: required("total_chunks")?,
        content: required("content")?,
        on_progress: optional("on_progress")?,
        session: optional("session")?,
        chunk_extra: optional("chunk_extra")?,
        finish_extra: optional("finish_extra")?,
    })
}

/// `[".csv", ".txt"]`: extensions with their dot, compared without regard to case.
fn file_types(node: &Node) -> Result<Vec<String>> {
    node.array()?
        .iter()
        .map(|item| {
            let text = item.non_empty_str()?;
            if !text.starts_with('.') || text.len() < 2 || text[1..].contains(['.', '/', '\\']) {
                return Err(item.error(format!(
                    "\"{text}\" is not a file extension (write it with its dot: \".csv\")"
                )));
            }
            Ok(text.to_ascii_lowercase())
        })
        .collect()
}

/// `"0644"`: an octal file mode, as chmod takes it.
fn permissions(node: &Node) -> Result<u32> {
    let text = node.non_empty_str()?;
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|mode| *mode <= 0o7777)
        .ok_or_else(|| {
            node.error(format!(
                "\"{text}\" is not an octal file mode (e.g. \"0644\")"
            ))
        })
}

#[cfg(test)]
mod tests {
    use crate::config::load::{load_str_with_env, testing::*};
    use crate::config::model::{PathService, TransportKind, UploadService};

    const FIELDS: &str = r#""form_fields": {"file_name": "resumableFilename",
        "mime_type": "resumableType", "total_size": "resumableTotalSize",
        "chunk_number": "resumableChunkNumber", "chunk_size": "resumableChunkSize",
        "total_chunks": "resumableTotalChunks", "content": "file", "on_progress": "on_progress"}"#;

    fn upload(rest: &str) -> String {
        web_worker(
            REALM1,
            &format!(
                r#""upload": {{"type": "upload", "realm": "realm1", "role": "anonymous"{rest}}}"#
            ),
        )
    }

    fn load(json: &str) -> Result<UploadService, String> {
        let config = load_str_with_env(json, &|_| None).map_err(|e| e.to_string())?;
        let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
            panic!("a web transport");
        };
        match &paths["/upload"] {
            PathService::Upload(service) => Ok(service.clone()),
            other => panic!("an upload path, got {other:?}"),
        }
    }

    #[test]
    fn folders_fields_and_options_are_read() {
        let folder = tempfile::tempdir().unwrap();
        let (dir, temp) = (folder.path().join("up"), folder.path().join("tmp"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::create_dir(&temp).unwrap();
        let service = load(&upload(&format!(
            r#", "directory": "{}", "temp_directory": "{}", {FIELDS},
               "options": {{"max_file_size": 2048, "file_types": [".CSV", ".txt"],
                            "file_permissions": "0640"}}"#,
            dir.display(),
            temp.display()
        )))
        .unwrap();
        assert_eq!(service.directory, dir.canonicalize().unwrap());
        assert_eq!(service.temp_directory, Some(temp.canonicalize().unwrap()));
        assert_eq!(service.form_fields.content, "file");
        assert_eq!(
            service.form_fields.on_progress.as_deref(),
            Some("on_progress")
        );
        assert_eq!(service.form_fields.session, None);
        assert_eq!(service.max_file_size, 2048);
        assert_eq!(service.file_types, Some(vec![".csv".into(), ".txt".into()]));
        assert_eq!(service.file_permissions, Some(0o640));

        let later = load(&upload(&format!(
            r#", "directory": "{}", "temp_directory": "{}", {FIELDS}"#,
            dir.display(),
            dir.join("tmp").display()
        )))
        .unwrap();
        assert_eq!(later.temp_directory, Some(dir.join("tmp")), "made at start");
        let headline = crate::config::path_headline("/upload", &PathService::Upload(later));
        assert!(
            headline.starts_with(&format!(
                "/upload: upload to {} (realm realm1",
                dir.display()
            )),
            "{headline}"
        );

        let defaults = load(&upload(&format!(
            r#", "directory": "{}", {FIELDS}"#,
            dir.display()
        )))
        .unwrap();
        assert_eq!(defaults.temp_directory, None);
        assert_eq!(defaults.max_file_size, super::DEFAULT_MAX_FILE_SIZE);
        assert_eq!(
            (defaults.file_types, defaults.file_permissions),
            (None, None)
        );
    }

    #[test]
    fn errors_name_the_key() {
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path().display();
        let p = "workers[0].transports[0].paths.upload";
        let cases = [
            (
                format!(r#", {FIELDS}"#),
                format!("{p}.directory: required key is missing"),
            ),
            (
                format!(r#", "directory": "no/such", {FIELDS}"#),
                format!("{p}.directory: \"no/such\" is not a directory"),
            ),
            (
                format!(r#", "directory": "{dir}", "temp_directory": "no/such", {FIELDS}"#),
                format!("{p}.temp_directory: \"no/such\" is not a directory, nor in one"),
            ),
            (
                format!(r#", "directory": "{dir}", "temp_directory": "{dir}", {FIELDS}"#),
                format!("{p}.temp_directory: must not be the upload directory"),
            ),
            (
                format!(r#", "directory": "{dir}", "form_fields": {{"file_name": "f"}}"#),
                format!("{p}.form_fields.mime_type: required key is missing"),
            ),
            (
                format!(
                    r#", "directory": "{dir}", "form_fields": {{"file_name": "f", "content": "f"}}"#
                ),
                format!("{p}.form_fields.file_name: field name \"f\" is also used for content"),
            ),
            (
                format!(
                    r#", "directory": "{dir}", {FIELDS}, "options": {{"file_types": ["csv"]}}"#
                ),
                format!("{p}.options.file_types[0]: \"csv\" is not a file extension"),
            ),
            (
                format!(
                    r#", "directory": "{dir}", {FIELDS}, "options": {{"file_permissions": "0999"}}"#
                ),
                format!("{p}.options.file_permissions: \"0999\" is not an octal file mode"),
            ),
            (
                format!(r#", "directory": "{dir}", {FIELDS}, "options": {{"max_file_size": -1}}"#),
                format!("{p}.options.max_file_size:"),
            ),
            (
                format!(r#", "directory": "{dir}", {FIELDS}, "options": {{"chunk": 1}}"#),
                format!("{p}.options.chunk:"),
            ),
        ];
        for (rest, expected) in cases {
            let error = load(&upload(&rest)).unwrap_err();
            assert!(error.starts_with(&expected), "{expected}\n  got: {error}");
        }
        let role = load(
            &web_worker(
                REALM1,
                &format!(r#""upload": {{"type": "upload", "realm": "realm1", "role": "nobody", "directory": "{dir}", {FIELDS}}}"#),
            ),
        )
        .unwrap_err();
        assert!(role.contains("role \"nobody\" is not defined"), "{role}");
    }
}
