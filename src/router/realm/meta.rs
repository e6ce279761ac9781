//! The meta procedures the router answers itself (`wamp.session.*`, `wamp.subscription.*`,
//! `wamp.registration.*`), with the spec's arguments and results.
//!
//! A caller reaches them after the usual URI and permission checks (a role needs `call` on
//! the procedure), so who may list or kill sessions is decided by the realm's roles.

use crate::router::error::WampError;
use crate::router::history;
use crate::router::peer::Peer;
use crate::router::realm::Realm;
use crate::router::realm::meta_events::{registration_details, subscription_details};
use crate::router::session_table::{Scope, Testament};
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::uri::{self, MatchPolicy};
use crate::wamp::value::{Dict, Value};

impl Realm {
    /// Answers a call to a `wamp.*` procedure.
    pub(crate) fn meta_call(
        &self,
        caller: &Peer,
        procedure: &str,
        payload: &Payload,
    ) -> Result<Payload, WampError> {
        let args = Args(payload);
        let one = |value: Value| Ok(result(value));
        match procedure {
            history::GET_EVENTS => self.get_events(caller, payload),
            "wamp.session.count" => {
                let roles = args.optional_strings(0, "filter_authroles")?;
                one(Value::from(
                    self.sessions_with(roles.as_deref()).len() as u64
                ))
            }
            "wamp.session.list" => {
                let roles = args.optional_strings(0, "filter_authroles")?;
                one(ids_of(self.sessions_with(roles.as_deref())))
            }
            "wamp.session.get" => {
                let session = args.id(0, "session")?;
                let joined = self
                    .sessions
                    .get(session)
                    .ok_or_else(|| no_session(session))?;
                one(Value::Dict(joined.details()))
            }
            "wamp.session.kill" => {
                let session = args.id(0, "session")?;
                let (reason, message) = args.close_reason()?;
                // The spec: the caller's own session is not an *other* session to kill.
                if session == caller.session || !self.kill(session, &reason, message.as_deref()) {
                    return Err(no_session(session));
                }
                Ok(Payload::default())
            }
            "wamp.session.kill_by_authid" | "wamp.session.kill_by_authrole" => {
                let by_authid = procedure.ends_with("authid");
                let wanted = args.string(0, if by_authid { "authid" } else { "authrole" })?;
                let (reason, message) = args.close_reason()?;
                let targets = self.sessions.select(|s| {
                    let value = if by_authid {
                        &s.peer.authid
                    } else {
                        &s.peer.authrole
                    };
                    s.peer.session != caller.session && *value == wanted
                });
                let killed = targets
                    .iter()
                    .filter(|s| self.kill(s.peer.session, &reason, message.as_deref()))
                    .count();
                one(Value::from(killed as u64))
            }
            "wamp.session.kill_all" => {
                let (reason, message) = args.close_reason()?;
                let targets = self.sessions.select(|s| s.peer.session != caller.session);
                let killed = targets
                    .iter()
                    .filter(|s| self.kill(s.peer.session, &reason, message.as_deref()))
                    .count();
                one(Value::from(killed as u64))
            }
            "wamp.session.add_testament" => self.add_testament(caller, &args),
            "wamp.session.flush_testaments" => {
                let scope = args.scope()?;
                let joined = self
                    .sessions
                    .get(caller.session)
                    .ok_or_else(|| no_session(caller.session))?;
                joined.flush_testaments(scope);
                self.record_session(&joined);
                Ok(Payload::default())
            }
            "wamp.subscription.list" => {
                let broker = self.broker.read();
                one(by_policy(broker.subscriptions().map(|s| (s.policy, s.id))))
            }
            "wamp.subscription.lookup" => {
                let topic = args.string(0, "topic")?;
                let policy = args.match_policy(1)?;
                one(nullable(self.broker.read().lookup(&topic, policy)))
            }
            "wamp.subscription.match" => {
                let topic = args.string(0, "topic")?;
                let matching = self.broker.read().matching(&topic);
                one(if matching.is_empty() {
                    Value::Null
                } else {
                    ids_of(matching)
                })
            }
            "wamp.subscription.get"
            | "wamp.subscription.list_subscribers"
            | "wamp.subscription.count_subscribers" => {
                let id = args.id(0, "subscription")?;
                let broker = self.broker.read();
                let subscription = broker.subscription(id).ok_or_else(|| {
                    WampError::new(
                        uri_error::NO_SUCH_SUBSCRIPTION,
                        format!("no subscription {id}"),
                    )
                })?;
                one(match procedure {
                    "wamp.subscription.get" => subscription_details(subscription),
                    "wamp.subscription.list_subscribers" => {
                        ids_of(subscription.subscribers.keys().copied().collect())
                    }
                    _ => Value::from(subscription.subscribers.len() as u64),
                })
            }
            "wamp.registration.list" => {
                let dealer = self.dealer.lock();
                one(by_policy(dealer.registrations().map(|r| (r.policy, r.id))))
            }
            "wamp.registration.lookup" => {
                let procedure = args.string(0, "procedure")?;
                let policy = args.match_policy(1)?;
                one(nullable(self.dealer.lock().lookup(&procedure, policy)))
            }
            "wamp.registration.match" => {
                let procedure = args.string(0, "procedure")?;
                one(nullable(self.dealer.lock().best_match(&procedure)))
            }
            "wamp.registration.get"
            | "wamp.registration.list_callees"
            | "wamp.registration.count_callees" => {
                let id = args.id(0, "registration")?;
                let dealer = self.dealer.lock();
                let registration = dealer.registration(id).ok_or_else(|| {
                    WampError::new(
                        uri_error::NO_SUCH_REGISTRATION,
                        format!("no registration {id}"),
                    )
                })?;
                one(match procedure {
                    "wamp.registration.get" => registration_details(registration),
                    "wamp.registration.list_callees" => ids_of(
                        registration
                            .callees
                            .iter()
                            .map(|c| c.peer.session)
                            .collect(),
                    ),
                    _ => Value::from(registration.callees.len() as u64),
                })
            }
            _ => Err(WampError::new(
                uri_error::NO_SUCH_PROCEDURE,
                format!("no meta procedure \"{procedure}\" on this router"),
            )),
        }
    }

