//! The per-domain monitor: the parent of a detached domain's init.
//!
//! `start`/`create` fork it under the domain's lock; it starts init with a
//! pty console, writes the live state, tells the starting command "running"
//! (or why not), then serves: it relays the console to one attached client,
//! answers control requests, reaps init and applies the lifecycle actions
//! (`on_poweroff`, `on_reboot`, `on_crash`). When it is done it releases what
//! it holds and removes the live state. Init gets SIGKILL if the monitor
//! dies, so a killed monitor leaves no container behind; the next command
//! that touches the domain sweeps the stale record.

pub mod control;
mod devices;
mod guest;
mod serve;

pub use serve::{ExitReason, classify_exit};

use crate::domain::Domain;
use crate::lifecycle::LifecycleError;
use crate::state::{DomainLock, Root};
use std::io::Read;
use std::os::fd::OwnedFd;

/// How the starting command learns the outcome: one line on a pipe,
/// `ok ID` or `error MESSAGE`.
fn report_started(pipe: OwnedFd, result: Result<u32, String>) {
    let line = match result {
        Ok(id) => format!("ok {id}\n"),
        Err(e) => format!("error {}\n", e.replace('\n', " ")),
    };
    let _ = std::io::Write::write_all(&mut std::fs::File::from(pipe), line.as_bytes());
}

/// Forks the monitor for `domain` and waits until init runs (or failed).
/// `lock` is the domain's lock, held by the caller; the monitor lets go of
/// its inherited copy without unlocking the caller's.
pub fn spawn(
    root: &Root,
    domain: Domain,
    id: u32,
    persistent: bool,
    lock: &DomainLock,
) -> Result<u32, LifecycleError> {
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| LifecycleError::Monitor(format!("creating the start pipe: {}", e.desc())))?;
    // A plain fork (no new namespaces): the monitor is a copy of this
    // single-threaded command.
    match crate::sys::clone_process(nix::sched::CloneFlags::empty())
        .map_err(|e| LifecycleError::Monitor(format!("forking the monitor: {}", e.desc())))?
    {
        crate::sys::Cloned::Child => {
            drop(read_end);
            // Close our copy of the lock's descriptor without unlocking it
            // (an unlock would release the caller's lock too).
            let _ = nix::unistd::close(lock.raw_fd());
            let code = serve::run_monitor(root.clone(), domain, id, persistent, write_end);
            crate::sys::exit_immediately(code)
        }
        crate::sys::Cloned::Parent { .. } => {
            drop(write_end);
            let mut reply = String::new();
            let _ = std::fs::File::from(read_end).read_to_string(&mut reply);
            let reply = reply.trim_end();
            match reply.split_once(' ') {
                Some(("ok", id)) => id.parse().map_err(|_| {
                    LifecycleError::Monitor(format!("unexpected monitor reply '{reply}'"))
                }),
                Some(("error", message)) => Err(LifecycleError::StartFailed(message.to_owned())),
                _ => Err(LifecycleError::Monitor(
                    "the monitor exited before init started (see its log in the live directory)"
                        .into(),
                )),
            }
        }
    }
}
