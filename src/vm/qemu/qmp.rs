//! A small synchronous QMP client over a unix socket: the greeting and
//! `qmp_capabilities` handshake, then one command at a time. Asynchronous
//! events that arrive meanwhile are kept, in order, for the caller.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// Why a QMP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    #[error("QMP socket {path}: {error}")]
    Connect { path: String, error: std::io::Error },
    #[error("QMP I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("QMP: qemu closed the connection")]
    Closed,
    #[error("QMP: not JSON from qemu: {0}")]
    Json(#[from] serde_json::Error),
    #[error("QMP: no greeting from qemu")]
    NoGreeting,
    #[error("QMP {command}: {class}: {desc}")]
    Command {
        command: String,
        class: String,
        desc: String,
    },
}

/// `query-status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// qemu's RunState: `running`, `paused`, `shutdown`, `prelaunch`, …
    pub status: String,
    pub running: bool,
}

/// One asynchronous QMP event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub data: Value,
}

/// A connected, negotiated QMP session.
#[derive(Debug)]
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Events received while waiting for replies, oldest first.
    pub events: Vec<Event>,
}

impl Qmp {
    /// Connects to `path`, reads the greeting and enters command mode. Every
    /// read and write is bounded by `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp, QmpError> {
        let stream = UnixStream::connect(path).map_err(|error| QmpError::Connect {
            path: path.display().to_string(),
            error,
        })?;
        Qmp::handshake(stream, timeout)
    }

    /// Negotiates on an already connected stream.
    pub fn handshake(stream: UnixStream, timeout: Duration) -> Result<Qmp, QmpError> {
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let writer = stream.try_clone()?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
            events: Vec::new(),
        };
        let greeting = qmp.read_message()?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::NoGreeting);
        }
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    fn read_message(&mut self) -> Result<Value, QmpError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(QmpError::Closed);
        }
        Ok(serde_json::from_str(&line)?)
    }

    /// Sends one command and returns its `return` value, keeping any events
    /// that come before the reply.
    pub fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, QmpError> {
        let mut msg = json!({ "execute": command });
        if let (Some(args), Value::Object(m)) = (arguments, &mut msg) {
            m.insert("arguments".into(), args);
        }
        let mut line = msg.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        loop {
            let v = self.read_message()?;
            if let Some(name) = v.get("event").and_then(Value::as_str) {
                self.events.push(Event {
                    name: name.to_owned(),
                    data: v.get("data").cloned().unwrap_or(Value::Null),
                });
                continue;
            }
            if let Some(ret) = v.get("return") {
                return Ok(ret.clone());
            }
            if let Some(err) = v.get("error") {
                let field = |k: &str| err.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
                return Err(QmpError::Command {
                    command: command.to_owned(),
                    class: field("class"),
                    desc: field("desc"),
                });
            }
        }
    }

    pub fn query_status(&mut self) -> Result<Status, QmpError> {
        let v = self.execute("query-status", None)?;
        Ok(Status {
            status: v
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned(),
            running: v.get("running").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// Presses the ACPI power button.
    pub fn system_powerdown(&mut self) -> Result<(), QmpError> {
        self.execute("system_powerdown", None).map(drop)
    }

    /// Resets the guest (a hard reboot).
    pub fn system_reset(&mut self) -> Result<(), QmpError> {
        self.execute("system_reset", None).map(drop)
    }

    /// Makes qemu exit at once. qemu may close the socket before replying,
    /// which counts as success.
    pub fn quit(&mut self) -> Result<(), QmpError> {
        match self.execute("quit", None) {
            Ok(_) | Err(QmpError::Closed) => Ok(()),
            Err(QmpError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake qemu on the other end of a socketpair: greets, then answers
    /// each command from a script, with an event before the second reply.
    #[test]
    fn handshake_commands_and_events() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let fake = std::thread::spawn(move || {
            let mut w = theirs.try_clone().unwrap();
            let mut r = BufReader::new(theirs);
            let mut seen = Vec::new();
            writeln!(w, r#"{{"QMP": {{"version": {{}}, "capabilities": []}}}}"#).unwrap();
            let replies = [
                r#"{"return": {}}"#.to_owned(),
                format!(
                    "{}\n{}",
                    r#"{"event": "POWERDOWN", "data": {}, "timestamp": {}}"#,
                    r#"{"return": {"status": "running", "running": true}}"#
                ),
                r#"{"error": {"class": "GenericError", "desc": "nope"}}"#.to_owned(),
            ];
            for reply in replies {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                seen.push(line.trim().to_owned());
                writeln!(w, "{reply}").unwrap();
            }
            seen
        });
        let mut q = Qmp::handshake(ours, Duration::from_secs(5)).unwrap();
        let s = q.query_status().unwrap();
        assert_eq!(
            s,
            Status {
                status: "running".into(),
                running: true
            }
        );
        assert_eq!(q.events.len(), 1);
        assert_eq!(q.events[0].name, "POWERDOWN");
        let e = q.system_reset().unwrap_err().to_string();
        assert_eq!(e, "QMP system_reset: GenericError: nope");
        let seen = fake.join().unwrap();
        assert_eq!(
            seen,
            [
                r#"{"execute":"qmp_capabilities"}"#,
                r#"{"execute":"query-status"}"#,
                r#"{"execute":"system_reset"}"#
            ]
        );
    }
}
