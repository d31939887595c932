//! `sd_notify(READY=1)` once init has been exec'd, so `domrun run` can be a
//! `Type=notify` systemd service (or run under any supervisor speaking the
//! protocol). A no-op without `NOTIFY_SOCKET`.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;

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

/// The readiness message. No `MAINPID=`: domrun, the supervisor that turns
/// the service manager's SIGTERM into init's poweroff signal, stays the
/// unit's main process (as nspawn does); naming init would send SIGTERM to
/// init and let init's messages through `NotifyAccess=main`.
const READY_MESSAGE: &str = "READY=1\n";

/// Sends READY=1 to `$NOTIFY_SOCKET`, if set, once init runs.
/// A leading `@` names an abstract socket, as in systemd.
pub(super) fn notify_ready() -> Result<(), NotifyError> {
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
        .send_to_addr(READY_MESSAGE.as_bytes(), &address)
        .map_err(send_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_leaves_domrun_the_main_process() {
        assert_eq!(READY_MESSAGE, "READY=1\n");
        assert!(!READY_MESSAGE.contains("MAINPID"));
    }
}
