//! An invocation as an HTTP request, for the JSON mappings (`body`: `payload`, `kwargs`,
//! `args0`): the configured URL, method and headers, `Wamp-Procedure`, and a JSON body (for
//! GET and DELETE, the kwargs as query parameters instead).

use reqwest::header::{CONTENT_TYPE, HeaderValue};

use crate::config::model::{HttpCalleeConfig, RequestMapping};
use crate::http_peer::callee::failure::Failure;
use crate::router::internal::InternalInvocation;
use crate::wamp::value::{Dict, Value};

pub fn build(
    client: &reqwest::Client,
    config: &HttpCalleeConfig,
    invocation: &InternalInvocation,
) -> Result<reqwest::RequestBuilder, Failure> {
    let mut url = config.url.clone();
    let body = if config.method.has_body() {
        Some(body(config.mapping, invocation)?)
    } else {
        if invocation
            .payload
            .args
            .as_ref()
            .is_some_and(|a| !a.is_empty())
        {
            return Err(Failure::InvalidArgument(format!(
                "{} sends keyword arguments only (as query parameters), not positional ones",
                config.method.name()
            )));
        }
        if let Some(kwargs) = &invocation.payload.kwargs {
            add_query(&mut url, kwargs)?;
        }
        None
    };
    let method = reqwest::Method::from_bytes(config.method.name().as_bytes())
        .unwrap_or(reqwest::Method::POST);
    let mut request = with_headers(client.request(method, url), config, &invocation.called);
    if let Some(body) = body {
        request = request.header(CONTENT_TYPE, "application/json").body(body);
    }
    Ok(request)
}

/// The configured headers (marked sensitive: hyper never shows them) and `Wamp-Procedure`
/// (left out when the URI is not a valid header value).
pub fn with_headers(
    mut request: reqwest::RequestBuilder,
    config: &HttpCalleeConfig,
    procedure: &str,
) -> reqwest::RequestBuilder {
    for (name, value) in &config.headers {
        // Checked when the config loaded.
        if let Ok(mut value) = HeaderValue::from_str(value.expose()) {
            value.set_sensitive(true);
            request = request.header(name.as_str(), value);
        }
    }
    if let Ok(value) = HeaderValue::from_str(procedure) {
        request = request.header("Wamp-Procedure", value);
    }
    request
}

fn body(mapping: RequestMapping, invocation: &InternalInvocation) -> Result<Vec<u8>, Failure> {
    let payload = &invocation.payload;
    let kwargs = || Value::Dict(payload.kwargs.clone().unwrap_or_default());
    let value = match mapping {
        RequestMapping::Kwargs => kwargs(),
        RequestMapping::Args0 => match payload.args.as_ref().and_then(|args| args.first()) {
            Some(first) => first.clone(),
            None => {
                return Err(Failure::InvalidArgument(
                    "this procedure sends its first positional argument as the request body: \
                     give one"
                        .into(),
                ));
            }
        },
        RequestMapping::Payload | RequestMapping::CrossbarRest => {
            let mut body = Dict::new();
            body.insert("procedure".into(), Value::from(invocation.called.as_str()));
            body.insert(
                "args".into(),
                Value::List(payload.args.clone().unwrap_or_default()),
            );
            body.insert("kwargs".into(), kwargs());
            Value::Dict(body)
        }
    };
    serde_json::to_vec(&value).map_err(|e| Failure::InvalidArgument(e.to_string()))
}

/// Each kwarg as a query parameter: strings as they are, numbers and booleans as JSON writes
/// them; anything else cannot be one.
fn add_query(url: &mut url::Url, kwargs: &Dict) -> Result<(), Failure> {
    let mut pairs = Vec::with_capacity(kwargs.len());
    for (name, value) in kwargs {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Bool(_)
            | Value::Int(_)
            | Value::UInt(_)
            | Value::BigInt(_)
            | Value::Float(_) => serde_json::to_string(value).unwrap_or_default(),
            _ => {
                return Err(Failure::InvalidArgument(format!(
                    "keyword argument \"{name}\" must be a string, number or boolean to be a \
                     query parameter"
                )));
            }
        };
        pairs.push((name, text));
    }
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    Ok(())
}
