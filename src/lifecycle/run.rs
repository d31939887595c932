//! `domrun run FILE`: load, plan and launch in this process, which stays
//! the domain's foreground supervisor.

use super::live_state;
use crate::domain::{Domain, LoadError, LoadOptions};
use crate::launch::{ExitStatusCode, ForegroundOptions, InitFamily, LaunchError};
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
/// launcher (supervised as `options` says), a VM through its backend.
/// Returns the domain's exit status (init's, or 128+N when it was killed by
/// signal N; 0 for a poweroff inside a system container).
pub fn run_foreground(
    root: &Root,
    file: &Path,
    load: LoadOptions,
    options: &ForegroundOptions,
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
    let plan =
        plan_from_domain(&domain, &Sources::for_root(root)).map_err(|source| RunError::Plan {
            file: file.to_owned(),
            source,
        })?;
    let options = ForegroundOptions {
        init_family: InitFamily::chosen_by(&domain),
        ..*options
    };
    crate::launch::run_foreground_with(&plan, &options).map_err(|source| RunError::Launch {
        name: domain.name.clone(),
        source,
    })
}
