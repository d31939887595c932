//! Parent, after init is running: forward signals, relay the console pty,
//! reap init.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::openpty;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::SignalFd;
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use super::{ExitStatusCode, LaunchError};
use crate::sys;

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

use crate::sys::{stdin_fd as stdin, stdout_fd as stdout};

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

/// Our terminal in raw mode (keys go to the container's pty untouched);
/// restored when dropped.
#[derive(Debug)]
pub(super) struct RawTerminal {
    saved: Termios,
}

impl RawTerminal {
    /// Puts stdin's terminal in raw mode; `None` if stdin is not a terminal.
    pub(super) fn enter() -> Result<Option<Self>, LaunchError> {
        let Ok(saved) = tcgetattr(stdin()) else {
            return Ok(None);
        };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin(), SetArg::TCSANOW, &raw).map_err(LaunchError::Console)?;
        Ok(Some(Self { saved }))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // Nothing sensible to do if the terminal went away meanwhile.
        let _ = tcsetattr(stdin(), SetArg::TCSADRAIN, &self.saved);
    }
}

fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> nix::Result<()> {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
            Ok(n) => bytes = &bytes[n..],
        }
    }
    Ok(())
}

/// Copies what is available from `from` to `to`; `false` once `from` is at
/// end of file (or, for a pty master, once every slave is closed: EIO).
fn relay(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<bool, LaunchError> {
    let mut buf = [0u8; 8192];
    match nix::unistd::read(from, &mut buf) {
        Ok(0) | Err(Errno::EIO) => Ok(false),
        Err(Errno::EINTR | Errno::EAGAIN) => Ok(true),
        Err(e) => Err(LaunchError::Console(e)),
        Ok(n) => {
            write_all(to, &buf[..n]).map_err(LaunchError::Console)?;
            Ok(true)
        }
    }
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
/// meanwhile. Returns init's exit status.
pub(super) fn supervise(
    pid: Pid,
    pidfd: &OwnedFd,
    signals: &SignalFd,
    master: Option<&OwnedFd>,
) -> Result<ExitStatusCode, LaunchError> {
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    loop {
        let mut fds = vec![
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        let master = master.map(|m| m.as_fd());
        if let (true, Some(master)) = (master_open, master) {
            fds.push(PollFd::new(master, PollFlags::POLLIN));
        }
        if let (true, Some(_)) = (stdin_open, master) {
            fds.push(PollFd::new(stdin(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(LaunchError::Wait(e)),
            Ok(_) => {}
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[1] {
            forward_signals(pid, signals, master)?;
        }
        let mut slot = 2;
        if let (true, Some(master)) = (master_open, master) {
            if ready[slot] {
                master_open = relay(master, stdout())?;
            }
            slot += 1;
        }
        if let (true, Some(master)) = (stdin_open, master) {
            if ready[slot] {
                stdin_open = relay(stdin(), master)?;
            }
        }
        if ready[0] {
            let status = waitpid(pid, None).map_err(LaunchError::Wait)?;
            if let Some(code) = exit_code(status) {
                // Whatever init wrote last is still in the pty; pass it on.
                if let (true, Some(master)) = (master_open, master) {
                    drain(master)?;
                }
                return Ok(code);
            }
        }
    }
}

/// Copies remaining pty output without blocking.
fn drain(master: BorrowedFd<'_>) -> Result<(), LaunchError> {
    loop {
        let mut fds = [PollFd::new(master, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(n) if n > 0 => {
                if !relay(master, stdout())? {
                    return Ok(());
                }
            }
            _ => return Ok(()),
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
