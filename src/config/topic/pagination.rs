//! `pagination` of an http-poller topic: the mode with its query parameters, the next
//! reference and `maxPages`. The poller's paginator runs on these types.

use serde_json::Value;

use super::pointer::json_pointer;
use super::query::claim_query_name;
use crate::config::node::{Node, Obj, Result};

/// Default `pagination.maxPages`.
pub const DEFAULT_MAX_PAGES: u32 = 1000;
/// Default `pageSize.value` / `limit.value`.
pub const DEFAULT_PAGE_SIZE: u64 = 100;

/// `pagination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pagination {
    /// `mode` (required) with the keys of that mode.
    pub kind: PaginationKind,
    /// `nextReference` (required).
    pub next_reference: NextReference,
    /// `maxPages` (default 1000, a Junction key): pages per poll before giving up with an
    /// error; at least 1.
    pub max_pages: u32,
}

/// `pagination.mode` and its parameters. Every parameter name is URL-safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaginationKind {
    /// `page`.
    Page {
        /// `page.parameterName` (default `page`).
        parameter: String,
        /// `page.initial` (default 1): the first page index.
        initial: u64,
        /// `pageSize` (default `pageSize` = 100).
        page_size: PageSize,
    },
    /// `offset`.
    Offset {
        /// `offset.parameterName` (default `offset`).
        parameter: String,
        /// `limit.parameterName` (default `limit`).
        limit_parameter: String,
        /// `limit.value` (default 100, at least 1): items per page.
        limit: u64,
        /// `offset.initial` (default 1, as the seeds document it): the first offset.
        initial: u64,
    },
    /// `keyset`.
    Keyset {
        /// `key.parameterName` (default `since_key`).
        parameter_name: String,
        /// `pageSize` (default `pageSize` = 100).
        page_size: PageSize,
    },
    /// `cursor`.
    Cursor {
        /// `cursor.parameterName` (default `cursor`).
        parameter_name: String,
        /// `pageSize` (default `pageSize` = 100).
        page_size: PageSize,
    },
}

/// `pageSize` of the page, keyset and cursor modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSize {
    /// `pageSize.parameterName` (default `pageSize`).
    pub parameter_name: String,
    /// `pageSize.value` (default 100, at least 1).
    pub value: u64,
}

/// `pagination.nextReference`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextReference {
    /// `location: body`.
    Body {
        /// `pointer` (required): RFC 6901 pointer to the next reference in the body.
        pointer: String,
        /// `type` (required).
        kind: NextReferenceKind,
    },
    /// `location: header`: the `rel="next"` link of the `Link` header (no other key).
    LinkHeader,
}

/// `nextReference.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextReferenceKind {
    /// `uri`: the reference is a URI, resolved against the request URL.
    Uri,
    /// `value`: the reference is the value of the mode's parameter.
    Value,
}

pub(super) fn pagination(node: &Node, names: &mut Vec<(String, String)>) -> Result<Pagination> {
    let obj = node.object()?;
    let mode = obj
        .required("mode")?
        .one_of(&["page", "offset", "keyset", "cursor"])?;
    let (index_key, size_key) = match mode {
        "page" => ("page", "pageSize"),
        "offset" => ("offset", "limit"),
        "keyset" => ("key", "pageSize"),
        _ => ("cursor", "pageSize"),
    };
    obj.only(&["mode", index_key, size_key, "nextReference", "maxPages"])?;

    let default_index = match mode {
        "keyset" => "since_key",
        other => other,
    };
    let with_initial = matches!(mode, "page" | "offset");
    let (parameter, initial) =
        pagination_index(&obj, index_key, default_index, with_initial, names)?;
    let size = page_size(&obj, size_key, names)?;
    let kind = match mode {
        "page" => PaginationKind::Page {
            parameter,
            initial,
            page_size: size,
        },
        "offset" => PaginationKind::Offset {
            parameter,
            limit_parameter: size.parameter_name,
            limit: size.value,
            initial,
        },
        "keyset" => PaginationKind::Keyset {
            parameter_name: parameter,
            page_size: size,
        },
        _ => PaginationKind::Cursor {
            parameter_name: parameter,
            page_size: size,
        },
    };
    let next_reference = next_reference(&obj.required("nextReference")?)?;
    let max_pages = obj
        .opt("maxPages", |n| Ok(n.u64_in(1, u64::from(u32::MAX))? as u32))?
        .unwrap_or(DEFAULT_MAX_PAGES);
    Ok(Pagination {
        kind,
        next_reference,
        max_pages,
    })
}

