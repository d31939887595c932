//! The monitor's loop: one poll over the guest's exit, the control socket,
//! the console and an attached console client. What it sees becomes an
//! [`Event`] for the [`Policy`]; it executes the [`Action`]s that come out.

use super::control::{
    PendingRequest, Progress, Reply, Request, RequestError, StartReply, send_reply,
};
use super::error::MonitorError;
use super::guest::Guest;
use super::policy::{Action, Event, Policy};
use super::relay::ConsoleRelay;
use crate::domain::Domain;
use crate::plan::Sources;
use crate::state::{LiveState, ProcessRef, Root};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

/// A VM has no pidfd here: its exit is polled this often.
const VM_POLL: Duration = Duration::from_millis(100);

/// Most control connections whose request is still arriving; one more is
/// refused at once (each costs a buffer and a poll slot, and lives at most
/// [`super::control::WHOLE_REQUEST`]).
const MAX_PENDING_REQUESTS: usize = 64;

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
            foreground: false,
        }
    }

    /// Starts the guest; records the live state and the live XML (with the
    /// host-side names chosen at start).
    fn launch(&mut self) -> Result<Guest, MonitorError> {
        let guest =
            Guest::start(&Sources::for_root(&self.root), &self.domain).map_err(|source| {
                MonitorError::Guest {
                    domain: self.domain.name.clone(),
                    source,
                }
            })?;
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
            .map_err(MonitorError::LiveState)?;
        Ok(guest)
    }

    /// `dumpxml` of the running domain: its id, and `<target dev>` of each
    /// interface as set up (allocated `vnetN` names included).
    fn write_live_xml(&self) -> Result<(), MonitorError> {
        let mut live = self.domain.clone();
        live.id = Some(self.id);
        let path = self.root.live_xml(&self.domain.name);
        crate::state::write_atomic(&path, live.format().as_bytes(), 0o600)
            .map_err(|source| MonitorError::LiveXml { path, source })
    }
}

/// The monitor process's body; returns its exit code.
pub(super) fn run_monitor(
    root: Root,
    domain: Domain,
    wanted_id: Option<u32>,
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
        // Chosen with the first live state, below.
        id: 0,
        persistent,
        started_at,
    };
    // Keep no caller's directory busy.
    let _ = std::env::set_current_dir("/");
    // TERM, INT and HUP stay blocked for the monitor's whole life (read
    // from its signalfd): one arriving between two guests must not kill it.
    let signals = monitor_signals();
    let live_dir = m.root.live_dir(&m.domain.name);
    let setup = (|| -> Result<(UnixListener, Guest), MonitorError> {
        // The live state (with the id, chosen under the ids lock) and the
        // live XML (with the cgroup partition) come before anything is
        // created: a monitor killed from here on leaves a stale record
        // whose sweep finds its cgroup.
        m.id = m
            .root
            .record_starting(m.state(None), wanted_id)
            .map_err(MonitorError::LiveState)?;
        m.write_live_xml()?;
        std::fs::create_dir_all(&live_dir).map_err(|source| MonitorError::LiveDir {
            path: live_dir.clone(),
            source,
        })?;
        // The log outlives the live directory: after a failure it is all
        // that says what happened.
        redirect_stdio(&m.root.monitor_log(&m.domain.name));
        let socket = m.root.control_socket(&m.domain.name);
        let _ = std::fs::remove_file(&socket);
        let bind_failed = |source| MonitorError::Bind {
            path: socket.clone(),
            source,
        };
        let listener = UnixListener::bind(&socket).map_err(bind_failed)?;
        listener.set_nonblocking(true).map_err(bind_failed)?;
        let guest = m.launch()?;
        Ok((listener, guest))
    })();
    let (listener, guest) = match setup {
        Ok(x) => x,
        Err(e) => {
            eprintln!("domrun monitor: {e}");
            StartReply::send(ready, &Err(e));
            let _ = m.root.remove_live(&m.domain.name);
            return 1;
        }
    };
    StartReply::send(ready, &Ok(m.id));
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
    policy: Policy,
    console: ConsoleRelay,
    /// Connections waiting for the guest's end, with their deadline.
    waiters: Vec<(UnixStream, Option<Instant>)>,
    /// Connections whose request line is still arriving.
    requests: Vec<PendingRequest>,
    kill_at: Option<Instant>,
}

