//! Dynamic authorization: a role with an `authorizer` procedure has each request of its
//! sessions decided by calling that procedure (registered by a trusted component) as
//! `(session_details, uri, action, options)`, Crossbar's signature.
//!
//! The answer is `true`/`false` or `{"allow": bool, "disclose": bool, "cache": bool}`; with
//! `cache` the session keeps it for later requests on the same (URI, action). An authorizer
//! that is missing, fails, times out or answers anything else denies the request with
//! `wamp.error.authorization_failed` (distinct from a refusal, `wamp.error.not_authorized`).
//!
//! [`ask_authorizer`] reads the question out of a session's request (a testament's topic
//! included) before the realm sees it; [`decide`] asks it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tracing::debug;

use crate::log_text::peer_text;
use crate::router::authorize::{Action, Decision, TRUSTED_ROLE};
use crate::router::error::WampError;
use crate::router::internal::{self, CallOutcome};
use crate::router::peer::Peer;
use crate::router::realm::Realm;
use crate::router::session_table::JoinedSession;
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::{self, Message, Payload};
use crate::wamp::value::{Dict, Value};

/// How long a request waits for its authorizer.
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// A session's cached answers, by (URI, action).
#[derive(Debug, Default)]
pub struct DecisionCache(HashMap<(String, Action), Decision>);

/// Asks `authorizer` about (`uri`, `action`) for the session described by `details`, using
/// `cache` first and filling it when the answer says `cache`.
pub async fn decide(
    realm: &Arc<Realm>,
    authorizer: &str,
    details: &Dict,
    cache: &mut DecisionCache,
    uri: &str,
    action: Action,
    options: &Dict,
) -> Result<Decision, WampError> {
    if let Some(decision) = cache.0.get(&(uri.to_owned(), action)) {
        return Ok(*decision);
    }
    let payload = Payload {
        args: Some(vec![
            Value::Dict(details.clone()),
            Value::from(uri),
            Value::from(action.name()),
            Value::Dict(options.clone()),
        ]),
        kwargs: None,
    };
    let outcome = internal::call(
        realm,
        TRUSTED_ROLE,
        "junction.authorizer",
        authorizer,
        payload,
        AUTHORIZER_TIMEOUT,
    )
    .await;
    let failed = |why: String| {
        WampError::new(
            uri_error::AUTHORIZATION_FAILED,
            format!("authorizer \"{authorizer}\" failed: {why}"),
        )
    };
    let answer = match outcome {
        CallOutcome::Result(payload) => payload.args.and_then(|mut args| {
            if args.is_empty() {
                None
            } else {
                Some(args.swap_remove(0))
            }
        }),
        CallOutcome::Error { error, .. } => return Err(failed(error)),
    };
    let (decision, keep) = parse_answer(answer.as_ref()).ok_or_else(|| {
        failed(format!(
            "expected a boolean or {{\"allow\", \"disclose\", \"cache\"}}, got {answer:?}"
        ))
    })?;
    if keep {
        cache.0.insert((uri.to_owned(), action), decision);
    }
    Ok(decision)
}

/// The authorizer's answer as (decision, cache it).
fn parse_answer(answer: Option<&Value>) -> Option<(Decision, bool)> {
    match answer? {
        Value::Bool(allowed) => Some((
            Decision {
                allowed: *allowed,
                disclose: None,
            },
            false,
        )),
        Value::Dict(dict) => {
            let flag = |key: &str| match dict.get(key) {
                None | Some(Value::Null) => Some(None),
                Some(Value::Bool(b)) => Some(Some(*b)),
                Some(_) => None,
            };
            let allowed = flag("allow")?.unwrap_or(false);
            let disclose = flag("disclose")?;
            let cache = flag("cache")?.unwrap_or(false);
            Some((Decision { allowed, disclose }, cache))
        }
        _ => None,
    }
}

const DENIED: Decision = Decision {
    allowed: false,
    disclose: None,
};

