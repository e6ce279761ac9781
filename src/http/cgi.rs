//! A `cgi` path (configured in `config/cgi_path.rs`): the request path below the prefix names
//! a script in the directory (what follows it is `PATH_INFO`), run with no shell between: the
//! `processor` with the script as its argument, or the script itself. The script gets the
//! RFC 3875 variables in an environment otherwise empty (only `PATH` is kept, so the node's
//! secrets in its environment never reach it), the request body on stdin, and its directory as
//! working directory; what it prints is parsed by [`cgi_response`](super::cgi_response).
//!
//! Answers: a script that does not resolve to a file inside the directory (`..`, a link out,
//! nothing there) is 404; one that cannot start, exits with a failure or prints no CGI
//! response is 502 (its stderr goes to the log); one still running after `timeout` is killed
//! and answered 504; a body over `post_body_limit` is 413 and runs nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Request, StatusCode};
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::config::CgiService;
use crate::http::bridge::{self, BodyRead};
use crate::http::cgi_response;
use crate::http::requester::{ClientIp, Requester};
use crate::http::response::{self, HttpResponse};

/// The most a script may print: 64 MiB; more is a 502.
const MAX_OUTPUT_BYTES: u64 = 64 * 1024 * 1024;

/// The most of a script's stderr kept for the log.
const MAX_STDERR_BYTES: u64 = 4096;

/// `PATH` for scripts when the node has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

pub struct CgiPath {
    /// The path of the table this is served at (`""` for `/`), taken off request paths.
    prefix: String,
    service: CgiService,
}

/// The script a request names: its file, and the URL parts around it.
struct Script {
    file: PathBuf,
    /// The prefix and the script's own segments: `SCRIPT_NAME`.
    script_name: String,
    /// What follows the script in the path (`""` or starting with `/`): `PATH_INFO`.
    path_info: String,
}

/// What the connection says about the request, beside the request itself.
pub struct Caller {
    pub peer: SocketAddr,
    pub requester: Requester,
}

impl CgiPath {
    pub fn new(prefix: &str, service: &CgiService) -> CgiPath {
        CgiPath {
            prefix: prefix.trim_end_matches('/').to_string(),
            service: service.clone(),
        }
    }

    pub async fn handle(&self, req: Request<Incoming>, caller: Caller) -> HttpResponse {
        let below = req.uri().path().get(self.prefix.len()..).unwrap_or("");
        let Some(script) = self.script(below) else {
            let message = format!("no script at {}", req.uri().path());
            let refused = response::error(StatusCode::NOT_FOUND, &message, None);
            return bridge::refuse(req.into_body(), refused).await;
        };
        let (head, body) = req.into_parts();
        let body = match bridge::read_body(body, self.service.post_body_limit).await {
            BodyRead::Complete(body) => body,
            BodyRead::TooLarge { drained } => {
                let message = format!(
                    "request body larger than post_body_limit ({} bytes)",
                    self.service.post_body_limit
                );
                let refused = response::error(StatusCode::PAYLOAD_TOO_LARGE, &message, None);
                return bridge::keep_alive(refused, drained);
            }
            BodyRead::Failed(status, message) => {
                return bridge::keep_alive(response::error(status, &message, None), false);
            }
        };
        let env = environment(&head, &script, &caller, body.len());
        self.run(&script, env, body).await
    }

    /// The script `below` names, if it is a file inside the directory.
    fn script(&self, below: &str) -> Option<Script> {
        let decoded = percent_decode_str(below).decode_utf8().ok()?;
        let parts: Vec<&str> = decoded.split('/').filter(|p| !p.is_empty()).collect();
        if parts
            .iter()
            .any(|p| *p == ".." || *p == "." || p.contains('\\') || p.contains('\0'))
        {
            return None;
        }
        let mut file = self.service.directory.clone();
        for (at, part) in parts.iter().enumerate() {
            file.push(part);
            if file.is_dir() {
                continue;
            }
            // Links are followed, but only to a file that is still inside the directory.
            let real = file.canonicalize().ok()?;
            if !real.is_file() || !real.starts_with(&self.service.directory) {
                return None;
            }
            let rest = &parts[at + 1..];
            return Some(Script {
                file: real,
                script_name: format!("{}/{}", self.prefix, parts[..=at].join("/")),
                path_info: rest.iter().map(|p| format!("/{p}")).collect(),
            });
        }
        None
    }

