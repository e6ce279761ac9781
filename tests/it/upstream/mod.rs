//! A scriptable HTTP upstream for poller tests: a real hyper server on 127.0.0.1 port 0 that
//! answers each route with its script (in order, the last reply repeating) and records every
//! request it receives (method, path and query, headers, body). Tests change a route's script
//! between cycles with [`Upstream::route`].
//!
//! A route is either `path?query` (matched exactly, tried first) or a bare `path` (any query).
//! A request no route matches gets a 418 whose body names the request, so a wrong query shows
//! up both as a failed cycle (70418) and in [`Upstream::seen`].

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpListener;

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// `status` with `body` as is (no Content-Type).
    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// 200 with `value` serialized, `Content-Type: application/json`.
    pub fn json(value: &serde_json::Value) -> Reply {
        Reply::text(200, &value.to_string()).header("Content-Type", "application/json")
    }

    /// `status` with an empty body.
    pub fn status(status: u16) -> Reply {
        Reply::text(status, "")
    }

    /// An OAuth2 token response.
    pub fn token(token: &str, expires_in: u64) -> Reply {
        Reply::json(&serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires_in,
        }))
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// A request the upstream received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, as sent (`/items?page=2`).
    pub uri: String,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Seen {
    /// The value of header `name` (first one), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn path(&self) -> &str {
        self.uri.split_once('?').map_or(&self.uri, |(p, _)| p)
    }

    /// The raw (still encoded) query, `""` when there is none.
    pub fn query(&self) -> &str {
        self.uri.split_once('?').map_or("", |(_, q)| q)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct Script {
    replies: Vec<Reply>,
    served: usize,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Script>,
    seen: Vec<Seen>,
}

impl State {
    fn answer(&mut self, uri: &str) -> Reply {
        let path = uri.split_once('?').map_or(uri, |(p, _)| p);
        let key = if self.routes.contains_key(uri) {
            uri
        } else {
            path
        };
        match self.routes.get_mut(key) {
            Some(script) if !script.replies.is_empty() => {
                let i = script.served.min(script.replies.len() - 1);
                script.served += 1;
                script.replies[i].clone()
            }
            _ => Reply::text(418, &format!("no route for {uri}")),
        }
    }
}

/// The running upstream. The server task lives as long as the test's runtime.
pub struct Upstream {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        // reqwest is built without a default crypto provider; the binary installs ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let shared = shared.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes());
                            let uri = parts
                                .uri
                                .path_and_query()
                                .map_or_else(|| parts.uri.to_string(), |pq| pq.as_str().to_owned());
                            let reply = {
                                let mut state = shared.lock();
                                state.seen.push(Seen {
                                    method: parts.method.to_string(),
                                    uri: uri.clone(),
                                    headers: parts.headers,
                                    body: body.unwrap_or_default(),
                                });
                                state.answer(&uri)
                            };
                            Ok::<_, Infallible>(respond(reply))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Upstream { addr, state }
    }

    /// Sets the script of `route` (`path` or `path?query`) and restarts it from its first reply.
    pub fn route(&self, route: &str, replies: Vec<Reply>) -> &Upstream {
        self.state
            .lock()
            .routes
            .insert(route.to_owned(), Script { replies, served: 0 });
        self
    }

    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `127.0.0.1:port`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Every request received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().seen.clone()
    }

    /// The requests received so far whose path is `path`.
    pub fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.path() == path)
            .collect()
    }

    /// The path and query of every request to `path`.
    pub fn uris_at(&self, path: &str) -> Vec<String> {
        self.seen_at(path).into_iter().map(|s| s.uri).collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_seen(&self) {
        self.state.lock().seen.clear();
    }
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    response.body(Full::new(Bytes::from(reply.body))).unwrap()
}
