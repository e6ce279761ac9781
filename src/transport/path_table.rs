//! The path table of a listener: maps a request path to the service configured there
//! (WAMP WebSocket, testee, publisher, caller, webhook) and answers it. Errors are JSON bodies
//! `{"error", "args", "kwargs"}` with a status that says what is wrong.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, StatusCode};
use ipnet::IpNet;

use crate::config::{
    JsonService, PathService, TransportKind, WebOptions, WebSocketOptions, WebSocketProxyService,
    WebSocketService,
};
use crate::http::admin::AdminPath;
use crate::http::archive::ArchivePath;
use crate::http::bridge::BODY_DEADLINE;
use crate::http::bridge_stats::{self, PathStats};
use crate::http::caller::CallerPath;
use crate::http::cgi::{self, CgiPath};
use crate::http::forwarded::Forwarding;
use crate::http::publisher::PublisherPath;
use crate::http::requester::{ClientIp, Requester};
use crate::http::response::{self, HttpResponse};
use crate::http::reverse_proxy::ReverseProxyPath;
use crate::http::sse::SsePath;
use crate::http::static_files::StaticPath;
use crate::http::topics_api::TopicsApiPath;
use crate::http::upload::UploadPath;
use crate::http::web_services;
use crate::http::webhook::WebhookPath;
use crate::http::{health, metrics};
use crate::poller::supervisor::Pollers;
use crate::router::Router;
use crate::router::auth::Authenticator;
use crate::router::auth::cookie::CookieJar;
use crate::transport::longpoll::LongPollPath;
use crate::transport::websocket::{proxy, upgrade};

/// A path's service, prepared once at start.
enum Service {
    Wamp {
        service: WebSocketService,
        authenticator: Arc<Authenticator>,
    },
    Testee(WebSocketOptions),
    Publisher(PublisherPath, Arc<PathStats>),
    Caller(CallerPath, Arc<PathStats>),
    Webhook(WebhookPath, Arc<PathStats>),
    TopicsApi(TopicsApiPath),
    Static(StaticPath),
    Redirect {
        url: String,
        status: u16,
    },
    Json(JsonService),
    /// When the path table was made (the node's start).
    NodeInfo(Instant),
    Health(Instant),
    /// Readiness reads the pollers' status too.
    Ready(Arc<Pollers>),
    Metrics(Arc<Pollers>),
    /// The operator dashboard: its page and JSON API below the path.
    Admin(Box<AdminPath>),
    Sse(SsePath),
    Nothing,
    Archive(ArchivePath),
    Cgi(CgiPath),
    LongPoll(LongPollPath),
    ReverseProxy(ReverseProxyPath),
    WebSocketProxy(WebSocketProxyService),
    Upload(Box<UploadPath>),
    /// A Crossbar path Junction does not run (`wsgi`, `resource`, `wap`): what to run instead.
    NotRun(String),
}

impl Service {
    /// Whether this service answers the paths below its own too.
    fn serves_below(&self) -> bool {
        matches!(
            self,
            Service::Static(_)
                | Service::Archive(_)
                | Service::Cgi(_)
                | Service::LongPoll(_)
                | Service::Redirect { .. }
                | Service::ReverseProxy(_)
                | Service::WebSocketProxy(_)
                | Service::TopicsApi(_)
                | Service::Admin(_)
        )
    }
}