    fn sessions_with(&self, roles: Option<&[String]>) -> Vec<Id> {
        self.sessions
            .select(|s| roles.is_none_or(|r| r.contains(&s.peer.authrole)))
            .iter()
            .map(|s| s.peer.session)
            .collect()
    }

    /// `wamp.session.add_testament(topic, args, kwargs, publish_options=, scope=)`: checked
    /// now like a publish (URI and permission), published when the session goes away.
    fn add_testament(&self, caller: &Peer, args: &Args) -> Result<Payload, WampError> {
        let topic = args.string(0, "topic")?;
        let event_args = match args.positional(1) {
            None | Some(Value::Null) => None,
            Some(Value::List(list)) => Some(list.clone()),
            Some(_) => return Err(invalid("args must be a list")),
        };
        let event_kwargs = match args.positional(2) {
            None | Some(Value::Null) => None,
            Some(Value::Dict(dict)) => Some(dict.clone()),
            Some(_) => return Err(invalid("kwargs must be a dict")),
        };
        let options = match args.keyword("publish_options") {
            None | Some(Value::Null) => Dict::new(),
            Some(Value::Dict(options)) => options.clone(),
            Some(_) => return Err(invalid("publish_options must be a dict")),
        };
        let scope = args.scope()?;
        let decision = self.check_publish(caller, &topic)?;
        let joined = self
            .sessions
            .get(caller.session)
            .ok_or_else(|| no_session(caller.session))?;
        let testament = Testament {
            topic,
            payload: Payload {
                args: event_args,
                kwargs: event_kwargs,
            },
            options,
            decision,
        };
        joined.add_testament(scope, testament);
        self.record_session(&joined);
        Ok(Payload::default())
    }
}

/// A meta procedure's arguments.
struct Args<'a>(&'a Payload);

