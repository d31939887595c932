//! The container child: one straight line over the plan, from clone to exec.
//!
//! Runs in the new mount, PID, IPC, UTS and cgroup namespaces (and the new
//! user and network namespaces when the plan asks), as PID 1 of its PID
//! namespace. Until pivot_root the host's tree is still reachable, so every
//! container path goes through `sys::open_path_in_root` / `make_path_in_root`
//! (RESOLVE_IN_ROOT) and every mount targets `/proc/self/fd/N` of a handle
//! obtained that way: a symlink in the rootfs can never aim a mount at the host.
//!
//! The steps are numbered as in `docs/launch.md`'s child list: each comment
//! `// N. Title: why` in `set_up_and_exec` is one item `N. **Title**` there
//! (a unit test compares the two lists, and `protocol::Step` says which
//! numbered step each failure belongs to). Any failure is sent to the parent
//! as `ChildMessage::Failed { step, errno }` and the child exits.

use std::convert::Infallible;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::signal::SigSet;
use nix::sys::stat::{Mode, SFlag, fstat, makedev, mknodat, umask};
use nix::unistd::{Gid, Uid};

use super::prepare::{Credentials, Prepared, PreparedMount, ResolvedSource};
use super::protocol::{self, ChildFailure, ChildMessage, ProtocolError, Step};
use super::resources::CGROUP_VIEW;
use crate::plan::defaults::{
    CONSOLE_PATH, DEV_SYMLINKS, DEVICES, KERNEL_MOUNTS, KernelSource, MASKED_PATHS, MountFallback,
    RDONLY,
};
use crate::plan::{MountStep, Plan, RootSource, UserNamespace};
use crate::sys::{self, FdPath, TargetKind};

/// Mounts to make read-only in step 12, with room for all of them reserved
/// by the parent: the child must not allocate (see `sys`).
#[derive(Debug)]
pub(super) struct ReadonlyQueue(Vec<ReadonlyLater>);

impl ReadonlyQueue {
    /// Called by the parent, before clone, with `Prepared::readonly_capacity`.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    fn push(&mut self, later: ReadonlyLater) -> Result<(), ChildFailure> {
        if self.0.len() == self.0.capacity() {
            // Growing would allocate; the capacity is an exact upper bound,
            // so this is a bug, reported rather than risked.
            return Err(ChildFailure {
                step: later.step,
                errno: Errno::ENOSPC,
            });
        }
        self.0.push(later);
        Ok(())
    }
}

/// What the child gets from the parent, all resolved before clone.
#[derive(Debug)]
pub(super) struct ChildContext<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// Resources and strings prepared by the parent.
    pub prepared: &'a Prepared,
    /// The child's end of the sync socket (close-on-exec).
    pub sync: OwnedFd,
    /// The console pty's slave and its host path: bound on /dev/console.
    pub console: Option<(&'a OwnedFd, &'a Path)>,
    /// The console is also init's stdio and controlling terminal (an
    /// interactive or monitored console); otherwise init keeps fds 0-2.
    pub console_is_stdio: bool,
    /// Reserved room for step 12's queue.
    pub readonly_later: ReadonlyQueue,
}

/// Attaches the failing step to an errno.
trait AtStep<T> {
    fn at(self, step: Step) -> Result<T, ChildFailure>;
}

impl<T> AtStep<T> for nix::Result<T> {
    fn at(self, step: Step) -> Result<T, ChildFailure> {
        self.map_err(|errno| ChildFailure { step, errno })
    }
}

/// The child's whole life: set up, exec; on failure, report and exit.
///
/// Nothing here allocates: the parent may be multi-threaded, and this copy
/// of it has only the calling thread, so a lock another thread held at the
/// clone (the allocator's, say) would never be released.
pub(super) fn run(mut context: ChildContext<'_>) -> ! {
    let mut readonly_later =
        std::mem::replace(&mut context.readonly_later, ReadonlyQueue(Vec::new()));
    let Err(failure) = set_up_and_exec(&context, &mut readonly_later);
    // If the parent is gone there is nobody to tell; exit either way.
    let _ = protocol::send_to_parent(&context.sync, ChildMessage::Failed(failure));
    sys::exit_immediately(125)
}

