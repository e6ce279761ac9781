//! The `upload` path: Crossbar's file upload service, the server side of resumable.js. A
//! multipart POST carries one chunk of a file with fields naming the file, its size and the
//! chunk (`form_fields` gives their names); the chunk waits in the temp directory and the file
//! is assembled into `directory` when every chunk is in. A GET with the file name and chunk
//! number answers 200 when that chunk is already here, 404 when not (so a client resumes).
//! Progress events go to the topic the client names, in Crossbar's shape, through an internal
//! session with the path's role. Refusals are JSON errors with a 4xx status.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use http_body_util::BodyStream;
use hyper::body::Incoming as Body;
use hyper::header;
use hyper::{Method, Request, StatusCode};
use serde_json::json;

use crate::config::{UploadFormFields, UploadService};
use crate::http::bridge::BODY_DEADLINE;
use crate::http::response::{self, HttpResponse};
use crate::http::upload_chunks::{
    AssembleError, ChunkStore, Incoming, Pending, PutError, check_file_name,
};
use crate::log_text::peer_text;
use crate::log_throttle::{Throttle, and_more};
use crate::router::Router;
use crate::router::internal::InternalPublisher;
use crate::wamp::uri::{self, MatchPolicy};
use crate::wamp::value::{Dict, Value};

const ALLOW: &str = "GET, POST";
/// The largest text field (file name, numbers, extras).
const TEXT_FIELD_LIMIT: u64 = 64 * 1024;
/// Room for the fields and multipart framing around a chunk of `max_file_size` bytes.
const FRAMING_ALLOWANCE: u64 = 1024 * 1024;

static PUBLISH_FAILED: Throttle = Throttle::new();
static STORE_FAILED: Throttle = Throttle::new();

/// A refusal: its status and what to tell the client.
type Refusal = (StatusCode, String);

fn bad(message: impl Into<String>) -> Refusal {
    (StatusCode::BAD_REQUEST, message.into())
}

pub struct UploadPath {
    service: UploadService,
    chunks: ChunkStore,
    publisher: InternalPublisher,
}

/// One POST's fields, checked.
struct Chunk {
    name: String,
    number: u64,
    total_chunks: u64,
    total_size: u64,
    topic: Option<String>,
    session: Option<u64>,
    chunk_extra: Value,
    finish_extra: Value,
}

