//! The layering of `src/` as a fact: each top-level module imports (`crate::<module>`) only
//! modules of lower layers, so there is no cycle between them; and ARCHITECTURE.md, which
//! names files, names only files that exist. Read from the sources, so adding an import that
//! goes up a layer fails here with its file and line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lowest first. A module may import modules of lower layers only (`fuzzing` sits on top: it
/// feeds every parser).
const LAYERS: &[&[&str]] = &[
    &["wamp", "log_text", "log_throttle"],
    &["config"],
    &["store"],
    &["router"],
    &["poller"],
    &["http"],
    &["transport"],
    &["fuzzing"],
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable src/") {
        let path = entry.expect("a readable entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// `crate::<module>` references in code (comments left out), with their line numbers.
fn imports(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((number + 1, name));
            }
        }
        // `use crate::{a, b}` names several modules at once.
        if let Some(at) = code.find("crate::{") {
            let group = &code[at + "crate::{".len()..];
            for part in group.split([',', '}']) {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push((number + 1, name));
                }
            }
        }
    }
    found
}

#[test]
fn every_module_imports_only_lower_layers() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = BTreeSet::new();
    let mut unplaced = BTreeSet::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let Some(layer) = layer_of(&module) else {
            unplaced.insert(module);
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for (line, imported) in imports(&text) {
            if imported == module {
                continue;
            }
            match layer_of(&imported) {
                Some(below) if below < layer => {}
                Some(_) => {
                    violations.insert(format!(
                        "{}:{line}: {module} imports {imported}",
                        file.strip_prefix(root()).unwrap().display()
                    ));
                }
                None => {
                    unplaced.insert(imported);
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "top-level modules missing from LAYERS in tests/it/layering.rs: {unplaced:?}"
    );
    assert!(
        violations.is_empty(),
        "imports that go up a layer ({}):\n{}",
        LAYERS
            .iter()
            .map(|layer| layer.join("/"))
            .collect::<Vec<_>>()
            .join(" <- "),
        violations.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_layer_check_sees_imports_in_code_only() {
    let found =
        imports("use crate::router::Router; // crate::poller\nuse crate::{config, wamp::uri};\n");
    let names: Vec<&str> = found.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(names, ["router", "config", "wamp"]);
}

#[test]
fn architecture_md_names_only_files_that_exist() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md at the repository's root");
    let mut named = 0;
    let mut missing = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || "`()[],;|".contains(c)) {
        // `src/router/realm/rpc.rs:call` names a function in a file.
        let path = word.split(':').next().unwrap_or("");
        let path = path.trim_end_matches('.');
        let is_file =
            (path.starts_with("src/") || path.starts_with("tests/") || path.starts_with("bench/"))
                && path.contains('.');
        if is_file {
            named += 1;
            if !root().join(path).exists() {
                missing.push(path.to_string());
            }
        }
    }
    assert!(named > 20, "ARCHITECTURE.md names only {named} files");
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names files that do not exist: {missing:?}"
    );
}
