//! Process-level primitives: leaving without unwinding, the standard fds.

use std::os::fd::BorrowedFd;

/// Ends this process at once with `code`: no destructors, no atexit
/// handlers, no stdio flush. For a cloned child, whose copied buffers and
/// destructors belong to the parent.
pub fn exit_immediately(code: i32) -> ! {
    // SAFETY: _exit takes a plain int and never returns; it runs no user code.
    unsafe { libc::_exit(code) }
}

/// Standard input as a borrowed fd.
pub fn stdin_fd() -> BorrowedFd<'static> {
    // SAFETY: fd 0 is never closed by this crate, and a process without an
    // fd 0 only makes later calls on it fail with EBADF, not misbehave.
    unsafe { BorrowedFd::borrow_raw(libc::STDIN_FILENO) }
}

/// Standard output as a borrowed fd.
pub fn stdout_fd() -> BorrowedFd<'static> {
    // SAFETY: as for `stdin_fd`, fd 1 is never closed by this crate.
    unsafe { BorrowedFd::borrow_raw(libc::STDOUT_FILENO) }
}

/// setresuid(uid, uid, uid) as a raw syscall: for this thread only.
///
/// glibc's wrapper broadcasts the change to every thread it knows of and
/// waits for them; in a process cloned from a multi-threaded one those
/// threads do not exist, and the wait never ends. The launcher's child has
/// exactly one thread, so the per-thread syscall is the whole process.
pub fn set_uid_this_thread(uid: nix::unistd::Uid) -> nix::Result<()> {
    let id = uid.as_raw();
    // SAFETY: setresuid takes three plain integers; no memory is passed.
    let ret = unsafe { libc::syscall(libc::SYS_setresuid, id, id, id) };
    nix::errno::Errno::result(ret).map(drop)
}

/// setresgid(gid, gid, gid) as a raw syscall; see [`set_uid_this_thread`].
pub fn set_gid_this_thread(gid: nix::unistd::Gid) -> nix::Result<()> {
    let id = gid.as_raw();
    // SAFETY: setresgid takes three plain integers; no memory is passed.
    let ret = unsafe { libc::syscall(libc::SYS_setresgid, id, id, id) };
    nix::errno::Errno::result(ret).map(drop)
}

/// setgroups as a raw syscall; see [`set_uid_this_thread`].
pub fn set_groups_this_thread(groups: &[nix::unistd::Gid]) -> nix::Result<()> {
    // SAFETY: Gid is repr(transparent) over gid_t, so the slice is a valid
    // array of `groups.len()` gid_t that lives across the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_setgroups,
            groups.len(),
            groups.as_ptr().cast::<libc::gid_t>(),
        )
    };
    nix::errno::Errno::result(ret).map(drop)
}
