//! The layering of `src/` as a fact: each top-level module imports (`crate::<module>`) only
//! modules of lower layers, so there is no cycle between them; no cycle between the files
//! inside them either (a file may use its parent module, not the other way round through a
//! sibling); and ARCHITECTURE.md, which names files, names only files that exist. Read from
//! the sources, so adding an import that goes up a layer or closes a circle fails here with
//! its file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::sources::rust_files;

/// Lowest first. A module may import modules of lower layers only (`fuzzing` sits on top: it
/// feeds every parser).
const LAYERS: &[&[&str]] = &[
    &[
        "wamp",
        "log_fields",
        "log_text",
        "log_throttle",
        "stats",
        "backoff",
    ],
    &["config"],
    &["store"],
    &["router"],
    &["cluster", "poller", "http_peer"],
    &["http"],
    &["transport"],
    &["guest"],
    &["fuzzing"],
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
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

/// The module path of a file of `src/` (`router::realm::rpc`; `None` for lib.rs, main.rs).
fn module_path(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?.with_extension("");
    let mut parts: Vec<&str> = relative.iter().filter_map(|p| p.to_str()).collect();
    if parts.last() == Some(&"mod") {
        parts.pop();
    }
    let path = parts.join("::");
    (path != "lib" && path != "main").then_some(path)
}

/// The code of a file before its `#[cfg(test)]` module (tests may use anything).
fn product_code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|pair| pair[0].trim() == "#[cfg(test)]" && pair[1].contains("mod "))
        .unwrap_or(lines.len());
    lines[..end].join("\n")
}

/// Every `crate::a::b::c` path in code, with `crate::a::{b, c}` groups expanded one level.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for line in code.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segments: Vec<String> = path
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let after = &rest[path.len()..];
            if let Some(group) = after.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                for item in group.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        let mut full = segments.clone();
                        full.push(name);
                        paths.push(full);
                    }
                }
            } else if !segments.is_empty() {
                paths.push(segments);
            }
        }
    }
    paths
}

#[test]
fn no_cycle_between_the_files_of_src() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<String, PathBuf> = files
        .iter()
        .filter_map(|file| Some((module_path(&src, file)?, file.clone())))
        .collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for path in crate_paths(&product_code(&text)) {
            // The deepest module the path names (the rest is an item in it).
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|candidate| modules.contains_key(candidate));
            let Some(target) = target else { continue };
            let is_ancestor = module.starts_with(&format!("{target}::"));
            if &target != module && !is_ancestor {
                let (target, _) = modules.get_key_value(&target).unwrap();
                edges.entry(module).or_default().insert(target);
            }
        }
    }
    // Depth-first search; a back edge closes a cycle.
    fn visit<'a>(
        module: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        state: &mut BTreeMap<&'a str, bool>,
        stack: &mut Vec<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(module, false);
        stack.push(module);
        for &next in edges.get(module).into_iter().flatten() {
            match state.get(next) {
                None => visit(next, edges, state, stack, cycles),
                Some(false) => {
                    let from = stack.iter().position(|m| *m == next).unwrap();
                    cycles.push(format!("{} -> {next}", stack[from..].join(" -> ")));
                }
                Some(true) => {}
            }
        }
        stack.pop();
        state.insert(module, true);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for module in modules.keys() {
        if !state.contains_key(module.as_str()) {
            visit(module, &edges, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    let edge_count: usize = edges.values().map(BTreeSet::len).sum();
    assert!(edge_count > 100, "only {edge_count} module edges found");
    assert!(
        cycles.is_empty(),
        "modules of src/ that import each other in a circle:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_file_check_reads_paths_and_groups() {
    let paths =
        crate_paths("use crate::router::realm::{rpc, pubsub::Thing}; crate::wamp::uri::check(x)");
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        joined,
        [
            "router::realm::rpc",
            "router::realm::pubsub",
            "wamp::uri::check"
        ]
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
