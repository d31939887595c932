//! The monitor's loop: one poll over the guest's exit, the control socket,
//! the console and an attached console client.

use super::control::{Reply, Request, parse_request, read_line, send_reply};
use super::guest::Guest;
use super::report_started;
use crate::domain::{Domain, LifecycleAction};
use crate::state::{LiveState, ProcessRef, Root};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

pub use super::guest::classify_exit;

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

/// What a control request asked for, pending the guest's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    None,
    Shutdown,
    Destroy,
    Reboot,
}

/// A VM has no pidfd here: its exit is polled this often.
const VM_POLL: Duration = Duration::from_millis(100);

/// Console output kept while nobody is attached, replayed on attach.
const BACKLOG: usize = 64 * 1024;

struct Monitor {
    root: Root,
    domain: Domain,
    id: u32,
    persistent: bool,
    started_at: u64,
}

impl Monitor {
    fn state(&self, init: Option<ProcessRef>) -> LiveState {
        let me = std::process::id() as i32;
        LiveState {
            name: self.domain.name.clone(),
            uuid: self.domain.uuid.map(|u| u.to_string()).unwrap_or_default(),
            id: self.id,
            monitor: ProcessRef::of(me).unwrap_or(ProcessRef {
                pid: me,
                start_time: 0,
            }),
            init,
            started_at: self.started_at,
            persistent: self.persistent,
            owned: Vec::new(),
        }
    }

    /// Starts the guest; records the live state and the live XML (with the
    /// host-side names chosen at start).
    fn launch(&mut self) -> Result<Guest, String> {
        let guest = Guest::start(&self.root, &self.domain)?;
        // The live domain keeps the host names chosen (a restart reuses them).
        if let Guest::Container(running) = &guest
            && let Some(net) = running.network()
        {
            crate::plan::network::fill_target_names(&mut self.domain, &net.target_names());
        }
        self.write_live_xml()?;
        let init = ProcessRef::of(guest.pid());
        self.root
            .write_live(&self.state(init))
            .map_err(|e| e.to_string())?;
        Ok(guest)
    }

    /// `dumpxml` of the running domain: its id, and `<target dev>` of each
    /// interface as set up (allocated `vnetN` names included).
    fn write_live_xml(&self) -> Result<(), String> {
        let mut live = self.domain.clone();
        live.id = Some(self.id);
        crate::state::write_atomic(
            &self.root.live_xml(&self.domain.name),
            live.format().as_bytes(),
            0o600,
        )
        .map_err(|e| e.to_string())
    }
}

/// The monitor process's body; returns its exit code.
pub(super) fn run_monitor(
    root: Root,
    domain: Domain,
    id: u32,
    persistent: bool,
    ready: OwnedFd,
) -> i32 {
    let _ = nix::unistd::setsid();
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut m = Monitor {
        root,
        domain,
        id,
        persistent,
        started_at,
    };
    // Keep no caller's directory busy.
    let _ = std::env::set_current_dir("/");
    // TERM, INT and HUP stay blocked for the monitor's whole life (read
    // from its signalfd): one arriving between two guests must not kill it.
    let signals = monitor_signals();
    let live_dir = m.root.live_dir(&m.domain.name);
    let setup = (|| -> Result<(UnixListener, Guest), String> {
        std::fs::create_dir_all(&live_dir).map_err(|e| format!("{}: {e}", live_dir.display()))?;
        // The log outlives the live directory: after a failure it is all
        // that says what happened.
        redirect_stdio(&m.root.monitor_log(&m.domain.name));
        let socket = m.root.control_socket(&m.domain.name);
        let _ = std::fs::remove_file(&socket);
        let listener =
            UnixListener::bind(&socket).map_err(|e| format!("{}: {e}", socket.display()))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let guest = m.launch()?;
        Ok((listener, guest))
    })();
    let (listener, guest) = match setup {
        Ok(x) => x,
        Err(e) => {
            report_started(ready, Err(e));
            let _ = m.root.remove_live(&m.domain.name);
            return 1;
        }
    };
    report_started(ready, Ok(id));
    let code = serve(&mut m, listener, guest, signals.as_ref());
    let _ = m.root.remove_live(&m.domain.name);
    code
}

