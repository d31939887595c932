//! The console relay of every foreground attach: `domrun run` of a container
//! (its pty master) or of a VM (qemu's serial socket), and `domrun console`
//! (the monitor's console socket). Console output goes to stdout, stdin to
//! the console; the caller's own fds (a pidfd, a signalfd) are polled in the
//! same call, and the caller decides what each error means to it.
//!
//! Not for the cloned child (it allocates the poll set).

use std::os::fd::BorrowedFd;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::{stdin_fd, stdout_fd};

/// One read's worth of console traffic.
const CHUNK: usize = 8192;

/// What a relay round ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relayed {
    /// Keep going.
    Continue,
    /// The escape byte was typed: the user detaches.
    Detached,
}

/// A relay direction failed. The relay has already stopped the direction
/// that can no longer work (a failed read or a failed write to the console),
/// so a caller that tolerates the error simply polls again; a failed write
/// to stdout drops that chunk and keeps reading, so the console never fills
/// up behind a terminal that went away.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RelayError {
    /// Reading the console's output failed.
    #[error("relaying the console: reading its output: {}", .0.desc())]
    ReadConsole(Errno),
    /// Writing console output to stdout failed.
    #[error("relaying the console: writing to standard output: {}", .0.desc())]
    WriteOutput(Errno),
    /// Reading stdin failed.
    #[error("relaying the console: reading standard input: {}", .0.desc())]
    ReadInput(Errno),
    /// Writing input to the console failed.
    #[error("relaying the console: writing to it: {}", .0.desc())]
    WriteConsole(Errno),
}

/// Which fds one [`Relay::poll`] found ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready<const N: usize> {
    /// The caller's fds, in the order given.
    pub watched: [bool; N],
    /// The console has output (or hung up).
    output: bool,
    /// Stdin has input (or ended).
    input: bool,
}

impl<const N: usize> Ready<N> {
    const NOTHING: Self = Self {
        watched: [false; N],
        output: false,
        input: false,
    };
}

/// Copies between our stdin/stdout and a console until either side ends.
#[derive(Debug)]
pub struct Relay<'a> {
    /// The console; `None` relays nothing and only polls the caller's fds.
    console: Option<BorrowedFd<'a>>,
    /// Console output still goes to stdout.
    output_open: bool,
    /// Stdin still goes to the console.
    input_open: bool,
    /// A byte on stdin that detaches (what came before it is passed on).
    escape: Option<u8>,
}

impl<'a> Relay<'a> {
    /// A relay between stdin/stdout and `console`.
    pub fn new(console: Option<BorrowedFd<'a>>) -> Self {
        Self {
            console,
            output_open: console.is_some(),
            input_open: console.is_some(),
            escape: None,
        }
    }

    /// A read-only relay: `console`'s output to stdout, stdin never read
    /// (it belongs to someone else, e.g. a container's init that inherited
    /// it; nspawn's `--console=read-only`).
    pub fn output_only(console: BorrowedFd<'a>) -> Self {
        Self {
            input_open: false,
            ..Self::new(Some(console))
        }
    }

    /// Detaches ([`Relayed::Detached`]) when `byte` is typed.
    pub fn with_escape(self, byte: u8) -> Self {
        Self {
            escape: Some(byte),
            ..self
        }
    }

    /// Whether console output is still relayed (false once it ended).
    pub fn console_open(&self) -> bool {
        self.output_open
    }

