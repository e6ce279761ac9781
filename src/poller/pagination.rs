//! Pagination of http-poller topics (`pagination`, README.md "http-poller topics") as a pure
//! state machine on the topic's [`PaginationKind`] and [`NextReference`]: the caller
//! fetches, the [`Paginator`] says what to fetch next. No I/O.
//!
//! One cycle: `first_request(base)` (base = `url` + computed parameters), then after each page
//! `next(request_url, body, link_header, page_is_empty)` until it returns `Ok(None)` (done) or
//! an error (the cycle fails: error event, nothing published); then [`merge`] the bodies.
//!
//! Decisions (beyond the README):
//! - No next reference: the body pointer is missing, `null`, `false` or `""`; or there is no
//!   `Link` header or it has no `rel="next"` link. An object or array at the pointer is an
//!   error ([`PaginationError::InvalidReference`]); a number is used as its JSON text.
//! - `true` at the pointer (a `hasMore` flag) is accepted in page and offset modes with
//!   `type: value` (it only says "there is a next page"); elsewhere it is an error.
//! - Loop: the same reference (resolved URL for `uri` and header links, the value otherwise)
//!   seen twice, or a next request URL already requested in this cycle. A `true` flag is never
//!   a loop by itself (the page counter moves on).
//! - `maxPages`: a page count of `max_pages` is fine; needing page `max_pages + 1` is
//!   [`PaginationError::MaxPages`]. A last page without a next reference ends normally.
//! - Header links: in page and offset modes they drive the mode's parameter (the link target
//!   itself is only checked for loops); in keyset and cursor modes the link is followed as
//!   given, resolved against the request URL (there is no value to take from it).
//! - With pagination, [`merge`] always yields an array, even for a single page.

use std::collections::HashSet;

use serde_json::Value;
use url::Url;

use super::query::{QueryError, with_parameters};
use super::select::{PointerError, select_owned};
use crate::config::topic::{NextReference, NextReferenceKind, PageSize, PaginationKind};

/// One request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub url: String,
    /// 0 for the first page.
    pub index: usize,
}

/// Why the cycle's pagination failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaginationError {
    #[error("pagination loop: next reference '{reference}' was already followed")]
    Loop { reference: String },
    #[error("pagination stopped: more than {max_pages} pages")]
    MaxPages { max_pages: usize },
    #[error("invalid next reference at '{pointer}': {reason}")]
    InvalidReference { pointer: String, reason: String },
    #[error("cannot resolve next reference '{reference}': {reason}")]
    Unresolvable { reference: String, reason: String },
    #[error(transparent)]
    Url(#[from] QueryError),
    #[error("next() called before first_request()")]
    NotStarted,
}

/// Why pages could not be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("page {page}: {source}")]
    Pointer { page: usize, source: PointerError },
}

/// The pagination state of one poll cycle (make a new one per cycle).
#[derive(Debug, Clone)]
pub struct Paginator {
    mode: PaginationKind,
    next_reference: NextReference,
    max_pages: usize,
    base_url: Option<String>,
    /// Pages received so far (calls to `next`).
    received: usize,
    /// Page number or offset of the last request (page and offset modes).
    counter: u64,
    seen_references: HashSet<String>,
    requested: HashSet<String>,
}

enum Found {
    None,
    Flag,
    Reference(String),
}

impl Paginator {
    /// `max_pages` below 1 counts as 1.
    pub fn new(mode: PaginationKind, next_reference: NextReference, max_pages: usize) -> Paginator {
        Paginator {
            mode,
            next_reference,
            max_pages: max_pages.max(1),
            base_url: None,
            received: 0,
            counter: 0,
            seen_references: HashSet::new(),
            requested: HashSet::new(),
        }
    }

    /// The first request: `base_url` with the first page's parameters (page and offset
    /// modes: the initial value; every mode: the page size or limit).
    pub fn first_request(&mut self, base_url: &str) -> Result<PageRequest, PaginationError> {
        let params = match &self.mode {
            PaginationKind::Page {
                parameter,
                initial,
                page_size,
            } => {
                self.counter = *initial;
                vec![(parameter.clone(), initial.to_string()), size(page_size)]
            }
            PaginationKind::Offset {
                parameter,
                limit_parameter,
                limit,
                initial,
            } => {
                self.counter = *initial;
                vec![
                    (parameter.clone(), initial.to_string()),
                    (limit_parameter.clone(), limit.to_string()),
                ]
            }
            PaginationKind::Keyset { page_size, .. } | PaginationKind::Cursor { page_size, .. } => {
                vec![size(page_size)]
            }
        };
        let url = with_parameters(base_url, &params)?;
        self.base_url = Some(base_url.to_string());
        self.received = 0;
        self.seen_references.clear();
        self.requested.clear();
        self.requested.insert(url.clone());
        Ok(PageRequest { url, index: 0 })
    }

