//! A `cgi` path: scripts of a directory run as CGI programs (RFC 3875).

use std::path::PathBuf;
use std::time::Duration;

/// `{"type": "cgi", "directory", "processor", "timeout", "post_body_limit"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct CgiService {
    /// `directory`: the scripts, made absolute (and free of links) against the config file's
    /// folder. Only files inside it run.
    pub directory: PathBuf,
    /// `processor`: the program that runs each script (`/usr/bin/python3`), given the script
    /// as its argument. `None` (Junction): the script is run itself (it must be executable).
    pub processor: Option<PathBuf>,
    /// Junction: `timeout` (ms in the file, default 30 s): a script still running then is
    /// killed and the request answered 504.
    pub timeout: Duration,
    /// Junction: `post_body_limit` (default 1 MiB): the largest request body passed on stdin;
    /// a larger one is answered 413 without running the script.
    pub post_body_limit: usize,
}
