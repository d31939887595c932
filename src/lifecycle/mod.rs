//! Managing domains the way virsh does, without a daemon: definitions on
//! disk, one monitor process per running domain, state any command can read.
//!
//! Every change to a domain happens under its lock ([`Root::lock`]). A command
//! that finds live state whose monitor is gone sweeps it ([`sweep_stale`]) and
//! reports the domain as crashed.

mod console;
mod devices;
mod exec;
mod info;
mod run;
mod running;
mod tune;

pub use console::console;
pub use devices::{DeviceChange, DeviceError, DeviceFlags, attach_device, detach_device};
pub use exec::{ExecError, ExecRequest, exec};
pub use info::{
    Damage, DomainInfo, DomainState, ListEntry, ListFilter, Listing, dominfo, format_list, list,
};
pub use run::{RunError, RunOptions, run_foreground};
pub use running::{create, destroy, reboot, shutdown, start, start_autostart};
pub use tune::{
    Tune, TuneError, TuneReport, TuneVerb, UNLIMITED_KIB, parse_cpus, parse_kib, parse_sched, tune,
};

use crate::domain::{CheckedParseError, Domain, LoadError, LoadOptions, ParseError, Strictness};
use crate::plan::CgroupPlan;
use crate::state::{LiveState, Root, StateError, check_name};
use std::path::Path;

/// A lifecycle command that failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("stored definition of '{name}' is damaged: {error}")]
    StoredDefinition {
        name: String,
        #[source]
        error: ParseError,
    },
    #[error("domain '{0}' is not defined (see `domrun list --all`)")]
    NotDefined(String),
    #[error("domain '{0}' is not running")]
    NotRunning(String),
    #[error("domain '{0}' is already running")]
    AlreadyRunning(String),
    /// Boxed: a guest's launch error is large, and rare.
    #[error(transparent)]
    Monitor(Box<crate::monitor::MonitorError>),
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    #[error("removing the cgroup a crashed monitor left: {0}")]
    StaleCgroup(#[source] crate::cgroup::CgroupError),
    #[error(transparent)]
    Control(#[from] crate::monitor::control::ControlError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Tune(#[from] TuneError),
    #[error("uuid {uuid} is already used by domain '{other}'")]
    UuidTaken { uuid: String, other: String },
    #[error(
        "domain '{name}' runs in the foreground (`domrun run`, pid {pid}): stop it there, or `domrun destroy {name}`"
    )]
    Foreground { name: String, pid: i32 },
    #[error(
        "the live state of '{name}' is damaged, so it cannot be made transient; nothing was removed (`domrun destroy {name}` first): {source}"
    )]
    DamagedLive {
        name: String,
        #[source]
        source: StateError,
    },
}

impl From<crate::monitor::MonitorError> for LifecycleError {
    fn from(e: crate::monitor::MonitorError) -> Self {
        LifecycleError::Monitor(Box::new(e))
    }
}

impl LifecycleError {
    /// The state root cannot be written by this user.
    pub fn is_permission(&self) -> bool {
        matches!(self, LifecycleError::State(e) if e.is_permission())
    }

    /// The exit status for a start that failed like `domrun run` fails
    /// (125 set-up, 126 init not executable, 127 init not found); `None`
    /// for the command's usual failure status.
    pub fn exit_code(&self) -> Option<crate::launch::ExitStatusCode> {
        match self {
            LifecycleError::Monitor(e) => e.exit_code(),
            _ => None,
        }
    }
}

/// What `define` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Defined {
    New,
    /// Replaced an existing definition; when the domain runs, the new one
    /// takes effect at its next start.
    Updated {
        running: bool,
    },
}

/// Reads a stored definition.
pub fn stored_domain(root: &Root, name: &str) -> Result<Domain, LifecycleError> {
    stored_domain_checked(root, name, Strictness::Permissive)
}

/// Reads a stored definition, refusing (when `strictness` says so) names
/// outside libvirt's vocabulary: what `start` runs, since a definition stored
/// with `define --permissive` may hold them.
pub fn stored_domain_checked(
    root: &Root,
    name: &str,
    strictness: Strictness,
) -> Result<Domain, LifecycleError> {
    let bytes = root
        .read_definition(name)?
        .ok_or_else(|| LifecycleError::NotDefined(name.to_owned()))?;
    let file = root.definition(name);
    let (mut d, _notes) = Domain::parse_checked(&bytes, strictness).map_err(|e| match e {
        CheckedParseError::Parse(error) => LifecycleError::StoredDefinition {
            name: name.to_owned(),
            error: error.in_file(&file),
        },
        CheckedParseError::Vocabulary(e) => LoadError::Vocabulary(e.in_file(&file)).into(),
    })?;
    // Stored definitions were defaulted when defined; this only fills what a
    // newer domrun defaults, and never fails on a good file.
    let _ = d.apply_defaults();
    Ok(d)
}

