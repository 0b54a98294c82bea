//! Fuzz target `manifest_line`: see `kluis_fuzz::fuzz_manifest_line` and docs/FUZZING.md.
#![no_main]

#[global_allocator]
static ALLOC: kluis_fuzz::CountingAlloc = kluis_fuzz::CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| kluis_fuzz::fuzz_manifest_line(data));