    /// Pages received so far.
    pub fn pages(&self) -> usize {
        self.received
    }

    /// Called with each page received: `request_url` is the URL that was requested (for
    /// resolving relative references), `link_header` the `Link` header value(s) joined with
    /// `,` if several. `Ok(None)`: pagination is over.
    pub fn next(
        &mut self,
        request_url: &str,
        body: &Value,
        link_header: Option<&str>,
        page_is_empty: bool,
    ) -> Result<Option<PageRequest>, PaginationError> {
        let base_url = self.base_url.clone().ok_or(PaginationError::NotStarted)?;
        self.received += 1;
        if page_is_empty {
            return Ok(None);
        }
        let found = match &self.next_reference {
            NextReference::Body { pointer, kind } => {
                body_reference(body, pointer, *kind, &self.mode)?
            }
            NextReference::LinkHeader => match link_header.and_then(next_link) {
                Some(target) => Found::Reference(target),
                None => Found::None,
            },
        };
        let reference = match found {
            Found::None => return Ok(None),
            Found::Flag => None,
            Found::Reference(r) => Some(r),
        };
        if self.received >= self.max_pages {
            return Err(PaginationError::MaxPages {
                max_pages: self.max_pages,
            });
        }
        let follow_uri = match (&self.next_reference, &self.mode) {
            (NextReference::Body { kind, .. }, _) => *kind == NextReferenceKind::Uri,
            (
                NextReference::LinkHeader,
                PaginationKind::Page { .. } | PaginationKind::Offset { .. },
            ) => false,
            (NextReference::LinkHeader, _) => true,
        };
        let is_uri = follow_uri || matches!(self.next_reference, NextReference::LinkHeader);
        // The loop key: the resolved URL for URIs, the value otherwise.
        let key = match &reference {
            Some(r) if is_uri => Some(resolve(request_url, r)?),
            Some(r) => Some(r.clone()),
            None => None,
        };
        if let Some(key) = &key
            && !self.seen_references.insert(key.clone())
        {
            return Err(PaginationError::Loop {
                reference: key.clone(),
            });
        }
        let url = if follow_uri {
            key.clone().unwrap_or_default()
        } else {
            let params = self.advance(reference.as_deref());
            with_parameters(&base_url, &params)?
        };
        if !self.requested.insert(url.clone()) {
            return Err(PaginationError::Loop { reference: url });
        }
        Ok(Some(PageRequest {
            url,
            index: self.received,
        }))
    }

    /// The parameters of the next page in value-driven modes.
    fn advance(&mut self, value: Option<&str>) -> Vec<(String, String)> {
        let value = value.unwrap_or_default().to_string();
        match &self.mode {
            PaginationKind::Page {
                parameter,
                page_size,
                ..
            } => {
                self.counter = self.counter.saturating_add(1);
                vec![
                    (parameter.clone(), self.counter.to_string()),
                    size(page_size),
                ]
            }
            PaginationKind::Offset {
                parameter,
                limit_parameter,
                limit,
                ..
            } => {
                self.counter = self.counter.saturating_add(*limit);
                vec![
                    (parameter.clone(), self.counter.to_string()),
                    (limit_parameter.clone(), limit.to_string()),
                ]
            }
            PaginationKind::Keyset {
                parameter_name,
                page_size,
            }
            | PaginationKind::Cursor {
                parameter_name,
                page_size,
            } => vec![(parameter_name.clone(), value), size(page_size)],
        }
    }
}

/// The page size (or limit) as a query parameter.
fn size(page_size: &PageSize) -> (String, String) {
    (
        page_size.parameter_name.clone(),
        page_size.value.to_string(),
    )
}

fn resolve(request_url: &str, reference: &str) -> Result<String, PaginationError> {
    let unresolvable = |reason: String| PaginationError::Unresolvable {
        reference: reference.to_string(),
        reason,
    };
    let base = Url::parse(request_url).map_err(|e| unresolvable(e.to_string()))?;
    let url = base
        .join(reference)
        .map_err(|e| unresolvable(e.to_string()))?;
    match url.scheme() {
        "http" | "https" => Ok(url.into()),
        other => Err(unresolvable(format!("scheme '{other}' is not http(s)"))),
    }
}

