//! Starting and stopping domains through their monitors.

use super::{LifecycleError, live_state, live_state_locked, stored_domain_checked};
use crate::domain::{Domain, LoadOptions};
use crate::monitor::{self, control};
use crate::state::{ProcessRef, Root};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `domrun start NAME`: returns the running domain's id once init has been
/// exec'd. Under the lock, so two concurrent starts start it once.
pub fn start(root: &Root, name: &str, load: LoadOptions) -> Result<u32, LifecycleError> {
    let lock = root.lock(name)?;
    if live_state_locked(root, name, &lock)?.is_some() {
        return Err(LifecycleError::AlreadyRunning(name.to_owned()));
    }
    let d = stored_domain_checked(root, name, load.strictness)?;
    let id = root.allocate_id(wanted_id(root, name))?;
    Ok(monitor::spawn(root, d, id, true, &lock)?)
}

/// The id a definition asked for (`<domain id=…>` at define time, kept
/// beside it like the autostart mark: OpenVZ VEIDs).
fn wanted_id(root: &Root, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(root.wanted_id_file(name)).ok()?;
    text.trim().parse().ok()
}

/// `domrun create FILE`: start a domain from a file without defining it
/// (if it is defined, the file's version runs this time).
pub fn create(
    root: &Root,
    file: &Path,
    load: LoadOptions,
) -> Result<(String, u32), LifecycleError> {
    let d = Domain::load_with(file, load)?;
    crate::state::check_name(&d.name)?;
    let lock = root.lock(&d.name)?;
    if live_state_locked(root, &d.name, &lock)?.is_some() {
        return Err(LifecycleError::AlreadyRunning(d.name.clone()));
    }
    let persistent = root.read_definition(&d.name)?.is_some();
    let id = root.allocate_id(d.id)?;
    let name = d.name.clone();
    let id = monitor::spawn(root, d, id, persistent, &lock)?;
    Ok((name, id))
}

/// The control socket of running `name`, and its monitor (to wait for).
fn socket_of(root: &Root, name: &str) -> Result<(PathBuf, ProcessRef), LifecycleError> {
    match live_state(root, name)? {
        Some(state) => Ok((root.control_socket(name), state.monitor)),
        None if root.read_definition(name)?.is_some() => {
            Err(LifecycleError::NotRunning(name.to_owned()))
        }
        None => Err(LifecycleError::NotDefined(name.to_owned())),
    }
}

/// `domrun shutdown NAME`: asks init to stop and waits up to `timeout`.
pub fn shutdown(root: &Root, name: &str, timeout: Duration) -> Result<(), LifecycleError> {
    let (socket, monitor) = socket_of(root, name)?;
    let req = control::Request::Shutdown {
        timeout_secs: timeout.as_secs(),
    };
    control::request(&socket, &req, timeout + Duration::from_secs(5))?;
    wait_gone(monitor);
    Ok(())
}

/// `domrun destroy NAME`: kills every process of the domain, releases all.
pub fn destroy(root: &Root, name: &str) -> Result<(), LifecycleError> {
    let (socket, monitor) = socket_of(root, name)?;
    control::request(&socket, &control::Request::Destroy, Duration::from_secs(30))?;
    wait_gone(monitor);
    Ok(())
}

/// `domrun reboot NAME`: init is stopped and the domain started again.
pub fn reboot(root: &Root, name: &str) -> Result<(), LifecycleError> {
    let (socket, _) = socket_of(root, name)?;
    control::request(&socket, &control::Request::Reboot, Duration::from_secs(10))?;
    Ok(())
}

/// The monitor replies just before it releases the guest, removes the live
/// state and exits; wait until it has exited, so the next command sees the
/// domain shut off and nothing of it is left (bounded: a monitor stuck in
/// the kernel must not hang the command).
fn wait_gone(monitor: ProcessRef) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while monitor.is_alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One domain's outcome in `start --autostart`: its id, or why it failed.
pub type AutostartOutcome = (String, Result<u32, LifecycleError>);

/// `domrun start --autostart`: starts every domain marked for autostart
/// that is not running; returns each name with its outcome.
pub fn start_autostart(root: &Root) -> Result<Vec<AutostartOutcome>, LifecycleError> {
    let mut out = Vec::new();
    for name in root.defined_names()? {
        if root.is_autostart(&name) && live_state(root, &name)?.is_none() {
            // Strict: a definition stored with `define --permissive` is
            // started only by an explicit `start --permissive`.
            let r = start(root, &name, LoadOptions::default());
            out.push((name, r));
        }
    }
    Ok(out)
}
