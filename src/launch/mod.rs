//! The launcher: start a container from a [`Plan`] and supervise its init.
//!
//! `parent.rs` (this process: prepare, clone, id maps, release, wait) and
//! `child.rs` (the new process: mounts, pivot_root, credentials, exec) follow
//! the numbered sync points of `protocol.rs`; `docs/launch.md` lists the
//! child's steps in the same order as the code.

mod child;
mod describe;
mod init_family;
mod notify;
mod parent;
mod prepare;
pub mod protocol;
mod resources;
#[cfg(test)]
mod step_list;
mod supervise;

use std::path::PathBuf;

use nix::errno::Errno;

pub use init_family::{
    DOMRUN_XMLNS, INIT_SIGNALS, InitFamily, InitOverrideError, InitSignal, InitSignals, status_mask,
};
pub use notify::NotifyError;
pub use parent::{Running, run_foreground, run_foreground_with, start};
pub use protocol::{ChildFailure, Step};
pub use resources::CgroupGuard;
pub use supervise::{DEFAULT_STOP_TIMEOUT, ForegroundOptions};

use crate::plan::PlanError;
use crate::plan::fstype::ProbeError;

/// The exit status `domrun run` reports for a container.
///
/// Init's own exit code; 128+N if init was killed by signal N; 125 when the
/// container could not be set up; 126 when init is not executable; 127 when
/// init does not exist (the shell and runc conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatusCode(pub u8);

impl ExitStatusCode {
    /// Setup failed before init ran.
    pub const SETUP_FAILED: Self = Self(125);
    /// Init exists but could not be executed.
    pub const NOT_EXECUTABLE: Self = Self(126);
    /// Init does not exist.
    pub const NOT_FOUND: Self = Self(127);
}

/// Why a container did not start (or could not be supervised).
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The plan breaks an invariant.
    #[error("invalid plan: {0}")]
    InvalidPlan(#[from] PlanError),
    /// A bind source could not be examined.
    #[error("bind source {path}: {source}")]
    BindSource {
        /// Host path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The filesystem of a device or image could not be determined.
    #[error("{0}")]
    ProbeFilesystem(ProbeError),
    /// An image could not be attached to a loop device.
    #[error("attaching {image} to a loop device: {}", .source.desc())]
    AttachLoop {
        /// The image file.
        image: PathBuf,
        /// The error.
        source: Errno,
    },
    /// A namespace file to join could not be opened.
    #[error("opening namespace {path}: {}", .source.desc())]
    OpenNamespace {
        /// The namespace file.
        path: PathBuf,
        /// The error.
        source: Errno,
    },
    /// The console pty could not be created.
    #[error("creating the console pty: {}", .0.desc())]
    OpenPty(Errno),
    /// A non-raw image could not be exported as a raw file.
    #[error("{0}")]
    Export(crate::storage::ExportError),
    /// A domain of this name is running already.
    #[error("a domain of this name is already running (its cgroup {cgroup} has processes)")]
    AlreadyRunning {
        /// The busy group.
        cgroup: String,
    },
    /// The domain's cgroup could not be set up.
    #[error("{0}")]
    Cgroup(crate::cgroup::CgroupError),
    /// An overlay layer path cannot be given to overlayfs.
    #[error("overlay layer {0} has ',', ':' or '\\' in its path")]
    OverlayPath(PathBuf),
    /// The sync socket pair could not be created.
    #[error("creating the sync socket: {}", .0.desc())]
    SyncSocket(Errno),
    /// The signal mask or signalfd could not be set up.
    #[error("setting up signal forwarding: {}", .0.desc())]
    Signals(Errno),
    /// clone3 failed.
    #[error("creating the container process: {}", .0.desc())]
    Clone(Errno),
    /// Writing uid_map, setgroups or gid_map failed.
    #[error("writing {path}: {source}")]
    WriteIdMap {
        /// The /proc file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Setting up the container's network failed.
    #[error(transparent)]
    Network(#[from] crate::net::NetError),
    /// The parent↔child protocol broke.
    #[error(transparent)]
    Protocol(#[from] protocol::ProtocolError),
    /// A child step failed; `what` names the step with its paths.
    #[error("{what}: {}", .failure.errno.desc())]
    Child {
        /// E.g. `mounting /dev/loop3 (ext4, from /srv/app.img) on /var/lib/app`.
        what: String,
        /// The step and errno, as sent by the child.
        failure: ChildFailure,
    },
    /// Waiting for init failed.
    #[error("waiting for the container's init: {}", .0.desc())]
    Wait(Errno),
    /// `$NOTIFY_SOCKET` was set but READY=1 could not be sent.
    #[error(transparent)]
    Notify(#[from] NotifyError),
    /// The terminal could not be put into raw mode.
    #[error("putting the terminal in raw mode: {}", .0.desc())]
    Console(Errno),
    /// Relaying the console pty to our terminal failed.
    #[error(transparent)]
    Relay(#[from] crate::sys::RelayError),
}

impl LaunchError {
    /// The exit status `domrun run` reports for this error: 127 when init was
    /// not found, 126 when it could not be executed, 125 otherwise.
    pub fn exit_code(&self) -> ExitStatusCode {
        match self {
            Self::Child { failure, .. } if failure.step == Step::Exec => match failure.errno {
                Errno::ENOENT | Errno::ENOTDIR => ExitStatusCode::NOT_FOUND,
                Errno::EACCES | Errno::ENOEXEC | Errno::EPERM | Errno::EISDIR | Errno::ELOOP => {
                    ExitStatusCode::NOT_EXECUTABLE
                }
                _ => ExitStatusCode::SETUP_FAILED,
            },
            _ => ExitStatusCode::SETUP_FAILED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(step: Step, errno: Errno) -> LaunchError {
        LaunchError::Child {
            what: "x".into(),
            failure: ChildFailure { step, errno },
        }
    }

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(
            child(Step::Exec, Errno::ENOENT).exit_code(),
            ExitStatusCode(127)
        );
        assert_eq!(
            child(Step::Exec, Errno::EACCES).exit_code(),
            ExitStatusCode(126)
        );
        assert_eq!(
            child(Step::UserMount(0), Errno::ENOENT).exit_code(),
            ExitStatusCode(125)
        );
        assert_eq!(
            LaunchError::Clone(Errno::EPERM).exit_code(),
            ExitStatusCode(125)
        );
    }
}
