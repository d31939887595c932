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
mod error;
mod guest;
mod policy;
mod relay;
mod serve;

pub use control::StartReply;
pub use error::{GuestError, MonitorError};

use crate::domain::Domain;
use crate::state::{DomainLock, Root};
use std::io::Read;

/// Forks the monitor for `domain` and waits until init runs (or failed):
/// the monitor writes one [`StartReply`] line on a pipe.
/// `lock` is the domain's lock, held by the caller; the monitor lets go of
/// its inherited copy without unlocking the caller's.
pub fn spawn(
    root: &Root,
    domain: Domain,
    id: u32,
    persistent: bool,
    lock: &DomainLock,
) -> Result<u32, MonitorError> {
    let (read_end, write_end) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(MonitorError::StartPipe)?;
    let log = root.monitor_log(&domain.name);
    // A plain fork (no new namespaces): the monitor is a copy of this
    // single-threaded command.
    match crate::sys::clone_process(nix::sched::CloneFlags::empty()).map_err(MonitorError::Fork)? {
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
            if reply.is_empty() {
                return Err(MonitorError::NoReply { log });
            }
            StartReply::from_line(reply)
                .map_err(MonitorError::BadReply)?
                .into_result()
        }
    }
}
