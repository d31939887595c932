//! Where domrun keeps things, and how it changes them safely.
//!
//! ```text
//! <root>/domains/NAME.xml          persistent definition (inactive XML)
//! <root>/domains/NAME.autostart    autostart mark (empty file; not in the XML)
//! <root>/domains/NAME.id           an explicitly requested id (OpenVZ VEID)
//! <root>/locks/NAME.lock           flock held by every command changing NAME
//! <root>/locks/.ids.lock           flock held while an id is allocated and recorded
//! <root>/run/NAME/state.json       live state of a running domain
//! <root>/run/NAME/control.sock     the domain's monitor socket
//! <root>/run/NAME/domain.xml       the live XML (id, resolved values)
//! <root>/log/NAME.log              the monitor's log (kept after it exits)
//! <root>/templates/, <root>/layers/ templates and per-domain writable layers
//! ```
//!
//! `--root DIR` (or `DOMRUN_ROOT`) relocates everything; the default is
//! `/var/lib/domrun`. Every file is written atomically (temp file, fsync,
//! rename, fsync of the directory) and every change to a domain happens under
//! its lock, so two concurrent `start`s start it once.

mod files;
mod live;
mod sources;

pub use files::{AtomicWriteError, write_atomic};
pub use live::{LiveState, ProcessRef};

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// The default state root.
pub const DEFAULT_ROOT: &str = "/var/lib/domrun";

/// A state-layer failure, with the path involved.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] AtomicWriteError),
    #[error("locking {path}: {source}")]
    Lock {
        path: PathBuf,
        source: nix::errno::Errno,
    },
    #[error("'{0}' is not a valid domain name (letters, digits, '.', '-', '_'; at most 64)")]
    BadName(String),
    #[error("{path}: corrupt live state: {message}")]
    Corrupt { path: PathBuf, message: String },
    /// A state file refused or unreadable (not a regular file, too large).
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
}

impl StateError {
    /// The state root cannot be written by this user (not a damaged state).
    pub fn is_permission(&self) -> bool {
        use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem};
        match self {
            StateError::Io { source, .. } | StateError::Write(AtomicWriteError { source, .. }) => {
                matches!(source.kind(), PermissionDenied | ReadOnlyFilesystem)
            }
            StateError::Lock { source, .. } => {
                use nix::errno::Errno;
                matches!(source, Errno::EACCES | Errno::EPERM | Errno::EROFS)
            }
            _ => false,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A domain name usable as a file name: what `define` and `create` accept.
pub fn check_name(name: &str) -> Result<(), StateError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(StateError::BadName(name.to_owned()))
    }
}

/// The state root and the paths under it.
#[derive(Debug, Clone)]
pub struct Root {
    pub dir: PathBuf,
    /// `dir/networks` and the template store under `dir`, kept so a plan's
    /// [`crate::plan::Sources`] can borrow them (see `sources.rs`).
    networks: PathBuf,
    templates: crate::template::StoreProvider,
}

/// A held per-domain lock; released on drop.
#[derive(Debug)]
pub struct DomainLock {
    lock: Flock<File>,
}

impl DomainLock {
    /// The lock file's descriptor (a forked monitor closes its copy without
    /// unlocking: flock locks belong to the open file, shared by both).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&*self.lock)
    }
}

impl Root {
    pub fn new(dir: impl Into<PathBuf>) -> Root {
        let dir = dir.into();
        let networks = dir.join("networks");
        let templates = crate::template::StoreProvider { root: dir.clone() };
        Root {
            dir,
            networks,
            templates,
        }
    }

    pub fn domains_dir(&self) -> PathBuf {
        self.dir.join("domains")
    }

    /// Named networks for `<interface type='network'>`: `NAME.conf` files
    /// (see `docs/networking.md`).
    pub fn networks_dir(&self) -> PathBuf {
        self.networks.clone()
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }

    pub fn definition(&self, name: &str) -> PathBuf {
        self.domains_dir().join(format!("{name}.xml"))
    }

    pub fn autostart_mark(&self, name: &str) -> PathBuf {
        self.domains_dir().join(format!("{name}.autostart"))
    }

    pub fn wanted_id_file(&self, name: &str) -> PathBuf {
        self.domains_dir().join(format!("{name}.id"))
    }

    pub fn live_dir(&self, name: &str) -> PathBuf {
        self.run_dir().join(name)
    }

    pub fn live_state(&self, name: &str) -> PathBuf {
        self.live_dir(name).join("state.json")
    }

    pub fn live_xml(&self, name: &str) -> PathBuf {
        self.live_dir(name).join("domain.xml")
    }

    /// The monitor's log: outside the live directory, so it survives it.
    pub fn monitor_log(&self, name: &str) -> PathBuf {
        self.dir.join("log").join(format!("{name}.log"))
    }

    pub fn control_socket(&self, name: &str) -> PathBuf {
        self.live_dir(name).join("control.sock")
    }

