//! Fuzz target `archive_tar`: see `kluis_fuzz::fuzz_archive_tar` and docs/FUZZING.md.
#![no_main]

#[global_allocator]
static ALLOC: kluis_fuzz::CountingAlloc = kluis_fuzz::CountingAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| kluis_fuzz::fuzz_archive_tar(data));
