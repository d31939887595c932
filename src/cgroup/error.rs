//! The cgroup module's one error type: a variant per step that can fail,
//! each carrying the path and value involved.

use std::path::PathBuf;

use nix::unistd::Pid;

/// Why a cgroup step failed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("reading {path}: {source}")]
    ReadMountinfo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no cgroup or cgroup2 filesystem is mounted (see /proc/self/mountinfo)")]
    NoCgroupMounts,
    #[error("cgroup name '{name}': {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("resource/partition '{partition}': {reason}")]
    InvalidPartition {
        partition: String,
        reason: &'static str,
    },
    #[error("{setting} is not supported: {reason}")]
    Unsupported { setting: String, reason: String },
    #[error(
        "memtune/swap_hard_limit ({swap_kib} KiB) needs a memory limit (<memory> or memtune/hard_limit)"
    )]
    SwapWithoutMemoryLimit { swap_kib: String },
    #[error(
        "memtune/swap_hard_limit ({swap_bytes} bytes) is below the memory limit from {memory_from} ({memory_bytes} bytes); it counts memory plus swap"
    )]
    SwapBelowMemory {
        swap_bytes: u64,
        memory_bytes: u64,
        memory_from: &'static str,
    },
    #[error(
        "{setting} needs the '{controller}' cgroup controller, which this {layout} host does not offer{where_}"
    )]
    MissingController {
        setting: String,
        controller: &'static str,
        layout: &'static str,
        /// `" in DIR/cgroup.controllers"` on v2, empty on v1.
        where_: String,
    },
    #[error(
        "{setting} needs {files} in {dir} ('{controller}' controller), which this kernel does not provide"
    )]
    MissingFile {
        setting: String,
        controller: &'static str,
        dir: PathBuf,
        /// The candidate files, `a or b`.
        files: String,
    },
    #[error("{setting}: stat {path}: {source}")]
    StatDevice {
        setting: String,
        path: PathBuf,
        source: nix::Error,
    },
    #[error("{setting}: {path} is not a block device")]
    NotBlockDevice { setting: String, path: PathBuf },
    #[error("creating cgroup {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cgroup {path} already exists with processes {pids:?} in it (a running or stale domain; sweep it first)"
    )]
    GroupBusy { path: PathBuf, pids: Vec<i32> },
    #[error("reading {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: unexpected content '{content}' (expected {expected})")]
    ParseFile {
        path: PathBuf,
        content: String,
        expected: &'static str,
    },
    #[error("initialising {path} to '{value}' from the parent cpuset: {source}")]
    InitCpuset {
        path: PathBuf,
        value: String,
        source: std::io::Error,
    },
    #[error("enabling controllers '{value}' in {path}: {source}")]
    EnableControllers {
        path: PathBuf,
        value: String,
        source: std::io::Error,
    },
    #[error("{setting}: writing '{value}' to {path}: {source}")]
    Write {
        setting: String,
        path: PathBuf,
        value: String,
        source: std::io::Error,
    },
    #[error("placing pid {pid} in {path}: {source}")]
    AddPid {
        pid: Pid,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing '{value}' to {path} (freezer): {source}")]
    Freeze {
        path: PathBuf,
        value: &'static str,
        source: std::io::Error,
    },
    #[error("writing 1 to {path}: {source}")]
    Kill {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sending SIGKILL to pid {pid}: {source}")]
    Signal { pid: Pid, source: nix::Error },
    #[error("refusing to kill the processes of {path}: this process (pid {pid}) is in it")]
    KillSelf { path: PathBuf, pid: Pid },
    #[error("processes {pids:?} are still in {path} after SIGKILL")]
    KillTimeout { path: PathBuf, pids: Vec<i32> },
    #[error("removing cgroup {path}: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("handing {path} to the container's root (uid {uid}, gid {gid}): {source}")]
    Chown {
        path: PathBuf,
        uid: u32,
        gid: u32,
        source: std::io::Error,
    },
    #[error("opening {path}: {source}")]
    OpenDir {
        path: PathBuf,
        source: std::io::Error,
    },
}