/// The monitor has no terminal: stdin from /dev/null, its own messages to
/// a log in the live directory.
fn redirect_stdio(log: &std::path::Path) {
    if let Some(dir) = log.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let null = std::fs::File::open("/dev/null");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log);
    if let (Ok(null), Ok(log)) = (null, log) {
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&log);
        let _ = nix::unistd::dup2_stderr(&log);
    }
}

/// The monitor's signalfd: TERM, INT and HUP, blocked here for good. (The
/// launcher clears the mask in the child, so init never inherits this.)
fn monitor_signals() -> Option<SignalFd> {
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        mask.add(s);
    }
    mask.thread_block().ok()?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).ok()
}

/// State of the loop besides the guest.
struct Session {
    /// The attached console client (non-blocking).
    client: Option<UnixStream>,
    /// Console output the client has not taken yet (bounded).
    pending: Vec<u8>,
    /// A console with nobody on its other end (a pty whose slave is
    /// closed, a VM socket at EOF) keeps polling readable: it is left alone
    /// until this instant, then tried again.
    console_idle_until: Option<Instant>,
    backlog: Vec<u8>,
    intent: Intent,
    waiters: Vec<(UnixStream, Option<Instant>)>,
    kill_at: Option<Instant>,
}

/// Most console output held for a slow client before it is detached.
const PENDING_MAX: usize = 1 << 20;

