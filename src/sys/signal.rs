//! Signals by number, for the real-time ones nix's `Signal` cannot name
//! (systemd's shutdown signal is SIGRTMIN+3).

use nix::errno::Errno;

/// kill(2) with a raw signal number.
pub fn kill_raw(pid: i32, signal: libc::c_int) -> Result<(), Errno> {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    Errno::result(rc).map(drop)
}

/// Sets every catchable signal's disposition back to the default. A
/// process exec'd from a Rust program otherwise starts with SIGPIPE ignored
/// (the runtime ignores it, and ignored dispositions survive execve), and
/// pipelines in the container would misbehave. Allocates nothing: safe in
/// the child between clone and exec.
pub fn reset_signal_dispositions() -> Result<(), Errno> {
    for signal in 1..libc::SIGRTMAX() {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL registers no handler and touches no
        // memory of ours; signal(2) is async-signal-safe.
        let previous = unsafe { libc::signal(signal, libc::SIG_DFL) };
        // Numbers the C library reserves for itself (32, 33) refuse; skip.
        if previous == libc::SIG_ERR && Errno::last() != Errno::EINVAL {
            return Err(Errno::last());
        }
    }
    Ok(())
}
