//! The monitor's console relay: guest output to one attached client (or a
//! bounded backlog replayed on attach), client keystrokes to the guest. The
//! client is non-blocking, so a client that stops reading never stalls the
//! monitor (unlike the blocking relays of `run` and `console`).

use std::os::fd::BorrowedFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Console output kept while nobody is attached, replayed on attach.
const BACKLOG: usize = 64 * 1024;

/// Most console output held for a slow client before it is detached.
const PENDING_MAX: usize = 1 << 20;

/// How long a console that reads as ended is left alone.
const IDLE_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(super) struct ConsoleRelay {
    /// The attached console client (non-blocking).
    client: Option<UnixStream>,
    /// Console output the client has not taken yet (bounded).
    pending: Vec<u8>,
    /// A console with nobody on its other end (a pty whose slave is
    /// closed, a VM socket at EOF) keeps polling readable: it is left alone
    /// until this instant, then tried again.
    idle_until: Option<Instant>,
    backlog: Vec<u8>,
}

impl ConsoleRelay {
    /// Whether the console is polled now (clears an idle period that ended).
    pub(super) fn console_active(&mut self, now: Instant) -> bool {
        if self.idle_until.is_some_and(|t| t <= now) {
            self.idle_until = None;
        }
        self.idle_until.is_none()
    }

    /// When the console is to be polled again.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.idle_until
    }

    pub(super) fn client(&self) -> Option<&UnixStream> {
        self.client.as_ref()
    }

    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// A new guest: the old console's client and output go.
    pub(super) fn reset(&mut self) {
        self.client = None;
        self.pending.clear();
        self.idle_until = None;
    }

    /// Attaches `client` (replacing any): it gets the backlog first.
    pub(super) fn attach(&mut self, client: UnixStream) {
        self.pending = std::mem::take(&mut self.backlog);
        self.client = Some(client);
        self.flush();
    }

    /// Guest console output: to the attached client, else into the backlog. A
    /// console that reads as ended is left alone for a while.
    pub(super) fn output(&mut self, console: BorrowedFd<'_>, now: Instant) {
        let mut buf = [0u8; 8192];
        let n = match nix::unistd::read(console, &mut buf) {
            Ok(n) if n > 0 => n,
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => return,
            // 0 or EIO: nobody on the other end right now.
            _ => {
                self.idle_until = Some(now + IDLE_RETRY);
                return;
            }
        };
        if self.client.is_some() {
            self.pending.extend_from_slice(&buf[..n]);
            self.flush();
        } else {
            self.backlog.extend_from_slice(&buf[..n]);
            let excess = self.backlog.len().saturating_sub(BACKLOG);
            self.backlog.drain(..excess);
        }
    }

    /// Writes what the client can take now; a client that stopped reading for
    /// too long is detached (what it missed goes back to the backlog).
    pub(super) fn flush(&mut self) {
        let Some(client) = &self.client else {
            return;
        };
        while !self.pending.is_empty() {
            match std::io::Write::write(&mut &*client, &self.pending) {
                Ok(0) => break,
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.client = None;
                    break;
                }
            }
        }
        if self.pending.len() > PENDING_MAX {
            self.client = None;
        }
        if self.client.is_none() && !self.pending.is_empty() {
            let start = self.pending.len().saturating_sub(BACKLOG);
            self.backlog = self.pending.split_off(start);
            self.pending.clear();
        }
    }

    /// Client keystrokes to the guest console; a closed client detaches.
    /// Input the console cannot take at once is dropped (a console is
    /// interactive), so a paste into a guest that does not read never blocks
    /// the monitor.
    pub(super) fn input(&mut self, console: BorrowedFd<'_>) {
        let Some(c) = &self.client else {
            return;
        };
        let mut buf = [0u8; 8192];
        match std::io::Read::read(&mut &*c, &mut buf) {
            Ok(n) if n > 0 => {
                let _ = nix::unistd::write(console, &buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            _ => {
                self.client = None;
                self.pending.clear();
            }
        }
    }
}
