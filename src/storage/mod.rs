//! Disk images the kernel cannot attach directly (qcow2 and other non-raw
//! formats), exported as a raw file so a loop device can take them.
//!
//! libvirt uses `qemu-nbd` and `/dev/nbdN`; hosts without the nbd module (our
//! own among them) can still do it: `qemu-storage-daemon` exports the image
//! over FUSE as a plain raw file, and a loop device attaches to that file.
//! The daemon gets SIGTERM if its parent dies, because only a clean exit
//! unmounts the FUSE export (SIGKILL would leave a dead mount behind).

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why an image could not be exported (or released).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("creating the export point {path}: {source}")]
    ExportPoint {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting qemu-storage-daemon for {image}: {source} (install qemu-utils)")]
    Spawn {
        image: PathBuf,
        source: std::io::Error,
    },
    #[error("qemu-storage-daemon could not export {image}: {message}")]
    Daemon { image: PathBuf, message: String },
    #[error("qemu-storage-daemon did not export {image} within {seconds} s")]
    Timeout { image: PathBuf, seconds: u64 },
    #[error("stopping the export of {image}: it is still mounted at {path}")]
    StillMounted { image: PathBuf, path: PathBuf },
}

/// A running export: `path()` is a raw view of the image.
#[derive(Debug)]
pub struct ImageExport {
    image: PathBuf,
    point: PathBuf,
    /// The private directory holding the point and the daemon's log.
    dir: PathBuf,
    daemon: Option<Child>,
}

/// True when `path` is a mount point (as seen by this process).
fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mp| mp.replace("\\040", " ") == want)
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done()
}

impl ImageExport {
    /// Exports `image` (of `format`, e.g. `qcow2`) as a raw file, in a
    /// private directory (mkdtemp, 0700) made under `workdir`: no other user
    /// can plant a name there, and two images never share an export point.
    pub fn start(
        image: &Path,
        format: &str,
        readonly: bool,
        workdir: &Path,
    ) -> Result<Self, ExportError> {
        let point_err = |path: &Path| {
            let path = path.to_owned();
            move |source| ExportError::ExportPoint { path, source }
        };
        std::fs::create_dir_all(workdir).map_err(point_err(workdir))?;
        // mountinfo shows canonical paths; compare like with like.
        let workdir = std::fs::canonicalize(workdir).map_err(point_err(workdir))?;
        let dir = nix::unistd::mkdtemp(&workdir.join("export-XXXXXX"))
            .map_err(|e| point_err(&workdir)(std::io::Error::from(e)))?;
        let point = dir.join("disk.raw");
        let log = dir.join("daemon.log");
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&point)
            .and_then(|_| std::fs::File::create(&log));
        let log_file = match created {
            Ok(f) => f,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(point_err(&point)(e));
            }
        };
        let mut cmd = Command::new("qemu-storage-daemon");
        let read_only = if readonly { "on" } else { "off" };
        cmd.arg("--blockdev")
            .arg(format!(
                "driver=file,filename={},node-name=file0,read-only={read_only}",
                qemu_escape(image)
            ))
            .arg("--blockdev")
            .arg(format!(
                "driver={format},file=file0,node-name=disk0,read-only={read_only}"
            ))
            .arg("--export")
            .arg(format!(
                "type=fuse,id=export0,node-name=disk0,mountpoint={},writable={}",
                qemu_escape(&point),
                if readonly { "off" } else { "on" }
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // A file, not a pipe: nobody reads while the daemon runs, and a
            // full pipe would stall the export.
            .stderr(Stdio::from(log_file));
        crate::sys::kill_child_with_parent(&mut cmd, nix::sys::signal::Signal::SIGTERM);
        let daemon = match cmd.spawn() {
            Ok(d) => d,
            Err(source) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(ExportError::Spawn {
                    image: image.to_owned(),
                    source,
                });
            }
        };
        let mut export = ImageExport {
            image: image.to_owned(),
            point,
            dir,
            daemon: Some(daemon),
        };
        let ready = wait_until(Duration::from_secs(10), || {
            is_mounted(&export.point)
                || export
                    .daemon
                    .as_mut()
                    .is_none_or(|d| d.try_wait().ok().flatten().is_some())
        });
        let exited = export
            .daemon
            .as_mut()
            .is_none_or(|d| d.try_wait().ok().flatten().is_some());
        if exited {
            if let Some(mut d) = export.daemon.take() {
                let _ = d.wait();
            }
            let message = last_line(&export.dir.join("daemon.log"));
            return Err(ExportError::Daemon {
                image: image.to_owned(),
                message,
            });
        }
        if !ready {
            return Err(ExportError::Timeout {
                image: image.to_owned(),
                seconds: 10,
            });
        }
        Ok(export)
    }

    /// The raw view of the image, for a loop device.
    pub fn path(&self) -> &Path {
        &self.point
    }

    /// The daemon's pid (e.g. to place it in the domain's cgroup).
    pub fn pid(&self) -> Option<u32> {
        self.daemon.as_ref().map(Child::id)
    }

    /// Waits (up to 5 s) until no loop device is attached to the export —
    /// autoclear detaches it shortly after the last mount of it is gone —
    /// then stops it.
    pub fn stop_when_unused(self) -> Result<(), ExportError> {
        let point = self.point.to_string_lossy().into_owned();
        wait_until(Duration::from_secs(5), || !loop_attached_to(&point));
        self.stop()
    }

    /// Stops the daemon cleanly (SIGTERM unmounts the export) and removes the
    /// export point. Call after every user of the export (the loop device)
    /// has let go.
    pub fn stop(mut self) -> Result<(), ExportError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), ExportError> {
        if let Some(mut d) = self.daemon.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(d.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = d.wait();
        }
        if is_mounted(&self.point) {
            // A still-busy export: detach it lazily rather than leave it.
            let _ = nix::mount::umount2(&self.point, nix::mount::MntFlags::MNT_DETACH);
        }
        let still = is_mounted(&self.point);
        if !still {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        if still {
            return Err(ExportError::StillMounted {
                image: self.image.clone(),
                path: self.point.clone(),
            });
        }
        Ok(())
    }
}

