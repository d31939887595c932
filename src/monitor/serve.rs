//! The monitor's loop: one poll over init's pidfd, the control socket, the
//! console pty and an attached console client.

use super::control::{Reply, Request, parse_request, read_line, send_reply};
use super::report_started;
use crate::domain::{Domain, LifecycleAction};
use crate::launch::{self, Running};
use crate::plan::plan_from_domain_in;
use crate::state::{LiveState, ProcessRef, Root};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

/// Why init stopped, as the lifecycle actions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// Exited, or poweroff/halt inside the container (init killed by SIGINT).
    Poweroff,
    /// reboot(2) inside the container's pid namespace kills init with SIGHUP.
    Reboot,
    /// Killed by any other signal.
    Crash,
}

/// Classifies init's end (see reboot(2) on pid namespaces).
pub fn classify_exit(status: WaitStatus) -> ExitReason {
    match status {
        WaitStatus::Signaled(_, Signal::SIGHUP, _) => ExitReason::Reboot,
        WaitStatus::Signaled(_, Signal::SIGINT, _) => ExitReason::Poweroff,
        WaitStatus::Signaled(..) => ExitReason::Crash,
        _ => ExitReason::Poweroff,
    }
}

/// What a control request asked for, pending init's exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    None,
    Shutdown,
    Destroy,
    Reboot,
}

/// The signal that asks this init to shut down: systemd takes SIGRTMIN+3
/// (SIGTERM would make it re-execute), other inits SIGTERM.
fn shutdown_signal(d: &Domain) -> libc::c_int {
    let init = d.os.init.as_deref().unwrap_or_default();
    if init.ends_with("/systemd") {
        libc::SIGRTMIN() + 3
    } else {
        libc::SIGTERM
    }
}

/// Signals init by number (nix's `Signal` cannot name real-time signals).
/// Init may already be gone; its pidfd reports that.
fn send_signal(pid: i32, signal: libc::c_int) {
    let _ = crate::sys::kill_raw(pid, signal);
}

struct Monitor {
    root: Root,
    domain: Domain,
    id: u32,
    persistent: bool,
    started_at: u64,
}

impl Monitor {
    fn state(&self, init: Option<ProcessRef>) -> LiveState {
        LiveState {
            name: self.domain.name.clone(),
            uuid: self.domain.uuid.map(|u| u.to_string()).unwrap_or_default(),
            id: self.id,
            monitor: ProcessRef::of(std::process::id() as i32).unwrap_or(ProcessRef {
                pid: std::process::id() as i32,
                start_time: 0,
            }),
            init,
            started_at: self.started_at,
            persistent: self.persistent,
            owned: Vec::new(),
        }
    }

    /// Builds the plan and starts init; records the live state and the
    /// live XML (with the host-side names chosen at start).
    fn launch(&mut self) -> Result<Running, String> {
        let plan = plan_from_domain_in(&self.domain, &self.root.networks_dir())
            .map_err(|e| e.to_string())?;
        let running = launch::start(&plan, true).map_err(|e| e.to_string())?;
        // The live domain keeps the host names chosen (a restart reuses them).
        if let Some(net) = running.network() {
            crate::plan::network::fill_target_names(&mut self.domain, &net.target_names());
        }
        self.write_live_xml()?;
        let init = ProcessRef::of(running.pid().as_raw());
        self.root
            .write_live(&self.state(init))
            .map_err(|e| e.to_string())?;
        Ok(running)
    }
}