impl UploadPath {
    pub fn new(path: &str, service: &UploadService, router: &Router) -> Result<Self, String> {
        let realm = router
            .realm(&service.realm)
            .ok_or_else(|| format!("no realm {}", service.realm))?;
        let temp = service
            .temp_directory
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("junction-uploads"));
        let chunks = ChunkStore::open(
            temp.clone(),
            service.directory.clone(),
            service.file_permissions,
            Pending {
                max: service.max_pending_uploads,
                timeout: service.pending_upload_timeout,
            },
        )
        .map_err(|e| format!("temp_directory {}: {e}", temp.display()))?;
        Ok(UploadPath {
            service: service.clone(),
            chunks,
            publisher: InternalPublisher::new(realm, &service.role, &format!("http-upload:{path}")),
        })
    }

    /// Answers without CORS headers, as Crossbar's: only pages of the node's own origin read
    /// the answers (a page elsewhere can still post a form, as to any server).
    pub async fn handle(&self, req: Request<Body>) -> HttpResponse {
        let answer = match *req.method() {
            Method::GET => self.check_chunk(req.uri().query().unwrap_or("")).await,
            Method::POST => self.receive(req).await,
            _ => return response::without_cors(response::method_not_allowed(ALLOW, None)),
        };
        response::without_cors(match answer {
            Ok(body) => response::json(StatusCode::OK, &body, None),
            Err((status, message)) => response::error(status, &message, None),
        })
    }

    /// GET: is chunk `chunk_number` of `file_name` here?
    async fn check_chunk(&self, query: &str) -> Result<serde_json::Value, Refusal> {
        let fields = &self.service.form_fields;
        let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let name = text(&params, &fields.file_name)?;
        check_file_name(name).map_err(bad)?;
        let number = number(&params, &fields.chunk_number)?;
        if self.chunks.has_chunk(name, number).await {
            Ok(json!({"file": name, "chunk": number, "uploaded": true}))
        } else {
            Err((
                StatusCode::NOT_FOUND,
                format!("chunk {number} of {name} is not uploaded yet"),
            ))
        }
    }

    /// POST: one chunk, whose body must arrive within the transport's `body_timeout` (as every
    /// request body); storing it is not bounded by that.
    async fn receive(&self, req: Request<Body>) -> Result<serde_json::Value, Refusal> {
        let read = match BODY_DEADLINE.try_with(|deadline| *deadline) {
            Ok((at, timeout)) => tokio::time::timeout_at(at, self.read(req))
                .await
                .unwrap_or_else(|_| {
                    Err((
                        StatusCode::REQUEST_TIMEOUT,
                        format!(
                            "request body not complete within body_timeout ({} ms)",
                            timeout.as_millis()
                        ),
                    ))
                }),
            Err(_) => self.read(req).await,
        };
        let (chunk, incoming) = read?;
        self.store(&chunk, incoming).await
    }

    /// Reads one chunk's fields and bytes (the bytes into the temp directory) and checks them.
    async fn read(&self, req: Request<Body>) -> Result<(Chunk, Incoming), Refusal> {
        let fields = &self.service.form_fields;
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let boundary = multer::parse_boundary(content_type).map_err(|_| {
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a multipart/form-data body (with a boundary)".to_string(),
            )
        })?;
        let limits = multer::SizeLimit::new()
            .whole_stream(self.service.max_file_size.saturating_add(FRAMING_ALLOWANCE))
            .per_field(TEXT_FIELD_LIMIT)
            .for_field(fields.content.clone(), self.service.max_file_size);
        let stream = BodyStream::new(req.into_body())
            .try_filter_map(|frame| futures_util::future::ready(Ok(frame.into_data().ok())));
        let mut multipart = multer::Multipart::with_constraints(
            stream,
            boundary,
            multer::Constraints::new().size_limit(limits),
        );

        let mut texts = HashMap::new();
        let mut content: Option<Incoming> = None;
        while let Some(mut field) = multipart.next_field().await.map_err(|e| self.refusal(e))? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == fields.content {
                if content.is_some() {
                    return Err(bad(format!("more than one {} field", fields.content)));
                }
                // resumable.js sends the fields first: refuse before storing a byte.
                self.precheck(&texts)?;
                let mut incoming = self.chunks.incoming().await.map_err(store_failed)?;
                while let Some(bytes) = field.chunk().await.map_err(|e| self.refusal(e))? {
                    incoming.write(&bytes).await.map_err(store_failed)?;
                }
                content = Some(incoming);
            } else if is_text_field(fields, &name) {
                let value = field.text().await.map_err(|e| self.refusal(e))?;
                texts.insert(name, value);
            }
            // Other fields (resumable.js also sends resumableIdentifier, ...) are skipped.
        }

        let chunk = self.parse(&texts)?;
        let incoming = content
            .ok_or_else(|| bad(format!("no {} field (the chunk's bytes)", fields.content)))?;
        if incoming.written > chunk.total_size {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "a chunk of {} bytes is larger than the whole file ({} bytes)",
                    incoming.written, chunk.total_size
                ),
            ));
        }
        Ok((chunk, incoming))
    }

    /// Keeps the chunk, reports progress, and assembles the file when every chunk is in.
    async fn store(&self, chunk: &Chunk, incoming: Incoming) -> Result<serde_json::Value, Refusal> {
        let first = match self.chunks.put(&chunk.name, chunk.number, incoming).await {
            Ok(first) => first,
            Err(PutError::TooManyPending(max)) => {
                return Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "{max} uploads are unfinished (max_pending_uploads); finish one or try \
                         again later"
                    ),
                ));
            }
            Err(PutError::Io(e)) => return Err(store_failed(e)),
        };
        if first {
            self.publish(chunk, "started", chunk.total_size, 0.0);
        }
        let (count, received) = self
            .chunks
            .received(&chunk.name, chunk.total_chunks)
            .await
            .map_err(store_failed)?;
        if chunk.total_chunks > 1 {
            let remaining = chunk.total_size.saturating_sub(received);
            self.publish(
                chunk,
                "progress",
                remaining,
                fraction(received, chunk.total_size),
            );
        }
        let mut finished = false;
        if count == chunk.total_chunks {
            match self
                .chunks
                .assemble(&chunk.name, chunk.total_chunks, chunk.total_size)
                .await
            {
                Ok(done) => finished = done,
                Err(AssembleError::Size { received, total }) => {
                    return Err(bad(format!(
                        "the chunks of {} add up to {received} bytes, not the {total} announced; \
                         upload it again",
                        chunk.name
                    )));
                }
                Err(AssembleError::Io(e)) => return Err(store_failed(e)),
            }
            if finished {
                self.publish(chunk, "finished", 0, 1.0);
            }
        }
        Ok(json!({
            "file": chunk.name,
            "chunk": chunk.number,
            "received": received,
            "total": chunk.total_size,
            "finished": finished,
        }))
    }

    /// What the fields seen so far already refuse: a bad name, a file too large or of a type
    /// not allowed.
    fn precheck(&self, texts: &HashMap<String, String>) -> Result<(), Refusal> {
        let fields = &self.service.form_fields;
        if let Some(name) = texts.get(&fields.file_name) {
            check_file_name(name).map_err(bad)?;
            self.check_type(name)?;
        }
        if let Some(size) = texts
            .get(&fields.total_size)
            .and_then(|s| s.trim().parse().ok())
        {
            self.check_size(size)?;
        }
        Ok(())
    }

    fn parse(&self, texts: &HashMap<String, String>) -> Result<Chunk, Refusal> {
        let fields = &self.service.form_fields;
        let name = text(texts, &fields.file_name)?;
        check_file_name(name).map_err(bad)?;
        let total_size = number(texts, &fields.total_size)?;
        let total_chunks = number(texts, &fields.total_chunks)?;
        let chunk_number = number(texts, &fields.chunk_number)?;
        number(texts, &fields.chunk_size)?;
        self.check_size(total_size)?;
        self.check_type(name)?;
        // Every chunk holds a byte at least (an empty file is one empty chunk): this bounds
        // the chunks a client can make a file of.
        if total_chunks == 0 || total_chunks > total_size.max(1) {
            return Err(bad(format!(
                "{} must be from 1 to the file's size ({total_size}), not {total_chunks}",
                fields.total_chunks
            )));
        }
        if chunk_number == 0 || chunk_number > total_chunks {
            return Err(bad(format!(
                "{} must be from 1 to {total_chunks}, not {chunk_number}",
                fields.chunk_number
            )));
        }
        let topic = match optional(texts, fields.on_progress.as_deref()) {
            Some(topic) if !uri::is_valid(topic, false, MatchPolicy::Exact) => {
                return Err(bad(format!("\"{topic}\" is not a topic URI")));
            }
            topic => topic.map(str::to_owned),
        };
        let session = match optional(texts, fields.session.as_deref()) {
            Some(text) => Some(text.trim().parse::<u64>().map_err(|_| {
                bad(format!(
                    "{} must be a session id",
                    fields.session.as_deref().unwrap_or("")
                ))
            })?),
            None => None,
        };
        Ok(Chunk {
            name: name.to_owned(),
            number: chunk_number,
            total_chunks,
            total_size,
            topic,
            session,
            chunk_extra: extra(texts, fields.chunk_extra.as_deref())?,
            finish_extra: extra(texts, fields.finish_extra.as_deref())?,
        })
    }

    fn check_size(&self, total_size: u64) -> Result<(), Refusal> {
        let max = self.service.max_file_size;
        if total_size > max {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a file of {total_size} bytes is larger than max_file_size ({max} bytes)"),
            ));
        }
        Ok(())
    }

    fn check_type(&self, name: &str) -> Result<(), Refusal> {
        let Some(types) = &self.service.file_types else {
            return Ok(());
        };
        let extension = name
            .rfind('.')
            .map(|dot| name[dot..].to_ascii_lowercase())
            .unwrap_or_default();
        if types.contains(&extension) {
            return Ok(());
        }
        let shown = if extension.is_empty() {
            "none"
        } else {
            &extension
        };
        Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "files of type {shown} may not be uploaded here (allowed: {})",
                types.join(", ")
            ),
        ))
    }

    /// A multipart error: too large (413) or malformed (400).
    fn refusal(&self, error: multer::Error) -> Refusal {
        match error {
            multer::Error::FieldSizeExceeded { field_name, .. }
                if field_name.as_deref() == Some(self.service.form_fields.content.as_str()) =>
            {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the chunk is larger than max_file_size ({} bytes)",
                        self.service.max_file_size
                    ),
                )
            }
            multer::Error::FieldSizeExceeded { field_name, .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "field {} is larger than {TEXT_FIELD_LIMIT} bytes",
                    field_name.unwrap_or_default()
                ),
            ),
            multer::Error::StreamSizeExceeded { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request is larger than max_file_size ({} bytes) and its fields",
                    self.service.max_file_size
                ),
            ),
            other => bad(format!("malformed multipart body: {other}")),
        }
    }

    /// A progress event in Crossbar's shape, to the topic the client named (and only to the
    /// session it named). A refusal (the role may not publish there) does not fail the upload.
    fn publish(&self, chunk: &Chunk, status: &str, remaining: u64, progress: f64) {
        let Some(topic) = &chunk.topic else {
            return;
        };
        let mut event = Dict::new();
        event.insert("id".into(), chunk.name.clone().into());
        event.insert("name".into(), chunk.name.clone().into());
        event.insert("chunk".into(), chunk.number.into());
        event.insert("total".into(), chunk.total_size.into());
        event.insert("remaining".into(), remaining.into());
        event.insert("status".into(), status.into());
        event.insert("progress".into(), Value::Float(progress));
        event.insert("chunk_extra".into(), chunk.chunk_extra.clone());
        if status == "finished" {
            event.insert("finish_extra".into(), chunk.finish_extra.clone());
        }
        let mut options = Dict::new();
        if let Some(session) = chunk.session {
            options.insert("eligible".into(), Value::List(vec![session.into()]));
        }
        let payload = crate::wamp::message::Payload {
            args: Some(vec![Value::Dict(event)]),
            kwargs: None,
        };
        if let Err(e) = self.publisher.publish(&options, topic, &payload)
            && let Some(suppressed) = PUBLISH_FAILED.admit()
        {
            tracing::warn!(
                topic = %peer_text(topic),
                reason = e.uri,
                error = %peer_text(&e.message),
                "upload progress not published{}",
                and_more(suppressed)
            );
        }
    }
}

