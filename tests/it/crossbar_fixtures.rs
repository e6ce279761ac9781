//! The fixture set of Crossbar-shaped configs (`fixtures/crossbar/<feature>/.crossbar/config.json`,
//! laid out as a Crossbar node directory, one per feature Junction runs from real Crossbar
//! configs): every one passes `junction check`, and check's output names what the feature's
//! `expect.txt` lists (one line each), so a feature that loads but is summarised wrongly (or
//! dropped) fails too.

use std::path::Path;
use std::process::Command;

fn fixtures() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/crossbar");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("fixtures/crossbar")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_crossbar_fixture_passes_check_and_is_summarised() {
    let dirs = fixtures();
    assert!(dirs.len() >= 6, "fixtures found: {dirs:?}");
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let output = Command::new(env!("CARGO_BIN_EXE_junction"))
            .args(["check", "--config"])
            .arg(dir.join(".crossbar/config.json"))
            .output()
            .expect("run junction check");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() {
            failures.push(format!("{name}: check failed:\n{text}"));
            continue;
        }
        let expect = std::fs::read_to_string(dir.join("expect.txt"))
            .unwrap_or_else(|_| panic!("{name}/expect.txt"));
        for line in expect.lines().filter(|l| !l.trim().is_empty()) {
            if !text.contains(line) {
                failures.push(format!("{name}: check's output lacks {line:?}:\n{text}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