/// `page`/`offset` (`parameterName`, `initial`) or `key`/`cursor` (`parameterName` only).
fn pagination_index(
    obj: &Obj,
    key: &str,
    default_name: &str,
    with_initial: bool,
    names: &mut Vec<(String, String)>,
) -> Result<(String, u64)> {
    let owner = crate::config::node::key_path(
        &crate::config::node::key_path(&obj.path, key),
        "parameterName",
    );
    let Some(node) = obj.get(key) else {
        let at = Node::new(&Value::Null, &obj.path);
        claim_query_name(&at, default_name, &owner, names)?;
        return Ok((default_name.to_string(), 1));
    };
    let sub = node.object()?;
    if with_initial {
        sub.only(&["parameterName", "initial"])?;
    } else {
        sub.only(&["parameterName"])?;
    }
    let name = parameter_name(&sub, default_name, &owner, names)?;
    let initial = sub.opt("initial", Node::u64)?.unwrap_or(1);
    Ok((name, initial))
}

/// `pageSize` or `limit`: `parameterName` and `value` (at least 1).
fn page_size(obj: &Obj, key: &str, names: &mut Vec<(String, String)>) -> Result<PageSize> {
    let owner = crate::config::node::key_path(
        &crate::config::node::key_path(&obj.path, key),
        "parameterName",
    );
    let Some(node) = obj.get(key) else {
        let at = Node::new(&Value::Null, &obj.path);
        claim_query_name(&at, key, &owner, names)?;
        return Ok(PageSize {
            parameter_name: key.to_string(),
            value: DEFAULT_PAGE_SIZE,
        });
    };
    let sub = node.object()?;
    sub.only(&["parameterName", "value"])?;
    let parameter_name = parameter_name(&sub, key, &owner, names)?;
    let value = sub
        .opt("value", |n| n.u64_in(1, u64::MAX))?
        .unwrap_or(DEFAULT_PAGE_SIZE);
    Ok(PageSize {
        parameter_name,
        value,
    })
}

fn parameter_name(
    sub: &Obj,
    default_name: &str,
    owner: &str,
    names: &mut Vec<(String, String)>,
) -> Result<String> {
    match sub.get("parameterName") {
        Some(n) => {
            let name = n.str()?;
            claim_query_name(&n, name, owner, names)?;
            Ok(name.to_string())
        }
        None => {
            let at = Node::new(&Value::Null, &sub.path);
            claim_query_name(&at, default_name, owner, names)?;
            Ok(default_name.to_string())
        }
    }
}

fn next_reference(node: &Node) -> Result<NextReference> {
    let obj = node.object()?;
    let location = obj.required("location")?.one_of(&["body", "header"])?;
    if location == "header" {
        for key in ["type", "pointer"] {
            if obj.has(key) {
                return Err(obj.key_error(key, "only with location body"));
            }
        }
        obj.only(&["location"])?;
        return Ok(NextReference::LinkHeader);
    }
    obj.only(&["location", "type", "pointer"])?;
    let kind = match obj.required("type")?.one_of(&["uri", "value"])? {
        "uri" => NextReferenceKind::Uri,
        _ => NextReferenceKind::Value,
    };
    let pointer = json_pointer(&obj.required("pointer")?)?;
    Ok(NextReference::Body { pointer, kind })
}