fn is_text_field(fields: &UploadFormFields, name: &str) -> bool {
    [
        &fields.file_name,
        &fields.mime_type,
        &fields.total_size,
        &fields.chunk_number,
        &fields.chunk_size,
        &fields.total_chunks,
    ]
    .iter()
    .any(|f| f.as_str() == name)
        || [
            &fields.on_progress,
            &fields.session,
            &fields.chunk_extra,
            &fields.finish_extra,
        ]
        .iter()
        .any(|f| f.as_deref() == Some(name))
}

fn text<'a>(texts: &'a HashMap<String, String>, field: &str) -> Result<&'a str, Refusal> {
    texts
        .get(field)
        .map(String::as_str)
        .ok_or_else(|| bad(format!("missing field {field}")))
}

fn number(texts: &HashMap<String, String>, field: &str) -> Result<u64, Refusal> {
    text(texts, field)?
        .trim()
        .parse()
        .map_err(|_| bad(format!("{field} must be a whole number")))
}

/// An optional field's value; absent and empty are alike (a form sends empty fields).
fn optional<'a>(texts: &'a HashMap<String, String>, field: Option<&str>) -> Option<&'a str> {
    field
        .and_then(|f| texts.get(f))
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

/// A `chunk_extra` / `finish_extra` field: JSON, `{}` when absent.
fn extra(texts: &HashMap<String, String>, field: Option<&str>) -> Result<Value, Refusal> {
    match optional(texts, field) {
        None => Ok(Value::Dict(Dict::new())),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| bad(format!("{} is not JSON: {e}", field.unwrap_or("")))),
    }
}

/// `part / whole` rounded to 3 decimals, as Crossbar reports progress (1 for an empty file).
fn fraction(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 1.0;
    }
    (part as f64 / whole as f64 * 1000.0).round() / 1000.0
}

/// A disk error: 500, the detail only in the log (it names server paths).
fn store_failed(e: std::io::Error) -> Refusal {
    if let Some(suppressed) = STORE_FAILED.admit() {
        tracing::error!(error = %e, "upload: cannot write to disk{}", and_more(suppressed));
    }
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "the upload could not be stored".to_string(),
    )
}
