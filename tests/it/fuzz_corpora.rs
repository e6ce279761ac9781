//! Replays the fuzzers' saved corpora (`fuzz/corpus/<target>/`, and inputs that once failed,
//! `fuzz/regressions/<target>/`) through `junction::fuzzing` on stable Rust, so every input
//! the fuzzers kept stays handled without a panic. Fuzzing itself is not run here; see
//! RELIABILITY.md.

use std::path::Path;

use junction::fuzzing::TARGETS;

fn replay(folder: &Path, run: fn(&[u8])) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.expect("a readable folder").path();
        let data = std::fs::read(&path).expect("a readable input");
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} fails", path.display());
        count += 1;
    }
    count
}

#[test]
fn every_saved_input_is_handled() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, run) in TARGETS {
        let corpus = replay(&fuzz.join("corpus").join(name), *run);
        assert!(corpus > 0, "fuzz/corpus/{name} is missing or empty");
        replay(&fuzz.join("regressions").join(name), *run);
    }
}
