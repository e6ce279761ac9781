//! Log field names stay the vocabulary of `src/log_fields.rs`: every `tracing` event in `src/`
//! (`info!(realm = ..., %peer, "...")`) is read from the source, and a field whose name is not in
//! `junction::log_fields::FIELDS` fails here with its file and line, so no new line invents
//! `peer_addr` or `remote` for a value that has a name already; and no message may interpolate
//! a value by a vocabulary name (`"{realm}"`), which belongs in its field. README.md's "Logs"
//! paragraph must name every field too.

use std::path::PathBuf;

use crate::common::sources::rust_files;

use junction::log_fields::FIELDS;

const MACROS: &[&str] = &["trace!(", "debug!(", "info!(", "warn!(", "error!("];

/// The source with `//` comments blanked (strings kept), so events named in comments are not
/// read as code; offsets stay the same.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            out.push(' ');
            for rest in chars.by_ref() {
                if rest == '\n' {
                    out.push('\n');
                    break;
                }
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The arguments of the macro call whose `(` is at `open`, split at top-level commas.
fn arguments(code: &str, open: usize) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut chars = code[open + 1..].chars();
    while let Some(c) = chars.next() {
        if in_string {
            current.push(c);
            if c == '\\' {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                current.push(c);
            }
            '(' | '[' | '{' => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' | '}' if depth == 0 => break,
            ')' | ']' | '}' => {
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => args.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        args.push(current);
    }
    args.into_iter().map(|a| a.trim().to_string()).collect()
}

/// The field names of one event: the arguments before the message (the first string literal).
fn field_names(args: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for arg in args {
        if arg.starts_with('"') {
            break;
        }
        // `target: "..."`, `parent: ...`: not fields.
        if arg.starts_with("target:") || arg.starts_with("parent:") || arg.starts_with("name:") {
            continue;
        }
        let name = match arg.find('=') {
            Some(at) if !arg[at..].starts_with("==") => arg[..at].trim(),
            _ => arg.trim_start_matches(['%', '?']).trim(),
        };
        names.push(name.to_string());
    }
    names
}

/// One `tracing` event of `src/`.
struct Event {
    file: String,
    line: usize,
    fields: Vec<String>,
    /// The message's format string literal, when there is one.
    message: Option<String>,
}

/// Every event of `src/`.
fn events() -> Vec<Event> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        let code = without_comments(&text);
        for name in MACROS {
            let mut from = 0;
            while let Some(at) = code[from..].find(name) {
                let start = from + at;
                from = start + name.len();
                let before = code[..start].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue; // `tracing_info!(` or the like: not an event macro
                }
                let line = code[..start].lines().count();
                let args = arguments(&code, start + name.len() - 1);
                let shown = file
                    .strip_prefix(&src)
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                found.push(Event {
                    file: shown,
                    line,
                    fields: field_names(&args),
                    message: args.iter().find(|a| a.starts_with('"')).cloned(),
                });
            }
        }
    }
    found
}

#[test]
fn every_log_field_is_in_the_vocabulary() {
    let events = events();
    // Junction logs from well over a hundred places: finding few means the scan is broken.
    assert!(events.len() > 100, "only {} events found", events.len());
    let with_fields = events.iter().filter(|e| !e.fields.is_empty()).count();
    assert!(with_fields > 50, "only {with_fields} events with fields");
    let strays: Vec<String> = events
        .iter()
        .flat_map(|e| {
            e.fields
                .iter()
                .filter(|f| !FIELDS.contains(&f.as_str()))
                .map(move |f| format!("src/{}:{}: field `{f}`", e.file, e.line))
        })
        .collect();
    assert!(
        strays.is_empty(),
        "log fields not in src/log_fields.rs's vocabulary (use its names, or add one there \
         and to README.md):\n{}",
        strays.join("\n")
    );
}

/// A value the vocabulary names belongs in its field, not in the message: `"{realm}"` or
/// `"{peer:?}"` in a message is a value a shipper cannot filter on.
#[test]
fn no_message_interpolates_a_vocabulary_value() {
    let inside: Vec<String> = events()
        .iter()
        .filter_map(|e| {
            let message = e.message.as_ref()?;
            let named = FIELDS.iter().find(|f| {
                message.contains(&format!("{{{f}}}")) || message.contains(&format!("{{{f}:"))
            })?;
            Some(format!(
                "src/{}:{}: {{{named}}} in {message}",
                e.file, e.line
            ))
        })
        .collect();
    assert!(
        inside.is_empty(),
        "put these values in their fields instead:\n{}",
        inside.join("\n")
    );
}

#[test]
fn the_scan_reads_fields_as_tracing_does() {
    let code =
        r#"warn!(%peer, realm = %peer_text(&r), session, ?code, "closing {what}: {}", f(a, b))"#;
    let args = arguments(code, code.find('(').unwrap());
    assert_eq!(field_names(&args), ["peer", "realm", "session", "code"]);
    let code = r#"tracing::info!(target: "x", path = self.path, "a = b")"#;
    let args = arguments(code, code.find('(').unwrap());
    assert_eq!(field_names(&args), ["path"]);
    let code = "// info!(peer_addr = 1, \"x\")\ninfo!(\"// not a comment\", x)";
    assert_eq!(without_comments(code).matches("info!(").count(), 1);
}

#[test]
fn the_readme_names_every_field() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .expect("README.md");
    let logs = readme
        .split("**Logs.**")
        .nth(1)
        .expect("README.md has a **Logs.** paragraph");
    let logs = logs.split("\n## ").next().unwrap_or(logs);
    let missing: Vec<&&str> = FIELDS
        .iter()
        .filter(|f| !logs.contains(&format!("`{f}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's Logs paragraph does not name {missing:?}"
    );
}
