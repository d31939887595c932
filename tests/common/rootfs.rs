//! The one busybox root filesystem builder: `rootfs-fixtures/busybox-rootfs.sh`.
//!
//! Users: `root`, `tester` (1000:1000, supplementary group `extra` 2000),
//! `nobody`; `/etc/hostname` is `busybox`; every busybox applet is linked in
//! `/bin`, `/sbin`, `/usr/bin`, `/usr/sbin`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds (or refreshes) a busybox root filesystem at `dir` with
/// `rootfs-fixtures/busybox-rootfs.sh` and returns its path. `None` (with a
/// skip message) when busybox-static is not installed.
///
/// # Panics
/// When the script fails for any other reason: that is a bug to see, not a
/// reason to skip.
pub fn busybox_rootfs(dir: &Path) -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("rootfs-fixtures/busybox-rootfs.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Some(dir.to_path_buf()),
        Some(77) => {
            super::skip(&format!("needs busybox-static ({})", stderr.trim()));
            None
        }
        _ => panic!(
            "{} {} failed: {}: {stderr}",
            script.display(),
            dir.display(),
            out.status
        ),
    }
}

/// A busybox rootfs in a temp dir of its own, removed on drop.
#[derive(Debug)]
pub struct Rootfs {
    dir: tempfile::TempDir,
}

impl Rootfs {
    /// Builds a fresh rootfs with [`busybox_rootfs`]; `None` (skipped) when
    /// there is no static busybox.
    pub fn busybox() -> Option<Self> {
        let dir = tempfile::Builder::new()
            .prefix("domrun-rootfs-")
            .tempdir()
            .expect("tempdir");
        busybox_rootfs(dir.path())?;
        Some(Self { dir })
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

    /// Replaces the directory `rel` (e.g. `mnt`) of the rootfs with a
    /// symlink to `target`.
    pub fn symlink_dir(&self, rel: &str, target: &str) {
        let path = self.path().join(rel);
        let _ = std::fs::remove_dir_all(&path);
        std::os::unix::fs::symlink(target, &path).expect("symlink");
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
