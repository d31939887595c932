//! The parent side of a container start (this process, which stays the
//! container's monitor in the foreground).

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use nix::sys::signal::{SigmaskHow, Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Gid, Pid, Uid};

use super::child::{self, ChildContext};
use super::describe::describe_step;
use super::prepare::prepare;
use super::protocol::{self, InitEvent, InitPhase, ParentMessage};
use super::supervise::{
    Console, Ended, ForegroundOptions, open_console, supervise, supervised_signals,
};
use super::{ExitStatusCode, LaunchError};
use crate::plan::{ConsoleMode, IdMapRange, Plan, UserNamespace};
use crate::sys::{self, Cloned, Relay};

/// Kills and reaps init if the parent gives up on it (an error, or a
/// [`Running`] dropped before init was reaped).
#[derive(Debug)]
struct ChildGuard {
    pid: Pid,
    armed: bool,
}

impl ChildGuard {
    /// Init has been reaped by the supervisor.
    fn disarm_mut(&mut self) {
        self.armed = false;
    }

    fn reap(mut self) {
        self.armed = false;
        let _ = waitpid(self.pid, None);
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
        }
    }
}

/// Restores the thread's signal mask when the launch is over.
#[derive(Debug)]
struct MaskGuard(nix::sys::signal::SigSet);

impl Drop for MaskGuard {
    fn drop(&mut self) {
        let _ = self.0.thread_set_mask();
    }
}

/// A container whose init has been exec'd: what supervising it needs.
#[derive(Debug)]
pub struct Running {
    pid: Pid,
    pidfd: OwnedFd,
    /// The console pty's master (/dev/console, and init's stdio when asked).
    console: OwnedFd,
    /// A slave of the console, held so the master never reads as hung up:
    /// a PID 1 closes and reopens /dev/console between writes (systemd
    /// does), and the console must outlive that.
    _console_slave: OwnedFd,
    /// The supervised signals, blocked in this thread since before clone.
    signals: SignalFd,
    guard: ChildGuard,
    /// Exports of non-raw images: stopped once init is gone and the loop
    /// devices on them have let go (dropping them stops them too). Declared
    /// before `cgroup`: a daemon killed with its group could not unmount its
    /// export.
    exports: Vec<crate::storage::ImageExport>,
    /// Declared after `guard`: init is killed and reaped before its group
    /// is removed.
    cgroup: Option<super::resources::CgroupGuard>,
    _mask: MaskGuard,
    /// The container's network namespace and devices (`crate::net`), with
    /// a new network namespace only.
    network: Option<crate::net::Attached>,
}

impl Running {
    /// The container's network devices (with a new network namespace).
    pub fn network(&self) -> Option<&crate::net::Attached> {
        self.network.as_ref()
    }

    /// For hot-plug.
    pub fn network_mut(&mut self) -> Option<&mut crate::net::Attached> {
        self.network.as_mut()
    }

    /// Moves host NICs back and deletes veths/macvlans now, synchronously
    /// (once init has exited, before a restart makes new ones with the same
    /// names); errors are logged. Dropping the `Running` moves NICs back
    /// and leaves the rest to the kernel's namespace teardown.
    pub fn release_network(&mut self) {
        if let Some(net) = self.network.take() {
            for e in net.release() {
                eprintln!("domrun: releasing the network: {e}");
            }
        }
    }

    /// Init's pid (in our pid namespace).
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Readable when init has exited; then call [`Running::wait`].
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// The console pty master (init's /dev/console, and its stdio when
    /// started with `stdio_on_console`). Always there; an `Option` for the
    /// callers that also supervise guests without one.
    pub fn console(&self) -> Option<BorrowedFd<'_>> {
        Some(self.console.as_fd())
    }

    /// SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH and
    /// SIGCHLD sent to this process, blocked and queued here.
    pub fn signals(&self) -> &SignalFd {
        &self.signals
    }

    /// The domain's cgroup, if it has one (stats, OOM reports).
    pub fn cgroup(&self) -> Option<&crate::cgroup::Cgroup> {
        self.cgroup.as_ref().and_then(|g| g.cgroup())
    }

    /// Reaps init (blocks until it exits). Whatever init left behind in its
    /// cgroup is killed and the group removed.
    pub fn wait(&mut self) -> Result<WaitStatus, LaunchError> {
        let status = waitpid(self.pid, None).map_err(LaunchError::Wait)?;
        if matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..)) {
            self.guard.disarm_mut();
        }
        Ok(status)
    }

    /// Releases what init held (after [`Running::wait`]): its cgroup, and
    /// the image exports once their loop devices have detached. Also done
    /// on drop.
    pub fn release_cgroup(&mut self) -> Result<(), LaunchError> {
        // Exports first: their daemons are in the group, and only a clean
        // exit unmounts an export.
        let mut exports = Ok(());
        for export in self.exports.drain(..) {
            if let Err(e) = export.stop_when_unused() {
                exports = Err(LaunchError::Export(e));
            }
        }
        if let Some(g) = &mut self.cgroup {
            g.remove().map_err(LaunchError::Cgroup)?;
        }
        exports
    }
}

