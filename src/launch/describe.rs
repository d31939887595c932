//! Turns a child's `(step, index)` into a sentence with the paths involved.
//! The child sends only numbers; the parent holds the plan to name things.

use super::prepare::{Prepared, describe_source};
use super::protocol::Step;
use crate::plan::defaults::{DEV_SYMLINKS, DEVICES, KERNEL_MOUNTS, KernelSource, MASKED_PATHS};
use crate::plan::{Plan, RootSource};

/// What the child was doing at `step`, e.g.
/// `mounting /dev/loop3 (ext4, from /srv/app.img) on /var/lib/app`.
pub(super) fn describe_step(plan: &Plan, prepared: Option<&Prepared>, step: Step) -> String {
    let target = |i: u16| {
        plan.mounts
            .get(usize::from(i))
            .map_or_else(|| format!("mount #{i}"), |m| m.target.display().to_string())
    };
    let table =
        |names: &[&str], i: u16| names.get(usize::from(i)).copied().unwrap_or("?").to_owned();
    let cgroup_target = |i: u16| {
        prepared
            .and_then(|p| p.cgroup_view.mounts.get(usize::from(i)))
            .map_or_else(
                || format!("#{i} under /sys/fs/cgroup"),
                |m| m.target.display().to_string(),
            )
    };
    match step {
        Step::WaitForParent => "waiting for the parent to release the container".into(),
        Step::BecomeNamespaceRoot => "becoming root in the new user namespace".into(),
        Step::JoinNamespace(i) => match plan.namespaces.join.get(usize::from(i)) {
            Some(j) => format!(
                "joining {} namespace {}",
                j.kind.proc_name(),
                j.path.display()
            ),
            None => format!("joining namespace #{i}"),
        },
        Step::MakeMountsPrivate => "making all mounts private".into(),
        Step::MountRoot => match &plan.root.source {
            RootSource::Directory(dir) => format!("binding root directory {}", dir.display()),
            RootSource::SharedHost => "opening the host root".into(),
            RootSource::Overlay(o) => format!(
                "mounting the overlay root (template {}) on {}",
                o.lowers
                    .first()
                    .map_or_else(String::new, |l| l.display().to_string()),
                o.mountpoint.display()
            ),
        },
        Step::ResolveMountTarget(i) => {
            format!("creating mount point {} inside the container", target(i))
        }
        Step::ResolveMountSource(i) => format!(
            "opening bind source {} inside the container",
            describe_source(plan, prepared, usize::from(i))
        ),
        Step::UserMount(i) => format!(
            "mounting {} on {}",
            describe_source(plan, prepared, usize::from(i)),
            target(i)
        ),
        Step::KernelMount(i) => match KERNEL_MOUNTS.get(usize::from(i)) {
            Some(m) => match m.source {
                KernelSource::Filesystem(fstype) => format!("mounting {fstype} on {}", m.target),
                KernelSource::Itself => format!("binding {} onto itself", m.target),
            },
            None => format!("mounting kernel filesystem #{i}"),
        },
        Step::CreateDevice(i) => match DEVICES.get(usize::from(i)) {
            Some(d) => format!("creating /dev/{} ({}:{})", d.name, d.major, d.minor),
            None => format!("creating device #{i}"),
        },
        Step::DevSymlink(i) => match DEV_SYMLINKS.get(usize::from(i)) {
            Some((name, to)) => format!("creating symlink /dev/{name} -> {to}"),
            None => format!("creating /dev symlink #{i}"),
        },
        Step::BindConsole => "binding the console pty on /dev/console".into(),
        Step::MaskPath(i) => format!("masking {}", table(MASKED_PATHS, i)),
        Step::PivotRoot => "pivot_root into the container root".into(),
        Step::DetachOldRoot => "detaching the host's root".into(),
        Step::ReadonlyRoot => "making / read-only".into(),
        Step::ReadonlyUserMount(i) => format!("making {} read-only", target(i)),
        Step::ReadonlyKernelMount(i) => match KERNEL_MOUNTS.get(usize::from(i)) {
            Some(m) => format!("making {} read-only", m.target),
            None => format!("making kernel filesystem #{i} read-only"),
        },
        Step::SetHostname => match &plan.hostname {
            Some(name) => format!("setting hostname {}", name.to_string_lossy()),
            None => "setting hostname".into(),
        },
        Step::AttachConsole => "attaching the console pty to init".into(),
        Step::DropBoundingSet => "dropping capabilities from the bounding set".into(),
        Step::NoNewPrivileges => "setting no_new_privs".into(),
        Step::KeepCapabilities => "keeping capabilities across the uid change".into(),
        Step::SetGroups => format!(
            "setting supplementary groups {:?}",
            plan.process.identity.supplementary_groups
        ),
        Step::SetGid => format!("setting gid {}", plan.process.identity.gid),
        Step::SetUid => format!("setting uid {}", plan.process.identity.uid),
        Step::SetCapabilities => {
            "setting the effective, inheritable and permitted capabilities".into()
        }
        Step::SetAmbient => "raising ambient capabilities".into(),
        Step::ChangeDirectory => format!("changing directory to {}", plan.process.cwd.display()),
        Step::ResetSignals => "restoring the signal mask".into(),
        Step::CloseFds => "marking inherited file descriptors close-on-exec".into(),
        Step::CgroupNamespace => "entering a new cgroup namespace".into(),
        Step::CgroupMount(i) => format!("mounting cgroup filesystem {}", cgroup_target(i)),
        Step::CgroupSymlink(i) => {
            match prepared.and_then(|p| p.cgroup_view.symlinks.get(usize::from(i))) {
                Some((name, to)) => format!(
                    "creating symlink {}/{} -> {}",
                    super::resources::CGROUP_VIEW,
                    name.to_string_lossy(),
                    to.to_string_lossy()
                ),
                None => format!("creating cgroup symlink #{i}"),
            }
        }
        Step::ReadonlyCgroupMount(i) => format!("making {} read-only", cgroup_target(i)),
        Step::Exec => match plan.process.argv.first() {
            Some(init) => format!("executing init {}", init.to_string_lossy()),
            None => "executing init".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{MountSource, MountStep};

    #[test]
    fn names_the_mount_and_its_source() {
        let mut plan = Plan::new(RootSource::SharedHost, vec!["/sbin/init".into()]);
        plan.mounts.push(MountStep {
            source: MountSource::Image {
                file: "/srv/app.img".into(),
                fs: None,
            },
            target: "/var/lib/app".into(),
            readonly: false,
        });
        assert_eq!(
            describe_step(&plan, None, Step::UserMount(0)),
            "mounting image /srv/app.img on /var/lib/app"
        );
        assert_eq!(
            describe_step(&plan, None, Step::Exec),
            "executing init /sbin/init"
        );
        assert_eq!(
            describe_step(&plan, None, Step::MaskPath(0)),
            "masking /proc/kcore"
        );
        let net = KERNEL_MOUNTS
            .iter()
            .position(|m| m.target == "/proc/sys/net")
            .and_then(|i| u16::try_from(i).ok())
            .expect("a /proc/sys/net row");
        assert_eq!(
            describe_step(&plan, None, Step::KernelMount(net)),
            "binding /proc/sys/net onto itself"
        );
        assert_eq!(
            describe_step(&plan, None, Step::ReadonlyKernelMount(net - 1)),
            "making /proc/sys read-only"
        );
    }
}
