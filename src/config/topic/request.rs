//! What an http-poller request is sent to and with: the `url` (also the OAuth2 `provider`)
//! and the `headers`. Neither URL text nor header values appear in errors (they may hold keys).

use std::collections::BTreeMap;

use url::Url;

use crate::config::node::{Node, Result};

/// An absolute `http`/`https` URL with a host. The URL text is not repeated in errors (its
/// query or user info may hold a key).
pub(crate) fn http_url(node: &Node) -> Result<Url> {
    let text = node.str()?;
    let url =
        Url::parse(text).map_err(|e| node.error(format!("not a valid absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(node.error(format!(
            "URL scheme must be http or https, found \"{}\"",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(node.error("URL has no host"));
    }
    Ok(url)
}

/// `headers`: valid names (unique ignoring case) and values. Values never appear in errors.
pub(super) fn headers(node: &Node, has_oauth2: bool) -> Result<BTreeMap<String, String>> {
    let obj = node.object()?;
    let mut out = BTreeMap::new();
    let mut lower_names: Vec<String> = Vec::new();
    for (name, value) in obj.entries() {
        if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(value.error(format!("\"{name}\" is not a valid HTTP header name")));
        }
        let lower = name.to_ascii_lowercase();
        if lower_names.contains(&lower) {
            return Err(value.error(format!(
                "header \"{name}\" is given twice (names ignore case)"
            )));
        }
        if has_oauth2 && lower == "authorization" {
            return Err(value.error(
                "the Authorization header is set by authorization (oauth2); remove one of them",
            ));
        }
        let text = value.str()?;
        if hyper::header::HeaderValue::from_str(text).is_err() {
            return Err(value.error(
                "not a valid HTTP header value (visible ASCII characters, space and tab only)",
            ));
        }
        lower_names.push(lower);
        out.insert(name.to_string(), text.to_string());
    }
    Ok(out)
}
