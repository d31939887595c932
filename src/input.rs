//! The one way domrun reads a file it does not control: bounded before a byte
//! is read.
//!
//! Every such file (a domain document, a device fragment, template meta, a
//! recipe, a `data:` URI's file, an xl.cfg, a network conf, a state file, a
//! container's /etc/passwd) goes through [`open`] + [`check`]:
//! - the open never blocks (`O_NONBLOCK`: a FIFO's open would wait for a
//!   writer) and never takes a controlling terminal (`O_NOCTTY`);
//! - `fstat` first: anything but a regular file (FIFO, socket, device,
//!   directory) is refused by type, so `/dev/zero` or a planted FIFO is a
//!   clear error at once instead of an endless read or a hang;
//! - a size over the caller's limit is refused before reading;
//! - the read itself stops at limit + 1 bytes, so a file that grows after
//!   the `fstat` is still bounded (and still refused).

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, SFlag, fstat};

/// Largest domain document or device fragment: the XML reader's own limit,
/// checked here before the file is read rather than after.
pub const DOCUMENT_LIMIT: u64 = crate::xml::Limits::DEFAULT_MAX_BYTES as u64;

/// Largest small configuration file: template meta, recipes, network confs,
/// state files, xl.cfg. Real ones are a few kilobytes.
pub const CONFIG_LIMIT: u64 = 4 << 20;

/// Whether the last component of a path may be a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow it (a path the operator gave on the command line).
    Follow,
    /// Refuse it (`O_NOFOLLOW`: files in domrun's own directories, where a
    /// link can only have been planted).
    Refuse,
}

/// What a refused non-regular file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Directory,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Symlink,
    Unknown,
}

/// `st_mode` file types and their names, one table for both directions.
const FILE_KINDS: &[(SFlag, FileKind, &str)] = &[
    (SFlag::S_IFDIR, FileKind::Directory, "directory"),
    (SFlag::S_IFIFO, FileKind::Fifo, "FIFO"),
    (SFlag::S_IFSOCK, FileKind::Socket, "socket"),
    (SFlag::S_IFCHR, FileKind::CharDevice, "character device"),
    (SFlag::S_IFBLK, FileKind::BlockDevice, "block device"),
    (SFlag::S_IFLNK, FileKind::Symlink, "symbolic link"),
];

impl FileKind {
    fn of(file_type: SFlag) -> FileKind {
        FILE_KINDS
            .iter()
            .find(|(t, _, _)| *t == file_type)
            .map_or(FileKind::Unknown, |(_, k, _)| *k)
    }

    pub fn as_str(self) -> &'static str {
        FILE_KINDS
            .iter()
            .find(|(_, k, _)| *k == self)
            .map_or("file of unknown type", |(_, _, name)| name)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: cannot stat: {source}")]
    Stat {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: is a {kind}, not a regular file (only regular files are read)")]
    NotRegular { path: PathBuf, kind: FileKind },
    #[error("{path}: is {size} bytes or more, over the limit of {limit} bytes")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: not UTF-8 text: {source}")]
    NotUtf8 {
        path: PathBuf,
        #[source]
        source: std::string::FromUtf8Error,
    },
}

impl InputError {
    /// True when the file does not exist (callers for which a missing file
    /// means "none" test this rather than matching on the error).
    pub fn is_not_found(&self) -> bool {
        matches!(self, InputError::Open { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            InputError::Open { path, .. }
            | InputError::Stat { path, .. }
            | InputError::NotRegular { path, .. }
            | InputError::TooLarge { path, .. }
            | InputError::Read { path, .. }
            | InputError::NotUtf8 { path, .. } => path,
        }
    }
}

/// Opens `path` for reading without blocking (a FIFO's open returns at once)
/// and without taking a terminal; nothing is read yet.
pub fn open(path: &Path, links: Links) -> Result<File, InputError> {
    let mut flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    if links == Links::Refuse {
        flags |= OFlag::O_NOFOLLOW;
    }
    nix::fcntl::open(path, flags, Mode::empty())
        .map(File::from)
        .map_err(|e| InputError::Open {
            path: path.to_owned(),
            source: e.into(),
        })
}

/// A checked file: a regular file no larger than `limit`, wrapped so that
/// no more than `limit + 1` bytes can come out of it (one more than allowed,
/// so a file that grew is noticed). Returns the reader and the size `fstat`
/// saw. `fd` may come from anywhere (`openat2` in a container root); it
/// should have been opened with `O_NONBLOCK` if a container controls it.
pub fn check(
    fd: impl Into<OwnedFd>,
    path: &Path,
    limit: u64,
) -> Result<(io::Take<File>, u64), InputError> {
    let file = File::from(fd.into());
    let st = fstat(&file).map_err(|e| InputError::Stat {
        path: path.to_owned(),
        source: e.into(),
    })?;
    let file_type = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    if file_type != SFlag::S_IFREG {
        return Err(InputError::NotRegular {
            path: path.to_owned(),
            kind: FileKind::of(file_type),
        });
    }
    let size = u64::try_from(st.st_size).unwrap_or(0);
    if size > limit {
        return Err(too_large(path, size, limit));
    }
    Ok((file.take(limit.saturating_add(1)), size))
}

fn too_large(path: &Path, size: u64, limit: u64) -> InputError {
    InputError::TooLarge {
        path: path.to_owned(),
        size,
        limit,
    }
}

/// Reads a checked reader to its end, refusing it when it yields more than
/// `limit` bytes (the file grew after the `fstat`).
pub fn read_checked(
    mut reader: io::Take<File>,
    size: u64,
    path: &Path,
    limit: u64,
) -> Result<Vec<u8>, InputError> {
    // The fstat size is at most `limit`, so this reservation is bounded.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| InputError::Read {
            path: path.to_owned(),
            source,
        })?;
    let read = bytes.len() as u64;
    if read > limit {
        return Err(too_large(path, read, limit));
    }
    Ok(bytes)
}

