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

#[cfg(test)]
mod tests {
    use crate::config::load::testing::*;
    use crate::config::summary;

    #[test]
    fn guests_and_parts_not_run_are_listed() {
        let json = r#"{"version": 2, "workers": [
            {"type": "router", "id": "router1",
             "realms": [{"name": "realm1", "roles": [], "rlinks": [{"id": "node2"}]}],
             "transports": [{"type": "websocket", "endpoint": {"type": "tcp", "port": 9000, "interface": "127.0.0.1"}}],
             "components": [{"type": "class", "classname": "hello.AppSession", "realm": "realm1"}]},
            {"type": "guest", "executable": "/usr/bin/node", "arguments": ["hello.js", "--port", "9000"],
             "options": {"workdir": "/srv/node", "stdout": "drop",
                         "env": {"inherit": ["PATH"], "vars": {"TOKEN": "s3cr3t-value"}}}},
            {"type": "container", "components": []}
        ]}"#;
        let text = summary(&load(json));
        let expected = r#"workers[0] (router)
  realm realm1 (uri_check loose)
    no roles
  transport workers[0].transports[0]: websocket on 127.0.0.1:9000
    serializers: json, msgpack, cbor
    auth anonymous: role anonymous
workers[1] (guest worker001): /usr/bin/node hello.js --port 9000
  workdir /srv/node
  env: inherits PATH; sets TOKEN
  stdin open, stdout discarded, stderr logged; restarted when it exits
not run by Junction:
  workers[0].realms[0].rlinks: router links (rlinks)
    instead: nodes share realms through a cluster section on the router worker (NATS; see the README's "Running a cluster")
  workers[0].components[0]: router component (class hello.AppSession, realm realm1)
    instead: run it as an autobahn Component connected to ws://127.0.0.1:9000, e.g. as a guest worker
  workers[2]: container worker (no components)
    instead: run each component as an autobahn Component connected to this node's router transport, e.g. as a guest worker
ignored (no effect in Junction): workers[0].id
"#;
        assert_eq!(text, expected, "\n{text}");
        assert!(!text.contains("s3cr3t"));
        assert!(!format!("{:?}", load(json)).contains("s3cr3t"));
    }
}

#[cfg(test)]
mod path_tests {
    use crate::config::load::testing::*;
    use crate::config::{summary, warnings};

    #[test]
    fn a_router_after_a_guest_keeps_its_own_path() {
        let json = r#"{"workers": [
            {"type": "guest", "executable": "true"},
            {"type": "router", "realms": [{"name": "realm1", "roles": [{"name": "app",
                "permissions": [{"uri": "com.app", "match": "prefix", "allow": {"call": true}}]}]}]}
        ]}"#;
        let config = load(json);
        let text = summary(&config);
        assert!(text.starts_with("workers[1] (router)\n"), "{text}");
        assert!(
            text.contains("workers[0] (guest worker001): true\n"),
            "{text}"
        );
        let found = warnings(&config);
        assert!(
            found[0].starts_with("workers[1].realms[0].roles[0].permissions[0].uri: "),
            "{found:?}"
        );
    }
}
