//! Crossbar's `RESTCallee` contract, for its container components run natively: the call
//! describes the request in kwargs (or positionally, in this order) `method`, `url` (joined to
//! the component's `baseurl` as Python's `urljoin` does), `body` (a string), `headers` (name ->
//! value or list of values) and `params` (query parameters, name -> value or list); every
//! answer, whatever its status, is the RESULT `{"code": status, "content": text, "headers":
//! {name: [values]}}` with header names title-cased (`Content-Type`), as its webhook has them.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::config::model::HttpCalleeConfig;
use crate::http_peer::callee::failure::Failure;
use crate::http_peer::callee::request::with_headers;
use crate::router::internal::InternalInvocation;
use crate::wamp::message::Payload;
use crate::wamp::value::{Dict, Value};

/// The names of `on_call(method, url, body, headers, params)` in Crossbar, in order.
const PARAMETERS: [&str; 5] = ["method", "url", "body", "headers", "params"];

pub fn build(
    client: &reqwest::Client,
    config: &HttpCalleeConfig,
    invocation: &InternalInvocation,
) -> Result<reqwest::RequestBuilder, Failure> {
    let call = arguments(&invocation.payload)?;
    let method = match call.get("method") {
        Some(Value::String(m)) => reqwest::Method::from_bytes(m.as_bytes())
            .map_err(|_| invalid(format!("\"{m}\" is not an HTTP method")))?,
        _ => return Err(invalid("\"method\" (a string such as \"GET\") is required")),
    };
    let mut url = match call.get("url") {
        None | Some(Value::Null) => config.url.clone(),
        Some(Value::String(relative)) => config
            .url
            .join(relative)
            .map_err(|e| invalid(format!("\"url\" cannot be joined to the base URL: {e}")))?,
        Some(_) => return Err(invalid("\"url\" must be a string")),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("\"url\" must stay http or https"));
    }
    if let Some(params) = call.get("params") {
        let pairs = string_lists(params, "params")?;
        if !pairs.is_empty() {
            let mut query = url.query_pairs_mut();
            for (name, value) in &pairs {
                query.append_pair(name, value);
            }
        }
    }
    let mut request = with_headers(client.request(method, url), config, &invocation.called);
    if let Some(headers) = call.get("headers") {
        for (name, value) in string_lists(headers, "headers")? {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("\"{name}\" is not an HTTP header name")))?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| invalid(format!("header \"{name}\" has an invalid value")))?;
            request = request.header(name, value);
        }
    }
    match call.get("body") {
        None | Some(Value::Null) => {}
        Some(Value::String(body)) => request = request.body(body.clone().into_bytes()),
        Some(_) => return Err(invalid("\"body\" must be a string")),
    }
    Ok(request)
}

/// The RESULT for any answer.
pub fn result(status: u16, headers: &HeaderMap, body: &[u8]) -> Payload {
    let mut answer = Dict::new();
    answer.insert("code".into(), Value::from(u64::from(status)));
    answer.insert(
        "content".into(),
        Value::from(String::from_utf8_lossy(body).into_owned()),
    );
    answer.insert("headers".into(), Value::Dict(crossbar_headers(headers)));
    Payload {
        args: Some(vec![Value::Dict(answer)]),
        kwargs: None,
    }
}

/// kwargs, with positional arguments taking the names Crossbar's handler gives them.
fn arguments(payload: &Payload) -> Result<Dict, Failure> {
    let mut call = payload.kwargs.clone().unwrap_or_default();
    let args = payload.args.as_deref().unwrap_or_default();
    if args.len() > PARAMETERS.len() {
        return Err(invalid(
            "at most 5 positional arguments: method, url, body, headers, params",
        ));
    }
    for (name, value) in PARAMETERS.iter().zip(args) {
        if call.insert((*name).to_owned(), value.clone()).is_some() {
            return Err(invalid(format!("\"{name}\" is given twice")));
        }
    }
    Ok(call)
}

/// `{name: value or [values]}` as (name, value) pairs; values strings, numbers or booleans.
fn string_lists(value: &Value, what: &str) -> Result<Vec<(String, String)>, Failure> {
    let Value::Dict(entries) = value else {
        return Err(invalid(format!("\"{what}\" must be an object")));
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
            serde_json::to_string(v).ok()
        }
        _ => None,
    };
    let mut pairs = Vec::new();
    for (name, v) in entries {
        let values = match v {
            Value::List(list) => list.iter().map(text).collect::<Option<Vec<_>>>(),
            single => text(single).map(|t| vec![t]),
        };
        let Some(values) = values else {
            return Err(invalid(format!(
                "\"{what}\".\"{name}\" must be a string, a number or a list of them"
            )));
        };
        pairs.extend(values.into_iter().map(|t| (name.clone(), t)));
    }
    Ok(pairs)
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::InvalidArgument(message.into())
}

/// HTTP headers as Crossbar hands them on (Twisted's `getAllRawHeaders`): `{Name: [values]}`,
/// names as [`title_case`] writes them, values as text. The webhook path's events use it too.
pub fn crossbar_headers(headers: &HeaderMap) -> Dict {
    let mut by_name = Dict::new();
    for (name, value) in headers {
        let entry = by_name
            .entry(title_case(name.as_str()))
            .or_insert_with(|| Value::List(Vec::new()));
        if let Value::List(values) = entry {
            values.push(Value::from(
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ));
        }
    }
    by_name
}

/// `x-request-id` -> `X-Request-Id`: a header name as Crossbar reports it (each
/// dash-separated word capitalized).
pub fn title_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_arguments_take_crossbars_names() {
        let payload = Payload {
            args: Some(vec!["GET".into(), "items".into()]),
            kwargs: None,
        };
        let call = arguments(&payload).unwrap();
        assert_eq!(call.get("url"), Some(&Value::from("items")));
        let mut twice = payload.clone();
        twice.kwargs = Some(Dict::from([("method".to_owned(), Value::from("PUT"))]));
        assert!(arguments(&twice).is_err());
    }

    #[test]
    fn urls_join_as_urljoin_does() {
        let base = url::Url::parse("http://h/api/v1/").unwrap();
        assert_eq!(
            base.join("items?x=1").unwrap().as_str(),
            "http://h/api/v1/items?x=1"
        );
        assert_eq!(base.join("/root").unwrap().as_str(), "http://h/root");
        assert_eq!(base.join("").unwrap().as_str(), "http://h/api/v1/");
    }
}