fn serve(
    m: &mut Monitor,
    listener: UnixListener,
    mut guest: Guest,
    signals: Option<&SignalFd>,
) -> i32 {
    let mut s = Session {
        client: None,
        pending: Vec::new(),
        console_idle_until: None,
        backlog: Vec::new(),
        intent: Intent::None,
        waiters: Vec::new(),
        kill_at: None,
    };
    loop {
        let now = Instant::now();
        if s.console_idle_until.is_some_and(|t| t <= now) {
            s.console_idle_until = None;
        }
        let console_active = s.console_idle_until.is_none();
        let deadline = s
            .waiters
            .iter()
            .filter_map(|(_, d)| *d)
            .chain(s.kill_at)
            .chain(s.console_idle_until)
            .min();
        let mut timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if guest.exit_fd().is_none() {
            timeout = Some(timeout.map_or(VM_POLL, |t| t.min(VM_POLL)));
        }
        let timeout = timeout.map_or(PollTimeout::NONE, |d| {
            PollTimeout::try_from(d.as_millis().min(60_000) as i32 + 1).unwrap_or(PollTimeout::NONE)
        });

        let (exit_ready, control_ready, signal_ready, console_ready, client_ready) = {
            let mut fds = vec![PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
            let exit_slot = guest.exit_fd().map(|fd| {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                fds.len() - 1
            });
            let signal_slot = signals.map(|sfd| {
                fds.push(PollFd::new(sfd.as_fd(), PollFlags::POLLIN));
                fds.len() - 1
            });
            let console_slot = guest.console().filter(|_| console_active).map(|fd| {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                fds.len() - 1
            });
            let client_slot = match (&s.client, guest.console()) {
                (Some(c), Some(_)) => {
                    let mut events = PollFlags::POLLIN;
                    if !s.pending.is_empty() {
                        events |= PollFlags::POLLOUT;
                    }
                    fds.push(PollFd::new(c.as_fd(), events));
                    Some(fds.len() - 1)
                }
                _ => None,
            };
            let _ = poll(&mut fds, timeout);
            let ready = |slot: Option<usize>| {
                slot.is_some_and(|i| fds[i].revents().is_some_and(|r| !r.is_empty()))
            };
            (
                ready(exit_slot),
                ready(Some(0)),
                ready(signal_slot),
                ready(console_slot),
                ready(client_slot),
            )
        };
        let now = Instant::now();
        expire(m, &mut s, &mut guest, now);
        let mut stop_requested = false;
        if signal_ready && let Some(sfd) = signals {
            while let Ok(Some(info)) = sfd.read_signal() {
                let signo = info.ssi_signo as i32;
                stop_requested |= [libc::SIGTERM, libc::SIGINT, libc::SIGHUP].contains(&signo);
            }
        }
        if stop_requested {
            // Asked to stop (e.g. the host shutting down): shut the domain
            // down, force it after 30 s.
            s.intent = Intent::Shutdown;
            guest.request_shutdown(&m.domain);
            s.kill_at.get_or_insert(now + Duration::from_secs(30));
        }
        if control_ready {
            while let Ok((stream, _)) = listener.accept() {
                if let Some((stream, req)) = handle_request(m, &mut s, &mut guest, stream, now) {
                    let reply = device_request(m, &mut guest, req);
                    let _ = send_reply(&stream, &reply);
                }
            }
        }
        if console_ready {
            relay_console_output(&mut s, &guest, now);
        }
        if client_ready {
            flush_pending(&mut s);
            relay_console_input(&mut s, &guest);
        }
        let Some(reason) = guest.try_exit(exit_ready) else {
            continue;
        };
        s.kill_at = None;
        guest.release();
        let action = match (s.intent, reason) {
            (Intent::Destroy | Intent::Shutdown, _) => LifecycleAction::Destroy,
            (Intent::Reboot, _) => LifecycleAction::Restart,
            (Intent::None, ExitReason::Poweroff) => {
                m.domain.on_poweroff.unwrap_or(LifecycleAction::Destroy)
            }
            (Intent::None, ExitReason::Reboot) => {
                m.domain.on_reboot.unwrap_or(LifecycleAction::Restart)
            }
            (Intent::None, ExitReason::Crash) => {
                m.domain.on_crash.unwrap_or(LifecycleAction::Destroy)
            }
        };
        s.intent = Intent::None;
        eprintln!("domrun monitor: the domain ended ({reason:?}): {action}");
        let restart = matches!(
            action,
            LifecycleAction::Restart
                | LifecycleAction::RenameRestart
                | LifecycleAction::CoredumpRestart
        );
        if restart {
            // Host NICs back, veths deleted: the new start reuses the names.
            if let Guest::Container(running) = &mut guest {
                running.release_network();
            }
            super::devices::forget_device_nodes(&mut m.domain);
            // The old guest goes first: its console and sockets.
            drop(guest);
            s.client = None;
            s.pending.clear();
            s.console_idle_until = None;
            match m.launch() {
                Ok(g) => {
                    guest = g;
                    continue;
                }
                Err(e) => {
                    eprintln!("domrun monitor: restart failed: {e}");
                    for (w, _) in s.waiters.drain(..) {
                        let _ = send_reply(&w, &Reply::Ok);
                    }
                    return 1;
                }
            }
        }
        for (w, _) in s.waiters.drain(..) {
            let _ = send_reply(&w, &Reply::Ok);
        }
        return 0;
    }
}

/// Deadlines: a shutdown that took too long is reported as such; a forced
/// stop (reboot, host signal) that took too long becomes a kill.
fn expire(m: &Monitor, s: &mut Session, guest: &mut Guest, now: Instant) {
    s.waiters.retain(|(w, deadline)| {
        if deadline.is_some_and(|d| d <= now) {
            let _ = send_reply(
                w,
                &Reply::Error {
                    message: format!("domain '{}' did not shut down in time", m.domain.name),
                },
            );
            return false;
        }
        true
    });
    if s.kill_at.is_some_and(|d| d <= now) {
        guest.kill();
        s.kill_at = None;
    }
}

/// Answers a control request; hot-plug requests, which change the domain,
/// are handed back to the caller.
fn handle_request(
    m: &Monitor,
    s: &mut Session,
    guest: &mut Guest,
    stream: UnixStream,
    now: Instant,
) -> Option<(UnixStream, Request)> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let req = read_line(&stream)
        .map_err(|e| e.to_string())
        .and_then(|l| parse_request(&l));
    let refuse = |message: String| Reply::Error { message };
    match req {
        Err(message) => {
            let _ = send_reply(&stream, &refuse(message));
        }
        Ok(Request::Status) => {
            let reply = Reply::Status {
                init_pid: guest.pid(),
                id: m.id,
            };
            let _ = send_reply(&stream, &reply);
        }
        Ok(Request::Console { force }) => {
            if guest.console().is_none() {
                let _ = send_reply(&stream, &refuse("the domain has no console".into()));
            } else if s.client.is_some() && !force {
                let message = format!(
                    "a console is already attached to '{}' (use --force to take it over)",
                    m.domain.name
                );
                let _ = send_reply(&stream, &refuse(message));
            } else if send_reply(&stream, &Reply::Ok).is_ok()
                && stream.set_nonblocking(true).is_ok()
            {
                // The client never blocks the monitor: what it cannot take
                // now waits in `pending`.
                s.pending = std::mem::take(&mut s.backlog);
                s.client = Some(stream);
                flush_pending(s);
            }
        }
        Ok(Request::Shutdown { timeout_secs }) => {
            s.intent = Intent::Shutdown;
            guest.request_shutdown(&m.domain);
            s.waiters
                .push((stream, Some(now + Duration::from_secs(timeout_secs))));
        }
        Ok(Request::Destroy) => {
            s.intent = Intent::Destroy;
            guest.kill();
            s.waiters.push((stream, None));
        }
        Ok(Request::Reboot) => {
            if !guest.reset_in_place() {
                s.intent = Intent::Reboot;
                guest.request_shutdown(&m.domain);
                s.kill_at = Some(now + Duration::from_secs(10));
            }
            let _ = send_reply(&stream, &Reply::Ok);
        }
        Ok(r @ (Request::AttachDevice { .. } | Request::DetachDevice { .. })) => {
            return Some((stream, r));
        }
    }
    None
}

