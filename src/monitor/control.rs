//! The monitor's control socket: one JSON request line, one JSON reply line;
//! after a granted `console` request the connection carries the console's
//! raw bytes both ways.

use super::error::{GuestError, MonitorError};
use crate::launch::{ChildFailure, LaunchError, Step};
use nix::errno::Errno;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a command asks the monitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Is init running; what is its pid.
    Status,
    /// Ask init to stop (its shutdown signal); wait up to `timeout_secs`.
    Shutdown { timeout_secs: u64 },
    /// Stop init and start the domain again.
    Reboot,
    /// Kill every process of the domain and release everything now.
    Destroy,
    /// Attach to the console; refused while another client is attached
    /// unless `force`, which detaches that one.
    Console { force: bool },
    /// Hot-plug one device: `<interface>` (MAC already set), `<filesystem>`,
    /// capabilities `<hostdev>`.
    AttachDevice { xml: String },
    /// Hot-unplug the device this XML identifies (an interface by target dev
    /// or MAC, a filesystem by target dir, a hostdev by its source).
    DetachDevice { xml: String },
}

/// The monitor's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Reply {
    Ok,
    Status {
        init_pid: i32,
        id: u32,
    },
    /// A device was attached: its name inside, its host-side name.
    Device {
        guest: String,
        target: Option<String>,
    },
    Error {
        message: String,
    },
}

/// The monitor's one line to the command that forked it, on the start pipe:
/// init runs, or why not. A failure keeps what the foreground path has, so
/// `domrun start` prints the same message and exits with the same code as
/// `domrun run` of the same domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum StartReply {
    Running {
        id: u32,
    },
    /// A child step failed: [`LaunchError::Child`] field by field.
    ChildFailed {
        domain: String,
        /// The step with its paths, as `describe_step` names it.
        what: String,
        /// The step's stable name ([`Step::name`]) and table index.
        step: String,
        index: u16,
        errno: i32,
    },
    /// Any other failure: its text, and the exit code it maps to (`None`
    /// when the monitor itself failed).
    Failed {
        message: String,
        exit_code: Option<u8>,
    },
}

impl StartReply {
    /// The reply for the monitor's start-up outcome.
    pub(crate) fn of(outcome: &Result<u32, MonitorError>) -> StartReply {
        match outcome {
            Ok(id) => StartReply::Running { id: *id },
            Err(MonitorError::Guest {
                domain,
                source: GuestError::Launch(LaunchError::Child { what, failure }),
            }) => StartReply::ChildFailed {
                domain: domain.clone(),
                what: what.clone(),
                step: failure.step.name().to_owned(),
                index: failure.step.index(),
                errno: failure.errno as i32,
            },
            Err(e) => StartReply::Failed {
                message: e.to_string(),
                exit_code: e.exit_code().map(|c| c.0),
            },
        }
    }

    /// The starting command's view: the id, or the typed failure rebuilt.
    pub(crate) fn into_result(self) -> Result<u32, MonitorError> {
        match self {
            StartReply::Running { id } => Ok(id),
            StartReply::ChildFailed {
                domain,
                what,
                step: step_name,
                index,
                errno,
            } => match Step::from_name(&step_name, index) {
                Some(step) => Err(MonitorError::Guest {
                    domain,
                    source: GuestError::Launch(LaunchError::Child {
                        what,
                        failure: ChildFailure {
                            step,
                            errno: Errno::from_raw(errno),
                        },
                    }),
                }),
                // A step this build does not know (another domrun version):
                // still the message, with the set-up failure code.
                None => Err(MonitorError::Reported {
                    message: format!("{domain}: {what}: {}", Errno::from_raw(errno).desc()),
                    exit_code: Some(crate::launch::ExitStatusCode::SETUP_FAILED.0),
                }),
            },
            StartReply::Failed { message, exit_code } => {
                Err(MonitorError::Reported { message, exit_code })
            }
        }
    }

    /// Tells the starting command the outcome (monitor side): one line on
    /// the start pipe, which closes.
    pub(crate) fn send(pipe: std::os::fd::OwnedFd, outcome: &Result<u32, MonitorError>) {
        let line = StartReply::of(outcome).to_line();
        let _ = std::fs::File::from(pipe).write_all(&line);
    }

    /// One JSON line.
    pub(crate) fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }

    /// Parses the line [`StartReply::to_line`] wrote.
    pub(crate) fn from_line(line: &str) -> Result<StartReply, serde_json::Error> {
        serde_json::from_str(line)
    }
}

/// A control-socket exchange that failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot reach the monitor at {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("talking to the monitor at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the monitor at {path} sent an unreadable reply: {source}")]
    Protocol {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Refused(String),
}

