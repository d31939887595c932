//! Filesystem hot-plug: mounting into (and unmounting from) a running
//! container's mount namespace with the new mount API.
//!
//! The source is prepared here, in domrun's own mount namespace:
//! `open_tree(OPEN_TREE_CLONE)` makes a detached copy of a host directory
//! (read-only with `mount_setattr` when asked). A short-lived thread then
//! leaves the process's shared filesystem context (`unshare(CLONE_FS)`),
//! enters the container's mount namespace (`setns`; its root becomes the
//! container's root, so every path below resolves inside the container),
//! creates the target directory and attaches the tree there with
//! `move_mount`. Nothing propagates back: the container's mounts are private.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, umount2};
use nix::sched::{CloneFlags, setns, unshare};

/// A filesystem hot-plug step that failed.
#[derive(Debug, thiserror::Error)]
pub enum FsHotplugError {
    #[error("opening the mount namespace of process {pid}: {source}")]
    OpenNamespace { pid: i32, source: io::Error },
    #[error("cloning the mount tree of {source_path}: {}", .errno.desc())]
    OpenTree {
        source_path: PathBuf,
        errno: nix::errno::Errno,
    },
    #[error("making the mount of {source_path} read-only: {}", .errno.desc())]
    ReadOnly {
        source_path: PathBuf,
        errno: nix::errno::Errno,
    },
    #[error("entering the container's mount namespace: {}", .0.desc())]
    Enter(nix::errno::Errno),
    #[error("creating {target} in the container: {source}")]
    MakeTarget { target: PathBuf, source: io::Error },
    #[error("mounting {source_path} on {target} in the container: {}", .errno.desc())]
    Attach {
        source_path: PathBuf,
        target: PathBuf,
        errno: nix::errno::Errno,
    },
    #[error("{target} is busy in the container (a process uses it): not unmounted")]
    Busy { target: PathBuf },
    #[error("{target} is not a mount point in the container")]
    NotMounted { target: PathBuf },
    #[error("unmounting {target} in the container: {}", .errno.desc())]
    Detach {
        target: PathBuf,
        errno: nix::errno::Errno,
    },
    #[error("container paths must be absolute: {0}")]
    NotAbsolute(PathBuf),
}

/// Runs `f` on a thread inside the mount namespace of `pid`.
fn in_mount_ns<T: Send>(
    pid: i32,
    f: impl FnOnce() -> Result<T, FsHotplugError> + Send,
) -> Result<T, FsHotplugError> {
    let ns: OwnedFd = std::fs::File::open(format!("/proc/{pid}/ns/mnt"))
        .map_err(|source| FsHotplugError::OpenNamespace { pid, source })?
        .into();
    std::thread::scope(|s| {
        s.spawn(move || {
            // setns into a mount namespace needs a private fs context.
            unshare(CloneFlags::CLONE_FS).map_err(FsHotplugError::Enter)?;
            setns(ns.as_fd(), CloneFlags::CLONE_NEWNS).map_err(FsHotplugError::Enter)?;
            f()
        })
        .join()
        .unwrap_or(Err(FsHotplugError::Enter(nix::errno::Errno::ECHILD)))
    })
}

fn absolute(target: &Path) -> Result<(), FsHotplugError> {
    if target.is_absolute() {
        Ok(())
    } else {
        Err(FsHotplugError::NotAbsolute(target.to_owned()))
    }
}

/// Binds host directory `source` at `target` inside the running container
/// whose init is `pid` (recursively; read-only when asked). Missing
/// directories of `target` are created inside the container.
pub fn attach_bind(
    pid: i32,
    source: &Path,
    target: &Path,
    readonly: bool,
) -> Result<(), FsHotplugError> {
    absolute(target)?;
    let tree = crate::sys::open_tree_clone(source).map_err(|errno| FsHotplugError::OpenTree {
        source_path: source.to_owned(),
        errno,
    })?;
    if readonly {
        crate::sys::set_mount_readonly(&tree, true).map_err(|errno| FsHotplugError::ReadOnly {
            source_path: source.to_owned(),
            errno,
        })?;
    }
    in_mount_ns(pid, || {
        std::fs::create_dir_all(target).map_err(|e| FsHotplugError::MakeTarget {
            target: target.to_owned(),
            source: e,
        })?;
        crate::sys::move_mount_to(&tree, target).map_err(|errno| FsHotplugError::Attach {
            source_path: source.to_owned(),
            target: target.to_owned(),
            errno,
        })
    })
}

/// Unmounts `target` inside the running container whose init is `pid`;
/// refuses (and leaves it) when it is busy.
pub fn detach(pid: i32, target: &Path) -> Result<(), FsHotplugError> {
    absolute(target)?;
    in_mount_ns(pid, || match umount2(target, MntFlags::empty()) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EBUSY) => Err(FsHotplugError::Busy {
            target: target.to_owned(),
        }),
        Err(nix::errno::Errno::EINVAL) => Err(FsHotplugError::NotMounted {
            target: target.to_owned(),
        }),
        Err(errno) => Err(FsHotplugError::Detach {
            target: target.to_owned(),
            errno,
        }),
    })
}
