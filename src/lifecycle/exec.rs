//! `domrun exec NAME [--user U] [--cwd D] [--env K=V]… -- CMD…`: a command
//! inside a running domain, as `lxc-attach`, `virsh lxc-enter-namespace`
//! and `incus exec` do.
//!
//! In order: this process re-executes itself from a sealed memfd copy of
//! its binary (CVE-2019-5736: the container never sees a host binary as the
//! joining process's `/proc/PID/exe`); joins the domain's payload cgroup
//! (host paths, before anything changes); joins every namespace of init
//! with one setns(2) on a pidfd (the user namespace only when init's is not
//! ours); forks into the pid namespace; the child takes the user, init's
//! bounding set and no more than init's capabilities (read from
//! `/proc/PID/status`), `no_new_privs` when init has it, changes to its
//! directory inside, marks every fd but 0–2 close-on-exec (CVE-2024-21626)
//! and execs. With a terminal on stdin the command gets a pty of the
//! container's own devpts, relayed raw; otherwise it inherits our pipes.
//! We exit with the command's status (128+N when killed by signal N; 126
//! not executable, 127 not found, 125 set-up failed).

use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Gid, Uid};

use super::{LifecycleError, host_layout, live_state};
use crate::domain::Domain;
use crate::launch::{ExitStatusCode, status_mask};
use crate::plan::CgroupPlan;
use crate::plan::users::{IdSpec, resolve_identity};
use crate::state::Root;
use crate::sys::{self, Cloned, Relay};

/// The search path the command is looked up in, and gets.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// The running domain.
    pub name: String,
    /// A user name or uid inside the container (default root).
    pub user: Option<String>,
    /// The working directory inside (default `/`).
    pub cwd: Option<PathBuf>,
    /// `K=V` added to the command's environment.
    pub env: Vec<String>,
    /// The command and its arguments.
    pub command: Vec<OsString>,
}

/// Why `domrun exec` could not run the command.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("re-executing from a sealed copy of the domrun binary: {0}")]
    SealedCopy(#[source] std::io::Error),
    #[error("domain '{0}' has no running container init (a VM, or still starting)")]
    NoInit(String),
    #[error("reading the live definition {}: {source}", .path.display())]
    LiveDefinition {
        path: PathBuf,
        #[source]
        source: crate::domain::LoadError,
    },
    #[error("joining the domain's cgroup: {0}")]
    Cgroup(#[source] crate::cgroup::CgroupError),
    #[error("reading the credentials of init (pid {pid}): {source}")]
    InitStatus {
        pid: i32,
        #[source]
        source: std::io::Error,
    },
    #[error("joining the namespaces of init (pid {pid}): {}", .source.desc())]
    Join { pid: i32, source: Errno },
    #[error("user {user:?} inside the container: {source}")]
    User {
        user: String,
        #[source]
        source: crate::plan::users::UserError,
    },
    #[error("--env {0:?} is not K=V")]
    Env(String),
    #[error("no command given (domrun exec NAME -- CMD…)")]
    NoCommand,
    #[error("the command has a NUL byte")]
    Nul,
    #[error("creating the command's pty: {}", .0.desc())]
    Pty(Errno),
    #[error("starting the command: {}", .0.desc())]
    Fork(Errno),
    #[error("waiting for the command: {}", .0.desc())]
    Wait(Errno),
    #[error(transparent)]
    Relay(#[from] sys::RelayError),
}

impl ExecError {
    /// 125: the command never ran.
    pub fn exit_code(&self) -> ExitStatusCode {
        ExitStatusCode::SETUP_FAILED
    }
}

/// Init's credentials: the command never gets more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct InitCredentials {
    bounding: u64,
    effective: u64,
    permitted: u64,
    no_new_privs: bool,
}

impl InitCredentials {
    /// From the text of `/proc/PID/status`; a missing line is the empty set.
    fn parse(status: &str) -> InitCredentials {
        InitCredentials {
            bounding: status_mask(status, "CapBnd"),
            effective: status_mask(status, "CapEff"),
            permitted: status_mask(status, "CapPrm"),
            // A 0/1 flag: read like a one-digit mask.
            no_new_privs: status_mask(status, "NoNewPrivs") == 1,
        }
    }
}

/// Runs the command; returns its exit status.
pub fn exec(root: &Root, request: &ExecRequest) -> Result<ExitStatusCode, ExecError> {
    sys::run_from_sealed_copy().map_err(ExecError::SealedCopy)?;
    let name = &request.name;
    let state = live_state(root, name)?.ok_or_else(|| LifecycleError::NotRunning(name.clone()))?;
    let init = state
        .init
        .filter(|i| i.is_alive())
        .ok_or_else(|| ExecError::NoInit(name.clone()))?;
    let pid = init.pid;
    let path = root.live_xml(name);
    let domain = Domain::load(&path).map_err(|source| ExecError::LiveDefinition {
        path: path.clone(),
        source,
    })?;
    if !domain.kind.is_container() {
        return Err(ExecError::NoInit(name.clone()));
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|source| ExecError::InitStatus { pid, source })?;
    let creds = InitCredentials::parse(&status);
    let env = environment(request)?;
    let mut argv = request
        .command
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| ExecError::Nul))
        .collect::<Result<Vec<_>, _>>()?;
    if argv.is_empty() {
        return Err(ExecError::NoCommand);
    }
    let pidfd = sys::pidfd_open(pid).map_err(|source| ExecError::Join { pid, source })?;
    join_cgroup(&domain)?;
    join_namespaces(pid, &pidfd)?;
    // From here on every path is the container's.
    let identity = match &request.user {
        None => crate::plan::Identity::default(),
        Some(user) => {
            let spec = match user.parse::<u32>() {
                Ok(uid) => IdSpec::Id(uid),
                Err(_) => IdSpec::Name(user.into()),
            };
            resolve_identity(Path::new("/"), &spec, None).map_err(|source| ExecError::User {
                user: user.clone(),
                source,
            })?
        }
    };
    let cwd = request.cwd.clone().unwrap_or_else(|| PathBuf::from("/"));
    // execve runs argv[0]: the program found in the container's PATH.
    argv[0] = find_program(&request.command[0]);
    let interactive = nix::unistd::isatty(std::io::stdin()).unwrap_or(false);
    let pty = match interactive {
        // Opened after joining the mount namespace: the container's devpts.
        true => {
            let size = sys::get_window_size(&sys::stdin_fd()).ok();
            Some(nix::pty::openpty(size.as_ref(), None).map_err(ExecError::Pty)?)
        }
        false => None,
    };
    let prepared = Prepared {
        args: sys::ExecArgs::new(argv, env),
        identity,
        cwd: CString::new(cwd.as_os_str().as_bytes()).map_err(|_| ExecError::Nul)?,
        creds,
        terminal: pty.as_ref().map(|p| &p.slave),
    };
    match sys::clone_process(CloneFlags::empty()).map_err(ExecError::Fork)? {
        Cloned::Child => sys::exit_immediately(run_child(&prepared)),
        Cloned::Parent { pid: child, pidfd } => {
            // The slave stays open here until the command is gone (with
            // `prepared`): its last output must not read as a hangup.
            let status = wait_for(child, &pidfd, pty.as_ref().map(|p| &p.master));
            drop(prepared);
            status
        }
    }
}