    async fn run(&self, script: &Script, env: Vec<(String, String)>, body: Bytes) -> HttpResponse {
        let mut command = match &self.service.processor {
            Some(processor) => {
                let mut command = Command::new(processor);
                command.arg(&script.file);
                command
            }
            None => Command::new(&script.file),
        };
        command
            .env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or(DEFAULT_PATH.into()),
            )
            .envs(env)
            .current_dir(script.file.parent().unwrap_or(Path::new("/")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let name = &script.script_name;
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                tracing::warn!(path = %name, error = %e, "cgi script cannot start");
                return failed(name, &format!("cannot start: {e}"));
            }
        };
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let exchange = async {
            let write = async {
                if let Some(mut stdin) = stdin {
                    // A script that does not read its input closes the pipe: not an error.
                    let _ = stdin.write_all(&body).await;
                }
            };
            let (_, output, errors) = tokio::join!(
                write,
                read_capped(stdout, MAX_OUTPUT_BYTES),
                read_capped(stderr, MAX_STDERR_BYTES)
            );
            (output, errors, child.wait().await)
        };
        let (output, errors, status) =
            match tokio::time::timeout(self.service.timeout, exchange).await {
                Ok(done) => done,
                Err(_) => {
                    let _ = child.kill().await;
                    let message = format!(
                        "the script {name} did not finish within {} ms",
                        self.service.timeout.as_millis()
                    );
                    tracing::warn!(path = %name, error = message, "cgi script timed out");
                    return response::error(StatusCode::GATEWAY_TIMEOUT, &message, None);
                }
            };
        let errors = String::from_utf8_lossy(&errors.unwrap_or_default()).into_owned();
        if !errors.trim().is_empty() {
            tracing::info!(
                path = %name,
                "cgi script stderr: {}",
                crate::log_text::peer_text(&errors)
            );
        }
        let output = match (status, output) {
            (Ok(status), Ok(output)) if status.success() => output,
            (Ok(status), Ok(_)) => return failed(name, &format!("exited with {status}")),
            (Err(e), _) | (_, Err(e)) => return failed(name, &e.to_string()),
        };
        cgi_response::parse(&output).unwrap_or_else(|e: String| failed(name, &e))
    }
}

/// 502 naming the script and what went wrong.
fn failed(name: &str, what: &str) -> HttpResponse {
    let message = format!("the script {name} failed: {what}");
    response::error(StatusCode::BAD_GATEWAY, &message, None)
}

/// Everything from `pipe`, failing past `limit` bytes; the rest is drained so the script does
/// not block on a full pipe.
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else {
        return Ok(kept);
    };
    (&mut pipe).take(limit + 1).read_to_end(&mut kept).await?;
    if kept.len() as u64 > limit {
        tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await?;
        return Err(std::io::Error::other(format!(
            "output larger than {limit} bytes"
        )));
    }
    Ok(kept)
}

/// The RFC 3875 meta-variables of a request.
fn environment(
    head: &hyper::http::request::Parts,
    script: &Script,
    caller: &Caller,
    body_len: usize,
) -> Vec<(String, String)> {
    let tls = caller.requester.tls;
    let (server_name, server_port) = server(&head.headers, tls);
    let remote = match caller.requester.ip {
        ClientIp::Known(ip) => ip.to_string(),
        ClientIp::Unknown => caller.peer.ip().to_string(),
    };
    let mut env = vec![
        ("GATEWAY_INTERFACE", "CGI/1.1".to_string()),
        (
            "SERVER_SOFTWARE",
            concat!("junction/", env!("CARGO_PKG_VERSION")).to_string(),
        ),
        ("SERVER_PROTOCOL", format!("{:?}", head.version)),
        ("SERVER_NAME", server_name),
        ("SERVER_PORT", server_port),
        ("REQUEST_METHOD", head.method.to_string()),
        ("REQUEST_URI", head.uri.to_string()),
        ("QUERY_STRING", head.uri.query().unwrap_or("").to_string()),
        ("SCRIPT_NAME", script.script_name.clone()),
        ("SCRIPT_FILENAME", script.file.display().to_string()),
        ("PATH_INFO", script.path_info.clone()),
        ("REMOTE_ADDR", remote),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect::<Vec<_>>();
    if tls {
        env.push(("HTTPS".into(), "on".into()));
    }
    if body_len > 0 || head.headers.contains_key(header::CONTENT_LENGTH) {
        env.push(("CONTENT_LENGTH".into(), body_len.to_string()));
    }
    if let Some(value) = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        env.push(("CONTENT_TYPE".into(), value.to_string()));
    }
    env.extend(header_variables(&head.headers));
    env
}

/// `HTTP_*` for each request header, except the ones RFC 3875 keeps from scripts
/// (credentials: `Authorization`, `Proxy-Authorization`), the ones already given
/// (`Content-Type`, `Content-Length`), and `Proxy`, whose `HTTP_PROXY` many HTTP clients would
/// take as their proxy ("httpoxy").
fn header_variables(headers: &HeaderMap) -> Vec<(String, String)> {
    const LEFT_OUT: &[&str] = &[
        "authorization",
        "proxy-authorization",
        "content-type",
        "content-length",
        "proxy",
    ];
    let mut variables: Vec<(String, String)> = Vec::new();
    for name in headers.keys() {
        if LEFT_OUT.contains(&name.as_str()) {
            continue;
        }
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let variable = format!(
            "HTTP_{}",
            name.as_str().to_ascii_uppercase().replace('-', "_")
        );
        variables.push((variable, values.join(", ")));
    }
    variables
}

/// `SERVER_NAME` and `SERVER_PORT`: from the `Host` header (HTTP/1.1 requires it), else
/// `localhost` and the scheme's port.
fn server(headers: &HeaderMap, tls: bool) -> (String, String) {
    let default_port = if tls { "443" } else { "80" };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    match host.parse::<hyper::http::uri::Authority>() {
        Ok(authority) => (
            authority.host().trim_matches(['[', ']']).to_string(),
            authority
                .port_u16()
                .map_or(default_port.to_string(), |p| p.to_string()),
        ),
        Err(_) => ("localhost".to_string(), default_port.to_string()),
    }
}
