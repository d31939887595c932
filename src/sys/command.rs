//! Helper processes that must not outlive their parent.

use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::Signal;

/// Makes `cmd`'s child receive `signal` when the calling thread dies, so a
/// helper (e.g. a storage daemon) never outlives a killed monitor.
pub fn kill_child_with_parent(cmd: &mut Command, signal: Signal) {
    let hook = move || nix::sys::prctl::set_pdeathsig(signal).map_err(std::io::Error::from);
    // SAFETY: the closure runs between fork and exec; it only calls prctl(2),
    // which is async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(hook);
    }
}