fn index(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

/// `/proc/self/fd/N` for a handle, on the stack.
fn fd_path(fd: &impl AsFd) -> FdPath {
    FdPath::new(fd.as_fd())
}

/// Flags for binding `source` at a mount target.
const BIND: MsFlags = MsFlags::MS_BIND.union(MsFlags::MS_REC);

fn set_up_and_exec(
    ctx: &ChildContext<'_>,
    readonly_later: &mut ReadonlyQueue,
) -> Result<Infallible, ChildFailure> {
    let plan = ctx.plan;
    let prepared = ctx.prepared;
    // 0. Umask: none, so the modes in the tables are exact (the parent's
    //    umask must not mask them).
    umask(Mode::empty());
    // 1. Release: wait for the parent (sync 1); uid_map/gid_map are written.
    if let Err(error) = protocol::recv_from_parent(&ctx.sync) {
        let errno = match error {
            ProtocolError::Io(errno) => errno,
            _ => Errno::EPIPE,
        };
        return Err(ChildFailure {
            step: Step::WaitForParent,
            errno,
        });
    }
    // 1b. Cgroup namespace: the parent has placed us in the domain's cgroup,
    //     so a new cgroup namespace makes that group the root init sees.
    if prepared.cgroup.is_some() {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP).at(Step::CgroupNamespace)?;
    }
    // 2. Namespace root: in a new user namespace, become its root so files
    //    we create are owned by a mapped id (an unmapped fsuid gets EOVERFLOW).
    if let Some(user) = &plan.namespaces.user {
        become_namespace_root(user)?;
    }
    // 3. Joined namespaces: setns into those (net, ipc, uts) the parent opened.
    for (i, (kind, fd)) in prepared.joins.iter().enumerate() {
        nix::sched::setns(fd, *kind).at(Step::JoinNamespace(index(i)))?;
    }
    // 4. Private mounts: nothing we mount or unmount from here on propagates
    //    back to the host.
    let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    mount(NONE, "/", NONE, private, NONE).at(Step::MakeMountsPrivate)?;
    // 5. Root: a directory is bound onto itself so it is a mount point
    //    pivot_root accepts; the shared host root is used as it is.
    let root = match &plan.root.source {
        RootSource::Directory(dir) => {
            mount(Some(dir), dir, NONE, BIND, NONE).at(Step::MountRoot)?;
            sys::open_dir(dir).at(Step::MountRoot)?
        }
        RootSource::SharedHost => sys::open_dir(Path::new("/")).at(Step::MountRoot)?,
        // An overlay is a mount already; mounted here, it exists only in
        // this mount namespace.
        RootSource::Overlay(o) => {
            let flags = if o.upper.is_none() {
                MsFlags::MS_RDONLY
            } else {
                MsFlags::empty()
            };
            let options = prepared.root_overlay.as_deref();
            mount(
                Some("overlay"),
                &o.mountpoint,
                Some("overlay"),
                flags,
                options,
            )
            .at(Step::MountRoot)?;
            sys::open_dir(&o.mountpoint).at(Step::MountRoot)?
        }
    };
    // Read-only remounts are queued and applied in step 12: a read-only mount
    // made earlier would stop later steps creating mount points in it.
    // 6. User filesystems: in plan order.
    for (i, (step, ready)) in plan.mounts.iter().zip(&prepared.mounts).enumerate() {
        mount_user_filesystem(&root, step, ready, index(i), readonly_later)?;
    }
    // The host nodes step 9 binds are opened now, before our /dev (step 7)
    // hides the host's.
    let host_nodes = HostNodes::open(plan, ctx.console.map(|(_, path)| path))?;
    // 7. Kernel filesystems: the rows of KERNEL_MOUNTS that apply (a
    //    container with a network stack of its own, new or joined, may tune
    //    it, so /proc/sys/net stays writable, the rest of /proc/sys not).
    let own_network =
        plan.namespaces.new_network || plan.joins(crate::plan::NamespaceKind::Network);
    mount_kernel_filesystems(&root, readonly_later, own_network)?;
    // 8. Cgroup view: the container's own subtree of each hierarchy.
    mount_cgroup_view(&root, prepared, readonly_later)?;
    // 9. /dev: device nodes, symlinks and the console.
    populate_dev(&root, &host_nodes)?;
    drop(host_nodes);
    // 10. Masked paths: after /dev, so the container's own /dev/null is used.
    mask_paths(&root)?;
    // 11. pivot_root: pivot_root(".", ".") stacks the old root on the new
    //     one, and it is detached at once; nothing of the host's tree stays
    //     reachable. A shared host root has nothing to pivot to.
    if !matches!(plan.root.source, RootSource::SharedHost) {
        nix::unistd::fchdir(&root).at(Step::PivotRoot)?;
        nix::unistd::pivot_root(".", ".").at(Step::PivotRoot)?;
        umount2(".", MntFlags::MNT_DETACH).at(Step::DetachOldRoot)?;
        nix::unistd::chdir("/").at(Step::DetachOldRoot)?;
    }
    // 12. Read-only remounts: last (mount_setattr on this namespace's mounts
    //     only; they are private, so nothing reaches the host).
    for later in &readonly_later.0 {
        sys::set_mount_readonly(&later.mount, later.recursive).at(later.step)?;
    }
    if plan.root.readonly {
        let new_root = sys::open_dir(Path::new("/")).at(Step::ReadonlyRoot)?;
        sys::set_mount_readonly(&new_root, false).at(Step::ReadonlyRoot)?;
    }
    drop(root);
    // 13. Hostname: the UTS namespace is new or joined.
    if let Some(name) = &plan.hostname {
        nix::unistd::sethostname(name).at(Step::SetHostname)?;
    }
    // 14. Console: a new session with the pty as controlling terminal and
    //     stdio, when init's stdio is the console (else fds 0-2 pass through
    //     and the pty is /dev/console only).
    if let Some((console, _)) = ctx.console.filter(|_| ctx.console_is_stdio) {
        nix::unistd::setsid().at(Step::AttachConsole)?;
        sys::set_controlling_terminal(console).at(Step::AttachConsole)?;
        nix::unistd::dup2_stdin(console).at(Step::AttachConsole)?;
        nix::unistd::dup2_stdout(console).at(Step::AttachConsole)?;
        nix::unistd::dup2_stderr(console).at(Step::AttachConsole)?;
    }
    // 15. Credentials: groups, ids and capabilities.
    set_credentials(&prepared.credentials, plan.no_new_privileges)?;
    // 16. Working directory: as the final user (like a login would).
    nix::unistd::chdir(&plan.process.cwd).at(Step::ChangeDirectory)?;
    // 17. Signals and umask: init starts clean, with default dispositions,
    //     nothing blocked (whatever its supervisor blocks or ignores for
    //     itself) and the usual umask. Then init dies with its supervisor
    //     (set here, after the credential change, which clears it): a killed
    //     `domrun run` or monitor leaves no container behind, and with it go
    //     its mounts and loop devices.
    sys::reset_signal_dispositions().at(Step::ResetSignals)?;
    SigSet::empty().thread_set_mask().at(Step::ResetSignals)?;
    umask(Mode::from_bits_truncate(0o022));
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).at(Step::ResetSignals)?;
    // If the supervisor died before that, no death signal will come: its
    // end of the sync socket is closed then, so exit instead of running an
    // init nobody knows about.
    if supervisor_gone(&ctx.sync) {
        return Err(ChildFailure {
            step: Step::ResetSignals,
            errno: Errno::ESRCH,
        });
    }
    // 18. File descriptors: only 0-2 reach init. Close-on-exec rather than
    //     close: the sync socket must survive a failing execve to report it.
    sys::close_fds_on_exec(3).at(Step::CloseFds)?;
    // 19. Exec: init, with exactly the plan's environment. On success the
    //     sync socket closes (sync 2: end of file means running).
    Err(ChildFailure {
        step: Step::Exec,
        errno: sys::exec(&prepared.exec),
    })
}

