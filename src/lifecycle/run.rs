//! `domrun run FILE`: load, plan and launch in this process, which stays
//! the domain's foreground supervisor.

use super::live_state;
use crate::domain::{Domain, LoadError, LoadOptions};
use crate::launch::{ExitStatusCode, LaunchError};
use crate::plan::{FromDomainError, Sources, plan_from_domain};
use crate::state::Root;
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

/// Runs the domain in `file` in the foreground: a container through the
/// launcher, a VM through its backend. Returns the domain's exit status
/// (init's, or 128+N when it was killed by signal N).
pub fn run_foreground(
    root: &Root,
    file: &Path,
    load: LoadOptions,
) -> Result<ExitStatusCode, RunError> {
    run_foreground_with(root, file, load, RunOptions::default())
}

/// How `domrun run` runs a domain, beyond the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Where the container's cgroup goes (`--cgroup`).
    pub cgroup: crate::generate::CgroupMode,
}

/// [`run_foreground`] with options.
pub fn run_foreground_with(
    root: &Root,
    file: &Path,
    load: LoadOptions,
    options: RunOptions,
) -> Result<ExitStatusCode, RunError> {
    let domain = Domain::load_with(file, load)?;
    // One domain, one instance: a domain running under a monitor is not
    // started a second time in the foreground.
    if let Ok(Some(live)) = live_state(root, &domain.name) {
        return Err(RunError::AlreadyRunning {
            name: domain.name,
            id: live.id,
        });
    }
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
    crate::launch::run_foreground(&plan).map_err(|source| RunError::Launch {
        name: domain.name.clone(),
        source,
    })
}