/// What one poll found ready.
#[derive(Default)]
struct Ready {
    exit: bool,
    control: bool,
    signal: bool,
    console: bool,
    client: bool,
}

fn serve(m: &mut Monitor, listener: UnixListener, guest: Guest, signals: Option<&SignalFd>) -> i32 {
    let mut s = Session {
        policy: Policy::for_domain(&m.domain),
        console: ConsoleRelay::default(),
        waiters: Vec::new(),
        requests: Vec::new(),
        kill_at: None,
    };
    let mut guest = Some(guest);
    loop {
        let Some(g) = guest.as_ref() else {
            // Only a failed restart leaves no guest, and it exits.
            return 1;
        };
        let ready = wait(&mut s, g, &listener, signals);
        let now = Instant::now();
        expire_waiters(&m.domain.name, &mut s, now);
        if s.kill_at.is_some_and(|d| d <= now)
            && let Some(code) = react(m, &mut s, &mut guest, Event::KillDeadline, None, now)
        {
            return code;
        }
        if ready.signal
            && stop_requested(signals)
            && let Some(code) = react(m, &mut s, &mut guest, Event::StopSignal, None, now)
        {
            return code;
        }
        if ready.control {
            accept_requests(&listener, &mut s, now);
        }
        for (stream, request) in complete_requests(&mut s, now) {
            let Some(g) = guest.as_mut() else { break };
            match handle_request(m, &mut s, g, stream, request) {
                Handled::Answered => {}
                Handled::Lifecycle(stream, event) => {
                    if let Some(code) = react(m, &mut s, &mut guest, event, Some(stream), now) {
                        return code;
                    }
                }
                Handled::Device(stream, req) => {
                    let reply = device_request(m, g, req);
                    let _ = send_reply(&stream, &reply);
                }
            }
        }
        let Some(g) = guest.as_mut() else { continue };
        if ready.console
            && let Some(console) = g.console()
        {
            s.console.output(console, now);
        }
        if ready.client
            && let Some(console) = g.console()
        {
            s.console.flush();
            s.console.input(console);
        }
        if let Some(reason) = g.try_exit(ready.exit)
            && let Some(code) = react(m, &mut s, &mut guest, Event::Exited(reason), None, now)
        {
            return code;
        }
    }
}

/// Takes every waiting connection; its request is read as it arrives
/// ([`complete_requests`]), never waited for.
fn accept_requests(listener: &UnixListener, s: &mut Session, now: Instant) {
    while let Ok((stream, _)) = listener.accept() {
        if s.requests.len() >= MAX_PENDING_REQUESTS {
            let message = "too many control connections at once; try again".to_owned();
            let _ = stream.set_nonblocking(true);
            let _ = send_reply(&stream, &Reply::Error { message });
            continue;
        }
        if let Ok(pending) = PendingRequest::new(stream, now) {
            s.requests.push(pending);
        }
    }
}

/// Reads what each pending connection has sent (without blocking) and
/// returns the requests now complete, in arrival order; a connection past
/// its whole-request deadline gets [`RequestError::TooSlow`].
fn complete_requests(
    s: &mut Session,
    now: Instant,
) -> Vec<(UnixStream, Result<Request, RequestError>)> {
    let mut complete = Vec::new();
    let mut waiting = Vec::with_capacity(s.requests.len());
    for mut pending in s.requests.drain(..) {
        match pending.read_available() {
            Progress::Waiting if pending.deadline() <= now => {
                complete.push((pending.into_stream(), Err(RequestError::TooSlow)));
            }
            Progress::Waiting => waiting.push(pending),
            Progress::Complete(request) => complete.push((pending.into_stream(), request)),
            Progress::Gone => {}
        }
    }
    s.requests = waiting;
    complete
}

