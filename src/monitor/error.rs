//! Why a monitor could not start or keep its domain, and the form of that
//! failure that crosses the start pipe (see [`super::control::StartReply`]).

use crate::domain::DomainType;
use crate::launch::{ExitStatusCode, LaunchError};
use crate::plan::FromDomainError;
use crate::state::StateError;
use crate::vm::VmError;
use std::path::PathBuf;

/// The guest could not be started: the same errors `domrun run` reports.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// The domain does not translate into a container plan.
    #[error(transparent)]
    Plan(#[from] FromDomainError),
    /// The launcher failed (a child step, the cgroup, the network, …).
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// The VM backend failed.
    #[error(transparent)]
    Vm(#[from] VmError),
    /// The monitor runs containers and QEMU domains only.
    #[error("domrun start runs containers and QEMU domains; use `domrun run` for a {0} domain")]
    NotSupervised(DomainType),
}

impl GuestError {
    /// The exit status `domrun run` gives this failure: the launcher's
    /// 125/126/127, else 125 (set-up failed).
    pub fn exit_code(&self) -> ExitStatusCode {
        match self {
            GuestError::Launch(e) => e.exit_code(),
            _ => ExitStatusCode::SETUP_FAILED,
        }
    }
}

/// A monitor that failed to start, or to start its guest.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("creating the start pipe: {}", .0.desc())]
    StartPipe(#[source] nix::errno::Errno),
    #[error("forking the monitor: {}", .0.desc())]
    Fork(#[source] nix::errno::Errno),
    #[error("creating the live directory {}: {source}", .path.display())]
    LiveDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("binding the control socket {}: {source}", .path.display())]
    Bind {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("recording the live state: {0}")]
    LiveState(#[source] StateError),
    #[error("writing the live XML {}: {source}", .path.display())]
    LiveXml {
        path: PathBuf,
        #[source]
        source: crate::state::AtomicWriteError,
    },
    /// The guest failed to start: printed as `domrun run` prints it.
    #[error("{domain}: {source}")]
    Guest {
        domain: String,
        #[source]
        source: GuestError,
    },
    /// A failure the monitor reported in words only (its own set-up, or a
    /// guest error that has no typed wire form): its text and the exit code
    /// it maps to.
    #[error("{message}")]
    Reported {
        message: String,
        exit_code: Option<u8>,
    },
    #[error("the monitor sent an unreadable start reply: {0}")]
    BadReply(#[source] serde_json::Error),
    #[error("the monitor exited before init started (see its log {})", .log.display())]
    NoReply { log: PathBuf },
}

impl MonitorError {
    /// The exit status the failed start gives: the one `domrun run` gives
    /// the same guest failure (125/126/127), `None` when the monitor itself
    /// failed (the command's usual failure status).
    pub fn exit_code(&self) -> Option<ExitStatusCode> {
        match self {
            MonitorError::Guest { source, .. } => Some(source.exit_code()),
            MonitorError::Reported { exit_code, .. } => exit_code.map(ExitStatusCode),
            _ => None,
        }
    }
}
