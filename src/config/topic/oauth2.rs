//! `authorization` of an http-poller topic: OAuth2 client credentials, the one type the
//! config loader builds and the poller's token source uses.

use url::Url;

use super::request::http_url;
use crate::config::node::{Node, Result};
use crate::config::secret::Secret;

/// `authorization`: OAuth2 client credentials (`type` must be `oauth2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2 {
    /// `provider` (required): the token endpoint, an absolute `http` or `https` URL.
    pub provider: Url,
    /// `clientId` (required, not empty).
    pub client_id: String,
    /// `clientSecret` (required, not empty): literal, or `$NAME` / `${NAME}` read from the
    /// environment variable NAME. Never printed.
    pub client_secret: Secret,
    /// `scope` (default: none): sent as the `scope` form field.
    pub scope: Option<String>,
    /// `mode` (default `header`).
    pub mode: ClientAuthMode,
}

/// `authorization.mode`: how the client credentials reach the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuthMode {
    /// `header` (default): HTTP Basic (RFC 6749 2.3.1).
    #[default]
    Header,
    /// `body`: `client_id` and `client_secret` form fields.
    Body,
}

pub(super) fn oauth2(node: &Node, env: &dyn Fn(&str) -> Option<String>) -> Result<OAuth2> {
    let obj = node.object()?;
    obj.only(&[
        "type",
        "clientId",
        "clientSecret",
        "provider",
        "scope",
        "mode",
    ])?;
    obj.required("type")?.one_of(&["oauth2"])?;
    let client_id = obj.required("clientId")?.non_empty_str()?.to_string();
    let client_secret = secret(&obj.required("clientSecret")?, env)?;
    let provider = http_url(&obj.required("provider")?)?;
    let scope = obj.opt("scope", |n| n.non_empty_str().map(str::to_string))?;
    let mode = obj
        .opt("mode", |n| {
            Ok(match n.one_of(&["header", "body"])? {
                "body" => ClientAuthMode::Body,
                _ => ClientAuthMode::Header,
            })
        })?
        .unwrap_or_default();
    Ok(OAuth2 {
        provider,
        client_id,
        client_secret,
        scope,
        mode,
    })
}

/// A secret, as elsewhere in the config: a literal string, or `$NAME` / `${NAME}` for the
/// environment variable NAME. Errors name the variable, never the value.
fn secret(node: &Node, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret> {
    crate::config::auth::secret_from(node, env)
}
