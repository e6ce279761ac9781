//! The Rust files of `src/`, for the tests that read the sources as facts (layering, log
//! field names).

use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`, recursively, in no particular order.
pub fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable src/") {
        let path = entry.expect("a readable entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}