/// True when the parent's end of the sync socket is closed (a hang-up with
/// no message waiting).
fn supervisor_gone(sync: &OwnedFd) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut fds = [PollFd::new(sync.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLHUP))
}

/// "No value" for mount(2)'s optional string arguments.
const NONE: Option<&str> = None;

/// A mount to make read-only in step 12.
#[derive(Debug)]
struct ReadonlyLater {
    /// Reported if it fails.
    step: Step,
    /// A handle on the mount (opened after mounting, so it is the new mount).
    mount: OwnedFd,
    /// Include every mount below it.
    recursive: bool,
}

/// Step 2.
fn become_namespace_root(user: &UserNamespace) -> Result<(), ChildFailure> {
    let maps_root = |map: &[crate::plan::IdMapRange]| map.iter().any(|r| r.inside == 0);
    if !maps_root(&user.uid_map) || !maps_root(&user.gid_map) {
        // Stay the overflow id; mounts still work, only file creation in
        // directories not owned by a mapped id fails.
        return Ok(());
    }
    let (gid, uid) = (Gid::from_raw(0), Uid::from_raw(0));
    sys::set_gid_this_thread(gid).at(Step::BecomeNamespaceRoot)?;
    sys::set_uid_this_thread(uid).at(Step::BecomeNamespaceRoot)
}