/// The uuid of a stored definition (parsed; no defaults applied, so a
/// definition without one has none).
pub(crate) fn stored_uuid(root: &Root, name: &str) -> Option<String> {
    let bytes = root.read_definition(name).ok()??;
    Domain::parse(&bytes).ok()?.uuid.map(|u| u.to_string())
}

/// `domrun define FILE`: validate and store a definition.
pub fn define(
    root: &Root,
    file: &Path,
    load: LoadOptions,
) -> Result<(Domain, Defined), LifecycleError> {
    define_domain(root, Domain::load_with(file, load)?)
}

/// Stores a definition built in code (an importer's output), with the same
/// checks and effects as [`define`]: `d` must have taken its defaults, and
/// is validated here.
pub fn define_domain(root: &Root, mut d: Domain) -> Result<(Domain, Defined), LifecycleError> {
    d.validate().map_err(LoadError::Invalid)?;
    let wanted_id = d.id;
    d.make_inactive();
    check_name(&d.name)?;
    let lock = root.lock(&d.name)?;
    let uuid = d.uuid.map(|u| u.to_string()).unwrap_or_default();
    let existing = root.read_definition(&d.name)?.is_some();
    if existing {
        // A redefinition keeps the domain's identity.
        if let Some(old) = stored_uuid(root, &d.name)
            && d.uuid.is_some()
            && old != uuid
        {
            return Err(LifecycleError::UuidTaken {
                uuid: old,
                other: d.name.clone(),
            });
        }
    }
    for other in root.defined_names()? {
        if other != d.name && stored_uuid(root, &other).as_deref() == Some(uuid.as_str()) {
            return Err(LifecycleError::UuidTaken { uuid, other });
        }
    }
    root.save_definition(&d.name, &d.format_inactive())?;
    // The id is runtime state, not part of the definition; an explicit one
    // (an OpenVZ VEID) is kept beside it and honoured at start when free.
    match wanted_id {
        Some(id) => crate::state::write_atomic(
            &root.wanted_id_file(&d.name),
            id.to_string().as_bytes(),
            0o600,
        )
        .map_err(crate::state::StateError::from)?,
        None => {
            crate::state::remove_optional(&root.wanted_id_file(&d.name))?;
        }
    }
    let running = live_state_locked(root, &d.name, &lock)?.is_some();
    let outcome = if existing {
        Defined::Updated { running }
    } else {
        Defined::New
    };
    Ok((d, outcome))
}

/// `domrun undefine NAME [--remove-all-storage]`: a running domain becomes
/// transient. With `remove_storage`, the domain's writable template layer
/// goes too (once it is not running).
///
/// Everything is checked before the first deletion: the domain is defined,
/// its live state (if any) can be read and rewritten, it is not running
/// when its storage is to go, and the template store opens.
pub fn undefine(root: &Root, name: &str, remove_storage: bool) -> Result<bool, LifecycleError> {
    let lock = root.lock(name)?;
    if root.read_definition(name)?.is_none() {
        return Err(LifecycleError::NotDefined(name.to_owned()));
    }
    let live = match live_state_locked(root, name, &lock) {
        Err(LifecycleError::State(source @ StateError::Corrupt { .. })) => {
            return Err(LifecycleError::DamagedLive {
                name: name.to_owned(),
                source,
            });
        }
        other => other?,
    };
    if remove_storage && live.is_some() {
        return Err(LifecycleError::AlreadyRunning(name.to_owned()));
    }
    let layer = root.dir.join("layers").join(name);
    let store = if remove_storage && layer.exists() {
        Some(crate::template::Store::open(&root.dir)?)
    } else {
        None
    };
    root.remove_definition(name)?;
    if let Some(store) = store {
        store.remove_layer(name)?;
    }
    if let Some(mut live) = live {
        live.persistent = false;
        root.write_live(&live)?;
        return Ok(true);
    }
    Ok(false)
}

