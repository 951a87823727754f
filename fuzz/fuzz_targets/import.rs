//! Arbitrary bytes as a file given to `detente import`: split into lines, each line decoded as
//! the file's first line says (new events or an export), then checked as a batch (new events)
//! or verified as a chain (an export), in memory.
#![no_main]

#[path = "../src/harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let _ = harness::import(bytes);
});
