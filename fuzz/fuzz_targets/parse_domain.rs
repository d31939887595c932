//! Fuzz target: any bytes through parse → defaults → validate → format →
//! parse. Must never panic; see `../check.rs` for the property.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run parse_domain corpus/work corpus/parse_domain`

#![no_main]

#[path = "../check.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check::check(data);
});
