//! `domrun console NAME`: the terminal attached to a domain's console
//! through its monitor. Ctrl-] detaches.

use super::LifecycleError;
use crate::monitor::control;
use crate::state::Root;
use crate::sys::{RawTerminal, Relay, RelayError, Relayed};
use nix::poll::PollTimeout;
use std::os::fd::AsFd;
use std::time::Duration;

/// The detach key, as virsh and lxc-console use.
pub const ESCAPE: u8 = 0x1d;

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
    // Without raw mode the console still works, line by line.
    let _raw = RawTerminal::enter().ok().flatten();
    let mut relay = Relay::new(Some(stream.as_fd())).with_escape(ESCAPE);
    while relay.console_open() {
        let Ok(ready) = relay.poll([], PollTimeout::NONE) else {
            continue;
        };
        match relay.copy(&ready) {
            // Ctrl-], or the monitor closed the console (the domain stopped,
            // or another client took over with --force) or its socket broke.
            Ok(Relayed::Detached)
            | Err(RelayError::ReadConsole(_) | RelayError::WriteConsole(_)) => {
                break;
            }
            // A terminal that went away ends only its own direction.
            Ok(Relayed::Continue) | Err(RelayError::WriteOutput(_) | RelayError::ReadInput(_)) => {}
        }
    }
    eprint!("\r\n");
    Ok(())
}
