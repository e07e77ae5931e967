//! The `path` target: see `rendition::fuzzing::path` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rendition::fuzzing::path(data));
