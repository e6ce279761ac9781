//! Fuzz target: `junction::fuzzing::bridge_request` (see RELIABILITY.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junction::fuzzing::bridge_request(data));
