//! Arbitrary bytes through the wire-format decoders: an input event, a recorded event, an event
//! body. They return an error or a value, never panic, and what they accept writes back and
//! reads again the same.
#![no_main]

#[path = "../src/harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| harness::decode(bytes));