/// One poll: the control socket and the connections whose request is
/// arriving, the guest's exit, the monitor's signals, the console and its
/// client, until the nearest deadline.
fn wait(
    s: &mut Session,
    guest: &Guest,
    listener: &UnixListener,
    signals: Option<&SignalFd>,
) -> Ready {
    let console_active = s.console.console_active(Instant::now());
    let deadline = s
        .waiters
        .iter()
        .filter_map(|(_, d)| *d)
        .chain(s.kill_at)
        .chain(s.console.deadline())
        .chain(s.requests.iter().map(PendingRequest::deadline))
        .min();
    let mut timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    if guest.exit_fd().is_none() {
        timeout = Some(timeout.map_or(VM_POLL, |t| t.min(VM_POLL)));
    }
    let timeout = timeout.map_or(PollTimeout::NONE, |d| {
        PollTimeout::try_from(d.as_millis().min(60_000) as i32 + 1).unwrap_or(PollTimeout::NONE)
    });
    let mut fds = vec![PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    let mut slot = |fd, events| {
        fds.push(PollFd::new(fd, events));
        fds.len() - 1
    };
    for pending in &s.requests {
        slot(pending.stream().as_fd(), PollFlags::POLLIN);
    }
    let exit = guest.exit_fd().map(|fd| slot(fd, PollFlags::POLLIN));
    let signal = signals.map(|sfd| slot(sfd.as_fd(), PollFlags::POLLIN));
    let console = guest
        .console()
        .filter(|_| console_active)
        .map(|fd| slot(fd, PollFlags::POLLIN));
    let client = match (s.console.client(), guest.console()) {
        (Some(c), Some(_)) => {
            let mut events = PollFlags::POLLIN;
            if s.console.has_pending() {
                events |= PollFlags::POLLOUT;
            }
            Some(slot(c.as_fd(), events))
        }
        _ => None,
    };
    let _ = poll(&mut fds, timeout);
    let ready =
        |slot: Option<usize>| slot.is_some_and(|i| fds[i].revents().is_some_and(|r| !r.is_empty()));
    Ready {
        exit: ready(exit),
        control: ready(Some(0)),
        signal: ready(signal),
        console: ready(console),
        client: ready(client),
    }
}

/// Reads the monitor's pending signals: whether one asks it to stop.
fn stop_requested(signals: Option<&SignalFd>) -> bool {
    let mut stop = false;
    if let Some(sfd) = signals {
        while let Ok(Some(info)) = sfd.read_signal() {
            let signo = info.ssi_signo as i32;
            stop |= [libc::SIGTERM, libc::SIGINT, libc::SIGHUP].contains(&signo);
        }
    }
    stop
}

/// Feeds `event` to the policy and executes the actions, including those of
/// the events the execution reports back (a failed reset, a failed restart).
/// `requester` is the connection that made a lifecycle request. Returns the
/// monitor's exit code when the policy says to exit.
fn react(
    m: &mut Monitor,
    s: &mut Session,
    guest: &mut Option<Guest>,
    event: Event,
    mut requester: Option<UnixStream>,
    now: Instant,
) -> Option<i32> {
    let mut queue: VecDeque<Action> = s.policy.on(event).into();
    while let Some(action) = queue.pop_front() {
        let mut follow_up = None;
        match action {
            Action::AskShutdown => {
                if let Some(g) = guest {
                    g.request_shutdown(&m.domain);
                }
            }
            Action::Kill => {
                if let Some(g) = guest {
                    g.kill();
                }
            }
            Action::ResetInPlace => {
                if !guest.as_mut().is_some_and(Guest::reset_in_place) {
                    follow_up = Some(Event::ResetFailed);
                }
            }
            Action::ArmKill(after) => s.kill_at = Some(now + after),
            Action::DisarmKill => s.kill_at = None,
            Action::HoldRequester(limit) => {
                if let Some(r) = requester.take() {
                    s.waiters.push((r, limit.map(|l| now + l)));
                }
            }
            Action::AnswerOk => {
                if let Some(r) = requester.take() {
                    let _ = send_reply(&r, &Reply::Ok);
                }
            }
            Action::ReleaseGuest => {
                if let Some(g) = guest {
                    g.release();
                }
            }
            Action::Log { reason, action } => {
                eprintln!("domrun monitor: the domain ended ({reason:?}): {action}");
            }
            Action::Restart => {
                if let Err(e) = restart(m, s, guest) {
                    eprintln!("domrun monitor: restart failed: {e}");
                    follow_up = Some(Event::RestartFailed);
                }
            }
            Action::AnswerHeld => {
                for (w, _) in s.waiters.drain(..) {
                    let _ = send_reply(&w, &Reply::Ok);
                }
            }
            Action::Exit(code) => return Some(code),
        }
        if let Some(event) = follow_up {
            for a in s.policy.on(event).into_iter().rev() {
                queue.push_front(a);
            }
        }
    }
    None
}

/// Starts the domain again after its end, with the names it had.
fn restart(
    m: &mut Monitor,
    s: &mut Session,
    guest: &mut Option<Guest>,
) -> Result<(), MonitorError> {
    // Host NICs back, veths deleted: the new start reuses the names.
    if let Some(Guest::Container(running)) = guest {
        running.release_network();
    }
    super::devices::forget_device_nodes(&mut m.domain);
    // The old guest goes first: its console and sockets.
    *guest = None;
    s.console.reset();
    *guest = Some(m.launch()?);
    Ok(())
}

/// A shutdown that took too long is reported as such to its requester.
fn expire_waiters(name: &str, s: &mut Session, now: Instant) {
    s.waiters.retain(|(w, deadline)| {
        if deadline.is_some_and(|d| d <= now) {
            let _ = send_reply(
                w,
                &Reply::Error {
                    message: format!("domain '{name}' did not shut down in time"),
                },
            );
            return false;
        }
        true
    });
}

/// What became of a control request.
enum Handled {
    Answered,
    /// A lifecycle request, for the policy; the connection may be held.
    Lifecycle(UnixStream, Event),
    /// A hot-plug request, which changes the domain.
    Device(UnixStream, Request),
}

/// Answers what needs no policy of a request read from `stream`.
fn handle_request(
    m: &Monitor,
    s: &mut Session,
    guest: &Guest,
    stream: UnixStream,
    request: Result<Request, RequestError>,
) -> Handled {
    let refuse = |message: String| Reply::Error { message };
    match request {
        Err(e) => {
            let _ = send_reply(&stream, &refuse(e.to_string()));
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
            } else if s.console.client().is_some() && !force {
                let message = format!(
                    "a console is already attached to '{}' (use --force to take it over)",
                    m.domain.name
                );
                let _ = send_reply(&stream, &refuse(message));
            } else if send_reply(&stream, &Reply::Ok).is_ok() {
                // The client never blocks the monitor: what it cannot take
                // now waits in the relay.
                s.console.attach(stream);
            }
        }
        Ok(Request::Shutdown { timeout_secs }) => {
            let timeout = Duration::from_secs(timeout_secs);
            return Handled::Lifecycle(stream, Event::ShutdownRequested { timeout });
        }
        Ok(Request::Destroy) => return Handled::Lifecycle(stream, Event::DestroyRequested),
        Ok(Request::Reboot) => return Handled::Lifecycle(stream, Event::RebootRequested),
        Ok(r @ (Request::AttachDevice { .. } | Request::DetachDevice { .. })) => {
            return Handled::Device(stream, r);
        }
    }
    Handled::Answered
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
        && let Err(e) = m.write_live_xml()
    {
        return Reply::Error {
            message: e.to_string(),
        };
    }
    reply
}
