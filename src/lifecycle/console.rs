//! `domrun console NAME`: the terminal attached to a domain's console
//! through its monitor. Ctrl-] detaches.

use super::LifecycleError;
use crate::monitor::control;
use crate::state::Root;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::time::Duration;

/// The detach key, as virsh and lxc-console use.
pub const ESCAPE: u8 = 0x1d;

/// Puts stdin's terminal in raw mode until dropped.
struct RawMode(Option<nix::sys::termios::Termios>);

impl RawMode {
    fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(saved) = tcgetattr(stdin.as_fd()) else {
            return RawMode(None);
        };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        RawMode(Some(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}

/// Attaches stdin/stdout to the console until Ctrl-], the domain stops, or
/// stdin ends. `force` takes the console over from another client.
pub fn console(root: &Root, name: &str, force: bool) -> Result<(), LifecycleError> {
    if super::live_state(root, name)?.is_none() {
        return Err(LifecycleError::NotRunning(name.to_owned()));
    }
    let (_, stream) = control::request(
        &root.control_socket(name),
        &control::Request::Console { force },
        Duration::from_secs(5),
    )?;
    eprintln!("Connected to domain '{name}'\nEscape character is ^]");
    let _raw = RawMode::enter();
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    let mut buf = [0u8; 8192];
    let mut stdin_open = true;
    loop {
        let mut fds = vec![PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            continue;
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            match (&stream).read(&mut buf) {
                Ok(n) if n > 0 => {
                    let _ = stdout.write_all(&buf[..n]);
                    let _ = stdout.flush();
                }
                // The monitor closed the console: the domain stopped, or
                // another client took over with --force.
                _ => break,
            }
        }
        if ready.get(1).copied().unwrap_or(false) {
            match nix::unistd::read(stdin.as_fd(), &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => {
                    let chunk = &buf[..n];
                    if let Some(at) = chunk.iter().position(|b| *b == ESCAPE) {
                        let _ = (&stream).write_all(&chunk[..at]);
                        break;
                    }
                    if (&stream).write_all(chunk).is_err() {
                        break;
                    }
                }
            }
        }
    }
    eprint!("\r\n");
    Ok(())
}
