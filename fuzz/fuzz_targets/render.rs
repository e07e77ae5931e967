//! The `render` target: see `rendition::fuzzing::render` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rendition::fuzzing::render(data));
