//! A `cgi` path: scripts in a directory run as CGI programs, as Crossbar's `cgi` web service
//! runs them (`directory`, `processor`). Junction adds `timeout` and `post_body_limit`, and lets
//! `processor` out: the script then runs itself. Both paths are resolved against the config
//! file's folder and must exist now.

use std::time::Duration;

use crate::config::endpoint::path_text;
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
    let written = path_text(&node, cx)?;
    if written.is_empty() {
        return Err(node.error("expected a folder, found an empty string"));
    }
    let directory = cx.folder.join(&written);
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::load::{load_str_with_env, testing::*};
    use crate::config::model::{PathService, TransportKind};
    use crate::config::path_headline;

    const P: &str = "workers[0].transports[0].paths.x";

    fn load(fields: &str) -> Result<crate::config::Config, String> {
        let json = web_worker(REALM1, &format!(r#""x": {{"type": "cgi"{fields}}}"#));
        load_str_with_env(&json, &|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn options_defaults_and_summary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display();
        let config = load(&format!(
            r#", "directory": "{path}", "processor": "/bin/sh""#
        ))
        .unwrap();
        let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
            panic!("a web transport");
        };
        let PathService::Cgi(cgi) = &paths["/x"] else {
            panic!("a cgi path");
        };
        assert_eq!(cgi.directory, dir.path().canonicalize().unwrap());
        assert_eq!(
            cgi.processor.as_deref(),
            Some(std::path::Path::new("/bin/sh"))
        );
        assert_eq!(cgi.timeout, Duration::from_secs(30));
        assert_eq!(cgi.post_body_limit, 1024 * 1024);
        assert_eq!(
            path_headline("/x", &paths["/x"]),
            format!(
                "/x: cgi scripts from {} (run by /bin/sh, timeout 30000 ms, body up to \
                 1048576 bytes)",
                cgi.directory.display()
            )
        );
        let config = load(&format!(
            r#", "directory": "{path}", "timeout": 1500, "post_body_limit": 10"#
        ))
        .unwrap();
        let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
            panic!("a web transport");
        };
        assert!(
            path_headline("/x", &paths["/x"])
                .contains("(run as programs, timeout 1500 ms, body up to 10 bytes)")
        );
    }

    #[test]
    fn errors_name_the_key_and_say_what_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display();
        let cases = [
            (
                String::new(),
                format!("{P}.directory: required key is missing"),
            ),
            (
                r#", "directory": "no/such/folder""#.to_string(),
                format!("{P}.directory: \"no/such/folder\" is not a directory"),
            ),
            (
                format!(r#", "directory": "{path}", "processor": "python3""#),
                format!(
                    "{P}.processor: \"python3\" is not a path: write the program's full path \
                     (e.g. \"/usr/bin/python3\")"
                ),
            ),
            (
                format!(r#", "directory": "{path}", "processor": "/no/such/python""#),
                format!("{P}.processor: no program at /no/such/python"),
            ),
            (
                format!(r#", "directory": "{path}", "timeout": 0"#),
                format!("{P}.timeout:"),
            ),
            (
                format!(r#", "directory": "{path}", "env": {{}}"#),
                format!("{P}.env: unknown key"),
            ),
        ];
        for (fields, expected) in cases {
            let error = load(&fields).unwrap_err();
            assert!(
                error.starts_with(&expected),
                "{error}\nexpected: {expected}"
            );
        }
    }
}
