//! Realms as configured: roles and their permissions, URI checks, stores and event history,
//! http-poller topic definitions.

use std::path::PathBuf;

use crate::wamp::uri::MatchPolicy;

#[derive(Debug, Clone)]
pub struct RealmConfig {
    pub name: String,
    pub roles: Vec<RoleConfig>,
    pub uri_check: UriCheck,
    /// `options.enable_meta_api` (default true): the `wamp.*` meta procedures and events.
    pub meta_api: bool,
    /// `topics`: http-poller topics (a Junction key, in the Streams topic shape).
    pub topics: Vec<TopicDefinition>,
    /// `store`: where poller state, retained events and event history live; `None` when not
    /// written (the router then picks one, see [`default_store`]).
    pub store: Option<StoreConfig>,
    /// `store.event-history`: the topics whose publications are recorded, with their bounds.
    pub event_history: Vec<HistoryRule>,
    /// `store.call-queue`: the procedures whose calls wait for a callee, with their bounds.
    pub call_queue: Vec<CallQueueRule>,
    /// `http_callees`: procedures answered by HTTP requests (Junction; `model/http_callee.rs`).
    pub http_callees: Vec<super::HttpCalleeConfig>,
    /// `http_subscribers` (a Junction key), and Crossbar `MessageForwarder` components of
    /// this realm: topics whose events are forwarded to a URL.
    pub http_subscribers: Vec<super::HttpSubscriberConfig>,
}

/// One `store.event-history[]` rule (Crossbar's shape): publications on topics that `uri`
/// matches under `policy` are recorded, the newest `limit` kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRule {
    pub uri: String,
    pub policy: MatchPolicy,
    pub limit: usize,
}

/// One `store.call-queue[]` rule (Crossbar's shape): a CALL to a procedure that `uri` matches
/// under `policy` and that no callee has registered waits for one instead of failing, at most
/// `limit` calls of the rule at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallQueueRule {
    pub uri: String,
    pub policy: MatchPolicy,
    pub limit: usize,
}

/// A realm `store` (Crossbar's key; its `event-history` and `call-queue` rules are
/// [`RealmConfig::event_history`] and [`RealmConfig::call_queue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// `{"type": "memory"}`: nothing survives a restart.
    Memory,
    /// `{"type": "embedded", "path": "..."}`: one redb file (path relative to the config
    /// file's folder; default `.junction/<realm>.redb`).
    Embedded { path: PathBuf },
}

/// The store of a realm that has pollers or a topics API but no `store` key: embedded, in
/// `.junction/<realm>.redb` beside `config.json` (Crossbar keeps its node data beside its
/// config too).
pub fn default_store(folder: &std::path::Path, realm: &str) -> StoreConfig {
    let file = format!("{}.redb", realm.replace(['/', '\\'], "_"));
    let joined = folder.join(".junction").join(file);
    StoreConfig::Embedded {
        path: std::path::absolute(&joined).unwrap_or(joined),
    }
}

/// A topic from `config.json`: the validated topic and the JSON it was written as (what the
/// topics API shows, secrets redacted). `Debug` leaves the JSON out: it may hold secrets.
#[derive(Clone)]
pub struct TopicDefinition {
    pub topic: crate::config::topic::TopicConfig,
    pub source: serde_json::Value,
}

impl std::fmt::Debug for TopicDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.topic.fmt(f)
    }
}

/// Realm option `uri_check`: how strictly URIs in client messages are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UriCheck {
    #[default]
    Loose,
    Strict,
}

/// Crossbar's built-in role: every realm has it, allowed everything (unless the realm
/// defines a role of that name, whose permissions then apply as written). Auth methods and
/// bridge paths may name it without defining it.
pub const TRUSTED_ROLE: &str = "trusted";

#[derive(Debug, Clone)]
pub struct RoleConfig {
    pub name: String,
    pub permissions: Vec<PermissionConfig>,
    /// `allow-by-default` (Crossbar's key): an action no permission matches is allowed.
    pub allow_by_default: bool,
    /// `authorizer`: the procedure that decides for this role (dynamic authorization);
    /// such a role has no `permissions`.
    pub authorizer: Option<String>,
}

/// One entry of a role's `permissions`. Both Crossbar shapes load into this:
/// `{"uri", "match", "allow": {...}, "disclose": {...}}` and the old
/// `{"uri": "*", "publish": true, "subscribe": true, "call": true, "register": true}`.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionConfig {
    /// The URI as written, possibly with `*` (starred form) when `match_policy` is `None`.
    pub uri: String,
    /// `match` as written; `None` means "derive it from the stars in `uri`".
    pub match_policy: Option<MatchPolicy>,
    pub allow: Allow,
    pub disclose: Disclose,
}

/// Turns a permission URI into (pattern, policy): explicit `match` wins, else the stars decide.
pub fn permission_pattern(uri: &str, policy: Option<MatchPolicy>) -> (String, MatchPolicy) {
    if let Some(policy) = policy {
        return (uri.to_owned(), policy);
    }
    match uri.find('*') {
        None => (uri.to_owned(), MatchPolicy::Exact),
        Some(i) if i == uri.len() - 1 => (uri[..i].to_owned(), MatchPolicy::Prefix),
        Some(_) => (uri.replace('*', ""), MatchPolicy::Wildcard),
    }
}

/// `allow`: absent actions are denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Allow {
    pub call: bool,
    pub register: bool,
    pub publish: bool,
    pub subscribe: bool,
}

/// `disclose`: `None` when not written (then a client's `disclose_me` decides),
/// `Some(false)` forbids disclosure even when asked, `Some(true)` always discloses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Disclose {
    pub caller: Option<bool>,
    pub publisher: Option<bool>,
}
