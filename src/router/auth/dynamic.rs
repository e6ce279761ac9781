//! Dynamic authentication (Crossbar's `"type": "dynamic"`): once the client has answered its
//! CHALLENGE, the authenticator procedure (registered by a backend session on its realm) is
//! called with Crossbar's arguments `(realm, authid, details)`, `details` holding the ticket,
//! the method, the session id, the client's `authextra` and transport. Its answer decides: a
//! role (a string), or `{"role", "authid"?, "extra"?}`. An ERROR from it refuses the login with
//! its URI (`wamp.error.*` ones other than the authentication URIs become
//! `authentication_failed`); no answer within its timeout, or no such procedure, refuses it with
//! `wamp.error.authentication_failed`: never a hang.

use std::borrow::Cow;

use crate::config::{DynamicAuth, TRUSTED_ROLE};
use crate::router::Router;
use crate::router::auth::{Identity, Refusal};
use crate::router::internal::{self, CallOutcome};
use crate::router::session_table::TransportInfo;
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value};

/// A login waiting for the client's AUTHENTICATE, to be decided by the authenticator.
#[derive(Debug)]
pub struct Pending {
    pub config: DynamicAuth,
    /// The realm the client asked to join.
    pub realm: String,
    pub authid: Option<String>,
    pub authmethod: &'static str,
    /// `authextra` of the client's HELLO.
    pub authextra: Dict,
}

fn failed(message: impl Into<String>) -> Refusal {
    Refusal {
        reason: Cow::Borrowed(uri_error::AUTHENTICATION_FAILED),
        message: message.into(),
    }
}

/// Asks the authenticator about `signature` (the ticket; none for an anonymous login); the
/// identity it gives, or why not.
pub async fn authenticate(
    router: &Router,
    pending: Pending,
    signature: Option<&str>,
    session: Id,
    transport: &TransportInfo,
) -> Result<Identity, Refusal> {
    let procedure = &pending.config.authenticator;
    let realm_name = pending.config.realm.as_deref().unwrap_or(&pending.realm);
    let Some(realm) = router.realm(realm_name) else {
        return Err(failed(format!(
            "the authenticator's realm {realm_name} does not exist"
        )));
    };
    let mut details = Dict::new();
    if let Some(signature) = signature {
        details.insert(pending.authmethod.into(), Value::from(signature));
    }
    details.insert("authmethod".into(), Value::from(pending.authmethod));
    details.insert("session".into(), Value::from(session));
    details.insert("authextra".into(), Value::Dict(pending.authextra.clone()));
    details.insert("transport".into(), Value::Dict(transport.to_dict()));
    let authid = pending.authid.as_deref().map_or(Value::Null, Value::from);
    if let Some(id) = &pending.authid {
        details.insert("authid".into(), Value::from(id.as_str()));
    }
    let args = vec![
        Value::from(pending.realm.as_str()),
        authid,
        Value::Dict(details),
    ];
    let outcome = internal::call(
        &realm,
        TRUSTED_ROLE,
        "junction-authenticator",
        procedure,
        Payload::new(args, Dict::new()),
        pending.config.timeout,
    )
    .await;
    match outcome {
        CallOutcome::Result(payload) => identity(&pending, payload),
        CallOutcome::Error { error, .. } => Err(refusal_for(&error, procedure)),
    }
}

/// What an ERROR of (or about) the authenticator means for the client.
fn refusal_for(error: &str, procedure: &str) -> Refusal {
    let passed_on = [
        uri_error::AUTHENTICATION_FAILED,
        uri_error::NOT_AUTHORIZED,
        uri_error::NO_SUCH_ROLE,
        uri_error::NO_SUCH_REALM,
    ];
    if error.starts_with("wamp.") && !passed_on.contains(&error) {
        // The authenticator is missing, timed out or failed: not the client's doing.
        return failed(format!(
            "the authenticator {procedure} did not decide ({error})"
        ));
    }
    Refusal {
        reason: Cow::Owned(error.to_string()),
        message: format!("refused by the authenticator {procedure}"),
    }
}

/// The identity from the authenticator's answer: a role, or `{"role", "authid", "extra"}`.
fn identity(pending: &Pending, payload: Payload) -> Result<Identity, Refusal> {
    let answer = payload
        .args
        .and_then(|args| args.into_iter().next())
        .unwrap_or(Value::Null);
    let mut authid = pending.authid.clone();
    let mut authextra = Dict::new();
    let role = match answer {
        Value::String(role) => role,
        Value::Dict(mut fields) => {
            if let Some(realm) = fields.get("realm").and_then(Value::as_str)
                && realm != pending.realm
            {
                return Err(failed(format!(
                    "the authenticator put the session in realm {realm}, not the one it asked \
                     for: not supported"
                )));
            }
            if let Some(id) = fields.get("authid").and_then(Value::as_str) {
                authid = Some(id.to_string());
            }
            if let Some(Value::Dict(extra)) = fields.remove("extra") {
                authextra = extra;
            }
            match fields.remove("role") {
                Some(Value::String(role)) => role,
                _ => return Err(failed("the authenticator's answer has no \"role\"")),
            }
        }
        _ => {
            return Err(failed(
                "the authenticator answered neither a role nor {\"role\": ...}",
            ));
        }
    };
    Ok(Identity {
        authid: authid.unwrap_or_else(super::anonymous::random_authid),
        authrole: role,
        authmethod: pending.authmethod,
        authprovider: "dynamic",
        authextra,
    })
}
