//! The `upload` path's model: Crossbar's file upload service (the server side of resumable.js),
//! with its form field names and options, loaded by `config/upload.rs`.

use std::path::PathBuf;

/// `{"type": "upload", "realm", "role", "directory", "temp_directory", "form_fields",
/// "options": {"max_file_size", "file_types", "file_permissions"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadService {
    /// Progress events are published by an internal session of this realm and role.
    pub realm: String,
    pub role: String,
    /// Where whole files go: absolute, resolved against the config file's folder.
    pub directory: PathBuf,
    /// Where the chunks of unfinished uploads wait (a folder per file). `None`: a
    /// `junction-uploads` folder in the system's temporary folder, made at start.
    pub temp_directory: Option<PathBuf>,
    pub form_fields: UploadFormFields,
    /// `max_file_size`: the largest whole file, in bytes (default 10 MiB, as Crossbar).
    pub max_file_size: u64,
    /// `file_types`: the extensions allowed, with their dot, lower case (`None`: any).
    pub file_types: Option<Vec<String>>,
    /// `file_permissions` (`"0644"` in the file): the mode of each whole file.
    pub file_permissions: Option<u32>,
    /// Junction: `max_pending_uploads` (default 100): unfinished uploads (chunk folders) at
    /// once; a new one past it is refused with 503.
    pub max_pending_uploads: usize,
    /// Junction: `pending_upload_timeout` (s, default 86400): an unfinished upload that got no
    /// chunk for this long is dropped.
    pub pending_upload_timeout: std::time::Duration,
}

/// The names of the multipart fields (and GET query parameters) a client sends, by meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadFormFields {
    pub file_name: String,
    pub mime_type: String,
    pub total_size: String,
    pub chunk_number: String,
    pub chunk_size: String,
    pub total_chunks: String,
    /// The field holding the chunk's bytes.
    pub content: String,
    /// The field holding the topic to publish progress to (no field, or no value: none).
    pub on_progress: Option<String>,
    /// The field holding the one session id the progress events are for (`eligible`).
    pub session: Option<String>,
    /// Fields holding JSON passed along in each progress event and in the finished event.
    pub chunk_extra: Option<String>,
    pub finish_extra: Option<String>,
}