/// Reads a whole regular file of at most `limit` bytes.
pub fn read_file(path: &Path, links: Links, limit: u64) -> Result<Vec<u8>, InputError> {
    let file = open(path, links)?;
    let (reader, size) = check(file, path, limit)?;
    read_checked(reader, size, path, limit)
}

/// Reads a whole regular UTF-8 text file of at most `limit` bytes.
pub fn read_text(path: &Path, links: Links, limit: u64) -> Result<String, InputError> {
    let bytes = read_file(path, links, limit)?;
    String::from_utf8(bytes).map_err(|source| InputError::NotUtf8 {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, "hello").expect("write");
        assert_eq!(read_text(&p, Links::Refuse, 5).expect("read"), "hello");
    }

    #[test]
    fn refuses_devices_fifos_and_directories_by_type() {
        let err = read_file(Path::new("/dev/zero"), Links::Follow, 10).unwrap_err();
        assert!(
            matches!(
                err,
                InputError::NotRegular {
                    kind: FileKind::CharDevice,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "/dev/zero: is a character device, not a regular file (only regular files are read)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).expect("mkfifo");
        // No writer: a blocking open would hang here.
        let err = read_file(&fifo, Links::Follow, 10).unwrap_err();
        assert!(
            matches!(
                err,
                InputError::NotRegular {
                    kind: FileKind::Fifo,
                    ..
                }
            ),
            "{err}"
        );
        let err = read_file(dir.path(), Links::Follow, 10).unwrap_err();
        assert!(
            matches!(
                err,
                InputError::NotRegular {
                    kind: FileKind::Directory,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn refuses_oversized_files_before_reading() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("sparse");
        let f = File::create(&p).expect("create");
        f.set_len(1 << 40).expect("sparse 1 TiB");
        let err = read_file(&p, Links::Follow, 1 << 20).unwrap_err();
        assert!(
            matches!(err, InputError::TooLarge { size, .. } if size == 1 << 40),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_grows_is_still_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, "12345").expect("write");
        let (reader, size) = check(open(&p, Links::Follow).expect("open"), &p, 8).expect("check");
        std::fs::write(&p, "0123456789abcdef").expect("grow");
        let err = read_checked(reader, size, &p, 8).unwrap_err();
        assert!(matches!(err, InputError::TooLarge { size: 9, .. }), "{err}");
    }

    #[test]
    fn refuses_a_symlink_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("t");
        std::fs::write(&target, "x").expect("write");
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(read_file(&link, Links::Follow, 10).is_ok());
        assert!(matches!(
            read_file(&link, Links::Refuse, 10),
            Err(InputError::Open { .. })
        ));
        assert!(
            read_file(&dir.path().join("missing"), Links::Follow, 10)
                .unwrap_err()
                .is_not_found()
        );
    }
}
