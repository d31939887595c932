//! `domrun run FILE` for a VM: the foreground supervisor. qemu's serial
//! console is copied to stdout (and stdin to it); SIGTERM/SIGINT/SIGHUP
//! press the ACPI power button, and if the guest has not powered off after
//! the shutdown timeout (or on a second signal) qemu is told to quit, then
//! killed. Exit status: 0 when the guest powered off by itself or on
//! request; 128+15 when it had to be forced; qemu's own failure status
//! otherwise.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::PollTimeout;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::qemu::Launch;
use super::{VmError, VmOptions, xen};
use crate::domain::{Domain, DomainType};
use crate::sys::Relay;

/// Exit status when the guest had to be stopped by force.
const FORCED: u8 = 128 + 15;
/// Grace after `quit` before SIGKILL.
const QUIT_GRACE: Duration = Duration::from_secs(5);

/// A private 0700 directory for sockets, removed when dropped.
#[derive(Debug)]
pub(crate) struct RuntimeDir(PathBuf);

impl RuntimeDir {
    pub(crate) fn new(prefix: &str) -> Result<RuntimeDir, VmError> {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let template = base.join(format!("{prefix}XXXXXX"));
        nix::unistd::mkdtemp(&template)
            .map(RuntimeDir)
            .map_err(|e| VmError::RuntimeDir {
                path: template,
                error: e.to_string(),
            })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a VM domain in the foreground; returns the exit status for domrun.
pub fn run_foreground(d: &Domain) -> Result<u8, VmError> {
    let opts = VmOptions::from_env()?;
    match d.kind {
        DomainType::Kvm | DomainType::Qemu => run_qemu(d, &opts),
        DomainType::Xen => xen::run_foreground(d, &opts),
        other => Err(VmError::NotVm(other.to_string())),
    }
}

fn run_qemu(d: &Domain, opts: &VmOptions) -> Result<u8, VmError> {
    let dir = RuntimeDir::new("domrun-vm-")?;
    let launch = Launch::prepare(d, opts, dir.path())?.die_with_parent(true);
    if let Some(w) = &launch.warning {
        eprintln!("domrun: warning: {w}");
    }
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGCHLD,
    ] {
        mask.add(s);
    }
    mask.thread_block().map_err(VmError::Signals)?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(VmError::Signals)?;
    let mut vm = launch.spawn()?;
    let console = vm.connect_console()?;
    let mut relay = Relay::new(console.as_ref().map(|c| c.as_fd()));
    let mut deadline: Option<Instant> = None;
    let mut forced = false;
    let mut quit_sent = false;
    let status = loop {
        if let Some(s) = vm.try_wait()? {
            // The serial console is best effort: what qemu wrote last is
            // passed on if it can be.
            let _ = relay.drain();
            break s;
        }
        let ready = relay
            .poll([signals.as_fd()], PollTimeout::from(100u16))
            .map_err(VmError::Console)?;
        let [signalled] = ready.watched;
        if signalled {
            while let Ok(Some(info)) = signals.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == Signal::SIGCHLD as i32 {
                    continue;
                }
                if deadline.is_none() {
                    // First request: the ACPI power button.
                    let pressed = vm.qmp().and_then(|q| Ok(q.system_powerdown()?));
                    deadline = Some(if pressed.is_ok() {
                        Instant::now() + opts.shutdown_timeout
                    } else {
                        Instant::now()
                    });
                } else {
                    // A second request: stop waiting for the guest.
                    deadline = Some(Instant::now());
                }
            }
        }
        // A failed direction stops (the relay closes it); the guest runs on.
        let _ = relay.copy(&ready);
        if let Some(t) = deadline
            && Instant::now() >= t
        {
            if !quit_sent {
                forced = true;
                quit_sent = true;
                let _ = vm.qmp().and_then(|q| Ok(q.quit()?));
                deadline = Some(Instant::now() + QUIT_GRACE);
            } else {
                vm.kill()?;
            }
        }
    };
    let _ = mask.thread_unblock();
    drop(vm);
    drop(dir);
    Ok(exit_code(status, forced))
}

fn exit_code(status: std::process::ExitStatus, forced: bool) -> u8 {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(0), _) if forced => FORCED,
        (Some(c), _) => u8::try_from(c & 0xff).unwrap_or(u8::MAX),
        (None, Some(s)) => 128u8.saturating_add(u8::try_from(s).unwrap_or(0)),
        (None, None) => u8::MAX,
    }
}