fn is_directory(fd: &OwnedFd) -> nix::Result<bool> {
    Ok(SFlag::from_bits_truncate(fstat(fd)?.st_mode).contains(SFlag::S_IFDIR))
}

/// Binds `source` onto the mount point `target` (handles, via /proc/self/fd).
fn bind(source: &impl AsFd, target: &OwnedFd, flags: MsFlags) -> nix::Result<()> {
    let source = fd_path(source);
    mount(
        Some(source.as_c_str()),
        fd_path(target).as_c_str(),
        NONE,
        flags,
        NONE,
    )
}

/// Step 6, one user filesystem.
fn mount_user_filesystem(
    root: &OwnedFd,
    step: &MountStep,
    ready: &PreparedMount,
    i: u16,
    readonly_later: &mut ReadonlyQueue,
) -> Result<(), ChildFailure> {
    let mount_failed = |errno| ChildFailure {
        step: Step::UserMount(i),
        errno,
    };
    let target_for =
        |kind| sys::make_path_in_root(root, &step.target, kind).at(Step::ResolveMountTarget(i));
    match &ready.source {
        ResolvedSource::HostBind(path) => {
            let target = target_for(ready.target_kind)?;
            mount(Some(path), fd_path(&target).as_c_str(), NONE, BIND, NONE)
                .map_err(mount_failed)?;
        }
        ResolvedSource::ContainerBind(path) => {
            let source = sys::open_path_in_root(root, path).at(Step::ResolveMountSource(i))?;
            let kind = match is_directory(&source).at(Step::ResolveMountSource(i))? {
                true => TargetKind::Directory,
                false => TargetKind::File,
            };
            bind(&source, &target_for(kind)?, BIND).map_err(mount_failed)?;
        }
        ResolvedSource::Tmpfs(options) => {
            let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
            let target = target_for(TargetKind::Directory)?;
            let data = Some(options.as_c_str());
            mount(
                Some("tmpfs"),
                fd_path(&target).as_c_str(),
                Some("tmpfs"),
                flags,
                data,
            )
            .map_err(mount_failed)?;
        }
        ResolvedSource::Filesystem { device, fs } => {
            let flags = if step.readonly {
                MsFlags::MS_RDONLY
            } else {
                MsFlags::empty()
            };
            let target = target_for(TargetKind::Directory)?;
            mount(
                Some(device),
                fd_path(&target).as_c_str(),
                Some(fs.name()),
                flags,
                NONE,
            )
            .map_err(mount_failed)?;
        }
    }
    // Binds and tmpfs become read-only in step 12, after later steps may have
    // created mount points in them. A filesystem on a device was mounted
    // read-only at once: its device may itself be read-only.
    let made_readonly_later = !matches!(ready.source, ResolvedSource::Filesystem { .. });
    if step.readonly && made_readonly_later {
        // Reopen: the handle used above is the directory under the new mount.
        let mount = sys::open_path_in_root(root, &step.target).at(Step::ResolveMountTarget(i))?;
        readonly_later.push(ReadonlyLater {
            step: Step::ReadonlyUserMount(i),
            mount,
            recursive: true,
        })?;
    }
    Ok(())
}

const DEVICE_COUNT: usize = DEVICES.len();

/// Host files bound into the container's /dev in step 9, opened before the
/// container's /dev tmpfs (step 7) can hide the host's (with a shared host
/// root).
#[derive(Debug)]
struct HostNodes {
    /// One per `DEVICES` entry in a user namespace (where mknod is refused);
    /// all `None` otherwise. An array: the child must not allocate.
    devices: [Option<OwnedFd>; DEVICE_COUNT],
    /// The console pty slave, by its /dev/pts path: a bind source must be a
    /// mount of this namespace, which the fd inherited from the parent is not.
    console: Option<OwnedFd>,
}

impl HostNodes {
    fn open(plan: &Plan, console: Option<&Path>) -> Result<Self, ChildFailure> {
        let host_root = sys::open_dir(Path::new("/")).at(Step::CreateDevice(0))?;
        let mut devices = [const { None }; DEVICE_COUNT];
        if plan.namespaces.user.is_some() {
            for (i, (slot, device)) in devices.iter_mut().zip(DEVICES).enumerate() {
                let path = Path::new(device.path);
                *slot = Some(
                    sys::open_path_in_root(&host_root, path).at(Step::CreateDevice(index(i)))?,
                );
            }
        }
        let console = match console {
            Some(path) => Some(sys::open_path_in_root(&host_root, path).at(Step::BindConsole)?),
            None => None,
        };
        Ok(Self { devices, console })
    }
}

