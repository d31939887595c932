//! The OCI state directory (`--root`, default [`DEFAULT_ROOT`]): one
//! record per container, written atomically, changed under the container's
//! lock. The layout reuses [`crate::state::Root`]: `locks/ID.lock`,
//! `run/ID/state.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::state::{OciState, Status};
use crate::state::{DomainLock, ProcessRef, Root, StateError, write_atomic};

/// runc's is `/run/runc`; domrun's OCI containers live apart from it.
pub const DEFAULT_ROOT: &str = "/run/domrun-oci";

/// What is stored per container: the spec's state plus init's identity,
/// so a reused pid is never taken for init.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub state: OciState,
    /// Init, once it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<ProcessRef>,
}

impl Record {
    /// The state as `state` reports it now: a container whose init has
    /// exited (even a zombie not yet reaped by the shim) is `stopped`.
    pub fn observed(&self) -> OciState {
        let mut s = self.state.clone();
        let live = matches!(s.status, Status::Created | Status::Running | Status::Paused);
        if live && !self.init.is_some_and(|p| p.is_alive()) {
            s.status = Status::Stopped;
        }
        if s.status == Status::Stopped {
            s.pid = None;
        }
        s
    }
}

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("OCI state root {root}")]
    State {
        root: PathBuf,
        #[source]
        source: StateError,
    },
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a domrun OCI state file")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("saving the state of {id}")]
    Write {
        id: String,
        #[source]
        source: crate::state::AtomicWriteError,
    },
    #[error("removing {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The state root.
#[derive(Debug, Clone)]
pub struct Store {
    root: Root,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store {
            root: Root::new(dir),
        }
    }

    /// The root directory.
    pub fn dir(&self) -> &Path {
        &self.root.dir
    }

    fn state_error(&self, source: StateError) -> StoreError {
        StoreError::State {
            root: self.root.dir.clone(),
            source,
        }
    }

    fn state_file(&self, id: &str) -> PathBuf {
        self.root.live_dir(id).join("state.json")
    }

    /// Takes container `id`'s lock (checking the id is a valid name).
    pub fn lock(&self, id: &str) -> Result<DomainLock, StoreError> {
        self.root.lock(id).map_err(|e| self.state_error(e))
    }

    /// The record of `id`, if it exists.
    pub fn read(&self, id: &str) -> Result<Option<Record>, StoreError> {
        crate::state::check_name(id).map_err(|e| self.state_error(e))?;
        let path = self.state_file(id);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StoreError::Parse { path, source })
    }

    /// Writes `record` atomically (call with the container's lock held).
    pub fn write(&self, record: &Record) -> Result<(), StoreError> {
        let id = &record.state.id;
        let dir = self.root.live_dir(id);
        let write_error = |source| StoreError::Write {
            id: id.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(|source| {
            write_error(crate::state::AtomicWriteError {
                path: dir.clone(),
                step: "creating the directory",
                source,
            })
        })?;
        let bytes = serde_json::to_vec_pretty(record).unwrap_or_default();
        write_atomic(&self.state_file(id), &bytes, 0o600).map_err(write_error)
    }

    /// Removes `id`'s state directory (a missing one is fine).
    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        let dir = self.root.live_dir(id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Remove { path: dir, source }),
        }
    }

    /// Every container id with a state directory, sorted.
    pub fn ids(&self) -> Result<Vec<String>, StoreError> {
        self.root.live_names().map_err(|e| self.state_error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::state::{OCI_VERSION, rfc3339};

    fn record(id: &str, status: Status, init: Option<ProcessRef>) -> Record {
        Record {
            state: OciState {
                oci_version: OCI_VERSION.into(),
                id: id.into(),
                status,
                pid: init.map(|p| p.pid),
                bundle: "/b".into(),
                annotations: Default::default(),
                created: rfc3339(std::time::UNIX_EPOCH),
                owner: String::new(),
            },
            init,
        }
    }

    #[test]
    fn records_round_trip_and_list() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert_eq!(store.read("a").unwrap(), None);
        let me = ProcessRef::of(std::process::id() as i32);
        let r = record("a", Status::Created, me);
        let _lock = store.lock("a").unwrap();
        store.write(&r).unwrap();
        store.write(&record("b", Status::Stopped, None)).unwrap();
        assert_eq!(store.read("a").unwrap(), Some(r.clone()));
        assert_eq!(store.ids().unwrap(), ["a", "b"]);
        // This test process is alive: the record stays `created`.
        assert_eq!(r.observed().status, Status::Created);
        store.remove("a").unwrap();
        store.remove("a").unwrap();
        assert_eq!(store.ids().unwrap(), ["b"]);
        assert!(store.read("../x").is_err());
    }

    #[test]
    fn an_exited_init_reads_as_stopped() {
        let gone = ProcessRef {
            pid: i32::MAX,
            start_time: 1,
        };
        let s = record("a", Status::Running, Some(gone)).observed();
        assert_eq!((s.status, s.pid), (Status::Stopped, None));
    }
}
