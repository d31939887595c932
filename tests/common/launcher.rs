//! In-process launcher tests: a hand-made [`Plan`] run with
//! `domrun::launch::run_foreground`, writing what init sees into a host
//! directory bound at `/out`.

use std::ffi::OsString;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use domrun::plan::{MountSource, MountStep, Plan, RootSource};

use super::{HostState, Rootfs};

/// Launches share the host mount table and loop devices: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the global test lock.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The start of every launcher test: the global lock, a busybox rootfs and
/// an output directory; `None` (the test is skipped, with the reason
/// printed) when launching is not possible here.
pub fn launch_fixture() -> Option<(MutexGuard<'static, ()>, Rootfs, Output)> {
    let guard = serial();
    if !super::require_root() {
        return None;
    }
    Some((guard, Rootfs::busybox()?, Output::new()))
}

/// A host directory bound at /out in the container, where scripts write.
#[derive(Debug)]
pub struct Output {
    dir: tempfile::TempDir,
}

impl Output {
    /// A fresh, world-writable output directory.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("domrun-out-")
            .tempdir()
            .expect("tempdir");
        super::chmod(dir.path(), 0o777);
        Self { dir }
    }

    /// The host path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The mount step binding it at /out.
    pub fn mount(&self) -> MountStep {
        MountStep {
            source: MountSource::HostBind {
                path: self.path().to_path_buf(),
            },
            target: "/out".into(),
            readonly: false,
        }
    }

    /// Contents of /out/NAME written inside.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name))
            .unwrap_or_else(|e| panic!("output {name}: {e}"))
    }
}

/// A plan running `script` with busybox sh in `root`, /out bound.
pub fn shell_plan(root: RootSource, out: &Output, script: &str) -> Plan {
    let argv: Vec<OsString> = vec!["/bin/sh".into(), "-c".into(), script.into()];
    let mut plan = Plan::new(root, argv);
    plan.process.env = vec![("PATH".into(), "/bin".into())];
    plan.mounts.push(out.mount());
    plan
}

/// The rootfs as a plan root.
pub fn dir_root(rootfs: &Rootfs) -> RootSource {
    RootSource::Directory(rootfs.path().to_path_buf())
}

/// Runs `plan` and asserts nothing leaked; returns init's exit status.
pub fn run_clean(plan: &Plan) -> Result<u8, domrun::launch::LaunchError> {
    let before = HostState::capture();
    let result = domrun::launch::run_foreground(plan).map(|code| code.0);
    before.assert_restored();
    result
}
