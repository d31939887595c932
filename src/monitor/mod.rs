//! The per-domain monitor: the parent of a detached domain's init.
//!
//! `start`/`create` fork it under the domain's lock; it starts init with a
//! pty console, writes the live state, tells the starting command "running"
//! (or why not), then serves: it relays the console to one attached client,
//! answers control requests, reaps init and applies the lifecycle actions
//! (`on_poweroff`, `on_reboot`, `on_crash`). When it is done it releases what
//! it holds and removes the live state. Init gets SIGKILL if the monitor
//! dies, so a killed monitor leaves no container behind; its live state is
//! written before anything is created, so the next command that touches the
//! domain sweeps the stale record and the cgroup.

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
use std::os::fd::{AsRawFd, RawFd};

/// The most the starting command reads of the start reply (one JSON line).
const START_REPLY_LIMIT: u64 = 64 << 10;

/// Forks the monitor for `domain` and waits until init runs (or failed):
/// the monitor writes one [`StartReply`] line on a pipe. The monitor
/// allocates the domain's id (`wanted` when free) under the ids lock and
/// records its live state before it creates anything, so a monitor killed
/// at any point of its start leaves a record the next command sweeps.
/// `lock` is the domain's lock, held by the caller; the monitor lets go of
/// its inherited copy without unlocking the caller's.
pub fn spawn(
    root: &Root,
    domain: Domain,
    wanted: Option<u32>,
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
            // (an unlock would release the caller's lock too), and every
            // other descriptor the caller had: see `close_inherited_fds`.
            let _ = nix::unistd::close(lock.raw_fd());
            close_inherited_fds(write_end.as_raw_fd());
            let code = serve::run_monitor(root.clone(), domain, wanted, persistent, write_end);
            crate::sys::exit_immediately(code)
        }
        crate::sys::Cloned::Parent { pid, .. } => {
            drop(write_end);
            let mut reply = String::new();
            // One JSON line; a monitor gone wrong cannot make us read more.
            let _ = std::fs::File::from(read_end)
                .take(START_REPLY_LIMIT)
                .read_to_string(&mut reply);
            let reply = reply.trim_end();
            if reply.is_empty() {
                // The monitor died before it answered: reap it, so the
                // caller sees its record as stale and sweeps it.
                reap_bounded(pid);
                return Err(MonitorError::NoReply { log });
            }
            StartReply::from_line(reply)
                .map_err(MonitorError::BadReply)?
                .into_result()
        }
    }
}

/// The monitor keeps only its own descriptors: whatever the starting
/// command inherited (the write end of a `| cat`, a caller's flock on fd 8)
/// would otherwise stay open, or held, for the domain's whole life. Runs
/// right after the fork, before the monitor opens anything, so every fd
/// above stderr except `keep` (the start pipe) is the caller's. Nothing of
/// the caller's stack frames runs again in the monitor (it ends with
/// `exit_immediately`), so no owner of these fds closes them a second time.
fn close_inherited_fds(keep: RawFd) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    // Collected first: the directory's own fd is in the listing.
    let fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if fd > 2 && fd != keep {
            let _ = nix::unistd::close(fd);
        }
    }
}

/// Waits (bounded) for a monitor that closed its start pipe to exit.
fn reap_bounded(pid: nix::unistd::Pid) {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::EINTR) => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => return,
        }
    }
}
