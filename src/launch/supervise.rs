//! Parent, after init is running: forward signals, relay the console pty,
//! reap init.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::poll::PollTimeout;
use nix::pty::openpty;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use super::init_family::{InitFamily, InitSignal};
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

/// How long `domrun run` waits for init to power off after turning a
/// SIGTERM into init's poweroff signal, before it kills the container:
/// systemd's own `DefaultTimeoutStopSec`, so a unit wrapping `domrun run`
/// and the container's systemd agree.
pub const DEFAULT_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

/// How `domrun run` supervises a container (beyond the plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForegroundOptions {
    /// How long a system init has to power off after a SIGTERM or SIGINT
    /// to domrun before it is killed ([`DEFAULT_STOP_TIMEOUT`], 90 s).
    pub stop_timeout: Duration,
    /// The init family the domain's `<metadata>` names
    /// ([`InitFamily::from_metadata`]); `None`: read from init's masks.
    pub init_family: Option<InitFamily>,
}

impl Default for ForegroundOptions {
    fn default() -> Self {
        ForegroundOptions {
            stop_timeout: DEFAULT_STOP_TIMEOUT,
            init_family: None,
        }
    }
}

/// How init's life ended, as `domrun run` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// Exit with this status.
    Exit(ExitStatusCode),
    /// reboot(2) inside the container (init killed by SIGHUP by the kernel,
    /// not by us): start it again.
    Reboot,
}

/// What `domrun run` makes of init's end (nspawn's `wait_for_container`).
/// reboot(2) in a pid namespace kills its init with SIGINT for a halt or
/// poweroff and with SIGHUP for a reboot (`reboot_pid_ns`); the kernel
/// never delivers a default-action signal sent from inside to that init, so
/// a SIGINT or SIGHUP death we did not forward ourselves is that syscall: a
/// clean poweroff (exit 0) or a reboot. Anything else keeps the shell
/// convention (N, 128+N).
pub(super) fn ended(status: WaitStatus, forwarded: &Forwarded) -> Option<Ended> {
    match status {
        WaitStatus::Signaled(_, Signal::SIGINT, _) if !forwarded.sigint => {
            Some(Ended::Exit(ExitStatusCode(0)))
        }
        WaitStatus::Signaled(_, Signal::SIGHUP, _) if !forwarded.sighup => Some(Ended::Reboot),
        status => exit_code(status).map(Ended::Exit),
    }
}

/// The signals passed on to init as they came (their deaths are then ours,
/// not the guest's reboot(2)).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Forwarded {
    sigint: bool,
    sighup: bool,
}

/// Where a requested stop stands (a SIGTERM or SIGINT to `domrun run` of a
/// system container).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Nothing asked.
    NotAsked,
    /// Init was sent its poweroff signal; killed at the deadline.
    Asked { deadline: Instant },
    /// Init was killed.
    Killed,
}

/// What one stop signal (SIGTERM, SIGINT) to `domrun run` does: the first
/// asks a known init to power off and arms the deadline, the second kills
/// (as nspawn). An application's init (unknown family) gets the signal
/// itself, as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopAction {
    Forward,
    Ask(InitSignal),
    Kill,
}

fn stop_action(family: InitFamily, stop: Stop) -> StopAction {
    match (family, stop) {
        (InitFamily::Unknown, Stop::NotAsked) => StopAction::Forward,
        (family, Stop::NotAsked) => StopAction::Ask(family.signals().poweroff),
        (_, Stop::Asked { .. } | Stop::Killed) => StopAction::Kill,
    }
}

/// Waits for init to exit, forwarding signals and relaying the console
/// (`relay`) meanwhile. `master` is the interactive console that SIGWINCH
/// resizes (`None`: SIGWINCH is forwarded). SIGTERM and SIGINT ask a
/// system init to power off (its family's signal) and kill it after
/// `options.stop_timeout` or at the second one. Returns how init ended.
pub(super) fn supervise(
    pid: Pid,
    pidfd: &OwnedFd,
    signals: &SignalFd,
    master: Option<&OwnedFd>,
    mut relay: Relay<'_>,
    options: &ForegroundOptions,
) -> Result<Ended, LaunchError> {
    let stop_timeout = options.stop_timeout;
    let mut supervisor = Supervisor {
        pid,
        master: master.map(|m| m.as_fd()),
        stop: Stop::NotAsked,
        stop_timeout,
        family: options.init_family,
        forwarded: Forwarded::default(),
    };
    loop {
        let timeout = match supervisor.stop {
            Stop::Asked { deadline } => {
                let left = deadline.saturating_duration_since(Instant::now());
                PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)
            }
            Stop::NotAsked | Stop::Killed => PollTimeout::NONE,
        };
        let ready = relay
            .poll([pidfd.as_fd(), signals.as_fd()], timeout)
            .map_err(LaunchError::Wait)?;
        let [exited, signalled] = ready.watched;
        if signalled {
            supervisor.take_signals(signals)?;
        }
        if let Stop::Asked { deadline } = supervisor.stop {
            if Instant::now() >= deadline {
                eprintln!(
                    "domrun: the container did not power off within {stop_timeout:?}; killing it"
                );
                supervisor.kill();
            }
        }
        relay.copy(&ready)?;
        if exited {
            let status = waitpid(pid, None).map_err(LaunchError::Wait)?;
            if let Some(end) = ended(status, &supervisor.forwarded) {
                // Whatever init wrote last is still in the pty; pass it on.
                relay.drain()?;
                return Ok(end);
            }
        }
    }
}

