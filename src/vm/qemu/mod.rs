//! The thin QEMU backend: [`Launch::prepare`] resolves a domain (accelerator,
//! images, sockets) and computes the argv; [`Launch::spawn`] starts qemu and
//! returns a [`VmProcess`] a supervisor drives: pid, QMP (power button,
//! `quit`), console socket, `reset`, `kill`; the supervisor decides how long
//! a guest gets to power off. The process is qemu's parent; it never
//! daemonizes.

mod argv;
mod qmp;

pub use argv::{Accel, ArgvError, CharBackend, CharFrontend, CharPlan, Resolved, argv, chardevs};
pub use qmp::{Event, Qmp, QmpError, Status};

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::{AccelChoice, VmError, VmOptions, decode_if_data};
use crate::domain::{Domain, DomainType};

/// How long a QMP read or write may take.
const QMP_TIMEOUT: Duration = Duration::from_secs(10);

/// Chooses the accelerator: TCG for `type='qemu'`; for `type='kvm'`, KVM
/// only if the real probe passes, else TCG with a warning (returned, for the
/// caller to print or log).
pub fn choose_accel(d: &Domain, opts: &VmOptions) -> (Accel, Option<String>) {
    match (d.kind, opts.accel) {
        (_, AccelChoice::Tcg) | (DomainType::Qemu, AccelChoice::Auto) => (Accel::Tcg, None),
        (_, AccelChoice::Kvm) => (Accel::Kvm, None),
        (_, AccelChoice::Auto) => {
            match crate::sys::probe_kvm(&opts.kvm_device, Path::new("/proc/cpuinfo")) {
                Ok(()) => (Accel::Kvm, None),
                Err(e) => (
                    Accel::Tcg,
                    Some(format!(
                        "KVM is not usable ({e}); running '{}' under TCG (slow)",
                        d.name
                    )),
                ),
            }
        }
    }
}

/// The default qemu binary for a domain: `<emulator>`, else
/// `qemu-system-<arch>` (x86_64 when no arch is given).
pub fn default_binary(d: &Domain) -> String {
    if let Some(e) = &d.devices.emulator {
        return e.clone();
    }
    format!("qemu-system-{}", d.os.arch.as_deref().unwrap_or("x86_64"))
}

/// Everything needed to start qemu, resolved; nothing is running yet.
#[derive(Debug)]
pub struct Launch {
    argv: Vec<String>,
    /// Sealed memfds and listening sockets qemu inherits.
    fds: Vec<OwnedFd>,
    qmp_path: PathBuf,
    console_paths: Vec<PathBuf>,
    /// Bound sockets, removed on drop unless `spawn` handed them on.
    sockets: Vec<PathBuf>,
    /// A warning to show (the KVM fallback), if any.
    pub warning: Option<String>,
    pub accel: Accel,
    die_with_parent: bool,
}

/// The unix-socket paths a launch creates in `runtime_dir`.
pub fn qmp_socket_path(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join("qmp.sock")
}

pub fn console_socket_path(runtime_dir: &Path, n: usize) -> PathBuf {
    runtime_dir.join(format!("console{n}.sock"))
}

fn listen(path: &Path) -> Result<UnixListener, VmError> {
    // A stale socket from a crashed run is ours to replace; anything else
    // at that path is refused by bind.
    if std::fs::symlink_metadata(path).is_ok_and(|m| {
        use std::os::unix::fs::FileTypeExt as _;
        m.file_type().is_socket()
    }) {
        let _ = std::fs::remove_file(path);
    }
    UnixListener::bind(path).map_err(|error| VmError::Socket {
        path: path.to_owned(),
        error,
    })
}

