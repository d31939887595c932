//! Fuzz target: any bytes as a domain's `state.json`. Must never panic; see
//! `../check_state.rs` for the property.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run state_files corpus/work-state_files corpus/state_files`

#![no_main]

#[path = "../check_state.rs"]
mod check_state;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check_state::check(data);
});
