//! The command line of a guest, as Crossbar builds it: the executable found relative to the
//! working directory, else on `PATH`; the environment from `options.env` (with
//! `PYTHONUNBUFFERED=1` unless the config sets it, so Python guests' lines reach the log as
//! they are printed); stdin, stdout and stderr as configured. No shell is involved.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use nix::sys::signal::Signal;
use tokio::process::Command;

use crate::config::model::{GuestOutput, GuestStdin, GuestWorker, Inherit};

/// The executable of `guest`: `workdir/executable` when that is an executable file, else the
/// first executable file of that name on `PATH` (Crossbar's order).
pub fn resolve(guest: &GuestWorker) -> Result<PathBuf, String> {
    let local = guest.workdir.join(&guest.executable);
    if is_executable(&local) {
        return Ok(local);
    }
    if !guest.executable.contains('/') {
        let path = std::env::var_os("PATH").unwrap_or_default();
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(&guest.executable);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(format!(
        "{}.executable: cannot find an executable \"{}\" in {} or on PATH",
        guest.path,
        guest.executable,
        guest.workdir.display()
    ))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The command that starts `guest` once (`executable` from [`resolve`]). The child leads a
/// process group of its own, so stopping it reaches the processes it starts too, and a
/// Ctrl-C on Junction's terminal reaches Junction alone (which then stops the guest). Should
/// Junction die without stopping it (SIGKILL, a crash), the kernel sends the guest SIGTERM.
pub fn command(guest: &GuestWorker, executable: &Path) -> Command {
    let parent = std::process::id();
    let mut command = Command::new(executable);
    command
        .args(&guest.arguments)
        .current_dir(&guest.workdir)
        .env_clear()
        .envs(environment(guest, std::env::vars_os()))
        .stdin(match guest.stdin {
            GuestStdin::Close => Stdio::null(),
            GuestStdin::Open | GuestStdin::Json { .. } => Stdio::piped(),
        })
        .stdout(stdio(guest.stdout))
        .stderr(stdio(guest.stderr))
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: runs in the forked child before exec; prctl, getppid and kill are
    // async-signal-safe system calls, and nothing is allocated.
    unsafe {
        command.pre_exec(move || {
            // Delivered when the thread that forked exits: a tokio worker thread, which lives
            // as long as Junction's runtime.
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
            // Junction died before the line above: nobody would stop this guest.
            if nix::unistd::getppid().as_raw() as u32 != parent {
                let _ = nix::sys::signal::raise(Signal::SIGTERM);
            }
            Ok(())
        });
    }
    command
}

fn stdio(output: GuestOutput) -> Stdio {
    match output {
        GuestOutput::Log => Stdio::piped(),
        GuestOutput::Discard => Stdio::null(),
    }
}

/// The guest's environment, given Junction's own.
fn environment(
    guest: &GuestWorker,
    own: impl Iterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = match &guest.env.inherit {
        Inherit::All => own.collect(),
        Inherit::Nothing => Vec::new(),
        Inherit::Only(names) => own
            .filter(|(name, _)| names.iter().any(|n| OsString::from(n) == *name))
            .collect(),
    };
    for (name, value) in &guest.env.vars {
        env.retain(|(n, _)| *n != OsString::from(name));
        env.push((name.into(), value.expose().into()));
    }
    if !env.iter().any(|(name, _)| name == "PYTHONUNBUFFERED") {
        env.push(("PYTHONUNBUFFERED".into(), "1".into()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::GuestEnv;
    use crate::config::secret::Secret;
    use std::collections::BTreeMap;

    fn guest(inherit: Inherit, vars: &[(&str, &str)]) -> GuestWorker {
        GuestWorker {
            path: "workers[1]".into(),
            id: "worker001".into(),
            executable: "sh".into(),
            arguments: vec![],
            workdir: PathBuf::from("/nonexistent"),
            env: GuestEnv {
                inherit,
                vars: vars
                    .iter()
                    .map(|(k, v)| (k.to_string(), Secret::new(*v)))
                    .collect::<BTreeMap<_, _>>(),
            },
            stdin: GuestStdin::Open,
            stdout: GuestOutput::Log,
            stderr: GuestOutput::Log,
        }
    }

    fn env_of(guest: &GuestWorker) -> Vec<(String, String)> {
        let own = [("HOME", "/root"), ("PATH", "/bin"), ("SECRET", "x")]
            .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let mut env: Vec<(String, String)> = environment(guest, own.into_iter())
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect();
        env.sort();
        env
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_follows_inherit_and_vars() {
        assert_eq!(
            env_of(&guest(
                Inherit::Nothing,
                &[("WS", "ws://localhost:8080/ws")]
            )),
            pairs(&[("PYTHONUNBUFFERED", "1"), ("WS", "ws://localhost:8080/ws")])
        );
        assert_eq!(
            env_of(&guest(
                Inherit::Only(vec!["PATH".into()]),
                &[("PATH", "/opt")]
            )),
            pairs(&[("PATH", "/opt"), ("PYTHONUNBUFFERED", "1")])
        );
        assert_eq!(
            env_of(&guest(Inherit::All, &[("PYTHONUNBUFFERED", "")])),
            pairs(&[
                ("HOME", "/root"),
                ("PATH", "/bin"),
                ("PYTHONUNBUFFERED", ""),
                ("SECRET", "x")
            ])
        );
    }

    #[test]
    fn executables_are_found_in_the_workdir_then_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let mut local = guest(Inherit::All, &[]);
        local.workdir = dir.path().to_path_buf();
        local.executable = "run.sh".into();
        assert!(
            resolve(&local)
                .unwrap_err()
                .starts_with("workers[1].executable: cannot find an executable \"run.sh\" in ")
        );
        let script = dir.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        // Not executable yet.
        assert!(resolve(&local).is_err());
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(resolve(&local).unwrap(), script);

        let on_path = guest(Inherit::All, &[]);
        assert!(resolve(&on_path).unwrap().ends_with("sh"));
    }
}
