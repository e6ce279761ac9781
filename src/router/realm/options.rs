//! Reading the options of SUBSCRIBE, PUBLISH, REGISTER, CALL and CANCEL: each option's shape
//! is checked once here, so the verbs in [`pubsub`](super::pubsub) and [`rpc`](super::rpc)
//! work with typed values. A malformed option is `wamp.error.protocol_violation` (the session
//! aborts), except where the spec's test vectors or Crossbar answer otherwise (noted there).
//!
//! The readers are `#[inline]`: PUBLISH and CALL are hot paths, and these sat in the same
//! module as them before the realm was split by role, so they stay available for inlining.

use std::num::NonZeroU32;

use crate::router::authorize::Decision;
use crate::router::broker::Audience;
use crate::router::dealer::InvokePolicy;
use crate::router::error::WampError;
use crate::router::peer::Peer;
use crate::wamp::error as uri_error;
use crate::wamp::id::Id;
use crate::wamp::uri::MatchPolicy;
use crate::wamp::value::{Dict, Value};

#[inline]
pub fn match_policy(options: &Dict) -> Result<MatchPolicy, WampError> {
    MatchPolicy::from_options(options).ok_or_else(|| {
        protocol_violation(
            "option \"match\" must be one of \"exact\", \"prefix\", \"wildcard\"".to_owned(),
        )
    })
}

fn string_option(options: &Dict, key: &str) -> Result<(), WampError> {
    match options.get(key) {
        None | Some(Value::Null | Value::String(_)) => Ok(()),
        Some(_) => Err(protocol_violation(format!(
            "option \"{key}\" must be a string"
        ))),
    }
}

/// `forward_for` (router-to-router links): Junction does not act on it, but checks its shape
/// as the spec's test vectors require.
#[inline]
pub(super) fn forward_for(options: &Dict) -> Result<(), WampError> {
    match options.get("forward_for") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::List(hops)) if hops.iter().all(|h| matches!(h, Value::Dict(_))) => Ok(()),
        Some(_) => Err(protocol_violation(
            "option \"forward_for\" must be a list of dicts".to_owned(),
        )),
    }
}

fn protocol_violation(message: String) -> WampError {
    WampError::new(uri_error::PROTOCOL_VIOLATION, message)
}

#[inline]
pub(super) fn bool_option(options: &Dict, key: &str) -> Result<Option<bool>, WampError> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(protocol_violation(format!(
            "option \"{key}\" must be a boolean"
        ))),
    }
}

fn id_list(options: &Dict, key: &str) -> Result<Option<Vec<Id>>, WampError> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(items)) => items
            .iter()
            .map(Value::as_id)
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| {
                protocol_violation(format!("option \"{key}\" must be a list of session ids"))
            }),
        Some(_) => Err(protocol_violation(format!(
            "option \"{key}\" must be a list of session ids"
        ))),
    }
}

fn string_list(options: &Dict, key: &str) -> Result<Option<Vec<String>>, WampError> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| {
                protocol_violation(format!("option \"{key}\" must be a list of strings"))
            }),
        Some(_) => Err(protocol_violation(format!(
            "option \"{key}\" must be a list of strings"
        ))),
    }
}

/// Junction's disclosure rule: the permission decides when it says so; otherwise the client's
/// `disclose_me`.
#[inline]
pub(super) fn disclose(decision: Decision, options: &Dict) -> Result<bool, WampError> {
    let asked = bool_option(options, "disclose_me")?.unwrap_or(false);
    Ok(decision.disclose.unwrap_or(asked))
}

#[inline]
pub(super) fn audience(publisher: &Peer, options: &Dict) -> Result<Audience, WampError> {
    let exclude_me = bool_option(options, "exclude_me")?.unwrap_or(true);
    bool_option(options, "acknowledge")?;
    string_option(options, "transaction_hash")?;
    forward_for(options)?;
    Ok(Audience {
        exclude_session: exclude_me.then_some(publisher.session),
        exclude: id_list(options, "exclude")?.unwrap_or_default(),
        exclude_authid: string_list(options, "exclude_authid")?.unwrap_or_default(),
        exclude_authrole: string_list(options, "exclude_authrole")?.unwrap_or_default(),
        eligible: id_list(options, "eligible")?,
        eligible_authid: string_list(options, "eligible_authid")?,
        eligible_authrole: string_list(options, "eligible_authrole")?,
    })
}

