//! `domrun run FILE`: load, plan and launch in this process, which stays
//! the domain's foreground supervisor.

use super::{LifecycleError, live_state_locked};
use crate::domain::{Domain, LoadError, LoadOptions};
use crate::launch::{ExitStatusCode, ForegroundOptions, InitFamily, LaunchError};
use crate::plan::{FromDomainError, Sources, plan_from_domain};
use crate::state::{LiveState, ProcessRef, Root};
use crate::vm::VmError;
use std::path::{Path, PathBuf};

/// Why `domrun run` could not run the domain (its exit status is
/// [`RunError::exit_code`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("domain '{name}' is already running (id {id}, started with `domrun start`)")]
    AlreadyRunning { name: String, id: u32 },
    #[error("{}: {source}", .file.display())]
    Plan {
        file: PathBuf,
        #[source]
        source: FromDomainError,
    },
    #[error("{name}: {source}")]
    Launch {
        name: String,
        #[source]
        source: LaunchError,
    },
    #[error("{name}: {source}")]
    Inherit {
        name: String,
        #[source]
        source: crate::generate::InheritError,
    },
    #[error("{name}: {source}")]
    Vm {
        name: String,
        #[source]
        source: VmError,
    },
    #[error("{name}: recording the live state: {source}")]
    Record {
        name: String,
        #[source]
        source: Box<LifecycleError>,
    },
}

impl RunError {
    /// 127 when init was not found, 126 when it could not be executed, 125
    /// for every other set-up failure.
    pub fn exit_code(&self) -> ExitStatusCode {
        match self {
            RunError::Launch { source, .. } => source.exit_code(),
            _ => ExitStatusCode::SETUP_FAILED,
        }
    }
}

/// How `domrun run` runs a domain, beyond the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Where the container's cgroup goes (`--cgroup`).
    pub cgroup: crate::generate::CgroupMode,
    /// How the launcher supervises init (`--stop-timeout`, the init family).
    pub foreground: ForegroundOptions,
}

/// Runs the domain in `file` in the foreground: a container through the
/// launcher (supervised as `options` says), a VM through its backend.
/// Returns the domain's exit status (init's, or 128+N when it was killed by
/// signal N; 0 for a poweroff inside a system container).
///
/// The domain is recorded like a monitor's (`run/NAME/`, with this process
/// as its supervisor and `foreground` set) before anything is created, and
/// the record is removed when it ends: a `run` killed at any point leaves a
/// stale record, which the next command touching the domain (or `list`)
/// sweeps with the domain's cgroup.
///
/// Only containers are recorded (a VM run in the foreground owns no cgroup
/// of domrun's). A state root this user cannot write (an unprivileged user
/// and the default root) costs the record, not the run: one line says so.
pub fn run_foreground(
    root: &Root,
    file: &Path,
    load: LoadOptions,
    options: &RunOptions,
) -> Result<ExitStatusCode, RunError> {
    let mut domain = Domain::load_with(file, load)?;
    if !domain.kind.is_container() {
        if let Ok(Some(live)) = super::live_state(root, &domain.name) {
            return Err(RunError::AlreadyRunning {
                name: domain.name,
                id: live.id,
            });
        }
        return run_recorded(root, file, domain, options);
    }
    match record(root, &mut domain) {
        Ok(()) => {}
        Err(RunError::Record { name, source }) if source.is_permission() => {
            eprintln!(
                "domrun: {name}: not recorded under {}: {source} (a killed run would leave its cgroup)",
                root.dir.display()
            );
            return run_recorded(root, file, domain, options);
        }
        Err(e) => return Err(e),
    }
    let name = domain.name.clone();
    let result = run_recorded(root, file, domain, options);
    let _ = root.remove_live(&name);
    result
}

/// Records `domain` as running in the foreground (id chosen under the ids
/// lock), under its lock: one domain, one instance, whether it runs under
/// a monitor or another `run`. Fills the id in, and writes the live XML
/// (its partition is what a sweep needs).
fn record(root: &Root, domain: &mut Domain) -> Result<(), RunError> {
    let name = domain.name.clone();
    let failed = |source: LifecycleError| RunError::Record {
        name: name.clone(),
        source: Box::new(source),
    };
    crate::state::check_name(&name).map_err(|e| failed(e.into()))?;
    let lock = root.lock(&name).map_err(|e| failed(e.into()))?;
    if let Some(live) = live_state_locked(root, &name, &lock).map_err(failed)? {
        return Err(RunError::AlreadyRunning { name, id: live.id });
    }
    let me = std::process::id() as i32;
    let state = LiveState {
        name: name.clone(),
        uuid: domain.uuid.map(|u| u.to_string()).unwrap_or_default(),
        id: 0,
        monitor: ProcessRef::of(me).unwrap_or(ProcessRef {
            pid: me,
            start_time: 0,
        }),
        init: None,
        started_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        persistent: root.read_definition(&name).ok().flatten().is_some(),
        owned: Vec::new(),
        foreground: true,
    };
    let id = root
        .record_starting(state, domain.id)
        .map_err(|e| failed(e.into()))?;
    domain.id = Some(id);
    crate::state::write_atomic(&root.live_xml(&name), domain.format().as_bytes(), 0o600)
        .map_err(|e| failed(crate::state::StateError::from(e).into()))
}

fn run_recorded(
    root: &Root,
    file: &Path,
    domain: Domain,
    options: &RunOptions,
) -> Result<ExitStatusCode, RunError> {
    if !domain.kind.is_container() {
        return crate::vm::run_foreground(&domain)
            .map(ExitStatusCode)
            .map_err(|source| RunError::Vm {
                name: domain.name.clone(),
                source,
            });
    }
    let mut plan =
        plan_from_domain(&domain, &Sources::for_root(root)).map_err(|source| RunError::Plan {
            file: file.to_owned(),
            source,
        })?;
    let inherited = crate::generate::inherited_partition(options.cgroup, super::host_layout())
        .map_err(|source| RunError::Inherit {
            name: domain.name.clone(),
            source,
        })?;
    if let Some(partition) = inherited {
        plan.cgroup = plan.cgroup.map(|c| c.under(partition));
    }
    let foreground = ForegroundOptions {
        init_family: InitFamily::chosen_by(&domain),
        ..options.foreground
    };
    crate::launch::run_foreground_with(&plan, &foreground).map_err(|source| RunError::Launch {
        name: domain.name.clone(),
        source,
    })
}
