//! `realms[].http_callees[]`: each entry a procedure the realm's HTTP callee registers (see
//! `model/http_callee.rs`). Checked here: the procedure URI under its `match`, the URL, the
//! method, the role (one of the realm's roles, or `trusted`), header names and values (values
//! may be `$VAR` secrets and never appear in errors), and the bounds.

use std::time::Duration;

use crate::config::auth::secret;
use crate::config::loader::Loader;
use crate::config::model::{
    DEFAULT_HTTP_CALLEE_CONCURRENCY, DEFAULT_HTTP_CALLEE_MAX_RESPONSE, DEFAULT_HTTP_CALLEE_TIMEOUT,
    HttpCalleeConfig, HttpMethod, OnTimeout, RequestMapping, RoleConfig, TRUSTED_ROLE,
};
use crate::config::node::{Node, Obj, Result};
use crate::config::secret::Secret;
use crate::config::topic::request::http_url;
use crate::wamp::uri::{self, MatchPolicy};

/// The largest `max_response_bytes`: 1 GiB.
const MAX_RESPONSE_LIMIT: u64 = 1 << 30;

/// `http_callees`: a list; no two entries register the same procedure with the same `match`.
pub(crate) fn load_http_callees(
    list: &Node,
    roles: &[RoleConfig],
    cx: &Loader,
) -> Result<Vec<HttpCalleeConfig>> {
    let mut callees: Vec<HttpCalleeConfig> = Vec::new();
    for item in list.array()? {
        let callee = load_http_callee(&item.object()?, roles, cx)?;
        if let Some(first) = callees
            .iter()
            .find(|c| c.procedure == callee.procedure && c.policy == callee.policy)
        {
            return Err(item.error(format!(
                "procedure \"{}\" ({}) is registered by {} already",
                callee.procedure,
                callee.policy.name(),
                first.path
            )));
        }
        callees.push(callee);
    }
    Ok(callees)
}

fn load_http_callee(obj: &Obj, roles: &[RoleConfig], cx: &Loader) -> Result<HttpCalleeConfig> {
    obj.only(&[
        "procedure",
        "match",
        "url",
        "method",
        "role",
        "headers",
        "timeout",
        "on_timeout",
        "body",
        "max_response_bytes",
        "concurrency",
    ])?;
    let policy = match obj.get("match") {
        None => MatchPolicy::Exact,
        Some(node) => match node.one_of(&["exact", "prefix", "wildcard"])? {
            "prefix" => MatchPolicy::Prefix,
            "wildcard" => MatchPolicy::Wildcard,
            _ => MatchPolicy::Exact,
        },
    };
    let procedure_node = obj.required("procedure")?;
    let procedure = procedure_node.str()?;
    if !uri::is_valid(procedure, false, policy) || uri::is_reserved(procedure) {
        return Err(procedure_node.error(format!(
            "\"{procedure}\" is not a procedure URI a client may register ({} match)",
            policy.name()
        )));
    }
    let method = match obj.get("method") {
        None => HttpMethod::Post,
        Some(node) => {
            HttpMethod::from_name(node.one_of(&HttpMethod::NAMES)?).unwrap_or(HttpMethod::Post)
        }
    };
    let on_timeout = match obj.get("on_timeout") {
        Some(node) if node.one_of(&["timeout", "canceled"])? == "canceled" => OnTimeout::Canceled,
        _ => OnTimeout::Timeout,
    };
    let mapping = match obj.get("body") {
        None => RequestMapping::Payload,
        Some(node) => match node.one_of(&["payload", "kwargs", "args0"])? {
            "kwargs" => RequestMapping::Kwargs,
            "args0" => RequestMapping::Args0,
            _ => RequestMapping::Payload,
        },
    };
    let headers = match obj.get("headers") {
        Some(node) => headers(&node, cx)?,
        None => Vec::new(),
    };
    Ok(HttpCalleeConfig {
        path: obj.path.clone(),
        procedure: procedure.to_owned(),
        policy,
        url: http_url(&obj.required("url")?)?,
        method,
        role: callee_role(&obj.required("role")?, roles)?,
        headers,
        timeout: obj
            .opt("timeout", |n| n.u64_in(1, 86_400))?
            .map_or(DEFAULT_HTTP_CALLEE_TIMEOUT, Duration::from_secs),
        on_timeout,
        mapping,
        max_response_bytes: obj
            .opt("max_response_bytes", |n| n.u64_in(1, MAX_RESPONSE_LIMIT))?
            .map_or(DEFAULT_HTTP_CALLEE_MAX_RESPONSE, |n| n as usize),
        concurrency: obj
            .opt("concurrency", |n| n.u64_in(1, 100_000))?
            .map_or(DEFAULT_HTTP_CALLEE_CONCURRENCY, |n| n as u32),
    })
}