/// The command's environment: a clean one (PATH, HOME, TERM) plus `--env`.
fn environment(request: &ExecRequest) -> Result<Vec<CString>, ExecError> {
    let mut env = vec![format!("PATH={DEFAULT_PATH}"), "HOME=/root".to_owned()];
    if let Ok(term) = std::env::var("TERM") {
        env.push(format!("TERM={term}"));
    }
    for kv in &request.env {
        if !kv.contains('=') || kv.starts_with('=') {
            return Err(ExecError::Env(kv.clone()));
        }
        env.push(kv.clone());
    }
    env.into_iter()
        .map(|kv| CString::new(kv).map_err(|_| ExecError::Nul))
        .collect()
}

/// The payload group in every hierarchy, as init (the only group the
/// container's view shows; never the limit group above it).
fn join_cgroup(domain: &Domain) -> Result<(), ExecError> {
    let Some(layout) = host_layout() else {
        return Ok(());
    };
    let partition = domain
        .resource
        .as_ref()
        .and_then(|r| r.partition.as_deref());
    let (partition, group) = CgroupPlan::place(&domain.name, partition);
    let cgroup =
        crate::cgroup::Cgroup::open(layout, &partition, &group).map_err(ExecError::Cgroup)?;
    match cgroup {
        Some(cgroup) => cgroup
            .add_payload_pid(nix::unistd::getpid())
            .map_err(ExecError::Cgroup),
        None => Ok(()),
    }
}

/// One setns(2) on init's pidfd: mount, UTS, IPC, network, pid (for our
/// child), cgroup, and the user namespace when init's is not ours (joining
/// one's own user namespace is EINVAL).
fn join_namespaces(pid: i32, pidfd: &OwnedFd) -> Result<(), ExecError> {
    let mut flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWCGROUP;
    let ours = std::fs::read_link("/proc/self/ns/user").ok();
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/user")).ok();
    if ours != theirs {
        flags |= CloneFlags::CLONE_NEWUSER;
    }
    nix::sched::setns(pidfd.as_fd(), flags).map_err(|source| ExecError::Join { pid, source })
}

