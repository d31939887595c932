//! Signals by number, for the real-time ones nix's `Signal` cannot name
//! (systemd's shutdown signal is SIGRTMIN+3).

use nix::errno::Errno;

/// kill(2) with a raw signal number.
pub fn kill_raw(pid: i32, signal: libc::c_int) -> Result<(), Errno> {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    Errno::result(rc).map(drop)
}