impl Launch {
    /// Resolves `d` for qemu: the accelerator (probing KVM), `data:` images
    /// into sealed memfds, listening sockets for QMP and consoles under
    /// `runtime_dir` (which the caller owns, 0700). On error, whatever was
    /// created is removed again.
    pub fn prepare(d: &Domain, opts: &VmOptions, runtime_dir: &Path) -> Result<Launch, VmError> {
        let (accel, warning) = choose_accel(d, opts);
        let mut fds: Vec<OwnedFd> = Vec::new();
        let mut created: Vec<PathBuf> = Vec::new();
        let result = (|| {
            let mut image =
                |which: &str, value: &Option<String>| -> Result<Option<String>, VmError> {
                    let Some(v) = value else { return Ok(None) };
                    match decode_if_data(which, v, opts.data_uri_max)? {
                        None => Ok(Some(v.clone())),
                        Some(bytes) => {
                            let fd = crate::sys::sealed_memfd(&format!("domrun-{which}"), &bytes)
                                .map_err(|error| VmError::Memfd {
                                which: which.to_owned(),
                                error,
                            })?;
                            let path = format!("/dev/fd/{}", fd.as_raw_fd());
                            fds.push(fd);
                            Ok(Some(path))
                        }
                    }
                };
            let kernel = image("kernel", &d.os.kernel)?;
            let initrd = image("initrd", &d.os.initrd)?;
            let dtb = image("dtb", &d.os.dtb)?;
            let plans = chardevs(d)?;
            let qmp_path = qmp_socket_path(runtime_dir);
            let qmp = listen(&qmp_path)?;
            created.push(qmp_path.clone());
            let qmp_fd = qmp.as_raw_fd();
            fds.push(qmp.into());
            let mut console_paths = Vec::new();
            let mut console_fds = Vec::new();
            for (n, _) in plans
                .iter()
                .filter(|p| p.backend == CharBackend::Socket)
                .enumerate()
            {
                let path = console_socket_path(runtime_dir, n);
                let l = listen(&path)?;
                created.push(path.clone());
                console_fds.push(l.as_raw_fd());
                fds.push(l.into());
                console_paths.push(path);
            }
            let resolved = Resolved {
                binary: opts
                    .qemu_binary
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| default_binary(d)),
                accel,
                qmp_fd,
                console_fds,
                kernel,
                initrd,
                dtb,
                networks: super::network_bridges(d),
            };
            let argv = argv(d, &resolved)?;
            Ok((argv, qmp_path, console_paths))
        })();
        match result {
            Ok((argv, qmp_path, console_paths)) => Ok(Launch {
                argv,
                fds,
                qmp_path,
                console_paths,
                sockets: created,
                warning,
                accel,
                die_with_parent: false,
            }),
            Err(e) => {
                for p in created {
                    let _ = std::fs::remove_file(p);
                }
                Err(e)
            }
        }
    }

    /// The command line (no image data is ever in it).
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// Kill qemu if this process dies (for `domrun run`; a monitor that
    /// should survive a crash of its parent leaves this off).
    pub fn die_with_parent(mut self, on: bool) -> Self {
        self.die_with_parent = on;
        self
    }

    /// Starts qemu. Its stdin is /dev/null, stdout/stderr are ours (qemu
    /// only writes diagnostics there). The console and QMP sockets are
    /// already listening, so connecting right away loses no output.
    pub fn spawn(mut self) -> Result<VmProcess, VmError> {
        let sockets = std::mem::take(&mut self.sockets);
        let remove = |paths: &[PathBuf]| {
            for p in paths {
                let _ = std::fs::remove_file(p);
            }
        };
        let Some((bin, args)) = self.argv.split_first() else {
            remove(&sockets);
            return Err(VmError::Spawn {
                binary: String::new(),
                error: std::io::Error::from(std::io::ErrorKind::InvalidInput),
            });
        };
        let mut cmd = Command::new(bin);
        cmd.args(args).stdin(Stdio::null());
        let keep: Vec<_> = self.fds.iter().map(|f| f.as_fd()).collect();
        let child = match crate::sys::spawn_keeping_fds(&mut cmd, &keep, self.die_with_parent) {
            Ok(c) => c,
            Err(error) => {
                remove(&sockets);
                return Err(VmError::Spawn {
                    binary: bin.clone(),
                    error,
                });
            }
        };
        // qemu holds its own copies now.
        drop(keep);
        self.fds.clear();
        Ok(VmProcess {
            child,
            qmp_path: self.qmp_path.clone(),
            console_paths: std::mem::take(&mut self.console_paths),
            sockets,
            qmp: None,
            exit: None,
        })
    }
}

impl Drop for Launch {
    /// A launch that never started removes the sockets it bound.
    fn drop(&mut self) {
        for p in self.sockets.drain(..) {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A running qemu: its parent is this process.
#[derive(Debug)]
pub struct VmProcess {
    child: Child,
    qmp_path: PathBuf,
    console_paths: Vec<PathBuf>,
    sockets: Vec<PathBuf>,
    qmp: Option<Qmp>,
    exit: Option<ExitStatus>,
}

impl VmProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn qmp_socket(&self) -> &Path {
        &self.qmp_path
    }

    /// The listening console sockets (serial 0 first).
    pub fn console_sockets(&self) -> &[PathBuf] {
        &self.console_paths
    }

    /// Connects to the first console socket (a second connection waits
    /// until the first closes: qemu serves one client per chardev).
    pub fn connect_console(&self) -> Result<Option<UnixStream>, VmError> {
        let Some(p) = self.console_paths.first() else {
            return Ok(None);
        };
        UnixStream::connect(p)
            .map(Some)
            .map_err(|error| VmError::Socket {
                path: p.clone(),
                error,
            })
    }

    /// The QMP session, connected (and negotiated) on first use.
    pub fn qmp(&mut self) -> Result<&mut Qmp, VmError> {
        match &mut self.qmp {
            Some(q) => Ok(q),
            slot @ None => Ok(slot.insert(Qmp::connect(&self.qmp_path, QMP_TIMEOUT)?)),
        }
    }

    pub fn status(&mut self) -> Result<Status, VmError> {
        Ok(self.qmp()?.query_status()?)
    }

    /// Hard reset of the guest (libvirt's reboot fallback; reboot by ACPI is
    /// the guest's own business).
    pub fn reset(&mut self) -> Result<(), VmError> {
        Ok(self.qmp()?.system_reset()?)
    }

    /// Non-blocking: qemu's exit status once it has exited (reaped once).
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, VmError> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().map_err(VmError::Wait)?;
            if self.exit.is_some() {
                self.remove_sockets();
            }
        }
        Ok(self.exit)
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) -> Result<(), VmError> {
        if self.try_wait()?.is_none() {
            // ESRCH-like errors mean it is already gone; wait says how.
            let _ = self.child.kill();
            self.exit = Some(self.child.wait().map_err(VmError::Wait)?);
            self.remove_sockets();
        }
        Ok(())
    }

    fn remove_sockets(&mut self) {
        self.qmp = None;
        for p in self.sockets.drain(..) {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for VmProcess {
    /// A VmProcess never outlives its handle silently: dropping it kills
    /// and reaps qemu if it still runs, and removes its sockets.
    fn drop(&mut self) {
        let _ = self.kill();
        self.remove_sockets();
    }
}
