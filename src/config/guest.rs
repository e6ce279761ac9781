//! `workers[]` of type `guest`: Crossbar's guest worker options (`executable`, `arguments`,
//! `options.workdir`, `env`, `stdin`, `stdout`, `stderr`, `watch`), checked as Crossbar's
//! checkconfig does, with errors that name the JSON path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::loader::Loader;
use crate::config::model::{GuestEnv, GuestOutput, GuestStdin, GuestWorker, Inherit};
use crate::config::node::{Node, Obj, Result};
use crate::config::secret::Secret;

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

/// `path` made absolute against the current directory with `..` folded in (Crossbar's
/// `abspath`), so the summary and the log say where the guest runs even for
/// `--config config.json`.
fn absolute(path: &Path) -> PathBuf {
    use std::path::Component;
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut folded = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                folded.pop();
            }
            Component::CurDir => {}
            other => folded.push(other),
        }
    }
    folded
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
            vars.insert(name.to_string(), Secret::new(value));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::testing::*;

    fn guest_config(guest: &str) -> String {
        format!(r#"{{"version": 2, "workers": [{{"type": "router"}}, {guest}]}}"#)
    }

    #[test]
    fn a_guest_with_every_option_loads() {
        let config = load(&guest_config(
            r#"{"type": "guest", "id": "backend", "executable": "python3",
                "arguments": ["-u", "app.py"],
                "options": {"workdir": "/srv/app", "stdin": {"type": "json", "value": {"a": [1]}, "close": false},
                            "stdout": "drop", "stderr": "close",
                            "env": {"inherit": ["PATH", "HOME"], "vars": {"WS": "ws://localhost:8080/ws"}},
                            "watch": {"directories": ["."], "action": "restart"}}}"#,
        ));
        assert_eq!(config.workers.len(), 1);
        let guest = &config.guests[0];
        assert_eq!(guest.path, "workers[1]");
        assert_eq!(guest.id, "backend");
        assert_eq!(guest.executable, "python3");
        assert_eq!(guest.arguments, ["-u", "app.py"]);
        assert_eq!(guest.workdir, PathBuf::from("/srv/app"));
        assert_eq!(
            guest.stdin,
            GuestStdin::Json {
                value: r#"{"a":[1]}"#.into(),
                close: false
            }
        );
        assert_eq!(
            (guest.stdout, guest.stderr),
            (GuestOutput::Discard, GuestOutput::Discard)
        );
        assert_eq!(
            guest.env.inherit,
            Inherit::Only(vec!["PATH".into(), "HOME".into()])
        );
        assert_eq!(guest.env.vars["WS"].expose(), "ws://localhost:8080/ws");
        assert_eq!(
            config.ignored,
            [
                "workers[1].options.watch (restarting on file changes is not supported; \
              Junction restarts a guest whenever it exits)"
            ]
        );
    }

    #[test]
    fn defaults_follow_crossbar() {
        let config = load(&guest_config(
            r#"{"type": "guest", "executable": "node", "arguments": ["hello.js"]},
               {"type": "guest", "executable": "./run", "options": {"workdir": "../node", "stdin": "close",
                "env": {"inherit": false}}}"#,
        ));
        let (first, second) = (&config.guests[0], &config.guests[1]);
        // Workers without `id` are numbered in config order, the router included.
        assert_eq!(
            (first.id.as_str(), second.id.as_str()),
            ("worker002", "worker003")
        );
        assert_eq!(first.workdir, std::path::absolute(".").unwrap());
        assert_eq!(first.env.inherit, Inherit::All);
        assert_eq!(first.stdin, GuestStdin::Open);
        assert_eq!(
            (first.stdout, first.stderr),
            (GuestOutput::Log, GuestOutput::Log)
        );
        let parent = std::env::current_dir().unwrap();
        let parent = parent.parent().unwrap();
        assert_eq!(second.workdir, parent.join("node"));
        assert_eq!(second.stdin, GuestStdin::Close);
        assert_eq!(second.env.inherit, Inherit::Nothing);
    }

    #[test]
    fn bad_options_name_their_path() {
        let cases = [
            (
                r#"{"type": "guest"}"#,
                "workers[1].executable: required key is missing",
            ),
            (
                r#"{"type": "guest", "executable": ""}"#,
                "workers[1].executable: must not be empty",
            ),
            (
                r#"{"type": "guest", "executable": "x", "arguments": "a b"}"#,
                "workers[1].arguments: expected an array, found a string",
            ),
            (
                r#"{"type": "guest", "executable": "x", "arguments": [1]}"#,
                "workers[1].arguments[0]: expected a string, found a number",
            ),
            (
                r#"{"type": "guest", "executable": "x", "realms": []}"#,
                "workers[1].realms: unknown key (allowed here: type, id, executable, arguments, options)",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"restart": true}}"#,
                "workers[1].options.restart: unknown key (allowed here: env, workdir, stdin, stdout, stderr, watch)",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"stdout": "file"}}"#,
                "workers[1].options.stdout: expected one of log, drop, close",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"stdin": "open"}}"#,
                "workers[1].options.stdin: expected one of close",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"stdin": {"type": "yaml", "value": 1}}}"#,
                "workers[1].options.stdin.type: expected one of json",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"stdin": {"type": "json"}}}"#,
                "workers[1].options.stdin.value: required key is missing",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"env": {"inherit": "yes"}}}"#,
                "workers[1].options.env.inherit: expected true, false or a list of variable names",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"env": {"inherit": [1]}}}"#,
                "workers[1].options.env.inherit[0]: expected a string, found a number",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"env": {"vars": {"A": 1}}}}"#,
                "workers[1].options.env.vars.A: expected a string, found a number",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"env": {"vars": {"A=B": "1"}}}}"#,
                "workers[1].options.env.vars.A=B: not a valid environment variable name",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"env": {"path": []}}}"#,
                "workers[1].options.env.path: unknown key (allowed here: inherit, vars)",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"watch": []}}"#,
                "workers[1].options.watch: expected an object, found an array",
            ),
            (
                r#"{"type": "guest", "executable": "x", "options": {"workdir": 1}}"#,
                "workers[1].options.workdir: expected a string, found a number",
            ),
        ];
        for (guest, expected) in cases {
            let message = error(&guest_config(guest));
            assert!(message.starts_with(expected), "{guest}\n{message}");
        }
    }
}
