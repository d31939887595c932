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
        let parent_dir = open_dir_in_root(root, &so_far)?;
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

/// `/proc/self/fd/N` for a handle: mount(2) given this path acts on the very
/// file the handle holds, whatever has been renamed or symlinked since.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}