/// `domrun dumpxml NAME [--inactive]`: the live XML of a running domain
/// (with its id and every value resolved at start), else the definition.
pub fn dumpxml(root: &Root, name: &str, inactive: bool) -> Result<String, LifecycleError> {
    if !inactive
        && live_state(root, name)?.is_some()
        && let Some(bytes) = crate::state::read_optional(&root.live_xml(name))?
    {
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    match root.read_definition(name)? {
        Some(_) => Ok(stored_domain(root, name)?.format_inactive()),
        None => Err(LifecycleError::NotDefined(name.to_owned())),
    }
}

/// Names of the defined domains whose root comes from `template`, so
/// `template remove` refuses while one exists. A damaged definition that
/// cannot be parsed counts when its text names the template at all: a
/// removal must not proceed on what could not be checked.
pub fn template_users(root: &Root, template: &str) -> Vec<String> {
    let Ok(names) = root.defined_names() else {
        return Vec::new();
    };
    let mentions = |bytes: &[u8]| {
        bytes
            .windows(template.len().max(1))
            .any(|w| w == template.as_bytes())
    };
    names
        .into_iter()
        .filter(|n| match stored_domain(root, n) {
            Ok(d) => d.devices.filesystems().any(
                |f| matches!(&f.source, crate::domain::FsSource::Template(t) if t == template),
            ),
            Err(_) => root
                .read_definition(n)
                .ok()
                .flatten()
                .is_some_and(|bytes| mentions(&bytes)),
        })
        .collect()
}

/// `domrun autostart NAME [--disable]`.
pub fn autostart(root: &Root, name: &str, on: bool) -> Result<(), LifecycleError> {
    let _lock = root.lock(name)?;
    if root.read_definition(name)?.is_none() {
        return Err(LifecycleError::NotDefined(name.to_owned()));
    }
    Ok(root.set_autostart(name, on)?)
}

/// The live state of `name` if its monitor is alive. A record whose monitor
/// is gone is reported as not running, and swept (see [`sweep_stale`]) when
/// the domain's lock is free: sweeping without it could delete the live
/// directory of a monitor a concurrent `start` has just made.
pub fn live_state(root: &Root, name: &str) -> Result<Option<LiveState>, LifecycleError> {
    let Some(state) = root.read_live(name)? else {
        return Ok(None);
    };
    if state.monitor.is_alive() {
        return Ok(Some(state));
    }
    if let Some(lock) = root.try_lock(name)? {
        live_state_locked(root, name, &lock)?;
    }
    Ok(None)
}

/// [`live_state`] for a caller that holds the domain's lock: a stale record
/// (re-read under the lock) is always swept.
pub fn live_state_locked(
    root: &Root,
    name: &str,
    _lock: &crate::state::DomainLock,
) -> Result<Option<LiveState>, LifecycleError> {
    let Some(state) = root.read_live(name)? else {
        return Ok(None);
    };
    if state.monitor.is_alive() {
        return Ok(Some(state));
    }
    sweep_stale(root, &state)?;
    Ok(None)
}

/// Releases what a crashed monitor left: kills what is left of the container
/// (init, and with it its pid namespace; mounts and autoclear loop devices go
/// with the mount namespace), then removes the live directory.
pub fn sweep_stale(root: &Root, state: &LiveState) -> Result<(), LifecycleError> {
    if let Some(init) = state.init
        && init.is_alive()
    {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(init.pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    sweep_cgroup(root, &state.name)?;
    root.remove_live(&state.name)?;
    Ok(())
}

/// Kills and removes the domain's cgroup, if there is one. Its partition is
/// in the live XML the monitor (or `run`) wrote before it created the
/// cgroup; without a readable one, the definition's, else the default.
pub(crate) fn sweep_cgroup(root: &Root, name: &str) -> Result<(), LifecycleError> {
    let parse = |xml: Option<Vec<u8>>| xml.and_then(|xml| Domain::parse(&xml).ok());
    let domain = parse(
        crate::state::read_optional(&root.live_xml(name))
            .ok()
            .flatten(),
    )
    .or_else(|| parse(root.read_definition(name).ok().flatten()));
    let partition = domain
        .as_ref()
        .and_then(|d| d.resource.as_ref()?.partition.as_deref());
    let (partition, group) = CgroupPlan::place(name, partition);
    if let Some(layout) = host_layout() {
        crate::cgroup::Cgroup::sweep_stale(layout, &partition, &group)
            .map_err(LifecycleError::StaleCgroup)?;
    }
    Ok(())
}

/// The host's cgroup layout, detected once per command (`None` without a
/// cgroup filesystem: nothing to read or sweep).
pub(crate) fn host_layout() -> Option<&'static crate::cgroup::Layout> {
    static LAYOUT: std::sync::OnceLock<Option<crate::cgroup::Layout>> = std::sync::OnceLock::new();
    LAYOUT
        .get_or_init(|| crate::cgroup::Layout::detect().ok())
        .as_ref()
}
