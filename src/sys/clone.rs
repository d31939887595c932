//! clone3 without a new stack: fork semantics plus namespace flags.

use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

/// Which side of a clone we are on.
#[derive(Debug)]
pub enum Cloned {
    /// The new process.
    Child,
    /// The caller.
    Parent {
        /// The child's pid.
        pid: Pid,
        /// A pidfd for the child: readable once it exits, never refers to a
        /// recycled pid.
        pidfd: OwnedFd,
    },
}

/// Creates a child process in the new namespaces named by `flags`, like fork
/// (the child continues from here on a copy of the caller's memory and stack).
/// The child's exit is reported with SIGCHLD and through the returned pidfd
/// (CLONE_PIDFD; the child does not get it).
///
/// Only the calling thread exists in the child. The launcher's child code
/// runs straight-line to exec or `_exit` and never returns into code that
/// expects other threads.
pub fn clone_process(flags: CloneFlags) -> nix::Result<Cloned> {
    // clone3 with stack = 0 duplicates the caller's stack like fork;
    // exit_signal SIGCHLD makes waitpid work as for fork.
    let mut pidfd: libc::c_int = -1;
    let mut args = libc::clone_args {
        flags: flags.bits() as u64 | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: 0,
    };
    // SAFETY: `args` is a valid, fully initialised clone_args that lives across
    // the call, and its size is passed; `args.pidfd` points at a live c_int
    // the kernel writes the new pidfd into. No CLONE_VM / CLONE_SETTLS / stack is
    // requested, so the child gets its own copy of memory (fork semantics) and
    // no Rust invariant is shared between the two processes.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut libc::clone_args,
            std::mem::size_of::<libc::clone_args>(),
        )
    };
    match Errno::result(ret)? {
        0 => Ok(Cloned::Child),
        pid => Ok(Cloned::Parent {
            pid: Pid::from_raw(pid as libc::pid_t),
            // SAFETY: on success with CLONE_PIDFD the kernel stored a new fd
            // that nothing else owns (it is close-on-exec by default).
            pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        }),
    }
}
