//! `sd_notify(READY=1)` once init has been exec'd, so `domrun run` can be a
//! `Type=notify` systemd service (or run under any supervisor speaking the
//! protocol). A no-op without `NOTIFY_SOCKET`.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;

use nix::unistd::Pid;

/// Why the readiness notification could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The socket in `NOTIFY_SOCKET` could not be reached.
    #[error("notifying {socket:?} that the container is ready: {source}")]
    Send {
        /// The value of `NOTIFY_SOCKET`.
        socket: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The readiness message: ready, and which process is the service's main one.
fn ready_message(init: Pid) -> String {
    format!("READY=1\nMAINPID={init}\n")
}

/// Sends READY=1 (with init's pid as MAINPID) to `$NOTIFY_SOCKET`, if set.
/// A leading `@` names an abstract socket, as in systemd.
pub(super) fn notify_ready(init: Pid) -> Result<(), NotifyError> {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let send_err = |source| NotifyError::Send {
        socket: PathBuf::from(&socket),
        source,
    };
    let bytes = socket.as_bytes();
    let address = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name),
        None => SocketAddr::from_pathname(&socket),
    }
    .map_err(send_err)?;
    let sender = UnixDatagram::unbound().map_err(send_err)?;
    sender
        .send_to_addr(ready_message(init).as_bytes(), &address)
        .map_err(send_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_init_as_main_pid() {
        assert_eq!(ready_message(Pid::from_raw(42)), "READY=1\nMAINPID=42\n");
    }
}
