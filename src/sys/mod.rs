//! Thin wrappers over the syscalls nix does not offer safely. This module is
//! the only place in the crate with `unsafe`; each block says why it is sound.
//!
//! Path-safe helpers (`open_in_root`, `mkdir_in_root`) live here too because
//! they are the primitives every mount target goes through.

mod capability;
mod clone;
mod fs;
mod kvm;
mod loopdev;
mod memfd;
mod mount;
mod process;
mod spawn;
mod tty;

pub use capability::{drop_from_bounding_set, raise_ambient};
pub use clone::{Cloned, clone_process};
pub use fs::{TargetKind, fd_path, make_path_in_root, open_dir, open_in_root, open_path_in_root};
pub use kvm::{KvmProbeError, probe_kvm};
pub use loopdev::{LoopDevice, attach_loop};
pub use memfd::sealed_memfd;
pub use mount::{close_fds_on_exec, set_mount_readonly};
pub use process::{exit_immediately, stdin_fd, stdout_fd};
pub use spawn::spawn_keeping_fds;
pub use tty::{get_window_size, set_controlling_terminal, set_window_size};
