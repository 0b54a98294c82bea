//! Fuzz target `salvage`: see `kluis_fuzz::fuzz_salvage` and docs/FUZZING.md.
#![no_main]

#[global_allocator]
static ALLOC: kluis_fuzz::CountingAlloc = kluis_fuzz::CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| kluis_fuzz::fuzz_salvage(data));
