//! `workers[]` of type `guest`: Crossbar's guest worker options (`executable`, `arguments`,
//! `options.workdir`, `env`, `stdin`, `stdout`, `stderr`, `watch`), checked as Crossbar's
//! checkconfig does, with errors that name the JSON path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::loader::Loader;
use crate::config::model::{GuestEnv, GuestOutput, GuestStdin, GuestWorker, Inherit};
use crate::config::node::{Node, Obj, Result};

/// Why `options.watch` has no effect (listed by `junction check` with the key).
const WATCH_IGNORED: &str = "restarting on file changes is not supported; \
    Junction restarts a guest whenever it exits";

pub(crate) fn load_guest(obj: &Obj, id: String, cx: &mut Loader) -> Result<GuestWorker> {
    obj.only(&["type", "id", "executable", "arguments", "options"])?;
    let executable = obj.required("executable")?.non_empty_str()?.to_string();
    let arguments = match obj.get("arguments") {
        Some(list) => list
            .array()?
            .iter()
            .map(|arg| arg.str().map(str::to_string))
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let mut guest = GuestWorker {
        path: obj.path.clone(),
        id,
        executable,
        arguments,
        workdir: absolute(&cx.folder),
        env: GuestEnv {
            inherit: Inherit::All,
            vars: BTreeMap::new(),
        },
        stdin: GuestStdin::Open,
        stdout: GuestOutput::Log,
        stderr: GuestOutput::Log,
    };
    if let Some(options) = obj.get("options") {
        load_options(&options.object()?, &mut guest, cx)?;
    }
    Ok(guest)
}

fn load_options(obj: &Obj, guest: &mut GuestWorker, cx: &mut Loader) -> Result<()> {
    obj.only(&["env", "workdir", "stdin", "stdout", "stderr", "watch"])?;
    if let Some(workdir) = obj.opt_str("workdir")? {
        // Crossbar joins it to the node directory (the config's folder); an absolute path wins.
        guest.workdir = absolute(&cx.folder.join(workdir));
    }
    if let Some(env) = obj.get("env") {
        guest.env = load_env(&env.object()?)?;
    }
    if let Some(stdin) = obj.get("stdin") {
        guest.stdin = load_stdin(&stdin)?;
    }
    for (key, output) in [("stdout", &mut guest.stdout), ("stderr", &mut guest.stderr)] {
        if let Some(node) = obj.get(key) {
            *output = match node.one_of(&["log", "drop", "close"])? {
                "log" => GuestOutput::Log,
                _ => GuestOutput::Discard,
            };
        }
    }
    if let Some(watch) = obj.get("watch") {
        watch.object()?;
        cx.ignored.push(format!("{} ({WATCH_IGNORED})", watch.path));
    }
    Ok(())
}

/// `path` made absolute against the current directory (Crossbar's `abspath`), so the summary
/// and the log say where the guest runs even for `--config config.json`.
fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn load_env(obj: &Obj) -> Result<GuestEnv> {
    obj.only(&["inherit", "vars"])?;
    let inherit = match obj.get("inherit") {
        None => Inherit::All,
        Some(node) => match node.value {
            serde_json::Value::Bool(true) => Inherit::All,
            serde_json::Value::Bool(false) => Inherit::Nothing,
            serde_json::Value::Array(_) => Inherit::Only(
                node.array()?
                    .iter()
                    .map(|name| name.str().map(str::to_string))
                    .collect::<Result<Vec<_>>>()?,
            ),
            _ => return Err(node.error("expected true, false or a list of variable names")),
        },
    };
    let mut vars = BTreeMap::new();
    if let Some(node) = obj.get("vars") {
        for (name, value) in node.object()?.entries() {
            if name.is_empty() || name.contains(['=', '\0']) {
                return Err(value.error("not a valid environment variable name"));
            }
            let value = value.str()?;
            if value.contains('\0') {
                return Err(obj.key_error("vars", format!("{name}: a value must not hold NUL")));
            }
            vars.insert(name.to_string(), value.to_string());
        }
    }
    Ok(GuestEnv { inherit, vars })
}

fn load_stdin(node: &Node) -> Result<GuestStdin> {
    if let serde_json::Value::String(_) = node.value {
        node.one_of(&["close"])?;
        return Ok(GuestStdin::Close);
    }
    let obj = node.object()?;
    obj.only(&["type", "value", "close"])?;
    obj.required("type")?.one_of(&["json"])?;
    let value = obj.required("value")?.value.to_string();
    let close = obj.opt_bool("close")?.unwrap_or(true);
    Ok(GuestStdin::Json { value, close })
}
