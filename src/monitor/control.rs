//! The monitor's control socket: one JSON request line, one JSON reply line;
//! after a granted `console` request the connection carries the console's
//! raw bytes both ways.

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
    #[error("the monitor at {path} sent an unreadable reply: {message}")]
    Protocol { path: PathBuf, message: String },
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
    let mut line = serde_json::to_vec(req).map_err(|e| ControlError::Protocol {
        path: socket.to_owned(),
        message: e.to_string(),
    })?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    let reply = read_line(&stream).map_err(io)?;
    let reply: Reply = serde_json::from_str(&reply).map_err(|e| ControlError::Protocol {
        path: socket.to_owned(),
        message: e.to_string(),
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

/// Parses a request line (monitor side).
pub(crate) fn parse_request(line: &str) -> Result<Request, String> {
    serde_json::from_str(line).map_err(|e| format!("bad request: {e}"))
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
