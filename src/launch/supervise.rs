//! Parent, after init is running: forward signals, relay the console pty,
//! reap init.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::poll::PollTimeout;
use nix::pty::openpty;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use super::{ExitStatusCode, LaunchError};
use crate::sys::{self, Relay};

/// Signals `domrun run` passes on to init, as a foreground runtime should
/// (SIGWINCH with a pty becomes a window-size update instead).
pub(super) const FORWARDED_SIGNALS: [Signal; 7] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// The forwarded signals plus SIGCHLD: blocked before clone so none is lost
/// between clone and the supervision loop.
pub(super) fn supervised_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in FORWARDED_SIGNALS {
        set.add(signal);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// The container's console: the parent keeps the master, init gets the slave.
#[derive(Debug)]
pub(super) struct Console {
    /// Read and written by the relay.
    pub master: OwnedFd,
    /// Becomes init's stdio and /dev/console.
    pub slave: OwnedFd,
    /// The slave's path (`/dev/pts/N`): /dev/console is bound from the path,
    /// because a bind source must be a mount of the child's own namespace
    /// and the slave fd's mount belongs to the parent's.
    pub slave_path: std::path::PathBuf,
}

use crate::sys::stdin_fd as stdin;

/// A new pty with our terminal's window size.
pub(super) fn open_console() -> Result<Console, LaunchError> {
    let size = sys::get_window_size(&stdin()).ok();
    let pty = openpty(size.as_ref(), None).map_err(LaunchError::OpenPty)?;
    for fd in [&pty.master, &pty.slave] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(LaunchError::OpenPty)?;
    }
    let slave_path = nix::unistd::ttyname(&pty.slave).map_err(LaunchError::OpenPty)?;
    Ok(Console {
        master: pty.master,
        slave: pty.slave,
        slave_path,
    })
}

fn exit_code(status: WaitStatus) -> Option<ExitStatusCode> {
    match status {
        WaitStatus::Exited(_, code) => {
            Some(ExitStatusCode(u8::try_from(code & 0xff).unwrap_or(u8::MAX)))
        }
        WaitStatus::Signaled(_, signal, _) => {
            Some(ExitStatusCode(128u8.saturating_add(signal as u8)))
        }
        _ => None,
    }
}

/// Waits for init to exit, forwarding signals and relaying the console
/// (`relay`) meanwhile. `master` is the interactive console that SIGWINCH
/// resizes (`None`: SIGWINCH is forwarded). Returns init's exit status.
pub(super) fn supervise(
    pid: Pid,
    pidfd: &OwnedFd,
    signals: &SignalFd,
    master: Option<&OwnedFd>,
    mut relay: Relay<'_>,
) -> Result<ExitStatusCode, LaunchError> {
    let master = master.map(|m| m.as_fd());
    loop {
        let ready = relay
            .poll([pidfd.as_fd(), signals.as_fd()], PollTimeout::NONE)
            .map_err(LaunchError::Wait)?;
        let [exited, signalled] = ready.watched;
        if signalled {
            forward_signals(pid, signals, master)?;
        }
        relay.copy(&ready)?;
        if exited {
            let status = waitpid(pid, None).map_err(LaunchError::Wait)?;
            if let Some(code) = exit_code(status) {
                // Whatever init wrote last is still in the pty; pass it on.
                relay.drain()?;
                return Ok(code);
            }
        }
    }
}

fn forward_signals(
    pid: Pid,
    signals: &SignalFd,
    master: Option<BorrowedFd<'_>>,
) -> Result<(), LaunchError> {
    while let Some(info) = signals.read_signal().map_err(LaunchError::Signals)? {
        let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
            continue;
        };
        match (signal, master) {
            // Reaping happens through the pidfd.
            (Signal::SIGCHLD, _) => {}
            // Resizing the pty makes the kernel signal the container's
            // foreground process group itself.
            (Signal::SIGWINCH, Some(master)) => {
                if let Ok(size) = sys::get_window_size(&stdin()) {
                    let _ = sys::set_window_size(&master, &size);
                }
            }
            // Init may already be gone (ESRCH); the pidfd reports that.
            (signal, _) => {
                let _ = kill(pid, signal);
            }
        }
    }
    Ok(())
}
