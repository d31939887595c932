//! A state root of a test's own with a busybox root, for the lifecycle tests
//! (`tests/lifecycle.rs`, `tests/robust_lifecycle.rs`); each file adds the
//! helpers only it needs in its own `impl LifecycleEnv`.

use super::{Cli, DomainXml};
use std::path::PathBuf;

#[derive(Debug)]
pub struct LifecycleEnv {
    pub tmp: tempfile::TempDir,
    pub rootfs: PathBuf,
    pub cli: Cli,
}

impl LifecycleEnv {
    /// `None` (with a printed skip) without root or a busybox.
    pub fn new() -> Option<LifecycleEnv> {
        if !super::require_root() {
            return None;
        }
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let rootfs = super::busybox_rootfs(&tmp.path().join("rootfs"))?;
        let cli = Cli::new(tmp.path().join("state"));
        Some(LifecycleEnv { tmp, rootfs, cli })
    }

    /// The state root (`--root`).
    pub fn state(&self) -> PathBuf {
        self.tmp.path().join("state")
    }

    /// A domain on the busybox root running `script` (busybox sh).
    pub fn xml(&self, name: &str, script: &str) -> DomainXml {
        DomainXml::lxc(name).rootfs(&self.rootfs).shell(script)
    }

    /// The state `list --all` shows for `name` ("" when it is not listed).
    pub fn state_of(&self, name: &str) -> String {
        let list = self.cli.ok(["list", "--all"]);
        list.lines()
            .skip(2)
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    }

    /// Init's (or the monitor's) pid from the live state, if running.
    pub fn live_pid(&self, name: &str, which: &str) -> Option<i32> {
        super::live_pid(&self.state(), name, which)
    }
}