impl Drop for ImageExport {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// True when a loop device's backing file is `path`.
fn loop_attached_to(path: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return false;
    };
    entries.flatten().any(|e| {
        std::fs::read_to_string(e.path().join("loop/backing_file"))
            .is_ok_and(|b| b.trim_end() == path)
    })
}

/// The last line the daemon wrote to its log (its error).
fn last_line(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().last().unwrap_or("exited").trim().to_owned()
}

/// QEMU option values escape ',' by doubling it.
fn qemu_escape(p: &Path) -> String {
    p.to_string_lossy().replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_in_paths_are_doubled() {
        assert_eq!(qemu_escape(Path::new("/a,b/c.qcow2")), "/a,,b/c.qcow2");
    }

    #[test]
    fn exports_a_qcow2_image_as_a_raw_file_and_cleans_up() {
        if !nix::unistd::geteuid().is_root()
            || Command::new("qemu-img").arg("--version").output().is_err()
            || Command::new("qemu-storage-daemon")
                .arg("--version")
                .output()
                .is_err()
            || !Path::new("/dev/fuse").exists()
        {
            eprintln!("skipped: needs root, qemu-img, qemu-storage-daemon and /dev/fuse");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let img = tmp.path().join("d.qcow2");
        let ok = Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2"])
            .arg(&img)
            .arg("8M")
            .status()
            .unwrap();
        assert!(ok.success());
        let export = ImageExport::start(&img, "qcow2", false, &tmp.path().join("exports")).unwrap();
        let raw = export.path().to_owned();
        assert_eq!(std::fs::metadata(&raw).unwrap().len(), 8 << 20);
        std::fs::write(&raw, b"written through the export").unwrap();
        export.stop().unwrap();
        assert!(!is_mounted(&raw) && !raw.exists());
        assert!(
            !raw.parent().unwrap().exists(),
            "the private export directory is removed"
        );
        // The write went into the qcow2 image.
        let check = Command::new("qemu-img")
            .arg("check")
            .arg(&img)
            .output()
            .unwrap();
        assert!(check.status.success());
        let bad = ImageExport::start(
            &tmp.path().join("missing.qcow2"),
            "qcow2",
            false,
            &tmp.path().join("exports"),
        );
        assert!(matches!(bad, Err(ExportError::Daemon { .. })), "{bad:?}");
    }
}
