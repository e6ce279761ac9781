//! A `cgi` path: scripts in a directory run as CGI programs, as Crossbar's `cgi` web service
//! runs them (`directory`, `processor`). Junction adds `timeout` and `post_body_limit`, and lets
//! `processor` out: the script then runs itself. Both paths are resolved against the config
//! file's folder and must exist now.

use std::time::Duration;

use crate::config::loader::Loader;
use crate::config::model::{CgiService, PathService};
use crate::config::node::{Obj, Result};

/// `timeout` when absent: 30 s.
pub const DEFAULT_CGI_TIMEOUT: Duration = Duration::from_secs(30);

/// `post_body_limit` when absent: 1 MiB, as the bridge paths.
pub const DEFAULT_CGI_BODY_LIMIT: usize = 1024 * 1024;

/// The `cgi` path at `obj` (its `type` checked by the caller).
pub(super) fn load_cgi_path(obj: &Obj, cx: &mut Loader) -> Result<PathService> {
    obj.keys(
        &[
            "type",
            "directory",
            "processor",
            "timeout",
            "post_body_limit",
        ],
        &["id", "debug"],
        &mut cx.ignored,
    )?;
    let node = obj.required("directory")?;
    let written = node.non_empty_str()?;
    let directory = cx.folder.join(written);
    if !directory.is_dir() {
        return Err(node.error(format!(
            "\"{written}\" is not a directory (resolved against the config file's folder: {})",
            directory.display()
        )));
    }
    // Absolute and free of links: a script must resolve to a file under this exact path.
    let directory = directory.canonicalize().map_err(|e| {
        node.error(format!(
            "cannot open directory {}: {e}",
            directory.display()
        ))
    })?;
    let processor = match obj.get("processor") {
        None => None,
        Some(node) => {
            let written = node.non_empty_str()?;
            if !written.contains('/') {
                return Err(node.error(format!(
                    "\"{written}\" is not a path: write the program's full path (e.g. \
                     \"/usr/bin/{written}\"); Junction does not search PATH"
                )));
            }
            let program = cx.folder.join(written);
            if !program.is_file() {
                return Err(node.error(format!(
                    "no program at {} (resolved against the config file's folder)",
                    program.display()
                )));
            }
            Some(program)
        }
    };
    let timeout = obj
        .opt("timeout", |node| node.u64_min(1))?
        .map_or(DEFAULT_CGI_TIMEOUT, Duration::from_millis);
    let post_body_limit = obj
        .opt("post_body_limit", |node| node.u64_min(1))?
        .map_or(DEFAULT_CGI_BODY_LIMIT, |limit| limit as usize);
    Ok(PathService::Cgi(CgiService {
        directory,
        processor,
        timeout,
        post_body_limit,
    }))
}