/// Starts the container described by `plan` and returns once its init has
/// been exec'd (or with the error that stopped it). Init always gets a new
/// pty, sized like our terminal, as /dev/console; with `stdio_on_console` it
/// is also init's stdio and controlling terminal, otherwise init inherits
/// our fds 0-2. Dropping the [`Running`] before init is reaped kills it.
///
/// With `$NOTIFY_SOCKET` set, sends `READY=1` (domrun stays the main pid) once
/// init has been exec'd (the variable is not passed to init: its
/// environment is exactly the plan's).
///
/// Meant for a single-threaded process (the `domrun` CLI and monitor). The
/// signals are blocked in the calling thread only, so in a multi-threaded
/// process another thread may take them; and the child, a copy of the
/// caller made by clone3, must not find a lock held by another thread.
pub fn start(plan: &Plan, stdio_on_console: bool) -> Result<Running, LaunchError> {
    // Steps numbered as in docs/launch.md ("Parent").
    // 1. Validate: nothing has been touched yet.
    plan.validate()?;
    // 2. Prepare: sources, filesystems, loop devices, namespace files, strings.
    let prepared = prepare(plan)?;
    // 3. Console pty, sized like our terminal: /dev/console always exists
    //    (systemd's console-getty and status output need it). In a user
    //    namespace it belongs to the container's root: a host-root-owned
    //    node is unmapped there, and init could not open it.
    let console = open_console()?;
    let owner = super::resources::container_root_owner(plan.namespaces.user.as_ref());
    if let Some(owner) = owner {
        let (uid, gid) = (Uid::from_raw(owner.uid), Gid::from_raw(owner.gid));
        nix::unistd::fchown(&console.slave, Some(uid), Some(gid)).map_err(LaunchError::OpenPty)?;
    }
    // 4. Sync socket.
    let (parent_end, child_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(LaunchError::SyncSocket)?;
    // 5. Block the supervised signals before clone so none arriving during
    //    setup is lost; they wait in the signalfd. The child clears its mask.
    let old_mask = supervised_signals()
        .thread_swap_mask(SigmaskHow::SIG_BLOCK)
        .map_err(LaunchError::Signals)?;
    let mask = MaskGuard(old_mask);
    let signals = SignalFd::with_flags(
        &supervised_signals(),
        SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK,
    )
    .map_err(LaunchError::Signals)?;

    // 6. Clone into the new namespaces. The read-only queue is allocated
    //    here: the child must not allocate (see child::run).
    let readonly_later = child::ReadonlyQueue::with_capacity(prepared.readonly_capacity);
    let (pid, pidfd) = match sys::clone_process(prepared.clone_flags).map_err(LaunchError::Clone)? {
        Cloned::Child => {
            drop(parent_end);
            child::run(ChildContext {
                plan,
                prepared: &prepared,
                sync: child_end,
                console: Some((&console.slave, console.slave_path.as_path())),
                console_is_stdio: stdio_on_console,
                readonly_later,
            })
        }
        Cloned::Parent { pid, pidfd } => (pid, pidfd),
    };
    let guard = ChildGuard { pid, armed: true };
    drop(child_end);
    let phase = InitPhase::Cloned;

    // 7. sync 1: place the child in its cgroup and write the id maps while
    //    it waits, then release it.
    if let Some(cg) = &prepared.cgroup {
        cg.add_init(pid)?;
    }
    if let Some(user) = &plan.namespaces.user {
        write_id_maps(pid, user)?;
    }
    // 7b. Network: devices into the child's new network namespace.
    let network = attach_network(plan, pid)?;
    protocol::send_to_child(&parent_end, ParentMessage::Release)?;
    let phase = phase.next(InitEvent::Released)?;

    // 8. sync 2: a failure report, or end of file when init has been exec'd.
    let event = match protocol::recv_from_child(&parent_end)? {
        Some(message) => InitEvent::Message(message),
        None => InitEvent::Closed,
    };
    if let InitPhase::Failed(failure) = phase.next(event)? {
        guard.reap();
        return Err(LaunchError::Child {
            what: describe_step(plan, Some(&prepared), failure.step),
            failure,
        });
    }
    // 9. Init is running: tell a supervising service manager, if any.
    //    Init runs already: a service manager we cannot reach is worth a
    //    warning, not the container.
    if let Err(e) = super::notify::notify_ready() {
        eprintln!("domrun: warning: {e}");
    }
    // The mounts now hold the loop devices; with autoclear
    // they detach when the container's mount namespace goes away. The
    // cgroup stays with the running container.
    let mut prepared = prepared;
    let cgroup = prepared.cgroup.take();
    let exports = std::mem::take(&mut prepared.exports);
    drop(prepared);
    // Init's exit comes through the pidfd, not the console's hangup, so a
    // slave is kept: the console survives init closing it.
    let Console { master, slave, .. } = console;
    Ok(Running {
        pid,
        pidfd,
        console: master,
        _console_slave: slave,
        signals,
        guard,
        exports,
        cgroup,
        _mask: mask,
        network,
    })
}

/// Step 7b (`crate::net`): loopback up and every planned device, while the
/// child waits for release in its new network namespace. On a later error
/// the returned value is dropped, which removes what was made.
fn attach_network(plan: &Plan, pid: Pid) -> Result<Option<crate::net::Attached>, LaunchError> {
    if !plan.namespaces.new_network {
        return Ok(None);
    }
    Ok(Some(crate::net::setup(pid.as_raw(), &plan.network)?))
}

/// [`run_foreground_with`] with the default options.
pub fn run_foreground(plan: &Plan) -> Result<ExitStatusCode, LaunchError> {
    run_foreground_with(plan, &ForegroundOptions::default())
}

/// Starts the container described by `plan` and waits for its init to exit,
/// relaying its console and passing signals on.
///
/// Signals: SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH are forwarded to
/// init (SIGWINCH resizes an interactive console). SIGTERM and SIGINT are
/// forwarded to an application's init; a system init (systemd, sysvinit,
/// busybox: `InitFamily`, read when the signal comes) is sent its poweroff
/// signal instead, and killed when it has not ended after
/// `options.stop_timeout` or at the next SIGTERM/SIGINT (as nspawn).
/// `options.init_family`, when set, is used instead of the detection.
///
/// The console (nspawn's `--console=` modes): interactive when
/// `plan.console` is `Pty`, or `Auto` and stdin is a terminal: init's stdio
/// is the pty, our terminal is raw and relayed both ways. Otherwise
/// read-only: init keeps our fds 0-2 (an application's pipes), /dev/console
/// is a pty whose output is copied to our stdout, stdin is never read.
///
/// Returns init's exit status (128+N if killed by signal N); a halt or
/// poweroff inside (reboot(2) kills init with SIGINT) is 0, and a reboot
/// inside (SIGHUP) starts the container again from the same plan, as
/// nspawn does. A setup failure is an error; [`LaunchError::exit_code`]
/// gives the status to exit with.
pub fn run_foreground_with(
    plan: &Plan,
    options: &ForegroundOptions,
) -> Result<ExitStatusCode, LaunchError> {
    loop {
        match run_once(plan, options)? {
            Ended::Exit(code) => return Ok(code),
            Ended::Reboot => eprintln!("domrun: the container rebooted; starting it again"),
        }
    }
}

/// One life of the container, from clone to init's end.
fn run_once(plan: &Plan, options: &ForegroundOptions) -> Result<Ended, LaunchError> {
    let interactive = match plan.console {
        ConsoleMode::Inherit => false,
        ConsoleMode::Pty => true,
        ConsoleMode::Auto => nix::unistd::isatty(std::io::stdin()).unwrap_or(false),
    };
    let mut running = start(plan, interactive)?;
    let _raw = match interactive {
        true => crate::sys::RawTerminal::enter().map_err(LaunchError::Console)?,
        false => None,
    };
    // 10. Supervise until init exits: forward signals, relay the console.
    let master = running.console.as_fd();
    let relay = match interactive {
        true => Relay::new(Some(master)),
        false => Relay::output_only(master),
    };
    let end = supervise(
        running.pid,
        &running.pidfd,
        &running.signals,
        Some(&running.console).filter(|_| interactive),
        relay,
        options,
    )?;
    // Reaped by supervise; on an error above the guard kills and reaps init.
    running.guard.disarm_mut();
    // Before a restart makes new ones with the same names.
    running.release_network();
    running.release_cgroup()?;
    Ok(end)
}

fn id_map_text(ranges: &[IdMapRange]) -> String {
    ranges
        .iter()
        .map(|r| format!("{} {} {}\n", r.inside, r.outside, r.count))
        .collect()
}

/// Writes uid_map, setgroups and gid_map for the child, in the order the
/// kernel requires (setgroups before gid_map). Each file takes one write.
fn write_id_maps(pid: Pid, user: &UserNamespace) -> Result<(), LaunchError> {
    let write = |name: &str, text: &str| {
        let path = PathBuf::from(format!("/proc/{pid}/{name}"));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|source| LaunchError::WriteIdMap { path, source })
    };
    write("uid_map", &id_map_text(&user.uid_map))?;
    write(
        "setgroups",
        if user.allow_setgroups {
            "allow"
        } else {
            "deny"
        },
    )?;
    write("gid_map", &id_map_text(&user.gid_map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_maps_are_one_line_per_range() {
        let text = id_map_text(&[
            IdMapRange {
                inside: 0,
                outside: 100_000,
                count: 65_536,
            },
            IdMapRange {
                inside: 65_536,
                outside: 1000,
                count: 1,
            },
        ]);
        assert_eq!(text, "0 100000 65536\n65536 1000 1\n");
    }
}
