//! A WebSocket path's `cookie` option (Crossbar's cookie tracking), checked as Crossbar checks
//! it: `name` matching `^[a-z][a-z0-9_]+$`, `length` 6 to 64, `max_age` 1 s to 10 years, a
//! `memory`, `file` or `database` store (`filename` or `path` relative to the config folder,
//! `$VAR` expanded; `purge_on_startup`).

use std::time::Duration;

use crate::config::endpoint::path_text;
use crate::config::loader::Loader;
use crate::config::model::{CookieStore, CookieTracking};
use crate::config::node::{Node, Result};

/// Crossbar's defaults: `cbtid`, 24 characters, 7 days.
const DEFAULT_NAME: &str = "cbtid";
const DEFAULT_LENGTH: u64 = 24;
const DEFAULT_MAX_AGE_SECS: u64 = 7 * 86400;
const MAX_MAX_AGE_SECS: u64 = 10 * 365 * 86400;

pub(super) fn load_cookie(node: &Node, cx: &mut Loader) -> Result<CookieTracking> {
    let obj = node.object()?;
    obj.only(&[
        "name",
        "length",
        "max_age",
        "secure",
        "http_strict",
        "same_site",
        "store",
    ])?;
    let name = match obj.get("name") {
        Some(node) => {
            let name = node.str()?;
            if !is_cookie_name(name) {
                return Err(node.error(format!(
                    "\"{name}\" is not a cookie name Crossbar accepts (^[a-z][a-z0-9_]+$)"
                )));
            }
            name.to_string()
        }
        None => DEFAULT_NAME.to_string(),
    };
    let length = match obj.get("length") {
        Some(node) => node.u64_in(6, 64)?,
        None => DEFAULT_LENGTH,
    };
    let max_age = match obj.get("max_age") {
        Some(node) => node.u64_in(1, MAX_MAX_AGE_SECS)?,
        None => DEFAULT_MAX_AGE_SECS,
    };
    let same_site = obj
        .get("same_site")
        .map(|node| node.one_of(&["Strict", "Lax", "None"]).map(str::to_string))
        .transpose()?;
    Ok(CookieTracking {
        name,
        length: length as usize,
        max_age: Duration::from_secs(max_age),
        secure: obj.opt_bool("secure")?.unwrap_or(false),
        http_only: obj.opt_bool("http_strict")?.unwrap_or(false),
        same_site,
        store: match obj.get("store") {
            Some(node) => load_store(&node, cx)?,
            None => CookieStore::Memory,
        },
    })
}

fn load_store(node: &Node, cx: &mut Loader) -> Result<CookieStore> {
    let obj = node.object()?;
    let kind = obj
        .required("type")?
        .one_of(&["memory", "file", "database"])?;
    if kind == "memory" {
        obj.only(&["type"])?;
        return Ok(CookieStore::Memory);
    }
    let (key, in_folder) = if kind == "file" {
        obj.only(&["type", "filename", "purge_on_startup"])?;
        ("filename", None)
    } else {
        // LMDB tuning of Crossbar's database store: nothing to tune in a redb file.
        obj.keys(
            &["type", "path", "purge_on_startup"],
            &["maxsize", "readonly", "sync"],
            &mut cx.ignored,
        )?;
        ("path", Some("cookies.redb"))
    };
    let file = obj.required(key)?;
    let written = path_text(&file, cx)?;
    if written.is_empty() {
        return Err(file.error("expected a file name, found an empty string"));
    }
    let mut joined = cx.folder.join(written);
    if let Some(name) = in_folder {
        joined.push(name);
    }
    Ok(CookieStore::File {
        path: std::path::absolute(&joined).unwrap_or(joined),
        purge: obj.opt_bool("purge_on_startup")?.unwrap_or(false),
    })
}

fn is_cookie_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::is_cookie_name;

    #[test]
    fn cookie_names_as_crossbar_accepts_them() {
        for good in ["cbtid", "sid", "a1", "my_cookie"] {
            assert!(is_cookie_name(good), "{good}");
        }
        for bad in ["", "a", "9x", "Sid", "my-cookie", "é1"] {
            assert!(!is_cookie_name(bad), "{bad}");
        }
    }
}
