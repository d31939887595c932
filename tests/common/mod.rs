//! The one harness every integration test uses (`mod common;` in a test file).
//!
//! How to write a test with it (the full contract is in `docs/testing.md`):
//!
//! ```ignore
//! mod common;
//! use common::{Cli, DomainXml, Rootfs};
//!
//! #[test]
//! fn a_container_sees_its_hostname() {
//!     if !common::require_root() { return; }          // prints `skipped: needs root [test]`
//!     let Some(rootfs) = Rootfs::busybox() else { return };   // or skips
//!     let tmp = tempfile::tempdir().unwrap();
//!     let xml = DomainXml::lxc("web").rootfs(rootfs.path()).shell("hostname").write(tmp.path());
//!     let run = Cli::new(tmp.path().join("state")).run(["run", xml.to_str().unwrap()]);
//!     assert_eq!(run.ok().stdout, "web\n");
//!     common::assert_no_leaks_under(tmp.path());
//! }
//! ```
//!
//! * **Skips** ([`skip`], [`require_root`], [`require_tool`], [`corpus_dir`],
//!   [`Rootfs::busybox`], [`probe::binary`]): one message format,
//!   `skipped: REASON [TEST]`, written to the real stderr (not through the
//!   captured `eprintln!`) so it shows in `cargo test` output and `.ci/run`
//!   can count it. A skipping test returns early and counts as passed. Never
//!   print a skip any other way.
//! * **Rootfs** ([`rootfs`]): one busybox builder, `rootfs-fixtures/busybox-rootfs.sh`
//!   (users `root`, `tester` 1000:1000 with supplementary group `extra` 2000).
//! * **CLI** ([`cli`]): `Cli::new(state_root).run(args)` runs the `domrun`
//!   binary and returns a [`Run`] with `ok()`, `fails_with(code)`,
//!   `stderr_has(..)`; `Cli::bare()` for verbs without `--root`, `.in_netns(..)`.
//! * **Domain XML** ([`domain_xml`]): `DomainXml::lxc(name)` builds the
//!   container documents the tests start, instead of inline literals.
//! * **Probe** ([`probe`]): a static binary copied into a rootfs that prints
//!   what it sees inside the container as JSON, for assertions on data.
//! * **Launcher tests** ([`launcher`]): [`launch_fixture`], [`shell_plan`],
//!   [`run_clean`] drive `domrun::launch` in-process on a hand-made `Plan`.
//! * **Goldens** ([`golden`]): `golden::check(path, text)`, `DOMRUN_BLESS=1` rewrites.
//! * **Leak checks** ([`leaks`]): [`assert_no_leaks_under`], [`loop_devices`],
//!   [`mounts_containing`], [`HostState`].
#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset"
)]

pub mod cli;
pub mod domain_xml;
pub mod golden;
pub mod launcher;
pub mod leaks;
pub mod lifecycle_env;
pub mod probe;
pub mod rootfs;

pub use cli::{Cli, Run};
pub use domain_xml::{DomainXml, xml_escape};
pub use launcher::{Output, dir_root, launch_fixture, run_clean, serial, shell_plan};
pub use leaks::{
    HostState, assert_no_leaks_under, cgroups_named, loop_devices, mounts_containing,
    processes_mentioning, unescape_mountinfo,
};
pub use lifecycle_env::LifecycleEnv;
pub use rootfs::{Rootfs, busybox_rootfs, chmod};

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Environment variable naming the libvirt test-data corpus directory.
pub const CORPUS_ENV: &str = "DOMRUN_LIBVIRT_CORPUS";

/// Prints `skipped: REASON [TEST]` to the real stderr, bypassing test capture.
/// The one way a test says it cannot run here; `.ci/run` counts these lines.
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    // Ignore write errors: a skip message is best effort.
    let _ = writeln!(std::io::stderr(), "skipped: {reason} [{test}]");
}

/// True when running as uid 0; otherwise prints `skipped: needs root`.
pub fn require_root() -> bool {
    if nix::unistd::Uid::effective().is_root() {
        true
    } else {
        skip("needs root");
        false
    }
}

/// Finds an executable `name` on `PATH` or in the sbin directories (which a
/// non-root `PATH` often lacks, yet hold `mkfs.*`, `losetup`, `ip`).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(extra)
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// True when the tool `name` is installed; otherwise prints
/// `skipped: needs tool NAME`.
pub fn require_tool(name: &str) -> bool {
    if find_tool(name).is_some() {
        true
    } else {
        skip(&format!("needs tool {name}"));
        false
    }
}

/// True when every tool in `names` is installed (skips naming the first
/// missing one).
pub fn require_tools(names: &[&str]) -> bool {
    names.iter().all(|n| require_tool(n))
}

/// The libvirt test-data corpus: `$DOMRUN_LIBVIRT_CORPUS`, else
/// `<CARGO_MANIFEST_DIR>/../shared/libvirt-corpus`. `None` (with a skip
/// message) when that directory does not exist.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os(CORPUS_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/libvirt-corpus"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        skip(&format!(
            "libvirt corpus not found at {} (set {CORPUS_ENV})",
            dir.display()
        ));
        None
    }
}

/// How long a test waits for something that should happen "soon" (a
/// process to exit, a device to detach). Generous on purpose: on a loaded
/// 2-core machine things are slow, and a wait that polls costs nothing when
/// the event comes early. Tests never assert how long something took.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `done` every 20 ms until it is true; panics naming `what` after
/// [`PATIENCE`].
#[track_caller]
pub fn wait_until(what: &str, done: impl FnMut() -> bool) {
    wait_patiently(what, PATIENCE, done);
}

/// [`wait_until`] with another patience (a VM booting under TCG needs
/// minutes). The deadline only ends a wait that would otherwise hang: no
/// test asserts how long something took.
#[track_caller]
pub fn wait_patiently(what: &str, patience: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + patience;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Init's pid of a running domain, from its live state under `state_root`.
pub fn init_pid(state_root: &Path, name: &str) -> i32 {
    live_pid(state_root, name, "init").unwrap_or_else(|| panic!("{name} has no live init pid"))
}

/// The `which` ("init", "monitor") pid in a domain's live state, if any.
pub fn live_pid(state_root: &Path, name: &str, which: &str) -> Option<i32> {
    let text =
        std::fs::read_to_string(state_root.join("run").join(name).join("state.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    i32::try_from(v[which]["pid"].as_i64()?).ok()
}