/// Sends one request and reads the reply. `wait` bounds how long the monitor
/// may take (a shutdown waits for init).
pub fn request(
    socket: &Path,
    req: &Request,
    wait: Duration,
) -> Result<(Reply, UnixStream), ControlError> {
    let io = |source| ControlError::Io {
        path: socket.to_owned(),
        source,
    };
    let mut stream = UnixStream::connect(socket).map_err(|source| ControlError::Connect {
        path: socket.to_owned(),
        source,
    })?;
    stream.set_read_timeout(Some(wait)).map_err(io)?;
    let mut line = serde_json::to_vec(req).map_err(|source| ControlError::Protocol {
        path: socket.to_owned(),
        source,
    })?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    let reply = read_line(&stream).map_err(io)?;
    let reply: Reply = serde_json::from_str(&reply).map_err(|source| ControlError::Protocol {
        path: socket.to_owned(),
        source,
    })?;
    stream.set_read_timeout(None).map_err(io)?;
    match reply {
        Reply::Error { message } => Err(ControlError::Refused(message)),
        other => Ok((other, stream)),
    }
}

/// Reads one `\n`-terminated line byte by byte, so nothing after it (console
/// bytes) is consumed into a buffer.
pub(crate) fn read_line(mut stream: &UnixStream) -> std::io::Result<String> {
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match std::io::Read::read(&mut stream, &mut byte)? {
            0 => break,
            _ if byte[0] == b'\n' => break,
            _ => out.push(byte[0]),
        }
        if out.len() > 64 * 1024 {
            return Err(std::io::Error::other("control line too long"));
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A request line the monitor could not take.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("reading the request: {0}")]
    Read(#[source] std::io::Error),
    #[error("bad request: {0}")]
    Parse(#[source] serde_json::Error),
    #[error("the request line is longer than {MAX_LINE} bytes")]
    TooLong,
    #[error("the request was not complete within {} s", WHOLE_REQUEST.as_secs())]
    TooSlow,
}

/// The longest request line (a device fragment included).
const MAX_LINE: usize = 64 * 1024;

/// How long a client has, from its connection, to send its whole request
/// line: a client trickling bytes gets this much of the monitor's memory
/// and nothing of its time.
pub(crate) const WHOLE_REQUEST: Duration = Duration::from_secs(5);

/// A control connection whose request line is still arriving (monitor
/// side). Non-blocking: the monitor reads what has arrived when its poll
/// says so, into this connection's own buffer, and serves everybody else
/// meanwhile.
#[derive(Debug)]
pub(crate) struct PendingRequest {
    stream: UnixStream,
    line: Vec<u8>,
    deadline: std::time::Instant,
}

/// What reading a [`PendingRequest`] gave.
#[derive(Debug)]
pub(crate) enum Progress {
    /// No whole line yet.
    Waiting,
    /// The line is complete (or could not be): answer it.
    Complete(Result<Request, RequestError>),
    /// The client left without a request.
    Gone,
}

impl PendingRequest {
    pub(crate) fn new(stream: UnixStream, now: std::time::Instant) -> std::io::Result<Self> {
        stream.set_nonblocking(true)?;
        Ok(PendingRequest {
            stream,
            line: Vec::new(),
            deadline: now + WHOLE_REQUEST,
        })
    }

    pub(crate) fn stream(&self) -> &UnixStream {
        &self.stream
    }

    pub(crate) fn into_stream(self) -> UnixStream {
        self.stream
    }

    pub(crate) fn deadline(&self) -> std::time::Instant {
        self.deadline
    }

    /// Takes what has arrived, without waiting. Bytes after the line are
    /// dropped: a client sends nothing more before the reply.
    pub(crate) fn read_available(&mut self) -> Progress {
        let mut buf = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut &self.stream, &mut buf) {
                // A line cut by the end of the stream still counts, as
                // `read_line` takes it.
                Ok(0) if self.line.is_empty() => return Progress::Gone,
                Ok(0) => return Progress::Complete(self.parse()),
                Ok(n) => {
                    let end = buf[..n].iter().position(|b| *b == b'\n');
                    self.line.extend_from_slice(&buf[..end.unwrap_or(n)]);
                    if self.line.len() > MAX_LINE {
                        return Progress::Complete(Err(RequestError::TooLong));
                    }
                    if end.is_some() {
                        return Progress::Complete(self.parse());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Progress::Waiting,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Progress::Complete(Err(RequestError::Read(e))),
            }
        }
    }

    fn parse(&self) -> Result<Request, RequestError> {
        parse_request(&String::from_utf8_lossy(&self.line))
    }
}

/// Parses a request line (monitor side).
pub(crate) fn parse_request(line: &str) -> Result<Request, RequestError> {
    serde_json::from_str(line).map_err(RequestError::Parse)
}

/// Writes a reply line (monitor side).
pub(crate) fn send_reply(mut stream: &UnixStream, reply: &Reply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_are_one_json_line() {
        let r = Request::Shutdown { timeout_secs: 30 };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"op":"shutdown","timeout_secs":30}"#);
        assert_eq!(parse_request(&text).unwrap(), r);
        assert!(parse_request(r#"{"op":"explode"}"#).is_err());
        let reply = serde_json::to_string(&Reply::Status { init_pid: 7, id: 1 }).unwrap();
        assert_eq!(reply, r#"{"result":"status","init_pid":7,"id":1}"#);
    }

    #[test]
    fn a_child_failure_crosses_the_pipe_as_the_same_launch_error() {
        let failure = ChildFailure {
            step: Step::Exec,
            errno: Errno::ENOENT,
        };
        let sent: Result<u32, MonitorError> = Err(MonitorError::Guest {
            domain: "web".into(),
            source: GuestError::Launch(LaunchError::Child {
                what: "executing /sbin/init".into(),
                failure,
            }),
        });
        let line = StartReply::of(&sent).to_line();
        let text = String::from_utf8(line).unwrap();
        assert!(
            text.ends_with('\n') && !text.trim_end().contains('\n'),
            "{text}"
        );
        let got = StartReply::from_line(text.trim_end())
            .unwrap()
            .into_result()
            .unwrap_err();
        let Err(sent) = sent else { unreachable!() };
        assert_eq!(got.to_string(), sent.to_string());
        assert_eq!(got.exit_code(), Some(crate::launch::ExitStatusCode(127)));
        let MonitorError::Guest {
            source: GuestError::Launch(LaunchError::Child { failure: back, .. }),
            ..
        } = got
        else {
            panic!("not a child failure: {got:?}");
        };
        assert_eq!(back, failure);
    }

    #[test]
    fn a_child_failure_line_names_the_step_and_an_unknown_step_still_reads() {
        let line = r#"{"result":"child-failed","domain":"web","what":"executing /sbin/init","step":"exec","index":0,"errno":13}"#;
        let got = StartReply::from_line(line)
            .unwrap()
            .into_result()
            .unwrap_err();
        assert_eq!(got.exit_code(), Some(crate::launch::ExitStatusCode(126)));
        assert!(got.to_string().starts_with("web: "), "{got}");
        let newer = line.replace("\"exec\"", "\"step-from-a-newer-domrun\"");
        let got = StartReply::from_line(&newer)
            .unwrap()
            .into_result()
            .unwrap_err();
        assert_eq!(got.exit_code(), Some(crate::launch::ExitStatusCode(125)));
        assert!(got.to_string().contains("executing /sbin/init"), "{got}");
    }

    #[test]
    fn other_failures_keep_their_text_and_code() {
        let running = StartReply::of(&Ok(4));
        assert_eq!(
            String::from_utf8(running.to_line()).unwrap(),
            "{\"result\":\"running\",\"id\":4}\n"
        );
        assert_eq!(running.into_result().unwrap(), 4);
        let sent: Result<u32, MonitorError> = Err(MonitorError::Guest {
            domain: "web".into(),
            source: GuestError::NotSupervised(crate::domain::DomainType::Xen),
        });
        let got = StartReply::of(&sent).into_result().unwrap_err();
        assert_eq!(got.to_string(), sent.as_ref().unwrap_err().to_string());
        assert_eq!(got.exit_code(), Some(crate::launch::ExitStatusCode(125)));
        let own = Err(MonitorError::Fork(Errno::EAGAIN));
        let got = StartReply::of(&own).into_result().unwrap_err();
        assert_eq!(got.exit_code(), None);
    }

    #[test]
    fn a_pending_request_completes_only_with_its_line() {
        let (client, server) = UnixStream::pair().unwrap();
        let mut pending = PendingRequest::new(server, std::time::Instant::now()).unwrap();
        assert!(matches!(pending.read_available(), Progress::Waiting));
        (&client).write_all(br#"{"op":"sta"#).unwrap();
        assert!(matches!(pending.read_available(), Progress::Waiting));
        (&client).write_all(b"tus\"}\n").unwrap();
        assert!(matches!(
            pending.read_available(),
            Progress::Complete(Ok(Request::Status))
        ));
        let (client, server) = UnixStream::pair().unwrap();
        let mut pending = PendingRequest::new(server, std::time::Instant::now()).unwrap();
        drop(client);
        assert!(matches!(pending.read_available(), Progress::Gone));
        let (client, server) = UnixStream::pair().unwrap();
        let mut pending = PendingRequest::new(server, std::time::Instant::now()).unwrap();
        let writer = std::thread::spawn(move || {
            let _ = (&client).write_all(&vec![b'x'; MAX_LINE + 2]);
        });
        let outcome = loop {
            match pending.read_available() {
                Progress::Waiting => std::thread::yield_now(),
                other => break other,
            }
        };
        assert!(matches!(
            outcome,
            Progress::Complete(Err(RequestError::TooLong))
        ));
        drop(pending);
        writer.join().unwrap();
    }

    #[test]
    fn a_request_reaches_a_listener_and_its_reply_comes_back() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let req = parse_request(&read_line(&s).unwrap()).unwrap();
            assert_eq!(req, Request::Destroy);
            send_reply(
                &s,
                &Reply::Error {
                    message: "busy".into(),
                },
            )
            .unwrap();
        });
        let err = request(&path, &Request::Destroy, Duration::from_secs(5)).unwrap_err();
        assert_eq!(err.to_string(), "busy");
        server.join().unwrap();
    }
}