fn body_reference(
    body: &Value,
    pointer: &str,
    kind: NextReferenceKind,
    mode: &PaginationKind,
) -> Result<Found, PaginationError> {
    let invalid = |reason: &str| PaginationError::InvalidReference {
        pointer: pointer.to_string(),
        reason: reason.to_string(),
    };
    let flag_allowed = kind == NextReferenceKind::Value
        && matches!(
            mode,
            PaginationKind::Page { .. } | PaginationKind::Offset { .. }
        );
    match body.pointer(pointer) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(Found::None),
        Some(Value::String(s)) if s.is_empty() => Ok(Found::None),
        Some(Value::String(s)) => Ok(Found::Reference(s.clone())),
        Some(Value::Number(n)) if kind == NextReferenceKind::Value => {
            Ok(Found::Reference(n.to_string()))
        }
        Some(Value::Bool(true)) if flag_allowed => Ok(Found::Flag),
        Some(Value::Bool(true)) => Err(invalid(
            "true is only a next-page flag in page and offset modes",
        )),
        Some(Value::Number(_)) => Err(invalid("a number is not a URI")),
        Some(Value::Array(_)) | Some(Value::Object(_)) => Err(invalid(
            "must be a string or a number, not an array or object",
        )),
    }
}

/// The target of the first `rel="next"` link of a `Link` header value (RFC 8288): several
/// links separated by `,` (commas inside `<...>` or quoted strings are not separators),
/// parameters separated by `;`, `rel` compared case-insensitively, quoted or not, and a
/// space-separated list of relation types (`rel="next last"`). `None` without such a link.
pub fn next_link(header: &str) -> Option<String> {
    parse_links(header)
        .into_iter()
        .find(|(_, rels)| rels.iter().any(|r| r.eq_ignore_ascii_case("next")))
        .map(|(target, _)| target)
}

/// Every link of a `Link` header value with its `rel` values.
pub fn parse_links(header: &str) -> Vec<(String, Vec<String>)> {
    let mut links = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            break;
        };
        let target = after[..close].trim().to_string();
        let mut params = &after[close + 1..];
        let mut rels = Vec::new();
        // Parameters until the next top-level ','.
        loop {
            params = params.trim_start();
            if let Some(p) = params.strip_prefix(';') {
                params = p.trim_start();
                let name_end = params.find(['=', ';', ',']).unwrap_or(params.len());
                let name = params[..name_end].trim().to_ascii_lowercase();
                params = &params[name_end..];
                let mut value = String::new();
                if let Some(p) = params.strip_prefix('=') {
                    let p = p.trim_start();
                    if let Some(quoted) = p.strip_prefix('"') {
                        let mut chars = quoted.char_indices();
                        let mut end = quoted.len();
                        while let Some((i, c)) = chars.next() {
                            match c {
                                '\\' => {
                                    if let Some((_, escaped)) = chars.next() {
                                        value.push(escaped);
                                    }
                                }
                                '"' => {
                                    end = i + 1;
                                    break;
                                }
                                c => value.push(c),
                            }
                        }
                        params = &quoted[end.min(quoted.len())..];
                    } else {
                        let end = p.find([';', ',']).unwrap_or(p.len());
                        value = p[..end].trim().to_string();
                        params = &p[end..];
                    }
                }
                if name == "rel" && rels.is_empty() {
                    rels = value.split_ascii_whitespace().map(str::to_string).collect();
                }
            } else if let Some(p) = params.strip_prefix(',') {
                params = p;
                break;
            } else if params.is_empty() {
                break;
            } else {
                // Garbage: skip to the next link.
                params = match params.find(',') {
                    Some(i) => &params[i + 1..],
                    None => "",
                };
                break;
            }
        }
        links.push((target, rels));
        rest = params;
    }
    links
}

/// Merges the pages of one cycle into the payload: the value at `pointer` (`None` or `""`:
/// the whole body) of each page, arrays concatenated and any other value appended as one
/// element. A pointer that does not resolve on some page is an error.
pub fn merge(pages: Vec<Value>, pointer: Option<&str>) -> Result<Value, MergeError> {
    let mut merged = Vec::new();
    for (page, body) in pages.into_iter().enumerate() {
        let selected = match pointer {
            None => body,
            Some(p) => {
                select_owned(body, p).map_err(|source| MergeError::Pointer { page, source })?
            }
        };
        match selected {
            Value::Array(items) => merged.extend(items),
            other => merged.push(other),
        }
    }
    Ok(Value::Array(merged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_with_commas_in_targets_and_quotes() {
        let h = r#"<http://h/a?x=1,2>; rel="prev", <http://h/b>; title="a, b; c"; rel="next""#;
        assert_eq!(next_link(h).as_deref(), Some("http://h/b"));
        let links = parse_links(h);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].0, "http://h/a?x=1,2");
    }

    #[test]
    fn max_pages_zero_is_one() {
        let p = Paginator::new(
            PaginationKind::Cursor {
                parameter_name: "c".into(),
                page_size: PageSize {
                    parameter_name: "n".into(),
                    value: 5,
                },
            },
            NextReference::LinkHeader,
            0,
        );
        assert_eq!(p.max_pages, 1);
    }
}
