//! The property the `import_tar` fuzz target checks, shared with the
//! `cargo test` replay of its seed corpus (`tests/robust_input.rs`).
//!
//! For any bytes given as a template source (a tarball of any of the four
//! formats, or garbage): the import never panics; it either makes a
//! complete template that lists and removes cleanly, or fails with an error
//! that prints; and nothing is left in the store but what a successful
//! import made (no staging directory, nothing outside the store).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use domrun::template::{Progress, Store};

/// A scratch directory of its own for each call (replays run in parallel).
fn scratch() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("domrun-fuzz-import-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn check(data: &[u8]) {
    let dir = scratch();
    let source = dir.join("source");
    std::fs::write(&source, data).expect("write source");
    let store_root = dir.join("store");
    let store = Store::open(&store_root).expect("open store");
    match store.import("fuzzed", &source, Progress::Quiet) {
        Ok(info) => {
            let _ = format!("{info:?}");
            let listed = store.list().expect("list after import");
            assert!(
                listed.iter().any(|t| t.name == "fuzzed"),
                "imported template not listed"
            );
            store
                .remove("fuzzed", &[])
                .expect("remove imported template");
        }
        Err(e) => {
            // Error messages must print (no panic in Display).
            let _ = e.to_string();
            assert!(
                store.list().expect("list after failure").is_empty(),
                "a failed import left a template"
            );
        }
    }
    // Nothing beside the store and the source; the store's templates
    // directory holds no staging leftovers.
    assert_eq!(entries(&dir), ["source", "store"]);
    let templates = store_root.join("templates");
    let left: Vec<String> = entries(&templates)
        .into_iter()
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert!(left.is_empty(), "staging left behind: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