/// Step 8: the container's `/sys/fs/cgroup`: its own subtree (the cgroup
/// namespace's root, the payload group) of every hierarchy the host has;
/// the tracking hierarchies stay writable, the rest is read-only in step 12.
fn mount_cgroup_view(
    root: &OwnedFd,
    prepared: &Prepared,
    readonly_later: &mut ReadonlyQueue,
) -> Result<(), ChildFailure> {
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let view = &prepared.cgroup_view;
    for (i, m) in view.mounts.iter().enumerate() {
        let step = Step::CgroupMount(index(i));
        let target = sys::make_path_in_root(root, &m.target, TargetKind::Directory).at(step)?;
        mount(
            Some(m.fstype.as_c_str()),
            fd_path(&target).as_c_str(),
            Some(m.fstype.as_c_str()),
            flags,
            Some(m.data.as_c_str()),
        )
        .at(step)?;
        if m.writable {
            continue;
        }
        let mount = sys::open_path_in_root(root, &m.target).at(step)?;
        readonly_later.push(ReadonlyLater {
            step: Step::ReadonlyCgroupMount(index(i)),
            mount,
            recursive: false,
        })?;
    }
    if view.symlinks.is_empty() {
        return Ok(());
    }
    // The links live in the view's tmpfs (the first mount), read-only only
    // in step 12.
    let dir = sys::open_path_in_root(root, Path::new(CGROUP_VIEW)).at(Step::CgroupSymlink(0))?;
    for (i, (name, points_to)) in view.symlinks.iter().enumerate() {
        nix::unistd::symlinkat(points_to.as_c_str(), &dir, name.as_c_str())
            .at(Step::CgroupSymlink(index(i)))?;
    }
    Ok(())
}

/// Step 7: the rows of `KERNEL_MOUNTS` that apply, in table order. A
/// read-only bind of the target itself is made read-only in step 12 with the
/// rest of the queue; a read-only fallback bind of the host's path at once.
fn mount_kernel_filesystems(
    root: &OwnedFd,
    readonly_later: &mut ReadonlyQueue,
    own_network: bool,
) -> Result<(), ChildFailure> {
    for (i, km) in KERNEL_MOUNTS.iter().enumerate() {
        if !km.when.applies(own_network) {
            continue;
        }
        let step = Step::KernelMount(index(i));
        let path = Path::new(km.target);
        match km.source {
            KernelSource::Filesystem(fstype) => {
                let target = sys::make_path_in_root(root, path, TargetKind::Directory).at(step)?;
                let flags = MsFlags::from_bits_truncate(km.flags);
                let target_path = fd_path(&target);
                let fresh = mount(
                    Some(fstype),
                    target_path.as_c_str(),
                    Some(fstype),
                    flags,
                    km.data,
                );
                match (fresh, km.fallback) {
                    // Mounted as asked, read-only at once if the row says so.
                    (Ok(()), _) => continue,
                    // The kernel refused a fresh one (see the row's reason):
                    // bind the host's instead, with everything below it,
                    // read-only at once: a recursive change in step 12 would
                    // also reach what is mounted below it later (the
                    // cgroup view's writable hierarchies under /sys).
                    (Err(Errno::EPERM | Errno::EBUSY), MountFallback::BindHost) => {
                        mount(Some(path), target_path.as_c_str(), NONE, BIND, NONE).at(step)?;
                        if km.flags & RDONLY != 0 {
                            let bound = sys::open_path_in_root(root, path).at(step)?;
                            sys::set_mount_readonly(&bound, true)
                                .at(Step::ReadonlyKernelMount(index(i)))?;
                        }
                        continue;
                    }
                    // An option refused (devpts' gid=5 in a user namespace
                    // that does not map it): the row's plainer options.
                    (Err(Errno::EINVAL), MountFallback::WithData(data)) => {
                        mount(
                            Some(fstype),
                            target_path.as_c_str(),
                            Some(fstype),
                            flags,
                            Some(data),
                        )
                        .at(step)?;
                        continue;
                    }
                    (Err(errno), _) => return Err(ChildFailure { step, errno }),
                }
            }
            KernelSource::Itself => {
                let target = sys::open_path_in_root(root, path).at(step)?;
                bind(&target, &target, BIND).at(step)?;
            }
        }
        if km.flags & RDONLY != 0 {
            // Reopen: the handle used above is under the new mount. Not
            // recursive: a later row's bind below it (a writable
            // /proc/sys/net under /proc/sys) keeps its own mode.
            let mount = sys::open_path_in_root(root, path).at(step)?;
            readonly_later.push(ReadonlyLater {
                step: Step::ReadonlyKernelMount(index(i)),
                mount,
                recursive: false,
            })?;
        }
    }
    Ok(())
}