impl Args<'_> {
    fn positional(&self, i: usize) -> Option<&Value> {
        self.0.args.as_ref()?.get(i)
    }

    fn keyword(&self, name: &str) -> Option<&Value> {
        self.0.kwargs.as_ref()?.get(name)
    }

    /// Positional argument `i`, or the keyword argument of the same name.
    fn get(&self, i: usize, name: &str) -> Option<&Value> {
        self.positional(i).or_else(|| self.keyword(name))
    }

    fn id(&self, i: usize, name: &str) -> Result<Id, WampError> {
        self.get(i, name)
            .and_then(Value::as_id)
            .ok_or_else(|| invalid(&format!("{name} must be an id")))
    }

    fn string(&self, i: usize, name: &str) -> Result<String, WampError> {
        self.get(i, name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| invalid(&format!("{name} must be a string")))
    }

    fn optional_strings(&self, i: usize, name: &str) -> Result<Option<Vec<String>>, WampError> {
        match self.get(i, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::List(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| invalid(&format!("{name} must be a list of strings"))),
            Some(_) => Err(invalid(&format!("{name} must be a list of strings"))),
        }
    }

    /// The `match` of an options dict at position `i` (lookup's second argument).
    fn match_policy(&self, i: usize) -> Result<MatchPolicy, WampError> {
        match self.get(i, "options") {
            None | Some(Value::Null) => Ok(MatchPolicy::Exact),
            Some(Value::Dict(options)) => MatchPolicy::from_options(options)
                .ok_or_else(|| invalid("options.match must be exact, prefix or wildcard")),
            Some(_) => Err(invalid("options must be a dict")),
        }
    }

    /// `reason` (a URI, default `wamp.close.normal`) and `message` of the kill procedures.
    fn close_reason(&self) -> Result<(String, Option<String>), WampError> {
        let reason = match self.keyword("reason") {
            None | Some(Value::Null) => uri_error::CLOSE_NORMAL.to_owned(),
            Some(Value::String(reason)) if uri::is_valid(reason, false, MatchPolicy::Exact) => {
                reason.clone()
            }
            Some(other) => {
                return Err(WampError::new(
                    uri_error::INVALID_URI,
                    format!("reason must be a non-empty URI, not {other:?}"),
                ));
            }
        };
        let message = match self.keyword("message") {
            None | Some(Value::Null) => None,
            Some(Value::String(message)) => Some(message.clone()),
            Some(_) => return Err(invalid("message must be a string")),
        };
        Ok((reason, message))
    }

    /// The testament `scope` keyword: `destroyed` (the default) or `detached`.
    fn scope(&self) -> Result<Scope, WampError> {
        match self.keyword("scope") {
            None | Some(Value::Null) => Ok(Scope::Destroyed),
            Some(Value::String(name)) => Scope::parse(name)
                .ok_or_else(|| invalid("scope must be \"destroyed\" or \"detached\"")),
            Some(_) => Err(invalid("scope must be a string")),
        }
    }
}

fn result(value: Value) -> Payload {
    Payload {
        args: Some(vec![value]),
        kwargs: None,
    }
}

fn invalid(message: &str) -> WampError {
    WampError::new(uri_error::INVALID_ARGUMENT, message)
}

fn no_session(session: Id) -> WampError {
    WampError::new(
        uri_error::NO_SUCH_SESSION,
        format!("no other session {session} in this realm"),
    )
}

fn nullable(id: Option<Id>) -> Value {
    id.map_or(Value::Null, Value::from)
}

fn ids_of(mut ids: Vec<Id>) -> Value {
    ids.sort_unstable();
    Value::List(ids.into_iter().map(Value::from).collect())
}

/// `{"exact": [...], "prefix": [...], "wildcard": [...]}` of the list procedures.
fn by_policy(items: impl Iterator<Item = (MatchPolicy, Id)>) -> Value {
    let mut lists: [Vec<Id>; 3] = Default::default();
    for (policy, id) in items {
        let slot = match policy {
            MatchPolicy::Exact => 0,
            MatchPolicy::Prefix => 1,
            MatchPolicy::Wildcard => 2,
        };
        lists[slot].push(id);
    }
    let mut dict = Dict::new();
    for (name, list) in ["exact", "prefix", "wildcard"].into_iter().zip(lists) {
        dict.insert(name.into(), ids_of(list));
    }
    Value::Dict(dict)
}
