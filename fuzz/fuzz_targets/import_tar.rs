//! Fuzz target: any bytes as a template import source (tar, tar.gz,
//! tar.zst, tar.xz or garbage). Must never panic and never leave anything
//! behind; see `../check_import.rs` for the property. Needs root (imports
//! keep ownership).
//!
//! Run: `cd fuzz && cargo +nightly fuzz run import_tar corpus/work-import_tar corpus/import_tar`

#![no_main]

#[path = "../check_import.rs"]
mod check_import;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check_import::check(data);
});
