//! mount_setattr and close_range.

use std::os::fd::{AsFd, AsRawFd};

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
