//! Terminal ioctls nix does not wrap, and the raw-mode guard every
//! foreground console attach uses.

use std::os::fd::{AsFd, AsRawFd};

use nix::errno::Errno;
use nix::pty::Winsize;
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

use super::stdin_fd;

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

/// Our terminal (stdin's) in raw mode, so keys reach the container's or the
/// guest's console untouched; restored when dropped.
#[derive(Debug)]
pub struct RawTerminal {
    saved: Termios,
}

impl RawTerminal {
    /// Puts stdin's terminal in raw mode; `Ok(None)` if stdin is not a
    /// terminal (nothing to change).
    pub fn enter() -> nix::Result<Option<Self>> {
        let Ok(saved) = tcgetattr(stdin_fd()) else {
            return Ok(None);
        };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin_fd(), SetArg::TCSANOW, &raw)?;
        Ok(Some(Self { saved }))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // TCSADRAIN, not TCSANOW: the console's last output may still be
        // queued for the terminal, written for raw mode; it leaves under the
        // settings it was written for before the cooked ones (output
        // post-processing, echo) come back, as ssh restores its terminal.
        // Nothing sensible to do if the terminal went away meanwhile.
        let _ = tcsetattr(stdin_fd(), SetArg::TCSADRAIN, &self.saved);
    }
}
