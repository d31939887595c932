//! Atomic file replacement: a reader sees the old file or the new one, never
//! a torn one, and after a crash the new one is either fully there or absent.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// An atomic write that failed, at the step that failed.
#[derive(Debug, thiserror::Error)]
#[error("writing {path}: {step}: {source}")]
pub struct AtomicWriteError {
    pub path: PathBuf,
    pub step: &'static str,
    pub source: std::io::Error,
}

/// fsync of a directory, so a rename in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replaces `path` with `data` (mode `mode`): temp file in the same
/// directory, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), AtomicWriteError> {
    let err = |step: &'static str| {
        move |source| AtomicWriteError {
            path: path.to_owned(),
            step,
            source,
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err("creating the directory"))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(err("creating the temporary file"))?;
    let result = f
        .write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(err("writing the temporary file"))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(err("renaming into place")));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir).map_err(err("syncing the directory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("sub/a.json");
        write_atomic(&p, b"one", 0o600).unwrap();
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let entries: Vec<_> = std::fs::read_dir(tmp.path().join("sub")).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }
}
