//! Fuzz target: `junction::fuzzing::wamp_message` (see RELIABILITY.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junction::fuzzing::wamp_message(data));
