//! Fuzz target: `junction::fuzzing::config_text` (see RELIABILITY.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junction::fuzzing::config_text(data));