/// Whether `path` is `key` or below it: `/app` covers `/app` and `/app/x`, not `/apps`; `/`
/// covers every path.
fn covers(key: &str, path: &str) -> bool {
    let key = key.trim_end_matches('/');
    key.is_empty()
        || path
            .strip_prefix(key)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Everything a listener needs to answer requests.
pub struct Services {
    router: Arc<Router>,
    /// For `"type": "websocket"` transports: one service on every path.
    any_path: Option<Service>,
    paths: BTreeMap<String, Service>,
    trusted_proxies: Vec<IpNet>,
    /// Whether this listener speaks TLS.
    tls: bool,
    /// `client_timeout` and `body_timeout` of the transport's `options`.
    pub client_timeout: Duration,
    body_timeout: Duration,
}

fn wamp(service: &WebSocketService) -> Result<Service, String> {
    let mut authenticator = Authenticator::new(&service.auth)
        .with_failed_login_limit(service.options.max_failed_logins);
    if let Some(cookie) = &service.cookie {
        authenticator = authenticator.with_cookie_jar(CookieJar::open(cookie)?);
    }
    Ok(Service::Wamp {
        service: service.clone(),
        authenticator: Arc::new(authenticator),
    })
}

impl Services {
    /// Prepares every path; a path naming a realm that does not exist is an error (config
    /// validation normally catches it first).
    pub fn new(
        router: Arc<Router>,
        pollers: &Arc<Pollers>,
        kind: &TransportKind,
        tls: bool,
    ) -> Result<Services, String> {
        let defaults = WebOptions::default();
        let (any_path, paths, options) = match kind {
            TransportKind::WebSocket(service) => (Some(wamp(service)?), BTreeMap::new(), &defaults),
            TransportKind::Web { paths, options }
            | TransportKind::Universal { paths, options, .. } => {
                let mut table = BTreeMap::new();
                for (path, service) in paths {
                    let missing = || format!("path {path}: no such realm");
                    let service = match service {
                        PathService::WebSocket(s) => wamp(s)?,
                        PathService::WebSocketTestee(options) => Service::Testee(options.clone()),
                        PathService::Publisher(s) => Service::Publisher(
                            PublisherPath::new(path, s, &router).ok_or_else(missing)?,
                            bridge_stats::for_path(path, "publisher"),
                        ),
                        PathService::Caller(s) => Service::Caller(
                            CallerPath::new(path, s, &router).ok_or_else(missing)?,
                            bridge_stats::for_path(path, "caller"),
                        ),
                        PathService::Webhook(s) => Service::Webhook(
                            WebhookPath::new(path, s, &router).ok_or_else(missing)?,
                            bridge_stats::for_path(path, "webhook"),
                        ),
                        PathService::TopicsApi(s) => {
                            Service::TopicsApi(TopicsApiPath::new(path, s, pollers))
                        }
                        PathService::Static(s) => Service::Static(StaticPath::new(path, s)),
                        PathService::Redirect { url, status } => Service::Redirect {
                            url: url.clone(),
                            status: *status,
                        },
                        PathService::Json(s) => Service::Json(s.clone()),
                        PathService::NodeInfo => Service::NodeInfo(Instant::now()),
                        PathService::Health => Service::Health(Instant::now()),
                        PathService::Ready => Service::Ready(Arc::clone(pollers)),
                        PathService::Metrics => Service::Metrics(Arc::clone(pollers)),
                        PathService::Sse(s) => Service::Sse(
                            SsePath::new(s, &router, bridge_stats::for_path(path, "sse"))
                                .ok_or_else(missing)?,
                        ),
                        PathService::Admin(s) => {
                            Service::Admin(Box::new(AdminPath::new(path, s, pollers, tls)))
                        }
                        PathService::Nothing => Service::Nothing,
                        PathService::NotRun(instead) => Service::NotRun(instead.clone()),
                        PathService::Archive(s) => Service::Archive(
                            ArchivePath::open(path, s).map_err(|e| format!("path {path}: {e}"))?,
                        ),
                        PathService::Cgi(s) => Service::Cgi(CgiPath::new(path, s)),
                        PathService::LongPoll(s) => {
                            Service::LongPoll(LongPollPath::new(path, s, &router)?)
                        }
                        PathService::ReverseProxy(s) => {
                            Service::ReverseProxy(ReverseProxyPath::new(path, s))
                        }
                        PathService::WebSocketProxy(s) => Service::WebSocketProxy(s.clone()),
                        PathService::Upload(s) => Service::Upload(Box::new(
                            UploadPath::new(path, s, &router)
                                .map_err(|e| format!("path {path}: {e}"))?,
                        )),
                    };
                    table.insert(path.clone(), service);
                }
                (None, table, options)
            }
            // RawSocket only: no HTTP is served.
            TransportKind::RawSocket(_) => (None, BTreeMap::new(), &defaults),
        };
        Ok(Services {
            router,
            any_path,
            paths,
            trusted_proxies: options.trusted_proxies.clone(),
            tls,
            client_timeout: options.client_timeout,
            body_timeout: options.body_timeout,
        })
    }

    fn lookup(&self, path: &str) -> Option<&Service> {
        if let Some(service) = &self.any_path {
            return Some(service);
        }
        // Crossbar serves "/ws" and "/ws/" alike.
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        if let Some(service) = self.paths.get(trimmed) {
            return Some(service);
        }
        // Paths that serve everything below them (files, archives, scripts, long-poll
        // transports, redirects, proxies, the topics API): the longest key that covers `path`
        // (in the table's order, a longer key that starts with a shorter one comes later).
        self.paths
            .iter()
            .rev()
            .find(|(key, service)| service.serves_below() && covers(key, path))
            .map(|(_, service)| service)
    }
}

/// Answers one request; its body must arrive within `body_timeout` (see
/// [`BODY_DEADLINE`](crate::http::bridge::BODY_DEADLINE)).
pub async fn handle(
    services: Arc<Services>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    let timeout = services.body_timeout;
    let deadline = (tokio::time::Instant::now() + timeout, timeout);
    BODY_DEADLINE
        .scope(deadline, answer(services, peer, req))
        .await
}

async fn answer(
    services: Arc<Services>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    let Some(service) = services.lookup(req.uri().path()) else {
        let message = format!("no service at {}", req.uri().path());
        return Ok(response::error(
            StatusCode::NOT_FOUND,
            &message,
            req.headers().get(header::ORIGIN),
        ));
    };
    let requester = || Requester::new(peer, services.tls, req.headers(), &services.trusted_proxies);
    let response = match service {
        Service::Wamp {
            service,
            authenticator,
        } => upgrade::wamp(&services.router, service, authenticator, peer, req)
            .unwrap_or_else(|refused| response::error(refused.status, &refused.message, None)),
        Service::Testee(options) => upgrade::testee(options, req)
            .unwrap_or_else(|refused| response::error(refused.status, &refused.message, None)),
        Service::Publisher(path, stats) => {
            let requester = requester();
            counted(stats, path.handle(req, requester)).await
        }
        Service::Caller(path, stats) => {
            let requester = requester();
            counted(stats, path.handle(req, requester)).await
        }
        Service::Webhook(path, stats) => counted(stats, path.handle(req)).await,
        Service::TopicsApi(path) => {
            let requester = requester();
            path.handle(req, requester).await
        }
        Service::Static(path) => path.handle(req).await,
        Service::Redirect { url, status } => {
            web_services::only_get(&req).unwrap_or_else(|| web_services::redirect(url, *status))
        }
        Service::Json(json) => {
            web_services::only_get(&req).unwrap_or_else(|| web_services::json(json))
        }
        Service::NodeInfo(started) => web_services::only_get(&req).unwrap_or_else(|| {
            web_services::node_info(&services.router.realm_names(), *started, &peer.to_string())
        }),
        Service::Health(started) => {
            web_services::only_get(&req).unwrap_or_else(|| health::health(*started))
        }
        Service::Ready(pollers) => match web_services::only_get(&req) {
            Some(refused) => refused,
            None => health::ready(&services.router, pollers).await,
        },
        Service::Metrics(pollers) => match web_services::only_get(&req) {
            Some(refused) => refused,
            None => metrics::metrics(&services.router, pollers).await,
        },
        Service::Sse(path) => {
            let requester = requester();
            path.handle(&services.router, &req, requester).await
        }
        Service::Admin(path) => {
            let client = match requester().ip {
                ClientIp::Known(ip) => ip,
                ClientIp::Unknown => peer.ip(),
            };
            path.handle(&services.router, req, client).await
        }
        Service::Nothing => web_services::nothing(req.uri().path()),
        Service::NotRun(instead) => web_services::not_run(instead),
        Service::Archive(archive) => archive.handle(&req),
        Service::Cgi(cgi) => {
            let requester = requester();
            cgi.handle(req, cgi::Caller { peer, requester }).await
        }
        Service::LongPoll(path) => {
            let client = match requester().ip {
                ClientIp::Known(ip) => ip,
                ClientIp::Unknown => peer.ip(),
            };
            path.handle(req, peer, client).await
        }
        Service::ReverseProxy(path) => {
            let from = forwarding(&services, peer, &req);
            path.handle(req, from).await
        }
        Service::WebSocketProxy(service) => {
            let from = forwarding(&services, peer, &req);
            proxy::serve(service, from, req)
                .await
                .unwrap_or_else(|refused| response::error(refused.status, &refused.message, None))
        }
        Service::Upload(path) => path.handle(req).await,
    };
    Ok(response)
}

/// A bridge request's answer, counted by status with its latency.
async fn counted(stats: &PathStats, answer: impl Future<Output = HttpResponse>) -> HttpResponse {
    let started = Instant::now();
    let response = answer.await;
    stats.record(response.status().as_u16(), started.elapsed());
    response
}

fn forwarding<'a>(
    services: &Services,
    peer: SocketAddr,
    req: &Request<Incoming>,
) -> Forwarding<'a> {
    Forwarding::new(peer, services.tls, req.headers(), &services.trusted_proxies)
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_key_covers_itself_and_what_lies_below_it() {
        assert!(covers("/", "/"));
        assert!(covers("/", "/anything/below"));
        assert!(covers("/app", "/app"));
        assert!(covers("/app", "/app/"));
        assert!(covers("/app", "/app/x/y"));
        assert!(covers("/app/", "/app/x"));
        assert!(!covers("/app", "/apps"));
        assert!(!covers("/app", "/"));
        assert!(!covers("/app/x", "/app"));
    }
}
