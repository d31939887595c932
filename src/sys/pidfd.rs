//! pidfd_open(2), for `domrun exec`: a handle on the domain's init that
//! setns(2) takes to join all its namespaces at once, and that can never
//! name a recycled pid.

use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;

/// A pidfd for the running process `pid` (close-on-exec, as pidfd_open
/// always makes it).
pub fn pidfd_open(pid: i32) -> nix::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags (0) and touches no memory of
    // ours; on success it returns a new fd that nothing else owns.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = Errno::result(fd)?;
    // SAFETY: `fd` is the new descriptor just returned, owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}
