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
