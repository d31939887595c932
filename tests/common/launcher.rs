//! Helpers for the end-to-end launcher tests: a busybox rootfs built
//! at test time, plans that write what they see into a host directory, and
//! leak checks (mounts, loop devices, processes).

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use domrun::plan::{MountSource, MountStep, Plan, RootSource};

/// Launches share the host mount table and loop devices: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the global test lock.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The usual start of a launcher test: the global lock, a busybox rootfs
/// and an output directory; `None` (the test is skipped) when launching is
/// not possible here.
pub fn launch_fixture() -> Option<(MutexGuard<'static, ()>, Rootfs, Output)> {
    let guard = serial();
    if !can_launch() {
        return None;
    }
    Some((guard, Rootfs::busybox(), Output::new()))
}

/// Whether privileged tests can run here; prints why not.
pub fn can_launch() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: launcher tests need root");
        return false;
    }
    if !Path::new("/bin/busybox").exists() {
        eprintln!("skipping: /bin/busybox missing (apt-get install busybox-static)");
        return false;
    }
    true
}

/// Whether `tool` is on PATH; prints why the test is skipped if not.
pub fn have_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipping: {tool} not installed");
    }
    found
}

const APPLETS: &[&str] = &[
    "sh",
    "cat",
    "echo",
    "id",
    "hostname",
    "env",
    "pwd",
    "dd",
    "touch",
    "sleep",
    "kill",
    "grep",
    "ls",
    "mkdir",
    "test",
    "stat",
    "head",
    "readlink",
    "tr",
    "wc",
    "mountpoint",
    "rm",
    "true",
    "false",
    "printf",
    "sed",
    "tty",
];

/// A minimal rootfs: static busybox with applet links, /etc/passwd and
/// /etc/group, and empty mount points. Reusable by any test.
pub struct Rootfs {
    dir: tempfile::TempDir,
}

impl Rootfs {
    /// Builds a fresh rootfs in a temp dir.
    pub fn busybox() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("domrun-rootfs-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path();
        for sub in [
            "bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/app",
        ] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("copy busybox");
        for applet in APPLETS {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("applet");
        }
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .expect("passwd");
        std::fs::write(
            root.join("etc/group"),
            "root:x:0:\napp:x:1000:\nwheel:x:10:app\n",
        )
        .expect("group");
        // A rootfs is normally world-readable; tempdir makes it 0700.
        chmod(root, 0o755);
        Self { dir }
    }

    /// Gives the whole tree to `uid:gid` (a rootfs for a user namespace must
    /// be owned by the mapped range, as with libvirt).
    pub fn chown_all(&self, uid: u32, gid: u32) {
        fn walk(path: &Path, uid: u32, gid: u32) {
            std::os::unix::fs::lchown(path, Some(uid), Some(gid)).expect("lchown");
            if path.is_dir() && !path.is_symlink() {
                for entry in std::fs::read_dir(path).expect("read_dir").flatten() {
                    walk(&entry.path(), uid, gid);
                }
            }
        }
        walk(self.path(), uid, gid);
    }

    /// The rootfs directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// chmod without ceremony.
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A host directory bound at /out in the container, where probes write.
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
        chmod(dir.path(), 0o777);
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

    /// Contents of /out/NAME written by the probe.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name))
            .unwrap_or_else(|e| panic!("probe output {name}: {e}"))
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

/// Host state a launch must leave as it found it.
#[derive(Debug, PartialEq, Eq)]
pub struct HostState {
    mounts: Vec<String>,
    loops: BTreeSet<String>,
    children: Vec<i32>,
}

fn mount_table() -> Vec<String> {
    // Mount ids and the tempdirs created by the test itself do not change
    // between snapshots; compare the whole lines.
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn loop_devices() -> BTreeSet<String> {
    // /sys/block/loopN/loop/backing_file exists only while attached.
    let mut attached = BTreeSet::new();
    if let Ok(entries) = std::fs::read_dir("/sys/block") {
        for entry in entries.flatten() {
            let backing = entry.path().join("loop/backing_file");
            if let Ok(file) = std::fs::read_to_string(&backing) {
                attached.insert(format!(
                    "{}: {}",
                    entry.file_name().to_string_lossy(),
                    file.trim()
                ));
            }
        }
    }
    attached
}

/// Processes whose parent is this test process.
fn our_children() -> Vec<i32> {
    let me = std::process::id().to_string();
    let mut kids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the parenthesised comm: state ppid ...
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        if after.split_whitespace().nth(1) == Some(me.as_str()) {
            kids.push(pid);
        }
    }
    kids
}

/// Attached loop devices (as `losetup -a` would list them), by name.
pub fn attached_loops() -> BTreeSet<String> {
    loop_devices()
}

impl HostState {
    /// Snapshot now.
    pub fn capture() -> Self {
        Self {
            mounts: mount_table(),
            loops: loop_devices(),
            children: our_children(),
        }
    }

    /// Asserts the host is back to this snapshot. Loop autoclear and mount
    /// namespace teardown finish asynchronously, so allow a moment.
    pub fn assert_restored(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let now = Self::capture();
            if now == *self {
                return;
            }
            if Instant::now() > deadline {
                assert_eq!(now.mounts, self.mounts, "host mount table changed");
                assert_eq!(now.loops, self.loops, "loop devices left attached");
                assert_eq!(now.children, self.children, "processes left behind");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Runs `plan` and asserts nothing leaked; returns init's exit status.
pub fn run_clean(plan: &Plan) -> Result<u8, domrun::launch::LaunchError> {
    let before = HostState::capture();
    let result = domrun::launch::run_foreground(plan).map(|code| code.0);
    before.assert_restored();
    result
}

/// A path inside a temp dir that does not exist yet.
pub fn scratch_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
