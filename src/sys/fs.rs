//! Opening and creating paths inside a container root without ever leaving it.

use std::ffi::{CStr, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::Mode;

/// Resolution used for every path inside a container: `/` and `..` stop at
/// the root, absolute symlinks are taken relative to it, and magic links
/// (/proc/PID/fd/N, which could point anywhere) are refused.
fn in_root() -> ResolveFlag {
    ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS
}

/// Opens a host directory (close-on-exec).
pub fn open_dir(path: &Path) -> nix::Result<OwnedFd> {
    nix::fcntl::open(
        path,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Opens `path` for reading, resolved inside `root`. What is inside a
/// container root is the container's: the open never blocks (a FIFO there
/// would wait for a writer) and never takes a terminal; the caller checks
/// the type before reading (`crate::input::check`).
pub fn open_in_root(root: &impl AsFd, path: &Path) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK | OFlag::O_NOCTTY)
        .resolve(in_root());
    openat2(root.as_fd(), path, how)
}

/// Opens `path` as an `O_PATH` handle, resolved inside `root`. Symlinks,
/// the last component's included, are followed as the container would see
/// them: an absolute link target is taken relative to `root`.
pub fn open_path_in_root(root: &impl AsFd, path: &Path) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(in_root());
    openat2(root.as_fd(), path, how)
}

/// Opens directory `path` for `*at` calls, resolved inside `root`.
fn open_dir_in_root(root: &impl AsFd, path: &Path) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .resolve(in_root());
    openat2(root.as_fd(), path, how)
}

/// What to create at the end of a mount target path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A directory (mounting a directory or a filesystem).
    Directory,
    /// An empty regular file (binding a file or device node).
    File,
}

/// Opens `path` inside `root` as an `O_PATH` handle, first creating missing
/// components: directories, and a `kind` at the end. Every component is
/// created relative to its parent directory, itself opened inside `root`,
/// so a symlink anywhere on the way cannot lead the creation outside.
///
/// Allocation-free (the prefixes are slices of `path`): it runs in the
/// cloned child, where the allocator's lock may be held by a thread that
/// no longer exists.
pub fn make_path_in_root(root: &impl AsFd, path: &Path, kind: TargetKind) -> nix::Result<OwnedFd> {
    match open_path_in_root(root, path) {
        Err(Errno::ENOENT) => {}
        other => return other,
    }
    let bytes = path.as_os_str().as_bytes();
    // Each component is `bytes[start..end]`; its parent is `bytes[..start]`.
    let mut start = 0;
    while start < bytes.len() {
        if bytes[start] == b'/' {
            start += 1;
            continue;
        }
        let end = bytes[start..]
            .iter()
            .position(|b| *b == b'/')
            .map_or(bytes.len(), |n| start + n);
        let name = Path::new(OsStr::from_bytes(&bytes[start..end]));
        let parent = match &bytes[..start] {
            b"" => Path::new("/"),
            prefix => Path::new(OsStr::from_bytes(prefix)),
        };
        let last = bytes[end..].iter().all(|b| *b == b'/');
        if name != Path::new(".") && name != Path::new("..") {
            let parent_dir = open_dir_in_root(root, parent)?;
            let created = if last && kind == TargetKind::File {
                let flags = OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_WRONLY
                    | OFlag::O_CLOEXEC
                    | OFlag::O_NOFOLLOW;
                nix::fcntl::openat(
                    parent_dir.as_fd(),
                    name,
                    flags,
                    Mode::from_bits_truncate(0o644),
                )
                .map(drop)
            } else {
                nix::sys::stat::mkdirat(parent_dir.as_fd(), name, Mode::from_bits_truncate(0o755))
            };
            match created {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
        }
        start = end;
    }
    open_path_in_root(root, path)
}

/// `/proc/self/fd/N` for a handle, built on the stack: mount(2) given this
/// path acts on the very file the handle holds, whatever has been renamed
/// or symlinked since.
#[derive(Debug, Clone, Copy)]
pub struct FdPath {
    /// NUL-terminated; "/proc/self/fd/" is 14 bytes, an fd at most 10 digits.
    bytes: [u8; 32],
}

impl FdPath {
    /// The path for `fd`.
    pub fn new(fd: BorrowedFd<'_>) -> Self {
        Self::for_number(fd.as_raw_fd().unsigned_abs())
    }

    fn for_number(mut n: u32) -> Self {
        const PREFIX: &[u8] = b"/proc/self/fd/";
        let mut bytes = [0u8; 32];
        bytes[..PREFIX.len()].copy_from_slice(PREFIX);
        let mut digits = [0u8; 10];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for (i, digit) in digits[..count].iter().rev().enumerate() {
            bytes[PREFIX.len() + i] = *digit;
        }
        Self { bytes }
    }

    /// The path as a C string (for nix calls, which take it without copying).
    pub fn as_c_str(&self) -> &CStr {
        // The buffer always holds a NUL after the digits; the fallback is
        // unreachable but keeps this total.
        CStr::from_bytes_until_nul(&self.bytes).unwrap_or(c"/proc/self/fd/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_path_spells_the_number() {
        for (n, text) in [
            (0, "/proc/self/fd/0"),
            (7, "/proc/self/fd/7"),
            (1234, "/proc/self/fd/1234"),
            (u32::MAX, "/proc/self/fd/4294967295"),
        ] {
            assert_eq!(FdPath::for_number(n).as_c_str().to_str(), Ok(text));
        }
        assert_eq!(
            FdPath::new(crate::sys::stdin_fd()).as_c_str().to_str(),
            Ok("/proc/self/fd/0")
        );
    }

    #[test]
    fn creates_nested_targets_inside_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("etc")).expect("etc");
        std::os::unix::fs::symlink("/etc", dir.path().join("mnt")).expect("symlink");
        let root = open_dir(dir.path()).expect("root");
        make_path_in_root(&root, Path::new("/mnt/x/y"), TargetKind::Directory).expect("dirs");
        assert!(dir.path().join("etc/x/y").is_dir());
        make_path_in_root(&root, Path::new("//a/./b//file"), TargetKind::File).expect("file");
        assert!(dir.path().join("a/b/file").is_file());
        // Climbing out with .. stays at the root.
        make_path_in_root(&root, Path::new("/../../escape"), TargetKind::Directory)
            .expect("dotdot");
        assert!(dir.path().join("escape").is_dir());
    }
}