/// `name` searched in [`DEFAULT_PATH`] inside the container when it has no
/// `/` (execve does not search); as given otherwise, or when not found
/// (the exec then reports ENOENT).
fn find_program(name: &OsString) -> CString {
    let path = Path::new(name);
    let found = match name.as_bytes().contains(&b'/') {
        true => None,
        false => DEFAULT_PATH
            .split(':')
            .map(|dir| Path::new(dir).join(path))
            .find(|p| {
                p.metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            }),
    };
    let chosen = found.unwrap_or_else(|| path.to_path_buf());
    CString::new(chosen.into_os_string().into_encoded_bytes()).unwrap_or_default()
}

/// Everything the child needs, built before the fork.
struct Prepared<'a> {
    args: sys::ExecArgs,
    identity: crate::plan::Identity,
    cwd: CString,
    creds: InitCredentials,
    terminal: Option<&'a OwnedFd>,
}

/// The child, in the container's pid namespace: credentials, directory,
/// fds, exec. Returns the exit status for a failure.
fn run_child(p: &Prepared<'_>) -> i32 {
    const FAILED: i32 = 125;
    if let Some(slave) = p.terminal {
        if nix::unistd::setsid().is_err() || sys::set_controlling_terminal(slave).is_err() {
            return FAILED;
        }
        let stdio = nix::unistd::dup2_stdin(slave)
            .and_then(|()| nix::unistd::dup2_stdout(slave))
            .and_then(|()| nix::unistd::dup2_stderr(slave));
        if stdio.is_err() {
            return FAILED;
        }
    }
    // Init's bounding set, and never a capability init lacks.
    for cap in caps::all() {
        if p.creds.bounding & cap.bitmask() == 0 && sys::drop_from_bounding_set(cap).is_err() {
            return FAILED;
        }
    }
    let id = &p.identity;
    let groups: Vec<Gid> = id
        .supplementary_groups
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    if sys::set_groups_this_thread(&groups).is_err()
        || sys::set_gid_this_thread(Gid::from_raw(id.gid)).is_err()
        || sys::set_uid_this_thread(Uid::from_raw(id.uid)).is_err()
    {
        return FAILED;
    }
    // A uid other than 0 lost its capabilities at setuid; root keeps at
    // most init's.
    if id.uid == 0 {
        let masks = sys::CapabilityMasks {
            effective: p.creds.effective & p.creds.permitted,
            permitted: p.creds.permitted,
            inheritable: 0,
        };
        if sys::set_capabilities(masks).is_err() {
            return FAILED;
        }
    }
    if p.creds.no_new_privs && nix::sys::prctl::set_no_new_privs().is_err() {
        return FAILED;
    }
    // A directory of the container: our root and cwd are its root since
    // the mount-namespace join, and no host directory stays our cwd.
    if nix::unistd::chdir(p.cwd.as_c_str()).is_err() {
        return FAILED;
    }
    if sys::close_fds_on_exec(3).is_err() {
        return FAILED;
    }
    match sys::exec(&p.args) {
        Errno::ENOENT | Errno::ENOTDIR => 127,
        _ => 126,
    }
}

/// Relays the pty (if any) until the command exits; its status.
fn wait_for(
    child: nix::unistd::Pid,
    pidfd: &OwnedFd,
    master: Option<&OwnedFd>,
) -> Result<ExitStatusCode, ExecError> {
    let _raw = match master {
        Some(_) => sys::RawTerminal::enter().map_err(ExecError::Pty)?,
        None => None,
    };
    let mut relay = Relay::new(master.map(|m| m.as_fd()));
    loop {
        let ready = relay
            .poll([pidfd.as_fd()], nix::poll::PollTimeout::NONE)
            .map_err(ExecError::Wait)?;
        // A relay error stops only its direction; the command goes on.
        let _ = relay.copy(&ready);
        if ready.watched[0] {
            let _ = relay.drain();
            return match waitpid(child, None).map_err(ExecError::Wait)? {
                WaitStatus::Exited(_, code) => Ok(ExitStatusCode((code & 0xff) as u8)),
                WaitStatus::Signaled(_, signal, _) => {
                    Ok(ExitStatusCode(128u8.saturating_add(signal as u8)))
                }
                _ => Ok(ExitStatusCode::SETUP_FAILED),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_credentials_come_from_its_status() {
        let creds = InitCredentials::parse(
            "CapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\n",
        );
        assert_eq!(creds.bounding, 0xa80425fb);
        assert_eq!(creds.effective, 0xa80425fb);
        assert!(creds.no_new_privs);
        assert_eq!(InitCredentials::parse(""), InitCredentials::default());
    }

    #[test]
    fn env_must_be_key_value() {
        let request = ExecRequest {
            env: vec!["A=1".into(), "novalue".into()],
            ..ExecRequest::default()
        };
        assert!(matches!(environment(&request), Err(ExecError::Env(e)) if e == "novalue"));
    }
}
