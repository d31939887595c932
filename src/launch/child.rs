//! The container child: one straight line over the plan, from clone to exec.
//!
//! Runs in the new mount, PID, IPC, UTS and cgroup namespaces (and the new
//! user and network namespaces when the plan asks), as PID 1 of its PID
//! namespace. Until pivot_root the host's tree is still reachable, so every
//! container path goes through `sys::open_path_in_root` / `make_path_in_root`
//! (RESOLVE_IN_ROOT) and every mount targets `/proc/self/fd/N` of a handle
//! obtained that way: a symlink in the rootfs can never aim a mount at the host.
//!
//! The steps are numbered as in `docs/launch.md`. Any failure is sent to the
//! parent as `ChildMessage::Failed { step, errno }` and the child exits.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::signal::SigSet;
use nix::sys::stat::{Mode, SFlag, fstat, makedev, mknodat, umask};
use nix::unistd::{Gid, Uid};

use super::prepare::{Prepared, ResolvedSource};
use super::protocol::{self, ChildFailure, ChildMessage, ParentMessage, Step};
use crate::plan::defaults::{
    CONSOLE_PATH, DEV_SYMLINKS, DEVICES, KERNEL_MOUNTS, MASKED_PATHS, READONLY_PATHS,
};
use crate::plan::{Plan, RootSource};
use crate::sys::{self, TargetKind, fd_path};

/// What the child gets from the parent, all resolved before clone.
#[derive(Debug)]
pub(super) struct ChildContext<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// Resources and strings prepared by the parent.
    pub prepared: &'a Prepared,
    /// The child's end of the sync socket (close-on-exec).
    pub sync: OwnedFd,
    /// The pty slave and its host path when init gets a new console.
    pub console: Option<(&'a OwnedFd, &'a Path)>,
    /// The signal mask to restore before exec (the parent blocked the
    /// forwarded signals before clone).
    pub signal_mask: SigSet,
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
pub(super) fn run(context: ChildContext<'_>) -> ! {
    let Err(failure) = set_up_and_exec(&context);
    // If the parent is gone there is nobody to tell; exit either way.
    let _ = protocol::send_to_parent(&context.sync, ChildMessage::Failed(failure));
    sys::exit_immediately(125)
}