/// For a dynamically authorized role: asks the role's authorizer about this request and
/// leaves its decision with the realm's entry for the session, where the realm's
/// permission check finds it. An authorizer failure answers the request with an ERROR
/// (a PUBLISH without `acknowledge` is dropped silently, as any refused publish).
pub async fn ask_authorizer(
    realm: &Arc<Realm>,
    peer: &Peer,
    entry: &JoinedSession,
    cache: &mut DecisionCache,
    msg: &Message,
) -> Result<(), (u64, Id, WampError)> {
    let Some(authorizer) = realm.authorizer_of(&peer.authrole) else {
        return Ok(());
    };
    let (request_type, request, uri, action, options) = match msg {
        Message::Publish {
            request,
            options,
            topic,
            ..
        } => (message::PUBLISH, *request, topic, Action::Publish, options),
        Message::Subscribe {
            request,
            options,
            topic,
        } => (
            message::SUBSCRIBE,
            *request,
            topic,
            Action::Subscribe,
            options,
        ),
        Message::Register {
            request,
            options,
            procedure,
        } => (
            message::REGISTER,
            *request,
            procedure,
            Action::Register,
            options,
        ),
        Message::Call {
            request,
            options,
            procedure,
            ..
        } if !realm.continues_progressive_call(peer.session, *request) => {
            (message::CALL, *request, procedure, Action::Call, options)
        }
        _ => return Ok(()),
    };
    // A testament is a publish to come: its topic is decided now, with the call.
    let mut questions = vec![(uri.as_str(), action, options)];
    let testament_options;
    if let Message::Call {
        procedure, payload, ..
    } = msg
        && procedure == "wamp.session.add_testament"
        && let Some(Value::String(topic)) = payload.args.as_ref().and_then(|a| a.first())
    {
        testament_options = match payload
            .kwargs
            .as_ref()
            .and_then(|k| k.get("publish_options"))
        {
            Some(Value::Dict(options)) => options.clone(),
            _ => Dict::new(),
        };
        questions.push((topic.as_str(), Action::Publish, &testament_options));
    }
    let silent = request_type == message::PUBLISH
        && !matches!(options.get("acknowledge"), Some(Value::Bool(true)));
    let mut decisions = Vec::with_capacity(questions.len());
    for (uri, action, options) in questions {
        // Boxed: only dynamically authorized roles get here, and inline the wait would grow
        // every session's task (see `Session::handle`).
        let outcome = Box::pin(decide(
            realm,
            authorizer,
            &entry.details(),
            cache,
            uri,
            action,
            options,
        ))
        .await;
        let decision = match outcome {
            Ok(decision) => decision,
            Err(e) if silent => {
                debug!(
                    realm = realm.name,
                    topic = %peer_text(uri),
                    error = %peer_text(&e.message),
                    "publish dropped: the authorizer failed"
                );
                DENIED
            }
            Err(e) => {
                entry.set_decisions(Vec::new());
                return Err((request_type, request, e));
            }
        };
        decisions.push((uri.to_owned(), action, decision));
    }
    entry.set_decisions(decisions);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(pairs: &[(&str, Value)]) -> Value {
        Value::Dict(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn answers() {
        let allow = |allowed, disclose| Decision { allowed, disclose };
        assert_eq!(
            parse_answer(Some(&Value::Bool(true))),
            Some((allow(true, None), false))
        );
        assert_eq!(
            parse_answer(Some(&dict(&[
                ("allow", Value::Bool(true)),
                ("disclose", Value::Bool(true)),
                ("cache", Value::Bool(true))
            ]))),
            Some((allow(true, Some(true)), true))
        );
        assert_eq!(
            parse_answer(Some(&dict(&[]))),
            Some((allow(false, None), false)),
            "no allow: denied"
        );
        assert_eq!(
            parse_answer(Some(&dict(&[("allow", Value::from("yes"))]))),
            None
        );
        assert_eq!(parse_answer(Some(&Value::from(1u64))), None);
        assert_eq!(parse_answer(None), None);
    }
}
