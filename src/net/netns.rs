//! Network namespace handles, and netlink sockets created inside one.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::sched::CloneFlags;

use super::rtnl::Rtnl;

/// Opens `/proc/PID/ns/net`. Holding it keeps the namespace alive after
/// its last process exits (so NICs can still be moved out of it).
pub(crate) fn open_netns_of(pid: i32) -> io::Result<OwnedFd> {
    std::fs::File::open(format!("/proc/{pid}/ns/net")).map(OwnedFd::from)
}

/// The calling thread's own network namespace.
pub(crate) fn own_netns() -> io::Result<OwnedFd> {
    std::fs::File::open("/proc/thread-self/ns/net").map(OwnedFd::from)
}

/// An rtnetlink socket inside `netns`: a short-lived thread enters the
/// namespace (`setns` changes only the calling thread) and creates the
/// socket there; the socket stays bound to that namespace afterwards. The
/// thread is joined before this returns, so the process is single-threaded
/// again (the launcher clones later, on a restart).
pub(crate) fn rtnl_in(netns: BorrowedFd<'_>) -> io::Result<Rtnl> {
    let fd = netns.try_clone_to_owned()?;
    std::thread::scope(|s| {
        s.spawn(move || {
            nix::sched::setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            Rtnl::open()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the netns thread panicked")))
    })
}
