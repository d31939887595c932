//! Starting and stopping domains through their monitors.

use super::{LifecycleError, live_state, live_state_locked, stored_domain_checked, sweep_cgroup};
use crate::domain::{Domain, LoadOptions};
use crate::monitor::{self, control};
use crate::state::{ProcessRef, Root, StateError};
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
    spawn_monitor(root, d, wanted_id(root, name), true, &lock)
}

/// Forks the domain's monitor ([`monitor::spawn`]). A monitor that died
/// before it answered (killed during its start) is swept at once, under
/// the lock this command still holds: its live state and its cgroup go.
fn spawn_monitor(
    root: &Root,
    d: Domain,
    wanted: Option<u32>,
    persistent: bool,
    lock: &crate::state::DomainLock,
) -> Result<u32, LifecycleError> {
    let name = d.name.clone();
    match monitor::spawn(root, d, wanted, persistent, lock) {
        Ok(id) => Ok(id),
        Err(e @ monitor::MonitorError::NoReply { .. }) => {
            if let Err(sweep) = live_state_locked(root, &name, lock) {
                eprintln!("domrun: {name}: sweeping after the monitor died: {sweep}");
            }
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The id a definition asked for (`<domain id=…>` at define time, kept
/// beside it like the autostart mark: OpenVZ VEIDs).
fn wanted_id(root: &Root, name: &str) -> Option<u32> {
    // A VEID is a few digits: anything longer is not one.
    let file = root.wanted_id_file(name);
    let text = crate::input::read_text(&file, crate::input::Links::Refuse, 32).ok()?;
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
    let wanted = d.id;
    let name = d.name.clone();
    let id = spawn_monitor(root, d, wanted, persistent, &lock)?;
    Ok((name, id))
}

/// Who supervises a running domain.
struct Supervisor {
    process: ProcessRef,
    /// `domrun run`, without a control socket.
    foreground: bool,
}

/// The control socket of running `name`, and its monitor (to wait for).
fn socket_of(root: &Root, name: &str) -> Result<(PathBuf, Supervisor), LifecycleError> {
    match live_state(root, name)? {
        Some(state) => Ok((
            root.control_socket(name),
            Supervisor {
                process: state.monitor,
                foreground: state.foreground,
            },
        )),
        None if root.read_definition(name)?.is_some() => {
            Err(LifecycleError::NotRunning(name.to_owned()))
        }
        None => Err(LifecycleError::NotDefined(name.to_owned())),
    }
}

/// `domrun shutdown NAME`: asks init to stop and waits up to `timeout`.
pub fn shutdown(root: &Root, name: &str, timeout: Duration) -> Result<(), LifecycleError> {
    let (socket, monitor) = socket_of(root, name)?;
    refuse_foreground(name, &monitor)?;
    let req = control::Request::Shutdown {
        timeout_secs: timeout.as_secs(),
    };
    control::request(&socket, &req, timeout + Duration::from_secs(5))?;
    wait_gone(monitor.process);
    Ok(())
}

/// `domrun destroy NAME`: kills every process of the domain, releases all.
/// A domain whose live state is damaged is destroyed all the same (see
/// [`destroy_damaged`]); one run in the foreground by its cgroup.
pub fn destroy(root: &Root, name: &str) -> Result<(), LifecycleError> {
    let (socket, monitor) = match socket_of(root, name) {
        Err(LifecycleError::State(StateError::Corrupt { .. })) => {
            return destroy_damaged(root, name);
        }
        other => other?,
    };
    if monitor.foreground {
        return destroy_by_cgroup(root, name);
    }
    control::request(&socket, &control::Request::Destroy, Duration::from_secs(30))?;
    wait_gone(monitor.process);
    Ok(())
}

/// Destroys a domain whose `state.json` cannot be read: through its monitor
/// if one still answers on the control socket (it then removes the live
/// state itself), else by killing and removing its cgroup and removing the
/// live state. Under the domain's lock.
fn destroy_damaged(root: &Root, name: &str) -> Result<(), LifecycleError> {
    let _lock = root.lock(name)?;
    let socket = root.control_socket(name);
    if control::request(&socket, &control::Request::Destroy, Duration::from_secs(30)).is_ok() {
        let live_dir = root.live_dir(name);
        wait_for(|| !live_dir.exists());
        return Ok(());
    }
    sweep_cgroup(root, name)?;
    root.remove_live(name)?;
    Ok(())
}

/// A foreground domain (`domrun run`) has no control socket: killing its
/// cgroup ends init, and the `run` process then exits and removes its live
/// state.
fn destroy_by_cgroup(root: &Root, name: &str) -> Result<(), LifecycleError> {
    sweep_cgroup(root, name)?;
    let live_dir = root.live_dir(name);
    wait_for(|| !live_dir.exists());
    Ok(())
}

/// `domrun reboot NAME`: init is stopped and the domain started again.
pub fn reboot(root: &Root, name: &str) -> Result<(), LifecycleError> {
    let (socket, monitor) = socket_of(root, name)?;
    refuse_foreground(name, &monitor)?;
    control::request(&socket, &control::Request::Reboot, Duration::from_secs(10))?;
    Ok(())
}

/// A domain run in the foreground is stopped where it runs (or destroyed).
fn refuse_foreground(name: &str, supervisor: &Supervisor) -> Result<(), LifecycleError> {
    if supervisor.foreground {
        return Err(LifecycleError::Foreground {
            name: name.to_owned(),
            pid: supervisor.process.pid,
        });
    }
    Ok(())
}

/// The monitor replies just before it releases the guest, removes the live
/// state and exits; wait until it has exited, so the next command sees the
/// domain shut off and nothing of it is left (bounded: a monitor stuck in
/// the kernel must not hang the command).
fn wait_gone(monitor: ProcessRef) {
    wait_for(|| !monitor.is_alive());
}

/// Polls `done` for up to 30 s.
fn wait_for(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() && Instant::now() < deadline {
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