/// The supervision loop's state between polls.
struct Supervisor<'a> {
    pid: Pid,
    master: Option<BorrowedFd<'a>>,
    stop: Stop,
    stop_timeout: Duration,
    /// The family the domain names, if it does.
    family: Option<InitFamily>,
    forwarded: Forwarded,
}

impl Supervisor<'_> {
    fn take_signals(&mut self, signals: &SignalFd) -> Result<(), LaunchError> {
        while let Some(info) = signals.read_signal().map_err(LaunchError::Signals)? {
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            match (signal, self.master) {
                // Reaping happens through the pidfd.
                (Signal::SIGCHLD, _) => {}
                // Resizing the pty makes the kernel signal the container's
                // foreground process group itself.
                (Signal::SIGWINCH, Some(master)) => {
                    if let Ok(size) = sys::get_window_size(&stdin()) {
                        let _ = sys::set_window_size(&master, &size);
                    }
                }
                (Signal::SIGTERM | Signal::SIGINT, _) => self.stop_signal(signal),
                (signal, _) => self.forward(signal),
            }
        }
        Ok(())
    }

    /// SIGTERM or SIGINT to us. The family is read now, not at exec: an
    /// init shows its signal masks only once it has set them up.
    fn stop_signal(&mut self, signal: Signal) {
        let family = InitFamily::chosen_or_detected(self.family, self.pid.as_raw());
        match stop_action(family, self.stop) {
            StopAction::Forward => self.forward(signal),
            StopAction::Ask(poweroff) => {
                // Init may already be gone (ESRCH); the pidfd reports that.
                let _ = sys::kill_raw(self.pid.as_raw(), poweroff.number());
                self.stop = Stop::Asked {
                    deadline: Instant::now() + self.stop_timeout,
                };
            }
            StopAction::Kill => self.kill(),
        }
    }

    /// SIGKILL to init: the kernel kills the rest of its pid namespace;
    /// what is left in the cgroup goes with it when the group is removed.
    fn kill(&mut self) {
        let _ = kill(self.pid, Signal::SIGKILL);
        self.stop = Stop::Killed;
    }

    fn forward(&mut self, signal: Signal) {
        match signal {
            Signal::SIGINT => self.forwarded.sigint = true,
            Signal::SIGHUP => self.forwarded.sighup = true,
            _ => {}
        }
        // Init may already be gone (ESRCH); the pidfd reports that.
        let _ = kill(self.pid, signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_system_init_is_asked_once_then_killed() {
        let asked = Stop::Asked {
            deadline: Instant::now(),
        };
        assert_eq!(
            stop_action(InitFamily::Systemd, Stop::NotAsked),
            StopAction::Ask(InitSignal::RtMin(4))
        );
        assert_eq!(
            stop_action(InitFamily::Busybox, Stop::NotAsked),
            StopAction::Ask(InitSignal::Classic(libc::SIGUSR2))
        );
        assert_eq!(stop_action(InitFamily::Systemd, asked), StopAction::Kill);
        assert_eq!(
            stop_action(InitFamily::Sysvinit, Stop::Killed),
            StopAction::Kill
        );
    }

    #[test]
    fn an_application_init_gets_the_signal_itself() {
        assert_eq!(
            stop_action(InitFamily::Unknown, Stop::NotAsked),
            StopAction::Forward
        );
    }

    #[test]
    fn reboot_syscall_deaths_are_a_poweroff_and_a_reboot() {
        let p = Pid::from_raw(1);
        let none = Forwarded::default();
        let int = |f| ended(WaitStatus::Signaled(p, Signal::SIGINT, false), f);
        let hup = |f| ended(WaitStatus::Signaled(p, Signal::SIGHUP, false), f);
        assert_eq!(int(&none), Some(Ended::Exit(ExitStatusCode(0))));
        assert_eq!(hup(&none), Some(Ended::Reboot));
        let ours = Forwarded {
            sigint: true,
            sighup: true,
        };
        assert_eq!(int(&ours), Some(Ended::Exit(ExitStatusCode(130))));
        assert_eq!(hup(&ours), Some(Ended::Exit(ExitStatusCode(129))));
        assert_eq!(
            ended(WaitStatus::Signaled(p, Signal::SIGKILL, false), &none),
            Some(Ended::Exit(ExitStatusCode(137)))
        );
        assert_eq!(
            ended(WaitStatus::Exited(p, 3), &none),
            Some(Ended::Exit(ExitStatusCode(3)))
        );
    }
}
