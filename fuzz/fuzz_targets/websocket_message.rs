//! Fuzz target: `junction::fuzzing::websocket_message` (see RELIABILITY.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| junction::fuzzing::websocket_message(data));
