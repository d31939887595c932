//! Starting a helper process (qemu, xl) that inherits chosen descriptors.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command};

/// Spawns `cmd`, letting the child inherit each fd in `keep` under its own
/// number (every other fd of ours stays close-on-exec), with an empty
/// signal mask. With
/// `die_with_parent`, the child gets SIGKILL when this process dies, so a
/// foreground `domrun run` killed outright leaves no VM behind.
pub fn spawn_keeping_fds(
    cmd: &mut Command,
    keep: &[BorrowedFd<'_>],
    die_with_parent: bool,
) -> std::io::Result<Child> {
    let fds: Vec<RawFd> = keep.iter().map(|fd| fd.as_raw_fd()).collect();
    let hook = move || -> std::io::Result<()> {
        // Only async-signal-safe calls between fork and exec: fcntl,
        // sigprocmask, prctl.
        for &fd in &fds {
            nix::fcntl::fcntl(
                // SAFETY: the fd is open in the parent (borrowed for the whole
                // spawn call) and so in this forked copy; borrowing it for one
                // fcntl call does not outlive it.
                unsafe { BorrowedFd::borrow_raw(fd) },
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
            )?;
        }
        // Signals the caller blocked for its signalfd must not stay
        // blocked in the child.
        nix::sys::signal::sigprocmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&nix::sys::signal::SigSet::empty()),
            None,
        )?;
        if die_with_parent {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
        }
        Ok(())
    };
    // SAFETY: the hook runs in the forked child before exec and only makes
    // async-signal-safe system calls (fcntl, sigprocmask, prctl); it allocates nothing
    // (the fd list was built before the fork) and touches no lock.
    unsafe { cmd.pre_exec(hook) };
    cmd.spawn()
}