/// REGISTER's `invoke`: how calls are shared among the callees of one registration.
#[inline]
pub fn invoke_policy(options: &Dict) -> Result<InvokePolicy, WampError> {
    match options.get("invoke") {
        None | Some(Value::Null) => Ok(InvokePolicy::Single),
        Some(Value::String(name)) => InvokePolicy::parse(name).ok_or_else(|| {
            WampError::new(
                uri_error::INVALID_ARGUMENT,
                format!(
                    "unknown invocation policy \"{name}\" (single, roundrobin, random, first or last)"
                ),
            )
        }),
        Some(_) => Err(WampError::new(
            uri_error::PROTOCOL_VIOLATION,
            "REGISTER.Options.invoke must be a string",
        )),
    }
}

/// REGISTER.Options.concurrency (Crossbar's): the most invocations the callee runs at once, a
/// positive integer; anything else is `wamp.error.invalid_argument` (as Crossbar answers).
pub(super) fn concurrency(options: &Dict) -> Result<Option<NonZeroU32>, WampError> {
    let limit = match options.get("concurrency") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Int(n)) => u32::try_from(*n).ok(),
        Some(Value::UInt(n)) => u32::try_from(*n).ok(),
        Some(_) => None,
    };
    limit.and_then(NonZeroU32::new).map(Some).ok_or_else(|| {
        WampError::new(
            uri_error::INVALID_ARGUMENT,
            format!(
                "REGISTER.Options.concurrency must be a positive integer (at most {})",
                u32::MAX
            ),
        )
    })
}

/// How a canceled call ends (CANCEL's `mode`; a call timeout is `KillNoWait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelMode {
    /// Answer the caller at once; the callee finishes unseen (no INTERRUPT).
    Skip,
    /// INTERRUPT the callee; its ERROR (or YIELD) answers the caller.
    Kill,
    /// INTERRUPT the callee and answer the caller at once.
    KillNoWait,
}

impl CancelMode {
    pub fn parse(name: &str) -> Option<CancelMode> {
        match name {
            "skip" => Some(CancelMode::Skip),
            "kill" => Some(CancelMode::Kill),
            "killnowait" => Some(CancelMode::KillNoWait),
            _ => None,
        }
    }

    /// The spec's name, as INTERRUPT.Options.mode carries it.
    pub fn name(self) -> &'static str {
        match self {
            CancelMode::Skip => "skip",
            CancelMode::Kill => "kill",
            CancelMode::KillNoWait => "killnowait",
        }
    }
}

/// CANCEL's `mode`, `skip` when absent. An unknown one is `wamp.error.invalid_argument`.
#[inline]
pub(super) fn cancel_mode(options: &Dict) -> Result<CancelMode, WampError> {
    let value = match options.get("mode") {
        None | Some(Value::Null) => return Ok(CancelMode::Skip),
        Some(value) => value,
    };
    value.as_str().and_then(CancelMode::parse).ok_or_else(|| {
        WampError::new(
            uri_error::INVALID_ARGUMENT,
            format!("CANCEL mode must be skip, kill or killnowait, not {value:?}"),
        )
    })
}

/// CALL.Options.timeout in ms (a positive number; anything else means none).
pub fn call_timeout(options: &Dict) -> Option<u64> {
    match options.get("timeout") {
        Some(Value::UInt(ms)) if *ms > 0 => Some(*ms),
        Some(Value::Int(ms)) if *ms > 0 => Some(*ms as u64),
        Some(Value::Float(ms)) if *ms >= 1.0 && ms.is_finite() => Some(*ms as u64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_modes() {
        let with = |mode: Value| {
            let mut options = Dict::new();
            options.insert("mode".into(), mode);
            cancel_mode(&options)
        };
        assert_eq!(cancel_mode(&Dict::new()), Ok(CancelMode::Skip));
        assert_eq!(with(Value::Null), Ok(CancelMode::Skip));
        for mode in [CancelMode::Skip, CancelMode::Kill, CancelMode::KillNoWait] {
            assert_eq!(with(Value::from(mode.name())), Ok(mode));
        }
        let error = with(Value::from("abort")).unwrap_err();
        assert_eq!(error.uri, uri_error::INVALID_ARGUMENT);
        assert_eq!(
            error.message,
            format!(
                "CANCEL mode must be skip, kill or killnowait, not {:?}",
                Value::from("abort")
            )
        );
        assert!(with(Value::from(1u64)).is_err());
    }
}
