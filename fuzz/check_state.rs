//! The property the `state_files` fuzz target checks, shared with the
//! `cargo test` replay of its seed corpus (`tests/robust_input.rs`).
//!
//! For any bytes as a domain's `state.json`: reading it never panics; it is
//! either a state, which writes back and reads again equal, or a `Corrupt`
//! error naming the file, which prints.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use domrun::state::Root;

fn scratch() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("domrun-fuzz-state-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub fn check(data: &[u8]) {
    let dir = scratch();
    let root = Root::new(&dir);
    let name = "fuzzed";
    std::fs::create_dir_all(root.live_dir(name)).expect("live dir");
    std::fs::write(root.live_state(name), data).expect("write state");
    match root.read_live(name) {
        Ok(Some(state)) => {
            // A state names its own file: write it under the name it reads as.
            if domrun::state::check_name(&state.name).is_ok() {
                std::fs::create_dir_all(root.live_dir(&state.name)).expect("live dir");
                root.write_live(&state).expect("write back");
                let again = root.read_live(&state.name).expect("read back");
                assert_eq!(
                    again.as_ref(),
                    Some(&state),
                    "state changed across a round trip"
                );
            }
        }
        Ok(None) => panic!("an existing state file read as missing"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
