//! Opening and creating paths inside a container root without ever leaving it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

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

/// Opens `path` for reading, resolved inside `root`.
pub fn open_in_root(root: &impl AsFd, path: &Path) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .resolve(in_root());
    openat2(root.as_fd(), path, how)
}

/// Opens `path` as an `O_PATH` handle, resolved inside `root`. The final
/// component is not followed if it is a symlink (a mount would then land on
/// the link's target, which the caller did not name).
pub fn open_path_in_root(root: &impl AsFd, path: &Path) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
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
/// created relative to the handle of its parent, itself resolved inside
/// `root`, so a symlink anywhere on the way cannot lead the creation outside.
pub fn make_path_in_root(root: &impl AsFd, path: &Path, kind: TargetKind) -> nix::Result<OwnedFd> {
    match open_path_in_root(root, path) {
        Err(Errno::ENOENT) => {}
        other => return other,
    }
    let mut so_far = PathBuf::from("/");
    let names: Vec<_> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        let parent = open_path_in_root(root, &so_far)?;
        let parent_dir = reopen_dir(&parent)?;
        so_far.push(name);
        let last = i + 1 == names.len();
        let result = if last && kind == TargetKind::File {
            nix::fcntl::openat(
                parent_dir.as_fd(),
                *name,
                OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_WRONLY
                    | OFlag::O_CLOEXEC
                    | OFlag::O_NOFOLLOW,
                Mode::from_bits_truncate(0o644),
            )
            .map(drop)
        } else {
            nix::sys::stat::mkdirat(parent_dir.as_fd(), *name, Mode::from_bits_truncate(0o755))
        };
        match result {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
    }
    open_path_in_root(root, path)
}

/// Turns an `O_PATH` directory handle into one usable with `*at` calls that
/// create entries.
fn reopen_dir(handle: &OwnedFd) -> nix::Result<OwnedFd> {
    nix::fcntl::openat(
        handle.as_fd(),
        ".",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// `/proc/self/fd/N` for a handle: mount(2) given this path acts on the very
/// file the handle holds, whatever has been renamed or symlinked since.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}