fn index(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

/// Flags for binding `source` at a mount target.
const BIND: MsFlags = MsFlags::MS_BIND.union(MsFlags::MS_REC);

fn set_up_and_exec(ctx: &ChildContext<'_>) -> Result<Infallible, ChildFailure> {
    let plan = ctx.plan;
    let prepared = ctx.prepared;
    // Modes in the tables are exact; the parent's umask must not mask them.
    umask(Mode::empty());

    // 1. Wait for the parent (sync 1): uid_map/gid_map are written.
    match protocol::recv_from_parent(&ctx.sync) {
        Ok(ParentMessage::Release) => {}
        Err(_) => {
            return Err(ChildFailure {
                step: Step::WaitForParent,
                errno: Errno::EPIPE,
            });
        }
    }
    // 2. In a new user namespace, become its root so files we create are
    //    owned by a mapped id (an unmapped fsuid gets EOVERFLOW).
    if let Some(user) = &plan.namespaces.user {
        if user.uid_map.iter().any(|r| r.inside == 0) && user.gid_map.iter().any(|r| r.inside == 0)
        {
            let root_gid = Gid::from_raw(0);
            let root_uid = Uid::from_raw(0);
            nix::unistd::setresgid(root_gid, root_gid, root_gid).at(Step::BecomeNamespaceRoot)?;
            nix::unistd::setresuid(root_uid, root_uid, root_uid).at(Step::BecomeNamespaceRoot)?;
        }
    }
    // 3. Join existing namespaces (net, ipc, uts) opened by the parent.
    for (i, (kind, fd)) in prepared.joins.iter().enumerate() {
        nix::sched::setns(fd, *kind).at(Step::JoinNamespace(index(i)))?;
    }
    // 4. Make every mount private: nothing we mount or unmount from here on
    //    propagates back to the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .at(Step::MakeMountsPrivate)?;
    // 5. Mount the root: a directory is bound onto itself so it is a mount
    //    point pivot_root accepts; the shared host root is used as it is.
    let root = match &plan.root.source {
        RootSource::Directory(dir) => {
            mount(Some(dir), dir, None::<&str>, BIND, None::<&str>).at(Step::MountRoot)?;
            sys::open_dir(dir).at(Step::MountRoot)?
        }
        RootSource::SharedHost => sys::open_dir(Path::new("/")).at(Step::MountRoot)?,
    };
    // Read-only remounts are queued and applied last (step 11): a read-only
    // mount made earlier would stop later steps creating mount points in it.
    let mut readonly: Vec<(Step, OwnedFd, bool)> = Vec::new();

    // 6. User filesystems, in plan order.
    for (i, (step, ready)) in plan.mounts.iter().zip(&prepared.mounts).enumerate() {
        let i = index(i);
        let mut flags = MsFlags::empty();
        let (source, fstype, data): (std::path::PathBuf, Option<&str>, Option<&std::ffi::CStr>);
        let mut kind = ready.target_kind;
        let _source_handle;
        match &ready.source {
            ResolvedSource::HostBind(path) => {
                flags |= BIND;
                (source, fstype, data) = (path.clone(), None, None);
            }
            ResolvedSource::ContainerBind(path) => {
                let handle = sys::open_path_in_root(&root, path).at(Step::ResolveMountSource(i))?;
                if !SFlag::from_bits_truncate(
                    fstat(&handle).at(Step::ResolveMountSource(i))?.st_mode,
                )
                .contains(SFlag::S_IFDIR)
                {
                    kind = TargetKind::File;
                }
                flags |= BIND;
                (source, fstype, data) = (fd_path(handle.as_fd()), None, None);
                _source_handle = handle;
            }
            ResolvedSource::Tmpfs(options) => {
                flags |= MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
                (source, fstype, data) = ("tmpfs".into(), Some("tmpfs"), Some(options.as_c_str()));
            }
            ResolvedSource::Filesystem { device, fs } => {
                (source, fstype, data) = (device.clone(), Some(fs.name()), None);
            }
        }
        // Binds get their read-only flag from a later remount; everything
        // else is mounted read-only at once.
        let is_bind = flags.contains(MsFlags::MS_BIND);
        if step.readonly && !is_bind {
            flags |= MsFlags::MS_RDONLY;
        }
        let target =
            sys::make_path_in_root(&root, &step.target, kind).at(Step::ResolveMountTarget(i))?;
        mount(Some(&source), &fd_path(target.as_fd()), fstype, flags, data)
            .at(Step::UserMount(i))?;
        if step.readonly && is_bind {
            // Reopen: the old handle is the directory under the new mount.
            let mounted =
                sys::open_path_in_root(&root, &step.target).at(Step::ResolveMountTarget(i))?;
            readonly.push((Step::ReadonlyUserMount(i), mounted, true));
        }
    }

    // 7. Kernel filesystems: /proc, /sys, /dev and below (KERNEL_MOUNTS).
    // In a user namespace mknod is refused, so host device nodes are bound;
    // open them now, before our /dev tmpfs can hide the host's.
    let host_devices = if plan.namespaces.user.is_some() {
        DEVICES
            .iter()
            .enumerate()
            .map(|(i, d)| {
                sys::open_path_in_root(
                    &sys::open_dir(Path::new("/dev")).at(Step::CreateDevice(index(i)))?,
                    Path::new(d.name),
                )
                .at(Step::CreateDevice(index(i)))
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    // Likewise the console pty, by its host path in this namespace's copy of
    // the host's /dev/pts.
    let console_source = match ctx.console {
        Some((_, path)) => Some(
            sys::open_path_in_root(&sys::open_dir(Path::new("/")).at(Step::BindConsole)?, path)
                .at(Step::BindConsole)?,
        ),
        None => None,
    };
    for (i, km) in KERNEL_MOUNTS.iter().enumerate() {
        let step = Step::KernelMount(index(i));
        let target =
            sys::make_path_in_root(&root, Path::new(km.target), TargetKind::Directory).at(step)?;
        let flags = MsFlags::from_bits_truncate(km.flags);
        let result = mount(
            Some(km.fstype),
            &fd_path(target.as_fd()),
            Some(km.fstype),
            flags,
            km.data,
        );
        match result {
            // sysfs can only be mounted fresh by the owner of the network
            // namespace (EPERM in a user namespace sharing the host's
            // network), and the kernel refuses to stack the host's sysfs on
            // itself (EBUSY with a shared host root). Either way, bind the
            // host's /sys and make it read-only instead.
            Err(Errno::EPERM | Errno::EBUSY) if km.fstype == "sysfs" => {
                mount(
                    Some("/sys"),
                    &fd_path(target.as_fd()),
                    None::<&str>,
                    BIND,
                    None::<&str>,
                )
                .at(step)?;
                let mounted = sys::open_path_in_root(&root, Path::new(km.target)).at(step)?;
                readonly.push((step, mounted, true));
            }
            other => other.at(step)?,
        }
    }
    for (i, path) in READONLY_PATHS.iter().enumerate() {
        let step = Step::ReadonlyPath(index(i));
        let target = sys::open_path_in_root(&root, Path::new(path)).at(step)?;
        let target_path = fd_path(target.as_fd());
        mount(
            Some(&target_path),
            &target_path,
            None::<&str>,
            BIND,
            None::<&str>,
        )
        .at(step)?;
        let mounted = sys::open_path_in_root(&root, Path::new(path)).at(step)?;
        readonly.push((Step::ReadonlyKernelPath(index(i)), mounted, true));
    }
    let dev = sys::open_path_in_root(&root, Path::new("/dev")).at(Step::KernelMount(0))?;
    let dev_dir = nix::fcntl::openat(
        dev.as_fd(),
        ".",
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .at(Step::CreateDevice(0))?;
    for (i, device) in DEVICES.iter().enumerate() {
        let step = Step::CreateDevice(index(i));
        match host_devices.get(i) {
            None => mknodat(
                &dev_dir,
                device.name,
                SFlag::S_IFCHR,
                Mode::from_bits_truncate(device.mode),
                makedev(u64::from(device.major), u64::from(device.minor)),
            )
            .at(step)?,
            Some(host) => {
                let target = sys::make_path_in_root(
                    &root,
                    &Path::new("/dev").join(device.name),
                    TargetKind::File,
                )
                .at(step)?;
                mount(
                    Some(&fd_path(host.as_fd())),
                    &fd_path(target.as_fd()),
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .at(step)?;
            }
        }
    }
    for (i, (name, points_to)) in DEV_SYMLINKS.iter().enumerate() {
        nix::unistd::symlinkat(*points_to, &dev_dir, *name).at(Step::DevSymlink(index(i)))?;
    }
    if let Some(console) = &console_source {
        let target = sys::make_path_in_root(&root, Path::new(CONSOLE_PATH), TargetKind::File)
            .at(Step::BindConsole)?;
        mount(
            Some(&fd_path(console.as_fd())),
            &fd_path(target.as_fd()),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .at(Step::BindConsole)?;
    }
    // Masking comes after /dev so the container's own /dev/null is used.
    let null = sys::open_path_in_root(&root, Path::new("/dev/null")).at(Step::MaskPath(0))?;
    for (i, path) in MASKED_PATHS.iter().enumerate() {
        let step = Step::MaskPath(index(i));
        let target = match sys::open_path_in_root(&root, Path::new(path)) {
            Err(Errno::ENOENT) => continue, // not on this kernel
            other => other.at(step)?,
        };
        let is_dir =
            SFlag::from_bits_truncate(fstat(&target).at(step)?.st_mode).contains(SFlag::S_IFDIR);
        if is_dir {
            let hidden =
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            mount(
                Some("tmpfs"),
                &fd_path(target.as_fd()),
                Some("tmpfs"),
                hidden,
                Some("size=0,mode=555"),
            )
            .at(step)?;
        } else {
            mount(
                Some(&fd_path(null.as_fd())),
                &fd_path(target.as_fd()),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .at(step)?;
        }
    }
    drop(null);
    drop(dev_dir);
    drop(dev);

    // 8. pivot_root(".", "."): the old root ends up stacked on the new one
    //    and is detached at once; nothing of the host's tree stays reachable.
    //    A shared host root has nothing to pivot to.
    if let RootSource::Directory(_) = plan.root.source {
        nix::unistd::fchdir(&root).at(Step::PivotRoot)?;
        nix::unistd::pivot_root(".", ".").at(Step::PivotRoot)?;
        umount2(".", MntFlags::MNT_DETACH).at(Step::DetachOldRoot)?;
        nix::unistd::chdir("/").at(Step::DetachOldRoot)?;
    }

    // 9. Read-only remounts, last (mount_setattr on this namespace's mounts
    //    only; the mounts are private, so nothing reaches the host).
    for (step, fd, recursive) in &readonly {
        sys::set_mount_readonly(fd, *recursive).at(*step)?;
    }
    if plan.root.readonly {
        let new_root = sys::open_dir(Path::new("/")).at(Step::ReadonlyRoot)?;
        sys::set_mount_readonly(&new_root, false).at(Step::ReadonlyRoot)?;
    }
    drop(readonly);
    drop(root);

    // 10. Hostname (UTS namespace is new or joined).
    if let Some(name) = &plan.hostname {
        nix::unistd::sethostname(name).at(Step::SetHostname)?;
    }
    // 11. Console: a new session with the pty as controlling terminal and stdio.
    if let Some((console, _)) = ctx.console {
        nix::unistd::setsid().at(Step::AttachConsole)?;
        sys::set_controlling_terminal(console).at(Step::AttachConsole)?;
        nix::unistd::dup2_stdin(console).at(Step::AttachConsole)?;
        nix::unistd::dup2_stdout(console).at(Step::AttachConsole)?;
        nix::unistd::dup2_stderr(console).at(Step::AttachConsole)?;
    }
    // 12. Credentials and capabilities.
    set_credentials(plan)?;
    // 13. Working directory, as the final user (like a login would).
    nix::unistd::chdir(&plan.process.cwd).at(Step::ChangeDirectory)?;
    // 14. Signals back to the parent's original mask; the usual umask.
    ctx.signal_mask.thread_set_mask().at(Step::ResetSignals)?;
    umask(Mode::from_bits_truncate(0o022));
    // 15. Only fds 0-2 reach init. Close-on-exec rather than close: the sync
    //     socket must survive a failing execve to report it.
    sys::close_fds_on_exec(3).at(Step::CloseFds)?;
    // 16. Exec init with exactly the plan's environment. On success the sync
    //     socket closes (sync 2: end of file means running).
    let argv: &[CString] = &prepared.argv;
    let init = argv.first().ok_or(ChildFailure {
        step: Step::Exec,
        errno: Errno::ENOENT,
    })?;
    match nix::unistd::execve(init, argv, &prepared.envp) {
        Err(errno) => Err(ChildFailure {
            step: Step::Exec,
            errno,
        }),
    }
}

/// Step 12: bounding set, no_new_privs, groups, gid, uid, then the
/// capability sets (setuid to non-root clears the effective set, so they come
/// after it, with keepcaps preserving the permitted set across it).
fn set_credentials(plan: &Plan) -> Result<(), ChildFailure> {
    let wanted = &plan.capabilities;
    let mut supported: Vec<_> = caps::runtime::thread_all_supported().into_iter().collect();
    supported.sort_by_key(|c| c.index());
    for cap in supported {
        if !wanted.bounding.contains(&cap) {
            sys::drop_from_bounding_set(cap).at(Step::DropBoundingSet)?;
        }
    }
    if plan.no_new_privileges {
        nix::sys::prctl::set_no_new_privs().at(Step::NoNewPrivileges)?;
    }
    nix::sys::prctl::set_keepcaps(true).at(Step::KeepCapabilities)?;
    let identity = &plan.process.identity;
    let setgroups_allowed = plan
        .namespaces
        .user
        .as_ref()
        .is_none_or(|u| u.allow_setgroups);
    if setgroups_allowed {
        let groups: Vec<Gid> = identity
            .supplementary_groups
            .iter()
            .map(|g| Gid::from_raw(*g))
            .collect();
        nix::unistd::setgroups(&groups).at(Step::SetGroups)?;
    }
    let gid = Gid::from_raw(identity.gid);
    nix::unistd::setresgid(gid, gid, gid).at(Step::SetGid)?;
    let uid = Uid::from_raw(identity.uid);
    nix::unistd::setresuid(uid, uid, uid).at(Step::SetUid)?;
    let caps_errno = |_| Errno::last();
    caps::set(None, caps::CapSet::Effective, &wanted.effective)
        .map_err(caps_errno)
        .at(Step::SetCapabilities)?;
    caps::set(None, caps::CapSet::Inheritable, &wanted.inheritable)
        .map_err(caps_errno)
        .at(Step::SetCapabilities)?;
    caps::set(None, caps::CapSet::Permitted, &wanted.permitted)
        .map_err(caps_errno)
        .at(Step::SetCapabilities)?;
    let mut ambient: Vec<_> = wanted.ambient.iter().copied().collect();
    ambient.sort_by_key(|c| c.index());
    for cap in ambient {
        sys::raise_ambient(cap).at(Step::SetAmbient)?;
    }
    Ok(())
}
