//! What a monitor supervises: a container's init, or a QEMU process. The
//! serve loop sees one interface: an exit to wait for, a console to relay,
//! and shutdown, reset and kill requests.

use super::error::GuestError;
use crate::domain::{Domain, DomainType};
use crate::launch::{self, Running};
use crate::plan::{Sources, plan_from_domain};
use crate::vm::qemu::{Launch, VmProcess};
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

/// A started domain.
#[derive(Debug)]
pub(super) enum Guest {
    Container(Running),
    Qemu {
        process: VmProcess,
        /// Our connection to qemu's first serial console socket.
        console: Option<UnixStream>,
        /// Holds the QMP and console sockets; removed when dropped.
        _dir: crate::vm::RuntimeDir,
    },
}

/// Why a guest stopped, as the lifecycle actions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// Exited, or poweroff/halt inside the container (init killed by SIGINT).
    Poweroff,
    /// reboot(2) inside the container's pid namespace kills init with SIGHUP.
    Reboot,
    /// Killed by any other signal (a VM: qemu failed).
    Crash,
}

/// Why a container's init ended, as the lifecycle actions see it.
pub fn classify_exit(status: WaitStatus) -> ExitReason {
    match status {
        WaitStatus::Signaled(_, Signal::SIGHUP, _) => ExitReason::Reboot,
        WaitStatus::Signaled(_, Signal::SIGINT, _) => ExitReason::Poweroff,
        WaitStatus::Signaled(..) => ExitReason::Crash,
        _ => ExitReason::Poweroff,
    }
}

/// The signal that asks a container's init to power off, from the family
/// its running process shows (`launch::InitFamily`: systemd SIGRTMIN+4,
/// sysvinit SIGPWR, busybox SIGUSR2, anything else SIGTERM). A reboot
/// request sends it too: the policy starts the domain again once init is
/// gone. `<metadata><domrun:init family=…>` overrides the detection.
fn shutdown_signal(d: &Domain, init: i32) -> libc::c_int {
    launch::InitFamily::chosen_or_detected(launch::InitFamily::chosen_by(d), init)
        .signals()
        .poweroff
        .number()
}

impl Guest {
    /// Starts the domain: a container through the launcher, a QEMU domain
    /// through the VM backend (the monitor is qemu's parent).
    pub(super) fn start(sources: &Sources<'_>, d: &Domain) -> Result<Guest, GuestError> {
        if d.kind.is_container() {
            let plan = plan_from_domain(d, sources)?;
            return Ok(Guest::Container(launch::start(&plan, true)?));
        }
        if !matches!(d.kind, DomainType::Kvm | DomainType::Qemu) {
            return Err(GuestError::NotSupervised(d.kind));
        }
        let opts = crate::vm::VmOptions::from_env()?;
        let dir = crate::vm::RuntimeDir::new("domrun-vm-")?;
        let launch = Launch::prepare(d, &opts, dir.path())?.die_with_parent(true);
        if let Some(w) = &launch.warning {
            eprintln!("domrun monitor: warning: {w}");
        }
        let process = launch.spawn()?;
        let console = process.connect_console()?;
        Ok(Guest::Qemu {
            process,
            console,
            _dir: dir,
        })
    }

    pub(super) fn pid(&self) -> i32 {
        match self {
            Guest::Container(r) => r.pid().as_raw(),
            Guest::Qemu { process, .. } => process.pid() as i32,
        }
    }

    /// Readable when a container's init exits; a VM is polled instead.
    pub(super) fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Guest::Container(r) => Some(r.pidfd()),
            Guest::Qemu { .. } => None,
        }
    }

    /// The console to relay: a container's pty master, a VM's serial socket.
    pub(super) fn console(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Guest::Container(r) => r.console(),
            Guest::Qemu { console, .. } => console.as_ref().map(|c| c.as_fd()),
        }
    }

    /// Asks the guest to shut down: its init's shutdown signal, or the ACPI
    /// power button.
    pub(super) fn request_shutdown(&mut self, d: &Domain) {
        match self {
            Guest::Container(r) => {
                let pid = r.pid().as_raw();
                let _ = crate::sys::kill_raw(pid, shutdown_signal(d, pid));
            }
            Guest::Qemu { process, .. } => {
                if let Ok(qmp) = process.qmp() {
                    let _ = qmp.system_powerdown();
                }
            }
        }
    }

    /// A VM resets in place; a container is stopped and started again by
    /// the caller. Returns whether the reset happened in place.
    pub(super) fn reset_in_place(&mut self) -> bool {
        match self {
            Guest::Qemu { process, .. } => process.reset().is_ok(),
            Guest::Container(_) => false,
        }
    }

    pub(super) fn kill(&mut self) {
        match self {
            Guest::Container(r) => {
                let _ = crate::sys::kill_raw(r.pid().as_raw(), libc::SIGKILL);
            }
            Guest::Qemu { process, .. } => {
                let _ = process.kill();
            }
        }
    }

    /// The guest's end, if it has ended (reaping it).
    pub(super) fn try_exit(&mut self, exit_ready: bool) -> Option<ExitReason> {
        match self {
            Guest::Container(r) => {
                if !exit_ready {
                    return None;
                }
                r.wait().ok().map(classify_exit)
            }
            Guest::Qemu { process, .. } => match process.try_wait() {
                Ok(Some(status)) if status.success() => Some(ExitReason::Poweroff),
                Ok(Some(_)) => Some(ExitReason::Crash),
                _ => None,
            },
        }
    }

    /// After the end: a container's cgroup and image exports; reports an
    /// OOM kill.
    pub(super) fn release(&mut self) {
        if let Guest::Container(r) = self {
            if r.cgroup().is_some_and(|c| c.oom_killed().unwrap_or(false)) {
                eprintln!(
                    "domrun monitor: the memory limit was hit: the kernel's OOM killer ended a process of the domain"
                );
            }
            let _ = r.release_cgroup();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::Pid;

    #[test]
    fn exits_map_to_lifecycle_reasons() {
        let p = Pid::from_raw(1);
        assert_eq!(
            classify_exit(WaitStatus::Exited(p, 0)),
            ExitReason::Poweroff
        );
        assert_eq!(
            classify_exit(WaitStatus::Exited(p, 3)),
            ExitReason::Poweroff
        );
        assert_eq!(
            classify_exit(WaitStatus::Signaled(p, Signal::SIGHUP, false)),
            ExitReason::Reboot
        );
        assert_eq!(
            classify_exit(WaitStatus::Signaled(p, Signal::SIGINT, false)),
            ExitReason::Poweroff
        );
        assert_eq!(
            classify_exit(WaitStatus::Signaled(p, Signal::SIGSEGV, true)),
            ExitReason::Crash
        );
    }
}
