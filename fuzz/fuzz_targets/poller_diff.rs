//! Fuzz target: `junction::fuzzing::poller_diff` (see RELIABILITY.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junction::fuzzing::poller_diff(data));
