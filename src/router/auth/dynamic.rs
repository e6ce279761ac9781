//! Dynamic authentication (Crossbar's `"type": "dynamic"`): once the client has answered its
//! CHALLENGE, the authenticator procedure (registered by a backend session on its realm) is
//! called with Crossbar's arguments `(realm, authid, details)`, `details` holding the ticket,
//! the method, the session id, the client's `authextra` and transport. Its answer decides: a
//! role (a string), or `{"role", "authid"?, "extra"?}`. An ERROR from it refuses the login with
//! its URI (`wamp.error.*` ones other than the authentication URIs become
//! `authentication_failed`); no answer within its timeout, or no such procedure, refuses it with
//! `wamp.error.authentication_failed`: never a hang.

use std::borrow::Cow;

use ed25519_dalek::VerifyingKey;

use crate::config::secret::Secret;
use crate::config::{DynamicAuth, WampcraUser};
use crate::router::Router;
use crate::router::auth::{AuthStep, Identity, Refusal, cryptosign, scram, wampcra};
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
    let answer = ask(router, &pending, signature, session, transport).await?;
    identity(&pending, answer)
}

/// Decides a HELLO at once (anonymous: the identity; wampcra: the CHALLENGE made with the
/// secret the authenticator gave).
pub async fn decide(
    router: &Router,
    pending: Pending,
    session: Id,
    transport: &TransportInfo,
) -> AuthStep {
    let answer = match ask(router, &pending, None, session, transport).await {
        Ok(answer) => answer,
        Err(refusal) => return AuthStep::Abort(refusal),
    };
    if pending.authmethod == "cryptosign" {
        return match cryptosign_principal(&pending, answer) {
            Ok((key, authid, role, authextra)) => {
                cryptosign::challenge_key(key, authid, role, authextra)
            }
            Err(refusal) => AuthStep::Abort(refusal),
        };
    }
    if pending.authmethod == "scram" {
        return scram_challenge(&pending, answer);
    }
    if pending.authmethod == "wampcra" {
        return match wampcra_user(&pending, answer) {
            Ok((user, authid, authextra)) => wampcra::challenge_user(
                &user,
                &authid,
                &pending.realm,
                session,
                "dynamic",
                authextra,
            ),
            Err(refusal) => AuthStep::Abort(refusal),
        };
    }
    match identity(&pending, answer) {
        Ok(identity) => AuthStep::Welcome(identity),
        Err(refusal) => AuthStep::Abort(refusal),
    }
}

/// Calls the authenticator with Crossbar's `(realm, authid, details)`; its first result.
async fn ask(
    router: &Router,
    pending: &Pending,
    signature: Option<&str>,
    session: Id,
    transport: &TransportInfo,
) -> Result<Value, Refusal> {
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
    details.insert(
        "transport".into(),
        Value::Dict(transport.authenticator_dict()),
    );
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
        &pending.config.role,
        "junction-authenticator",
        procedure,
        Payload::new(args, Dict::new()),
        pending.config.timeout,
    )
    .await;
    match outcome {
        CallOutcome::Result(payload) => Ok(payload
            .args
            .and_then(|args| args.into_iter().next())
            .unwrap_or(Value::Null)),
        CallOutcome::Error { error, .. } => Err(refusal_for(&error, procedure)),
    }
}

