//! Replays the `parse_domain` fuzz target's property (`fuzz/check.rs`) over
//! its seed corpus (`fuzz/corpus/parse_domain`, including regressions the
//! fuzzer found) and over the invalid-document cases, under plain
//! `cargo test`: no nightly, no cargo-fuzz. Fuzzing itself is
//! `cargo +nightly fuzz run parse_domain` (docs/testing.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/check.rs"]
mod check;

use std::path::Path;

fn replay(dir: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() || path.extension().is_some_and(|x| x == "err") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check::check(&bytes));
        assert!(result.is_ok(), "{} fails the fuzz property", path.display());
        n += 1;
    }
    n
}

#[test]
fn fuzz_seed_corpus_passes() {
    let n = replay("fuzz/corpus/parse_domain");
    assert!(n >= 10, "only {n} seeds");
}

#[test]
fn invalid_documents_pass_the_fuzz_property() {
    assert!(replay("tests/invalid") >= 33);
}
