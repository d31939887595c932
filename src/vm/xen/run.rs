//! Starting a Xen domain: its per-domain private directory (the config and
//! any `data:` images, written as files nobody else can read or swap), and
//! `domrun run` for Xen (`xl create -F`, signals → `xl shutdown`, then
//! `xl destroy` after the timeout).

use std::io::Write as _;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{OFlag, openat};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::stat::Mode;

use super::{XenError, Xl, to_native};
use crate::domain::Domain;
use crate::vm::{VmError, VmOptions, decode_if_data};

/// Exit status when the guest had to be destroyed.
const FORCED: u8 = 128 + 15;

/// A domain's private directory (0700): its xl config and decoded images
/// (0600, created with O_EXCL|O_NOFOLLOW so nothing pre-planted is
/// followed or reused). Removed with everything in it when dropped: at
/// destroy, and on any start failure.
#[derive(Debug)]
pub struct DomainDir {
    path: PathBuf,
    fd: OwnedFd,
}

impl DomainDir {
    /// Creates `parent/name` (mode 0700). Fails if it exists: a stale one
    /// is removed by [`DomainDir::sweep`] first.
    pub fn create(parent: &Path, name: &str) -> Result<DomainDir, XenError> {
        let path = parent.join(name);
        let file_err = |error: std::io::Error| XenError::File {
            path: path.clone(),
            error,
        };
        std::fs::create_dir_all(parent).map_err(file_err)?;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(file_err)?;
        let fd = crate::sys::open_dir(&path).map_err(|e| file_err(e.into()))?;
        Ok(DomainDir { path, fd })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `data` to a new 0600 file `name` in the directory.
    pub fn write_private(&self, name: &str, data: &[u8]) -> Result<PathBuf, XenError> {
        let path = self.path.join(name);
        let fd = openat(
            self.fd.as_fd(),
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(|e| XenError::File {
            path: path.clone(),
            error: e.into(),
        })?;
        let mut f = std::fs::File::from(fd);
        f.write_all(data)
            .and_then(|()| f.sync_all())
            .map_err(|error| XenError::File {
                path: path.clone(),
                error,
            })?;
        Ok(path)
    }

    /// A copy of `d` whose `data:` kernel/initrd/dtb are decoded into
    /// private files here and replaced by their paths. The original (with
    /// the URIs as given) is what `dumpxml` keeps showing.
    pub fn materialize(&self, d: &Domain, max: u64) -> Result<Domain, VmError> {
        let mut out = d.clone();
        for (which, slot) in [
            ("kernel", &mut out.os.kernel),
            ("initrd", &mut out.os.initrd),
            ("dtb", &mut out.os.dtb),
        ] {
            let Some(v) = slot.as_deref() else { continue };
            if let Some(bytes) = decode_if_data(which, v, max)? {
                let p = self.write_private(which, &bytes)?;
                *slot = Some(p.display().to_string());
            }
        }
        Ok(out)
    }

    /// Removes the directories under `parent` of domains `xl list` does not
    /// show running (left by a crash).
    pub fn sweep(parent: &Path, xl: &Xl) -> Result<Vec<PathBuf>, XenError> {
        let Ok(entries) = std::fs::read_dir(parent) else {
            return Ok(Vec::new());
        };
        let running: Vec<String> = xl.list()?.into_iter().map(|d| d.name).collect();
        let mut removed = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !running.contains(&name) && e.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = std::fs::remove_dir_all(e.path());
                removed.push(e.path());
            }
        }
        Ok(removed)
    }
}

impl Drop for DomainDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

use std::os::unix::fs::DirBuilderExt as _;

/// Where `domrun run` keeps Xen domain directories.
fn run_parent() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
        .join("domrun-xen")
}

/// `domrun run` for a Xen domain.
pub fn run_foreground(d: &Domain, opts: &VmOptions) -> Result<u8, VmError> {
    let xl = Xl::new(&opts.xl);
    let parent = run_parent();
    std::fs::create_dir_all(&parent).map_err(|error| XenError::File {
        path: parent.clone(),
        error,
    })?;
    DomainDir::sweep(&parent, &xl)?;
    let dir = DomainDir::create(&parent, &d.name)?;
    let resolved = dir.materialize(d, opts.data_uri_max)?;
    let cfg = to_native(&resolved)?.format().map_err(XenError::from)?;
    let cfg_path = dir.write_private("domain.cfg", cfg.as_bytes())?;
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        mask.add(s);
    }
    mask.thread_block().map_err(VmError::Signals)?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(VmError::Signals)?;
    let cfg_arg = cfg_path.to_string_lossy().into_owned();
    let mut cmd = xl.command(&["create", "-F", &cfg_arg]);
    let mut child =
        crate::sys::spawn_keeping_fds(&mut cmd, &[], true).map_err(|error| VmError::Spawn {
            binary: opts.xl.display().to_string(),
            error,
        })?;
    let mut deadline: Option<Instant> = None;
    let mut forced = false;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(VmError::Wait)? {
            break s;
        }
        let mut fds = [nix::poll::PollFd::new(
            signals.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16));
        while let Ok(Some(_)) = signals.read_signal() {
            if deadline.is_none() {
                let asked = xl.shutdown(&d.name, false);
                deadline = Some(if asked.is_ok() {
                    Instant::now() + opts.shutdown_timeout
                } else {
                    Instant::now()
                });
            } else {
                deadline = Some(Instant::now());
            }
        }
        if let Some(t) = deadline
            && Instant::now() >= t
            && !forced
        {
            forced = true;
            let _ = xl.destroy(&d.name);
            deadline = Some(Instant::now() + Duration::from_secs(3600));
        }
    };
    let _ = mask.thread_unblock();
    drop(dir);
    use std::os::unix::process::ExitStatusExt as _;
    Ok(match (status.code(), status.signal()) {
        (Some(0), _) if forced => FORCED,
        (Some(c), _) => u8::try_from(c & 0xff).unwrap_or(u8::MAX),
        (None, Some(s)) => 128u8.saturating_add(u8::try_from(s).unwrap_or(0)),
        _ => u8::MAX,
    })
}
