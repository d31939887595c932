//! Terminal ioctls nix does not wrap.

use std::os::fd::{AsFd, AsRawFd};

use nix::errno::Errno;
use nix::pty::Winsize;

/// Makes the terminal `fd` the controlling terminal of this (session leader)
/// process.
pub fn set_controlling_terminal(fd: &impl AsFd) -> nix::Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal), no pointer.
    let ret = unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(ret).map(drop)
}

/// Reads a terminal's window size.
pub fn get_window_size(fd: &impl AsFd) -> nix::Result<Winsize> {
    let mut size = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` through the pointer,
    // which points at a live, properly aligned Winsize.
    let ret = unsafe {
        libc::ioctl(
            fd.as_fd().as_raw_fd(),
            libc::TIOCGWINSZ,
            &mut size as *mut Winsize,
        )
    };
    Errno::result(ret).map(|_| size)
}

/// Sets a terminal's window size.
pub fn set_window_size(fd: &impl AsFd, size: &Winsize) -> nix::Result<()> {
    // SAFETY: TIOCSWINSZ reads one `struct winsize` through the pointer, which
    // points at a live Winsize.
    let ret = unsafe {
        libc::ioctl(
            fd.as_fd().as_raw_fd(),
            libc::TIOCSWINSZ,
            size as *const Winsize,
        )
    };
    Errno::result(ret).map(drop)
}
