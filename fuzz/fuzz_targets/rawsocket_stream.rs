//! Fuzz target: `junction::fuzzing::rawsocket_stream` (see RELIABILITY.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junction::fuzzing::rawsocket_stream(data));