impl Monitor {
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
    let mut live = domain.clone();
    live.id = Some(id);
    let mut m = Monitor {
        root,
        domain,
        id,
        persistent,
        started_at,
    };
    let live_dir = m.root.live_dir(&m.domain.name);
    let setup = (|| -> Result<(UnixListener, Running), String> {
        std::fs::create_dir_all(&live_dir).map_err(|e| format!("{}: {e}", live_dir.display()))?;
        redirect_stdio(&live_dir.join("monitor.log"));
        crate::state::write_atomic(
            &m.root.live_xml(&m.domain.name),
            live.format().as_bytes(),
            0o600,
        )
        .map_err(|e| e.to_string())?;
        let socket = m.root.control_socket(&m.domain.name);
        let _ = std::fs::remove_file(&socket);
        let listener =
            UnixListener::bind(&socket).map_err(|e| format!("{}: {e}", socket.display()))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let running = m.launch()?;
        Ok((listener, running))
    })();
    let (listener, running) = match setup {
        Ok(x) => x,
        Err(e) => {
            report_started(ready, Err(e));
            let _ = m.root.remove_live(&m.domain.name);
            return 1;
        }
    };
    report_started(ready, Ok(id));
    let code = serve(&mut m, listener, running);
    let _ = m.root.remove_live(&m.domain.name);
    code
}

