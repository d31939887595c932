//! Thin wrappers over the syscalls nix does not offer safely. This module is
//! the only place in the crate with `unsafe`; each block says why it is sound.
//!
//! Path-safe helpers (`open_path_in_root`, `make_path_in_root`) live here too
//! because they are the primitives every mount target goes through, and so
//! do the terminal primitives every foreground console uses (`RawTerminal`,
//! the `Relay` between stdin/stdout and a console), beside the tty ioctls.
//!
//! Whatever the cloned child calls from here must not allocate: in a
//! multi-threaded caller the allocator's lock may have been held, at the
//! moment of the clone, by a thread the child does not have.

mod capability;
mod clone;
mod command;
mod exec;
mod fs;
mod kvm;
mod loopdev;
mod memfd;
mod mount;
mod pidfd;
mod process;
mod relay;
mod signal;
mod spawn;
mod tty;

pub use capability::{CapabilityMasks, drop_from_bounding_set, raise_ambient, set_capabilities};
pub use clone::{Cloned, clone_process};
pub use command::kill_child_with_parent;
pub use exec::{ExecArgs, exec};
pub use fs::{FdPath, TargetKind, make_path_in_root, open_dir, open_in_root, open_path_in_root};
pub use kvm::probe_kvm;
pub use loopdev::{LoopDevice, attach_loop};
pub use memfd::{run_from_sealed_copy, sealed_memfd};
pub use mount::{
    FsConfig, close_fds_on_exec, fs_config, fs_mount, fs_open, move_mount_to, open_tree_clone,
    set_mount_readonly,
};
pub use pidfd::pidfd_open;
pub use process::{
    exit_immediately, set_gid_this_thread, set_groups_this_thread, set_uid_this_thread, stdin_fd,
    stdout_fd,
};
pub use relay::{Relay, RelayError, Relayed};
pub use signal::{kill_raw, reset_signal_dispositions};
pub use spawn::spawn_keeping_fds;
pub use tty::{RawTerminal, get_window_size, set_controlling_terminal, set_window_size};
