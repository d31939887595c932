//! Signals by number, for the real-time ones nix's `Signal` cannot name
//! (systemd's shutdown signal is SIGRTMIN+3).

use nix::errno::Errno;

/// kill(2) with a raw signal number.
pub fn kill_raw(pid: i32, signal: libc::c_int) -> Result<(), Errno> {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    Errno::result(rc).map(drop)
}

/// The kernel's `struct sigaction` for rt_sigaction(2) (x86_64 layout:
/// handler, flags, restorer, mask).
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// Sets every catchable signal's disposition back to the default. A
/// process exec'd from a Rust program otherwise starts with SIGPIPE ignored
/// (the runtime ignores it, and ignored dispositions survive execve), and
/// pipelines in the container would misbehave. The raw syscall reaches the
/// real-time signals the C library reserves (32, 33) too. Allocates
/// nothing: safe in the child between clone and exec.
pub fn reset_signal_dispositions() -> Result<(), Errno> {
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for signal in 1..=libc::SIGRTMAX() {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction reads `default` (a valid, initialised
        // kernel_sigaction that lives across the call), writes nothing back
        // (old action NULL), and installs no handler.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                &default as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                std::mem::size_of::<u64>(),
            )
        };
        Errno::result(rc)?;
    }
    Ok(())
}