    /// Waits until one of `watched`, the console or stdin is ready, or
    /// `timeout` passes. An interrupted wait reports nothing ready.
    pub fn poll<const N: usize>(
        &self,
        watched: [BorrowedFd<'_>; N],
        timeout: PollTimeout,
    ) -> nix::Result<Ready<N>> {
        let mut fds: Vec<PollFd<'_>> = watched
            .iter()
            .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        let output = self.console.filter(|_| self.output_open);
        if let Some(console) = output {
            fds.push(PollFd::new(console, PollFlags::POLLIN));
        }
        let input = self.console.is_some() && self.input_open;
        if input {
            fds.push(PollFd::new(stdin_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Err(Errno::EINTR) => return Ok(Ready::NOTHING),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        let is_ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
        let mut ready = Ready::NOTHING;
        for (slot, fd) in ready.watched.iter_mut().zip(&fds) {
            *slot = is_ready(fd);
        }
        let mut ours = fds[N..].iter();
        ready.output = output.is_some() && ours.next().is_some_and(is_ready);
        ready.input = input && ours.next().is_some_and(is_ready);
        Ok(ready)
    }

    /// Copies what `ready` found waiting: one read of console output to
    /// stdout, one read of stdin to the console.
    pub fn copy<const N: usize>(&mut self, ready: &Ready<N>) -> Result<Relayed, RelayError> {
        let Some(console) = self.console else {
            return Ok(Relayed::Continue);
        };
        if ready.output && self.output_open {
            self.copy_output(console)?;
        }
        if ready.input && self.input_open {
            return self.copy_input(console);
        }
        Ok(Relayed::Continue)
    }

    /// Copies the console output already waiting, without blocking: what a
    /// container or guest wrote just before it exited.
    pub fn drain(&mut self) -> Result<(), RelayError> {
        let Some(console) = self.console else {
            return Ok(());
        };
        while self.output_open {
            let mut fds = [PollFd::new(console, PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::ZERO) {
                Ok(n) if n > 0 => self.copy_output(console)?,
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    fn copy_output(&mut self, console: BorrowedFd<'_>) -> Result<(), RelayError> {
        let mut buf = [0u8; CHUNK];
        match nix::unistd::read(console, &mut buf) {
            Err(Errno::EINTR | Errno::EAGAIN) => Ok(()),
            // End of file; for a pty master, EIO once every slave is closed.
            Ok(0) | Err(Errno::EIO) => {
                self.close_console();
                Ok(())
            }
            Err(errno) => {
                self.close_console();
                Err(RelayError::ReadConsole(errno))
            }
            Ok(n) => write_all(stdout_fd(), &buf[..n]).map_err(RelayError::WriteOutput),
        }
    }

    fn copy_input(&mut self, console: BorrowedFd<'_>) -> Result<Relayed, RelayError> {
        let mut buf = [0u8; CHUNK];
        let n = match nix::unistd::read(stdin_fd(), &mut buf) {
            Err(Errno::EINTR | Errno::EAGAIN) => return Ok(Relayed::Continue),
            Ok(0) | Err(Errno::EIO) => {
                self.input_open = false;
                return Ok(Relayed::Continue);
            }
            Err(errno) => {
                self.input_open = false;
                return Err(RelayError::ReadInput(errno));
            }
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let escape_at = self
            .escape
            .and_then(|escape| chunk.iter().position(|b| *b == escape));
        let (pass_on, relayed) = match escape_at {
            Some(at) => (&chunk[..at], Relayed::Detached),
            None => (chunk, Relayed::Continue),
        };
        if let Err(errno) = write_all(console, pass_on) {
            self.input_open = false;
            return Err(RelayError::WriteConsole(errno));
        }
        Ok(relayed)
    }

    /// The console ended: nothing more comes out, nothing can go in.
    fn close_console(&mut self) {
        self.output_open = false;
        self.input_open = false;
    }
}

/// Writes all of `bytes`, waiting for room when `fd` is non-blocking.
fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> nix::Result<()> {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
            Ok(n) => bytes = &bytes[n..],
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    /// Output ends the relay in both directions; caller fds are reported
    /// in order. (Stdin and stdout are the test harness's, so only the
    /// console side is exercised here; the launcher and CLI tests cover
    /// the terminal side.)
    #[test]
    fn console_end_closes_the_relay_and_watched_fds_are_reported() {
        let (ours, theirs) = UnixStream::pair().expect("socketpair");
        let (watched, mut poke) = UnixStream::pair().expect("socketpair");
        let relay_fd = ours.as_fd();
        let mut relay = Relay::new(Some(relay_fd));
        poke.write_all(b"x").expect("write");
        drop(theirs);
        let ready = relay
            .poll([watched.as_fd()], PollTimeout::ZERO)
            .expect("poll");
        assert!(ready.watched[0] && ready.output);
        // End of file on the console: no stdout write happens.
        assert_eq!(
            relay.copy(&Ready {
                input: false,
                ..ready
            }),
            Ok(Relayed::Continue)
        );
        assert!(!relay.console_open());
        let mut byte = [0u8; 1];
        (&watched).read_exact(&mut byte).expect("read");
        let ready = relay
            .poll([watched.as_fd()], PollTimeout::ZERO)
            .expect("poll");
        assert_eq!(ready, Ready::NOTHING);
    }

    #[test]
    fn without_a_console_only_the_watched_fds_are_polled() {
        let relay = Relay::new(None);
        let (watched, mut poke) = UnixStream::pair().expect("socketpair");
        poke.write_all(b"x").expect("write");
        let ready = relay
            .poll([watched.as_fd()], PollTimeout::ZERO)
            .expect("poll");
        assert_eq!(ready.watched, [true]);
        assert!(!ready.output && !ready.input);
    }
}