/// Hot-plug (`super::devices`); a change is written to the live XML.
fn device_request(m: &mut Monitor, guest: &mut Guest, req: Request) -> Reply {
    let Guest::Container(running) = guest else {
        return Reply::Error {
            message: "live device changes are supported for containers only; use --config".into(),
        };
    };
    let reply = match req {
        Request::AttachDevice { xml } => {
            let networks = m.root.networks_dir();
            super::devices::attach(&mut m.domain, running, &xml, &networks)
        }
        Request::DetachDevice { xml } => super::devices::detach(&mut m.domain, running, &xml),
        _ => Reply::Error {
            message: "not a device request".into(),
        },
    };
    if !matches!(reply, Reply::Error { .. })
        && let Err(message) = m.write_live_xml()
    {
        return Reply::Error { message };
    }
    reply
}

/// Guest console output: to the attached client, else into the backlog. A
/// console that reads as ended is left alone for a second (see `Session`).
fn relay_console_output(s: &mut Session, guest: &Guest, now: Instant) {
    let Some(console) = guest.console() else {
        return;
    };
    let mut buf = [0u8; 8192];
    let n = match nix::unistd::read(console, &mut buf) {
        Ok(n) if n > 0 => n,
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => return,
        // 0 or EIO: nobody on the other end right now.
        _ => {
            s.console_idle_until = Some(now + Duration::from_secs(1));
            return;
        }
    };
    if s.client.is_some() {
        s.pending.extend_from_slice(&buf[..n]);
        flush_pending(s);
    } else {
        s.backlog.extend_from_slice(&buf[..n]);
        let excess = s.backlog.len().saturating_sub(BACKLOG);
        s.backlog.drain(..excess);
    }
}

/// Writes what the client can take now; a client that stopped reading for
/// too long is detached (what it missed goes back to the backlog).
fn flush_pending(s: &mut Session) {
    let Some(client) = &s.client else {
        return;
    };
    while !s.pending.is_empty() {
        match std::io::Write::write(&mut &*client, &s.pending) {
            Ok(0) => break,
            Ok(n) => {
                s.pending.drain(..n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {
                s.client = None;
                break;
            }
        }
    }
    if s.pending.len() > PENDING_MAX {
        s.client = None;
    }
    if s.client.is_none() && !s.pending.is_empty() {
        let start = s.pending.len().saturating_sub(BACKLOG);
        s.backlog = s.pending.split_off(start);
        s.pending.clear();
    }
}

/// Client keystrokes to the guest console; a closed client detaches. Input
/// the console cannot take at once is dropped (a console is interactive),
/// so a paste into a guest that does not read never blocks the monitor.
fn relay_console_input(s: &mut Session, guest: &Guest) {
    let (Some(c), Some(console)) = (&s.client, guest.console()) else {
        return;
    };
    let mut buf = [0u8; 8192];
    match std::io::Read::read(&mut &*c, &mut buf) {
        Ok(n) if n > 0 => {
            let _ = nix::unistd::write(console, &buf[..n]);
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        _ => {
            s.client = None;
            s.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::wait::WaitStatus;
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