    /// Takes the domain's lock, waiting for another command to finish.
    pub fn lock(&self, name: &str) -> Result<DomainLock, StateError> {
        check_name(name)?;
        self.lock_file(&format!("{name}.lock"))
    }

    /// Takes the lock every id allocation holds from choosing an id until
    /// the live state carrying it is written, so two domains starting at
    /// once never get the same id. Its file name starts with '.', which no
    /// domain name does.
    pub(crate) fn ids_lock(&self) -> Result<DomainLock, StateError> {
        self.lock_file(".ids.lock")
    }

    fn lock_file(&self, file_name: &str) -> Result<DomainLock, StateError> {
        let dir = self.dir.join("locks");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join(file_name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, source)| StateError::Lock { path, source })?;
        Ok(DomainLock { lock })
    }

    /// Takes the domain's lock if it is free; `None` when another command
    /// holds it.
    pub fn try_lock(&self, name: &str) -> Result<Option<DomainLock>, StateError> {
        check_name(name)?;
        let path = self.dir.join("locks").join(format!("{name}.lock"));
        let file = match OpenOptions::new().write(true).open(&path) {
            Ok(f) => f,
            // No lock file: nobody ever locked it; take it the normal way.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return self.lock(name).map(Some),
            Err(e) => return Err(io(&path)(e)),
        };
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Some(DomainLock { lock })),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, source)) => Err(StateError::Lock { path, source }),
        }
    }

    /// Names of every defined domain, sorted. Reads file names only.
    pub fn defined_names(&self) -> Result<Vec<String>, StateError> {
        names_in(&self.domains_dir(), ".xml")
    }

    /// Names with a live-state directory (running, or stale after a crash).
    pub fn live_names(&self) -> Result<Vec<String>, StateError> {
        let mut names = Vec::new();
        let dir = self.run_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
            Err(e) => return Err(io(&dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io(&dir))?;
            if let Some(n) = entry.file_name().to_str()
                && check_name(n).is_ok()
            {
                names.push(n.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Stores a definition (the caller formats it inactive).
    pub fn save_definition(&self, name: &str, xml: &str) -> Result<(), StateError> {
        check_name(name)?;
        Ok(write_atomic(&self.definition(name), xml.as_bytes(), 0o600)?)
    }

    /// Reads a stored definition; `None` when not defined.
    pub fn read_definition(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        check_name(name)?;
        read_optional(&self.definition(name))
    }

    /// Deletes a definition and its autostart mark.
    pub fn remove_definition(&self, name: &str) -> Result<bool, StateError> {
        check_name(name)?;
        remove_optional(&self.autostart_mark(name))?;
        remove_optional(&self.wanted_id_file(name))?;
        let removed = remove_optional(&self.definition(name))?;
        files::sync_dir(&self.domains_dir()).map_err(io(&self.domains_dir()))?;
        Ok(removed)
    }

    pub fn is_autostart(&self, name: &str) -> bool {
        self.autostart_mark(name).exists()
    }

    pub fn set_autostart(&self, name: &str, on: bool) -> Result<(), StateError> {
        check_name(name)?;
        let mark = self.autostart_mark(name);
        if on {
            write_atomic(&mark, b"", 0o600)?;
        } else {
            remove_optional(&mark)?;
        }
        Ok(())
    }
}

fn names_in(dir: &Path, suffix: &str) -> Result<Vec<String>, StateError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let file_name = entry.file_name();
        if let Some(n) = file_name.to_str().and_then(|f| f.strip_suffix(suffix))
            && check_name(n).is_ok()
        {
            names.push(n.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// A state file's bytes, `None` when it does not exist. Bounded and typed
/// like every input: a link, a FIFO or a file over the document limit in
/// the state root is refused, not followed or waited on.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    use crate::input::{DOCUMENT_LIMIT, Links, read_file};
    match read_file(path, Links::Refuse, DOCUMENT_LIMIT) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn remove_optional(path: &Path) -> Result<bool, StateError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_and_autostart_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path());
        assert!(root.defined_names().unwrap().is_empty());
        root.save_definition("web", "<domain/>").unwrap();
        root.save_definition("db", "<domain/>").unwrap();
        assert_eq!(root.defined_names().unwrap(), ["db", "web"]);
        root.set_autostart("web", true).unwrap();
        assert!(root.is_autostart("web"));
        assert!(root.remove_definition("web").unwrap());
        assert!(!root.is_autostart("web"));
        assert_eq!(root.read_definition("web").unwrap(), None);
        assert!(matches!(
            root.save_definition("../x", ""),
            Err(StateError::BadName(_))
        ));
    }

    #[test]
    fn lock_excludes_a_second_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path());
        let held = root.lock("web").unwrap();
        let path = tmp.path().join("locks/web.lock");
        let f = File::open(&path).unwrap();
        assert!(Flock::lock(f, FlockArg::LockExclusiveNonblock).is_err());
        drop(held);
        let f = File::open(&path).unwrap();
        assert!(Flock::lock(f, FlockArg::LockExclusiveNonblock).is_ok());
    }
}