/// The monitor has no terminal: stdin from /dev/null, its own messages to
/// a log in the live directory.
fn redirect_stdio(log: &std::path::Path) {
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

/// Writes all of `bytes` to a (blocking) descriptor.
fn write_all_fd(fd: std::os::fd::BorrowedFd<'_>, mut bytes: &[u8]) -> nix::Result<()> {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Console output kept while nobody is attached, replayed on attach.
const BACKLOG: usize = 64 * 1024;

fn serve(m: &mut Monitor, listener: UnixListener, mut running: Running) -> i32 {
    let mut client: Option<UnixStream> = None;
    let mut backlog: Vec<u8> = Vec::new();
    let mut intent = Intent::None;
    let mut waiters: Vec<(UnixStream, Option<Instant>)> = Vec::new();
    let mut kill_at: Option<Instant> = None;
    let mut device_requests: Vec<(UnixStream, Request)> = Vec::new();
    loop {
        let pid = running.pid().as_raw();
        let timeout = waiters
            .iter()
            .filter_map(|(_, d)| *d)
            .chain(kill_at)
            .min()
            .map(|d| d.saturating_duration_since(Instant::now()))
            .map_or(PollTimeout::NONE, |d| {
                PollTimeout::try_from(d.as_millis().min(60_000) as i32 + 1)
                    .unwrap_or(PollTimeout::NONE)
            });
        let console = running.console();
        let mut fds = vec![
            PollFd::new(running.pidfd(), PollFlags::POLLIN),
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            PollFd::new(running.signals().as_fd(), PollFlags::POLLIN),
        ];
        if let Some(c) = console {
            fds.push(PollFd::new(c, PollFlags::POLLIN));
        }
        if let (Some(c), Some(_)) = (&client, console) {
            fds.push(PollFd::new(c.as_fd(), PollFlags::POLLIN));
        }
        let _ = poll(&mut fds, timeout);
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        let now = Instant::now();
        // Deadlines: a shutdown that took too long is reported as such; a
        // reboot that took too long is forced.
        waiters.retain(|(s, deadline)| {
            if deadline.is_some_and(|d| d <= now) {
                let _ = send_reply(
                    s,
                    &Reply::Error {
                        message: format!("domain '{}' did not shut down in time", m.domain.name),
                    },
                );
                return false;
            }
            true
        });
        if kill_at.is_some_and(|d| d <= now) {
            send_signal(pid, libc::SIGKILL);
            kill_at = None;
        }
        if ready[2] {
            while let Ok(Some(info)) = running.signals().read_signal() {
                let signo = info.ssi_signo as i32;
                if [libc::SIGTERM, libc::SIGINT, libc::SIGHUP].contains(&signo) {
                    // Asked to stop (e.g. the host shutting down): shut the
                    // domain down, force it after 30 s.
                    intent = Intent::Shutdown;
                    send_signal(pid, shutdown_signal(&m.domain));
                    kill_at.get_or_insert(now + Duration::from_secs(30));
                }
            }
        }
        if ready[1] {
            while let Ok((stream, _)) = listener.accept() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let req = read_line(&stream)
                    .map_err(|e| e.to_string())
                    .and_then(|l| parse_request(&l));
                match req {
                    Err(message) => {
                        let _ = send_reply(&stream, &Reply::Error { message });
                    }
                    Ok(Request::Status) => {
                        let _ = send_reply(
                            &stream,
                            &Reply::Status {
                                init_pid: pid,
                                id: m.id,
                            },
                        );
                    }
                    Ok(Request::Console { force }) => {
                        if console.is_none() {
                            let _ = send_reply(
                                &stream,
                                &Reply::Error {
                                    message: "the domain has no console".into(),
                                },
                            );
                        } else if client.is_some() && !force {
                            let _ = send_reply(
                                &stream,
                                &Reply::Error {
                                    message: format!(
                                        "a console is already attached to '{}' (use --force to take it over)",
                                        m.domain.name
                                    ),
                                },
                            );
                        } else if send_reply(&stream, &Reply::Ok).is_ok() {
                            let _ = stream.set_read_timeout(None);
                            let _ = std::io::Write::write_all(&mut &stream, &backlog);
                            backlog.clear();
                            client = Some(stream);
                        }
                    }
                    Ok(Request::Shutdown { timeout_secs }) => {
                        intent = Intent::Shutdown;
                        send_signal(pid, shutdown_signal(&m.domain));
                        waiters.push((stream, Some(now + Duration::from_secs(timeout_secs))));
                    }
                    Ok(Request::Destroy) => {
                        intent = Intent::Destroy;
                        send_signal(pid, libc::SIGKILL);
                        waiters.push((stream, None));
                    }
                    Ok(r @ (Request::AttachDevice { .. } | Request::DetachDevice { .. })) => {
                        // Handled below, once the console is not borrowed.
                        device_requests.push((stream, r));
                    }
                    Ok(Request::Reboot) => {
                        intent = Intent::Reboot;
                        send_signal(pid, shutdown_signal(&m.domain));
                        kill_at = Some(now + Duration::from_secs(10));
                        let _ = send_reply(&stream, &Reply::Ok);
                    }
                }
            }
        }
        let mut slot = 3;
        if let Some(c) = console {
            if ready[slot] {
                let mut buf = [0u8; 8192];
                match nix::unistd::read(c, &mut buf) {
                    Ok(n) if n > 0 => {
                        let sent = client.as_ref().is_some_and(|s| {
                            std::io::Write::write_all(&mut &*s, &buf[..n]).is_ok()
                        });
                        if !sent {
                            client = None;
                            backlog.extend_from_slice(&buf[..n]);
                            let excess = backlog.len().saturating_sub(BACKLOG);
                            backlog.drain(..excess);
                        }
                    }
                    _ => {}
                }
            }
            slot += 1;
        }
        if let (Some(s), Some(c)) = (&client, console)
            && ready.get(slot).copied().unwrap_or(false)
        {
            let mut buf = [0u8; 8192];
            match std::io::Read::read(&mut &*s, &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = write_all_fd(c, &buf[..n]);
                }
                _ => client = None,
            }
        }
        for (stream, req) in device_requests.drain(..) {
            let reply = device_request(m, &mut running, req);
            let _ = send_reply(&stream, &reply);
        }
        if ready[0] {
            let status = match running.wait() {
                Ok(s) => s,
                Err(_) => continue,
            };
            kill_at = None;
            let reason = classify_exit(status);
            let action = match (intent, reason) {
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
            intent = Intent::None;
            eprintln!("domrun monitor: init ended ({status:?}): {reason:?} → {action}");
            let restart = matches!(
                action,
                LifecycleAction::Restart
                    | LifecycleAction::RenameRestart
                    | LifecycleAction::CoredumpRestart
            );
            if restart {
                // Host NICs back, veths deleted: the new start reuses the names.
                running.release_network();
                super::devices::forget_device_nodes(&mut m.domain);
                match m.launch() {
                    Ok(r) => {
                        running = r;
                        continue;
                    }
                    Err(e) => eprintln!("domrun monitor: restart failed: {e}"),
                }
            }
            for (s, _) in waiters.drain(..) {
                let _ = send_reply(&s, &Reply::Ok);
            }
            return 0;
        }
    }
}

/// Hot-plug (`super::devices`); a change is written to the live XML.
fn device_request(m: &mut Monitor, running: &mut Running, req: Request) -> Reply {
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