/// `role`: one of the realm's roles with permissions (or `trusted`).
fn callee_role(node: &Node, roles: &[RoleConfig]) -> Result<String> {
    let role = node.non_empty_str()?;
    match roles.iter().find(|r| r.name == role) {
        None if role == TRUSTED_ROLE => {}
        None => return Err(node.error(format!("role \"{role}\" is not defined in this realm"))),
        Some(r) if r.authorizer.is_some() => {
            return Err(node.error(format!(
                "role \"{role}\" is dynamically authorized (authorizer); an HTTP callee needs \
                 a role with permissions"
            )));
        }
        Some(_) => {}
    }
    Ok(role.to_owned())
}

/// `headers`: valid names, unique ignoring case (and not `Content-Type`, which Junction sets);
/// values literal or `$VAR`, never repeated in an error.
fn headers(node: &Node, cx: &Loader) -> Result<Vec<(String, Secret)>> {
    let mut out: Vec<(String, Secret)> = Vec::new();
    for (name, value) in node.object()?.entries() {
        if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(value.error(format!("\"{name}\" is not a valid HTTP header name")));
        }
        if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(value.error(format!(
                "header \"{name}\" is given twice (names ignore case)"
            )));
        }
        if name.eq_ignore_ascii_case("content-type") {
            return Err(value.error("Content-Type is set by Junction (application/json)"));
        }
        let value_secret = secret(&value, cx)?;
        if hyper::header::HeaderValue::from_str(value_secret.expose()).is_err() {
            return Err(value.error(
                "not a valid HTTP header value (visible ASCII characters, space and tab only)",
            ));
        }
        out.push((name.to_owned(), value_secret));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::config::load::testing::*;
    use crate::config::model::{HttpMethod, OnTimeout, RequestMapping};
    use crate::wamp::uri::MatchPolicy;

    fn realm(callees: &str) -> String {
        worker(
            &format!(
                r#"{{"name": "realm1", "roles": [{{"name": "backend", "permissions": []}}],
                    "http_callees": [{callees}]}}"#
            ),
            "",
        )
    }

    fn env(name: &str) -> Option<String> {
        (name == "API_TOKEN").then(|| "s3cret-token".to_owned())
    }

    fn error(callees: &str) -> String {
        crate::config::load_str_with_env(&realm(callees), &env)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_full_entry_loads_with_its_defaults_and_secrets() {
        let config = crate::config::load_str_with_env(
            &realm(
                r#"{"procedure": "com.example.orders", "match": "prefix",
                    "url": "http://127.0.0.1:9000/orders", "method": "GET", "role": "backend",
                    "headers": {"Authorization": "$API_TOKEN"}, "timeout": 5,
                    "on_timeout": "canceled", "body": "kwargs", "max_response_bytes": 1000,
                    "concurrency": 2},
                   {"procedure": "com.example.add", "url": "https://api.example.com/add",
                    "role": "trusted"}"#,
            ),
            &env,
        )
        .unwrap();
        let callees = &config.workers[0].realms[0].http_callees;
        let (full, plain) = (&callees[0], &callees[1]);
        assert_eq!(full.policy, MatchPolicy::Prefix);
        assert_eq!(full.method, HttpMethod::Get);
        assert_eq!(full.on_timeout, OnTimeout::Canceled);
        assert_eq!(full.mapping, RequestMapping::Kwargs);
        assert_eq!(full.headers[0].1.expose(), "s3cret-token");
        assert_eq!((full.max_response_bytes, full.concurrency), (1000, 2));
        assert_eq!(full.timeout.as_secs(), 5);
        assert!(
            !format!("{full:?}").contains("s3cret"),
            "Debug hides header values"
        );
        assert_eq!(plain.method, HttpMethod::Post);
        assert_eq!(plain.mapping, RequestMapping::Payload);
        assert_eq!(plain.on_timeout, OnTimeout::Timeout);
        assert_eq!(plain.timeout.as_secs(), 30);
        assert_eq!(plain.concurrency, 64);
    }

    #[test]
    fn errors_name_the_json_path() {
        let at = "workers[0].realms[0].http_callees[0]";
        let cases = [
            (
                r#"{"procedure": "a.b", "url": "http://x/", "role": "nobody"}"#,
                "role",
                "not defined",
            ),
            (
                r#"{"procedure": "a..b", "url": "http://x/", "role": "backend"}"#,
                "procedure",
                "not a procedure URI",
            ),
            (
                r#"{"procedure": "wamp.x", "url": "http://x/", "role": "backend"}"#,
                "procedure",
                "not a procedure URI",
            ),
            (
                r#"{"procedure": "a.b", "url": "ftp://x/", "role": "backend"}"#,
                "url",
                "scheme",
            ),
            (
                r#"{"procedure": "a.b", "url": "http://x/", "role": "backend", "method": "HEAD"}"#,
                "method",
                "HEAD",
            ),
            (
                r#"{"procedure": "a.b", "url": "http://x/", "role": "backend", "body": "xml"}"#,
                "body",
                "xml",
            ),
            (
                r#"{"procedure": "a.b", "url": "http://x/", "role": "backend", "timeout": 0}"#,
                "timeout",
                "",
            ),
            (
                r#"{"procedure": "a.b", "url": "http://x/", "role": "backend", "on_timeout": "x"}"#,
                "on_timeout",
                "",
            ),
            (
                r#"{"procedure": "a.b", "url": "http://x/", "role": "backend", "headers": {"X": "$NOPE"}}"#,
                "headers.X",
                "NOPE is not set",
            ),
            (
                r#"{"procedure": "a.b", "url": "http://x/", "role": "backend", "headers": {"Content-Type": "a"}}"#,
                "headers.Content-Type",
                "set by Junction",
            ),
            (
                r#"{"procedure": "a.b", "url": "http://x/", "role": "backend", "retry": 1}"#,
                "retry",
                "unknown key",
            ),
            (
                r#"{"url": "http://x/", "role": "backend"}"#,
                "procedure",
                "required",
            ),
        ];
        for (entry, key, message) in cases {
            let e = error(entry);
            assert!(e.starts_with(&format!("{at}.{key}")), "{e}");
            assert!(e.contains(message), "{e}");
        }
        let twice = r#"{"procedure": "a.b", "url": "http://x/", "role": "backend"},
                       {"procedure": "a.b", "url": "http://y/", "role": "backend"}"#;
        let e = error(twice);
        assert!(e.starts_with("workers[0].realms[0].http_callees[1]"), "{e}");
    }

    #[test]
    fn a_header_value_never_appears_in_an_error() {
        let e = error(
            r#"{"procedure": "a.b", "url": "http://x/", "role": "backend",
                "headers": {"X-Key": "bad\u0001value"}}"#,
        );
        assert!(e.contains("not a valid HTTP header value"), "{e}");
        assert!(!e.contains("bad"), "{e}");
    }

    #[test]
    fn check_summarizes_each_callee_without_secrets() {
        let config = crate::config::load_str_with_env(
            &realm(
                r#"{"procedure": "com.example.orders", "match": "prefix", "role": "backend",
                    "url": "http://127.0.0.1:9000/orders?api_key=k3y",
                    "headers": {"Authorization": "$API_TOKEN"}}"#,
            ),
            &env,
        )
        .unwrap();
        let summary = crate::config::summary(&config);
        assert!(
            summary.contains(
                "http callee com.example.orders (prefix): POST \
                 http://127.0.0.1:9000/orders?api_key=redacted, body payload, as role backend"
            ),
            "{summary}"
        );
        assert!(
            !summary.contains("k3y") && !summary.contains("s3cret"),
            "{summary}"
        );
    }
}
