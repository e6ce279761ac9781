//! Workers other than routers: `guest` workers (programs Junction starts and keeps running
//! beside the router), and the Crossbar parts Junction accepts but does not run (`container`
//! workers, router `components`, `rlinks`, ...), each with what to run instead.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::secret::Secret;

/// A `workers[]` entry of type `guest`: a program started after the listeners are up,
/// restarted when it exits, stopped on shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestWorker {
    /// JSON path of the worker, e.g. `workers[1]`.
    pub path: String,
    /// `id`, or Crossbar's default name (`worker001`, counted over workers without an id).
    pub id: String,
    /// `executable` as written: a file relative to `workdir`, or a name looked up on `PATH`.
    pub executable: String,
    pub arguments: Vec<String>,
    /// `options.workdir` resolved against the config file's folder (the folder itself when
    /// absent): the program's working directory.
    pub workdir: PathBuf,
    pub env: GuestEnv,
    pub stdin: GuestStdin,
    pub stdout: GuestOutput,
    pub stderr: GuestOutput,
}

/// `options.env`: what the program's environment holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestEnv {
    pub inherit: Inherit,
    /// `vars`: set on top of what is inherited. Values may be credentials (a token for the
    /// component to log in with): they never print.
    pub vars: BTreeMap<String, Secret>,
}

/// `options.env.inherit`: `true` (the default), `false`, or a list of variable names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inherit {
    All,
    Nothing,
    Only(Vec<String>),
}

/// `options.stdin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestStdin {
    /// No `stdin`: a pipe that stays open (and empty) while the program runs, as in Crossbar.
    Open,
    /// `"close"`: the program reads end of file at once.
    Close,
    /// `{"type": "json", "value": ..., "close": bool}`: the value written as JSON, then the
    /// pipe closed unless `close` is false.
    Json { value: String, close: bool },
}

/// `options.stdout` / `options.stderr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestOutput {
    /// `"log"` (the default): each line goes to Junction's log with the worker's id.
    Log,
    /// `"drop"` or `"close"`: discarded (both are sent to /dev/null, so writing never fails).
    Discard,
}

/// A part of the config that Junction accepts but does not run: `check` lists it under
/// "not run by Junction" and `start` warns once for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRun {
    /// JSON path, e.g. `workers[0].components[1]`.
    pub path: String,
    /// What it is, e.g. `router component (class hello.AppSession, realm realm1)`.
    pub what: String,
    /// What to run instead.
    pub instead: String,
}
