//! The `jpeg` target: see `rendition::fuzzing::jpeg` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rendition::fuzzing::jpeg(data));
