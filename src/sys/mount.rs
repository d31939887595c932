//! mount_setattr, open_tree, move_mount and close_range.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

/// Makes the mount `fd` refers to read-only, without touching the filesystem
/// (other mounts of it keep their mode). With `recursive`, every mount below
/// it too. Acts on this mount namespace only: nothing propagates to the host
/// because the launcher's mounts are private.
pub fn set_mount_readonly(fd: &impl AsFd, recursive: bool) -> nix::Result<()> {
    let mut attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH;
    if recursive {
        flags |= libc::AT_RECURSIVE;
    }
    // SAFETY: the path is a valid NUL-terminated empty string (AT_EMPTY_PATH:
    // act on the fd itself), `attr` is a valid mount_attr that outlives the
    // call, and its exact size is passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_fd().as_raw_fd(),
            c"".as_ptr(),
            flags as libc::c_uint,
            &mut attr as *mut libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    Errno::result(ret).map(drop)
}

/// Marks every fd from `first` up close-on-exec. They stay usable until exec
/// (the child still needs its sync socket to report an exec failure), and
/// none of them reaches init.
pub fn close_fds_on_exec(first: u32) -> nix::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on fds; it
    // closes nothing, so no OwnedFd in this process is invalidated.
    let ret =
        unsafe { libc::close_range(first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_int) };
    Errno::result(ret).map(drop)
}

fn c_path(path: &Path) -> nix::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

/// A detached copy of the mount tree at `path` (`open_tree` with
/// `OPEN_TREE_CLONE`, recursive): it can be attached anywhere, in any mount
/// namespace the caller enters, with [`move_mount_to`].
pub fn open_tree_clone(path: &Path) -> nix::Result<OwnedFd> {
    let path = c_path(path)?;
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as u32;
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call;
    // open_tree only reads it and returns a new fd (or -1).
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    let fd = Errno::result(ret)? as libc::c_int;
    // SAFETY: on success open_tree returned a new fd nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Attaches the detached mount `tree` at `target`, a path resolved in the
/// calling thread's root and mount namespace (`move_mount` with
/// `MOVE_MOUNT_F_EMPTY_PATH`).
pub fn move_mount_to(tree: &impl AsFd, target: &Path) -> nix::Result<()> {
    let target = c_path(target)?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the
    // call (the source is empty: act on the fd); no memory is written.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_fd().as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    Errno::result(ret).map(drop)
}

// Kernel ABI values (include/uapi/linux/mount.h).
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;

/// A new filesystem context for `fstype` (`fsopen`).
pub fn fs_open(fstype: &str) -> nix::Result<OwnedFd> {
    let name = CString::new(fstype).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call;
    // fsopen returns a new fd (or -1).
    let ret = unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC) };
    let fd = Errno::result(ret)? as libc::c_int;
    // SAFETY: on success fsopen returned a new fd nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What [`fs_config`] does to a filesystem context.
#[derive(Debug, Clone, Copy)]
pub enum FsConfig<'a> {
    /// `key=value` (e.g. `source=/dev/loop3`, `size=1048576`).
    String(&'a str, &'a str),
    /// A flag option (e.g. `ro`).
    Flag(&'a str),
    /// Create the superblock from the options given.
    Create,
}

/// `fsconfig` on a context from [`fs_open`].
pub fn fs_config(ctx: &impl AsFd, what: FsConfig<'_>) -> nix::Result<()> {
    let c = |s: &str| CString::new(s).map_err(|_| Errno::EINVAL);
    let (cmd, key, value) = match what {
        FsConfig::String(k, v) => (FSCONFIG_SET_STRING, Some(c(k)?), Some(c(v)?)),
        FsConfig::Flag(k) => (FSCONFIG_SET_FLAG, Some(c(k)?), None),
        FsConfig::Create => (FSCONFIG_CMD_CREATE, None, None),
    };
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: key and value are NULL or valid NUL-terminated strings that
    // outlive the call, as each command requires; aux is 0; nothing is written.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            ctx.as_fd().as_raw_fd(),
            cmd,
            ptr(&key),
            ptr(&value),
            0 as libc::c_int,
        )
    };
    Errno::result(ret).map(drop)
}

/// A detached mount of the superblock created in `ctx` (`fsmount`), with
/// `MOUNT_ATTR_*` flags `attrs`.
pub fn fs_mount(ctx: &impl AsFd, attrs: u64) -> nix::Result<OwnedFd> {
    // SAFETY: plain integer arguments; fsmount returns a new fd (or -1).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            ctx.as_fd().as_raw_fd(),
            FSMOUNT_CLOEXEC,
            attrs as libc::c_uint,
        )
    };
    let fd = Errno::result(ret)? as libc::c_int;
    // SAFETY: on success fsmount returned a new fd nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