/// A wampcra user from the authenticator's `{"secret", "role", "salt"?, "iterations"?,
/// "keylen"?, "authid"?, "extra"?}`, with the authid and authextra to use.
fn wampcra_user(pending: &Pending, answer: Value) -> Result<(WampcraUser, String, Dict), Refusal> {
    let Value::Dict(mut fields) = answer else {
        return Err(failed(
            "the authenticator's answer for wampcra is not {\"secret\", \"role\", ...}",
        ));
    };
    check_realm(pending, &fields)?;
    let Some(Value::String(secret)) = fields.remove("secret") else {
        return Err(failed(
            "the authenticator's answer for wampcra has no \"secret\"",
        ));
    };
    let Some(Value::String(role)) = fields.remove("role") else {
        return Err(failed("the authenticator's answer has no \"role\""));
    };
    let number = |key: &str, default: u32| match fields.get(key).and_then(Value::as_u64) {
        Some(n) => u32::try_from(n).unwrap_or(default),
        None => default,
    };
    let user = WampcraUser {
        secret: Secret::new(secret),
        role,
        salt: fields
            .get("salt")
            .and_then(Value::as_str)
            .map(str::to_string),
        iterations: number("iterations", 1000),
        keylen: number("keylen", 32),
    };
    let authid = fields
        .get("authid")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| pending.authid.clone())
        .unwrap_or_default();
    let authextra = match fields.remove("extra") {
        Some(Value::Dict(extra)) => extra,
        _ => Dict::new(),
    };
    Ok((user, authid, authextra))
}

/// The SCRAM CHALLENGE for the principal the authenticator answered (`{"kdf", "iterations",
/// "memory"?, "salt", "stored-key", "server-key", "role", "authid"?, "extra"?}`).
fn scram_challenge(pending: &Pending, answer: Value) -> AuthStep {
    let Value::Dict(mut fields) = answer else {
        return AuthStep::Abort(failed(
            "the authenticator's answer for scram is not {\"kdf\", \"salt\", ...}",
        ));
    };
    let checked = check_realm(pending, &fields)
        .and_then(|()| scram::principal_from_answer(&fields))
        .and_then(|principal| {
            let first = scram::client_first(
                pending.authid.as_deref(),
                Some(&Value::Dict(pending.authextra.clone())),
            )?;
            Ok((principal, first))
        });
    let (principal, first) = match checked {
        Ok(found) => found,
        Err(refusal) => return AuthStep::Abort(refusal),
    };
    let authid = fields
        .get("authid")
        .and_then(Value::as_str)
        .map_or_else(|| first.authid.clone(), str::to_string);
    let authextra = match fields.remove("extra") {
        Some(Value::Dict(extra)) => extra,
        _ => Dict::new(),
    };
    scram::challenge_principal(&principal, first, authid, "dynamic", authextra)
}

/// The key to challenge (the client's, which the answer's `pubkey`, when given, must match),
/// the authid, the role and the authextra from the authenticator's `{"role", "pubkey"?,
/// "authid"?, "extra"?}` (or a role string).
fn cryptosign_principal(
    pending: &Pending,
    answer: Value,
) -> Result<(VerifyingKey, String, String, Dict), Refusal> {
    let key = cryptosign::client_key(&pending.authextra)?;
    if let Value::Dict(fields) = &answer
        && let Some(pubkey) = fields.get("pubkey").and_then(Value::as_str)
        && !pubkey.eq_ignore_ascii_case(&hex::encode(key.as_bytes()))
    {
        return Err(failed(
            "the authenticator named another key than the client's",
        ));
    }
    let identity = identity(pending, answer)?;
    Ok((key, identity.authid, identity.authrole, identity.authextra))
}

/// An answer may name the realm only as the one the client asked for (moving a session to
/// another realm is not supported).
fn check_realm(pending: &Pending, fields: &Dict) -> Result<(), Refusal> {
    match fields.get("realm").and_then(Value::as_str) {
        Some(realm) if realm != pending.realm => Err(failed(format!(
            "the authenticator put the session in realm {realm}, not the one it asked for: \
             not supported"
        ))),
        _ => Ok(()),
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
fn identity(pending: &Pending, answer: Value) -> Result<Identity, Refusal> {
    let mut authid = pending.authid.clone();
    let mut authextra = Dict::new();
    let role = match answer {
        Value::String(role) => role,
        Value::Dict(mut fields) => {
            check_realm(pending, &fields)?;
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