/// Step 9: device nodes, symlinks and the console in the container's /dev.
fn populate_dev(root: &OwnedFd, host: &HostNodes) -> Result<(), ChildFailure> {
    let dev_dir = sys::open_path_in_root(root, Path::new("/dev"))
        .and_then(|dev| {
            nix::fcntl::openat(
                dev.as_fd(),
                ".",
                OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
        })
        .at(Step::CreateDevice(0))?;
    for (i, (device, host_node)) in DEVICES.iter().zip(&host.devices).enumerate() {
        let step = Step::CreateDevice(index(i));
        match host_node {
            None => {
                let number = makedev(u64::from(device.major), u64::from(device.minor));
                let mode = Mode::from_bits_truncate(device.mode);
                mknodat(&dev_dir, device.name, SFlag::S_IFCHR, mode, number).at(step)?;
            }
            Some(host_node) => {
                let path = Path::new(device.path);
                let target = sys::make_path_in_root(root, path, TargetKind::File).at(step)?;
                bind(host_node, &target, MsFlags::MS_BIND).at(step)?;
            }
        }
    }
    for (i, (name, points_to)) in DEV_SYMLINKS.iter().enumerate() {
        nix::unistd::symlinkat(*points_to, &dev_dir, *name).at(Step::DevSymlink(index(i)))?;
    }
    if let Some(console) = &host.console {
        let target = sys::make_path_in_root(root, Path::new(CONSOLE_PATH), TargetKind::File)
            .at(Step::BindConsole)?;
        bind(console, &target, MsFlags::MS_BIND).at(Step::BindConsole)?;
    }
    Ok(())
}

/// Step 10: masked paths, after /dev so the container's own /dev/null is used.
fn mask_paths(root: &OwnedFd) -> Result<(), ChildFailure> {
    let null = sys::open_path_in_root(root, Path::new("/dev/null")).at(Step::MaskPath(0))?;
    for (i, path) in MASKED_PATHS.iter().enumerate() {
        let step = Step::MaskPath(index(i));
        let target = match sys::open_path_in_root(root, Path::new(path)) {
            Err(Errno::ENOENT) => continue, // not on this kernel
            other => other.at(step)?,
        };
        if is_directory(&target).at(step)? {
            let hidden =
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            let data = Some("size=0,mode=555");
            mount(
                Some("tmpfs"),
                fd_path(&target).as_c_str(),
                Some("tmpfs"),
                hidden,
                data,
            )
            .at(step)?;
        } else {
            bind(&null, &target, MsFlags::MS_BIND).at(step)?;
        }
    }
    Ok(())
}

/// Step 15: bounding set, no_new_privs, groups, gid, uid, then the
/// capability sets (setuid to non-root clears the effective set, so they
/// come after it, with keepcaps preserving the permitted set across it).
fn set_credentials(credentials: &Credentials, no_new_privileges: bool) -> Result<(), ChildFailure> {
    for cap in &credentials.bounding_drops {
        sys::drop_from_bounding_set(*cap).at(Step::DropBoundingSet)?;
    }
    if no_new_privileges {
        nix::sys::prctl::set_no_new_privs().at(Step::NoNewPrivileges)?;
    }
    nix::sys::prctl::set_keepcaps(true).at(Step::KeepCapabilities)?;
    if let Some(groups) = &credentials.groups {
        sys::set_groups_this_thread(groups).at(Step::SetGroups)?;
    }
    let (gid, uid) = (credentials.gid, credentials.uid);
    sys::set_gid_this_thread(gid).at(Step::SetGid)?;
    sys::set_uid_this_thread(uid).at(Step::SetUid)?;
    sys::set_capabilities(credentials.masks).at(Step::SetCapabilities)?;
    for cap in &credentials.ambient {
        sys::raise_ambient(*cap).at(Step::SetAmbient)?;
    }
    Ok(())
}
