//! The summary lines of guest workers and of the parts Junction accepts but does not run.

use crate::config::model::{Config, GuestOutput, GuestStdin, GuestWorker, Inherit};

use super::line;

pub fn guests_summary(out: &mut String, config: &Config) {
    for guest in &config.guests {
        guest_summary(out, guest);
    }
}

fn guest_summary(out: &mut String, guest: &GuestWorker) {
    let mut command = vec![guest.executable.as_str()];
    command.extend(guest.arguments.iter().map(String::as_str));
    line(
        out,
        0,
        format!("{} (guest {}): {}", guest.path, guest.id, command.join(" ")),
    );
    line(out, 1, format!("workdir {}", guest.workdir.display()));
    let inherit = match &guest.env.inherit {
        Inherit::All => "all".to_string(),
        Inherit::Nothing => "nothing".to_string(),
        Inherit::Only(names) => names.join(", "),
    };
    // Variable values may be secrets: only their names are shown.
    let vars: Vec<&str> = guest.env.vars.keys().map(String::as_str).collect();
    let vars = if vars.is_empty() {
        String::new()
    } else {
        format!("; sets {}", vars.join(", "))
    };
    line(out, 1, format!("env: inherits {inherit}{vars}"));
    let stdin = match &guest.stdin {
        GuestStdin::Open => "open",
        GuestStdin::Close => "closed",
        GuestStdin::Json { close: true, .. } => "a JSON value, then closed",
        GuestStdin::Json { close: false, .. } => "a JSON value, left open",
    };
    let output = |o: GuestOutput| match o {
        GuestOutput::Log => "logged",
        GuestOutput::Discard => "discarded",
    };
    line(
        out,
        1,
        format!(
            "stdin {stdin}, stdout {}, stderr {}; restarted when it exits",
            output(guest.stdout),
            output(guest.stderr)
        ),
    );
}

pub fn not_run_summary(out: &mut String, config: &Config) {
    if config.not_run.is_empty() {
        return;
    }
    line(out, 0, "not run by Junction:");
    for part in &config.not_run {
        line(out, 1, format!("{}: {}", part.path, part.what));
        line(out, 2, format!("instead: {}", part.instead));
    }
}
