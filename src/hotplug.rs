//! Filesystem hot-plug: mounting into (and unmounting from) a running
//! container's mount namespace with the new mount API.
//!
//! What is mounted is the plan's [`MountStep`], made by the same
//! [`crate::plan::mount_step`] a start uses.
//!
//! The source is prepared here, in domrun's own mount namespace, as a
//! detached mount: `open_tree(OPEN_TREE_CLONE)` copies a host directory;
//! `fsopen`/`fsconfig`/`fsmount` make a tmpfs, or a filesystem on a block
//! device or on an image attached to a loop device (autoclear: it detaches
//! when unmounted). Read-only is applied to the detached mount. A short-lived thread then
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

use crate::plan::{MountSource, MountStep};

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
    #[error(transparent)]
    Probe(#[from] crate::plan::fstype::ProbeError),
    #[error(
        "{what} cannot be attached live (mount, ram, block, and raw file images can; --config takes any)"
    )]
    NotLive { what: String },
    #[error("attaching {image} to a loop device: {}", .errno.desc())]
    Loop {
        image: PathBuf,
        errno: nix::errno::Errno,
    },
    #[error("{step} ({fstype} from {source_desc}): {}", .errno.desc())]
    NewFilesystem {
        step: &'static str,
        fstype: &'static str,
        source_desc: String,
        errno: nix::errno::Errno,
    },
}

/// A new superblock of `fstype` as a detached mount.
fn new_filesystem(
    fstype: &'static str,
    source: Option<&Path>,
    size: Option<u64>,
    readonly: bool,
) -> Result<OwnedFd, FsHotplugError> {
    let source_desc = source.map_or_else(|| fstype.to_owned(), |p| p.display().to_string());
    let err = |step: &'static str| {
        let source_desc = source_desc.clone();
        move |errno| FsHotplugError::NewFilesystem {
            step,
            fstype,
            source_desc,
            errno,
        }
    };
    use crate::sys::FsConfig;
    let ctx = crate::sys::fs_open(fstype).map_err(err("opening a filesystem context"))?;
    if let Some(src) = source {
        let src = src
            .to_str()
            .ok_or(nix::errno::Errno::EINVAL)
            .map_err(err("naming the source"))?;
        crate::sys::fs_config(&ctx, FsConfig::String("source", src))
            .map_err(err("setting the source"))?;
    }
    if let Some(size) = size {
        crate::sys::fs_config(&ctx, FsConfig::String("size", &size.to_string()))
            .map_err(err("setting the size"))?;
    }
    if readonly {
        crate::sys::fs_config(&ctx, FsConfig::Flag("ro")).map_err(err("setting ro"))?;
    }
    crate::sys::fs_config(&ctx, FsConfig::Create).map_err(err("creating the filesystem"))?;
    // A tmpfs is nosuid,nodev as the launcher's are; a device filesystem
    // gets no extra flags, as at start.
    let mut attrs = if source.is_some() {
        0
    } else {
        libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV
    };
    if readonly {
        attrs |= libc::MOUNT_ATTR_RDONLY;
    }
    crate::sys::fs_mount(&ctx, attrs).map_err(err("mounting"))
}

/// Carries out `step` inside the running container whose init is `pid`.
/// Missing directories of the target are created inside the container.
pub fn attach(pid: i32, step: &MountStep) -> Result<(), FsHotplugError> {
    let (target, readonly) = (step.target.as_path(), step.readonly);
    let probed = |path: &Path, given: Option<crate::plan::FsType>| match given {
        Some(fs) => Ok(fs),
        None => crate::plan::fstype::probe_path(path),
    };
    match &step.source {
        MountSource::HostBind { path } => attach_bind(pid, path, target, readonly),
        MountSource::Tmpfs { size_bytes } => {
            absolute(target)?;
            let tree = new_filesystem("tmpfs", None, *size_bytes, readonly)?;
            move_into(pid, tree, Path::new("tmpfs"), target)
        }
        MountSource::Block { device, fs } => {
            absolute(target)?;
            let fs = probed(device, *fs)?;
            let tree = new_filesystem(fs.name(), Some(device), None, readonly)?;
            move_into(pid, tree, device, target)
        }
        // A bind inside the container would need its root resolved from
        // here, and an export a daemon the monitor does not run.
        MountSource::ContainerBind { .. } => Err(FsHotplugError::NotLive {
            what: "a bind filesystem".into(),
        }),
        MountSource::ExportedImage { format, .. } => Err(FsHotplugError::NotLive {
            what: format!("a {format} image"),
        }),
        MountSource::Image { file, fs } => {
            absolute(target)?;
            let fs = probed(file, *fs)?;
            // Held until the mount holds the device; autoclear then detaches
            // it when the filesystem is unmounted.
            let loopdev =
                crate::sys::attach_loop(file, readonly).map_err(|errno| FsHotplugError::Loop {
                    image: file.to_owned(),
                    errno,
                })?;
            let tree = new_filesystem(fs.name(), Some(&loopdev.path), None, readonly)?;
            move_into(pid, tree, file, target)
        }
    }
}

/// Attaches the detached mount `tree` at `target` in the container.
fn move_into(pid: i32, tree: OwnedFd, source: &Path, target: &Path) -> Result<(), FsHotplugError> {
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
fn attach_bind(
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
    move_into(pid, tree, source, target)
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

/// Makes host device node `node` (`<hostdev mode='capabilities'
/// type='storage|misc'>`) appear at the same path inside the running
/// container: an empty file is created there and the node is bound onto it
/// (a bind works in a user namespace too, where mknod'ed nodes would not
/// open).
pub fn attach_node(pid: i32, node: &Path) -> Result<(), FsHotplugError> {
    absolute(node)?;
    let tree = crate::sys::open_tree_clone(node).map_err(|errno| FsHotplugError::OpenTree {
        source_path: node.to_owned(),
        errno,
    })?;
    in_mount_ns(pid, || {
        let make = |e: io::Error| FsHotplugError::MakeTarget {
            target: node.to_owned(),
            source: e,
        };
        if let Some(dir) = node.parent() {
            std::fs::create_dir_all(dir).map_err(make)?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(node)
            .map_err(make)?;
        crate::sys::move_mount_to(&tree, node).map_err(|errno| {
            let _ = std::fs::remove_file(node);
            FsHotplugError::Attach {
                source_path: node.to_owned(),
                target: node.to_owned(),
                errno,
            }
        })
    })
}

/// Removes a node attached with [`attach_node`]: unmounts it (refused while
/// busy) and removes the file under it.
pub fn detach_node(pid: i32, node: &Path) -> Result<(), FsHotplugError> {
    absolute(node)?;
    in_mount_ns(pid, || {
        match umount2(node, MntFlags::empty()) {
            Ok(()) => {}
            Err(nix::errno::Errno::EBUSY) => {
                return Err(FsHotplugError::Busy {
                    target: node.to_owned(),
                });
            }
            Err(nix::errno::Errno::EINVAL) => {
                return Err(FsHotplugError::NotMounted {
                    target: node.to_owned(),
                });
            }
            Err(errno) => {
                return Err(FsHotplugError::Detach {
                    target: node.to_owned(),
                    errno,
                });
            }
        }
        std::fs::remove_file(node).map_err(|e| FsHotplugError::MakeTarget {
            target: node.to_owned(),
            source: e,
        })
    })
}
