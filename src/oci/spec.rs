//! `config.json` → [`Plan`]: the second front end of the one launcher.
//!
//! Pure apart from reading the file: no probing of the host except the
//! documented checks for AppArmor/SELinux/RDT (which refuse the field when
//! the host lacks them). What the spec asks and domrun cannot honour is a
//! [`SpecError`] naming the field, never dropped.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::{
    Capabilities, Hook as SpecHook, LinuxCapabilities, LinuxIdMapping, LinuxNamespaceType,
    LinuxPersonalityDomain, PosixRlimitType, Process as SpecProcess, Spec,
};

use super::error::SpecError;
use super::{mounts, resources, seccomp};
use crate::plan::{
    CapabilityPlan, CapsHashSet, ConsoleMode, ConsoleSize, Hook, Hooks, IdMapRange, Identity,
    NamespaceJoin, NamespaceKind, PathMasking, Personality, Plan, Rlimit, RlimitResource,
    RootSource, Sysctl, UserNamespace,
};

/// The bundle's config file name.
pub const CONFIG_FILE: &str = "config.json";

/// What the caller of the front end decides, not the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecOptions {
    /// The container id (names the cgroup when `cgroupsPath` is absent).
    pub id: String,
    /// `--systemd-cgroup`: `cgroupsPath` is `slice:prefix:name`.
    pub systemd_cgroup: bool,
}

/// Reads `BUNDLE/config.json` and plans it.
pub fn load_bundle(bundle: &Path, options: &SpecOptions) -> Result<Plan, SpecError> {
    let path = bundle.join(CONFIG_FILE);
    let bytes = std::fs::read(&path).map_err(|source| SpecError::Read {
        path: path.clone(),
        source,
    })?;
    plan_from_spec(&parse_config(&bytes, &path)?, bundle, options)
}

/// The runtime-spec config in `bytes` (read from `path`, for messages).
/// Unknown capability names (`CAP_TEST`) are refused here.
pub fn parse_config(bytes: &[u8], path: &Path) -> Result<Spec, SpecError> {
    serde_json::from_slice(bytes).map_err(|source| SpecError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// The plan of `spec`, whose relative paths are relative to `bundle`.
pub fn plan_from_spec(
    spec: &Spec,
    bundle: &Path,
    options: &SpecOptions,
) -> Result<Plan, SpecError> {
    check_version(spec.version())?;
    refuse_other_platforms(spec)?;
    let process = spec.process().as_ref().ok_or_else(|| {
        SpecError::unsupported(
            "process",
            ": a config without one (domrun needs a process to start)",
        )
    })?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| SpecError::invalid("root", "missing: the container's root filesystem"))?;
    let root_path = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    let mut plan = Plan::new(RootSource::Directory(root_path), Vec::new());
    plan.root.readonly = root.readonly().unwrap_or(false);
    plan.hostname = spec.hostname().as_ref().map(OsString::from);
    plan.domainname = spec.domainname().as_ref().map(OsString::from);
    apply_process(&mut plan, process)?;
    plan.hooks = hooks(spec)?;
    plan.mount_table = mounts::mount_table(spec.mounts().as_deref().unwrap_or_default())?;
    let Some(linux) = spec.linux() else {
        return Err(SpecError::invalid(
            "linux",
            "missing: domrun runs Linux containers only",
        ));
    };
    plan.namespaces = namespaces(linux)?;
    let host_uts = plan.namespaces.keep_host.contains(&NamespaceKind::Uts);
    for (set, field) in [
        (plan.hostname.is_some(), "hostname"),
        (plan.domainname.is_some(), "domainname"),
    ] {
        if set && host_uts {
            return Err(SpecError::invalid(
                field,
                "needs a uts namespace in linux.namespaces (it would rename the host)",
            ));
        }
    }
    plan.path_masking = PathMasking::Listed {
        masked: paths(linux.masked_paths(), "linux.maskedPaths")?,
        readonly: paths(linux.readonly_paths(), "linux.readonlyPaths")?,
    };
    plan.sysctls = sysctls(linux.sysctl().as_ref());
    plan.device_nodes = resources::device_nodes(linux.devices().as_deref().unwrap_or_default())?;
    plan.cgroup = Some(resources::cgroup_plan(linux, options)?);
    plan.rootfs_propagation = linux
        .rootfs_propagation()
        .as_deref()
        .map(|p| mounts::propagation(p, "linux.rootfsPropagation"))
        .transpose()?;
    plan.seccomp = linux
        .seccomp()
        .as_ref()
        .map(seccomp::compile)
        .transpose()
        .map_err(|source| SpecError::Seccomp { source })?;
    plan.personality = linux.personality().as_ref().map(personality).transpose()?;
    refuse_linux_extras(linux)?;
    Ok(plan)
}

/// Any 1.x config: the suite writes 1.3.0, containerd 1.0.2-dev.
fn check_version(version: &str) -> Result<(), SpecError> {
    let mut parts = version.split('.');
    let major = parts.next();
    let minor = parts.next().map(|m| m.parse::<u32>().is_ok());
    if major == Some("1") && minor == Some(true) {
        Ok(())
    } else {
        Err(SpecError::invalid(
            "ociVersion",
            format!("{version:?} is not a 1.x runtime-spec version"),
        ))
    }
}

fn refuse_other_platforms(spec: &Spec) -> Result<(), SpecError> {
    for (set, field) in [
        (spec.solaris().is_some(), "solaris"),
        (spec.windows().is_some(), "windows"),
        (spec.vm().is_some(), "vm"),
        (spec.zos().is_some(), "zos"),
    ] {
        if set {
            return Err(SpecError::unsupported(
                field,
                ": domrun runs Linux containers",
            ));
        }
    }
    if spec.uid_mappings().is_some() || spec.gid_mappings().is_some() {
        return Err(SpecError::unsupported(
            "uidMappings",
            ": top-level mappings are FreeBSD's; use linux.uidMappings",
        ));
    }
    Ok(())
}

fn apply_process(plan: &mut Plan, p: &SpecProcess) -> Result<(), SpecError> {
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(SpecError::invalid("process.args", "empty: nothing to run"));
    }
    if p.command_line().is_some() {
        return Err(SpecError::unsupported(
            "process.commandLine",
            ": it is Windows-only",
        ));
    }
    plan.process.argv = args.into_iter().map(OsString::from).collect();
    plan.process.env = environment(p.env().as_deref().unwrap_or_default())?;
    if !p.cwd().is_absolute() {
        return Err(SpecError::invalid(
            "process.cwd",
            "must be an absolute path",
        ));
    }
    plan.process.cwd = p.cwd().clone();
    let user = p.user();
    if user.username().is_some() {
        return Err(SpecError::unsupported(
            "process.user.username",
            ": it is Windows-only",
        ));
    }
    let mut groups = user.additional_gids().clone().unwrap_or_default();
    groups.sort_unstable();
    groups.dedup();
    plan.process.identity = Identity {
        uid: user.uid(),
        gid: user.gid(),
        supplementary_groups: groups,
    };
    plan.umask = user.umask();
    plan.console = if p.terminal().unwrap_or(false) {
        ConsoleMode::Pty
    } else {
        ConsoleMode::Inherit
    };
    plan.console_size = p.console_size().map(|b| ConsoleSize {
        rows: u16::try_from(b.height()).unwrap_or(u16::MAX),
        columns: u16::try_from(b.width()).unwrap_or(u16::MAX),
    });
    plan.capabilities = capabilities(p.capabilities().as_ref());
    plan.no_new_privileges = p.no_new_privileges().unwrap_or(false);
    plan.oom_score_adj = p.oom_score_adj();
    plan.rlimits = rlimits(p)?;
    for (set, field, reason) in [
        (
            p.apparmor_profile().is_some(),
            "process.apparmorProfile",
            APPARMOR_MISSING,
        ),
        (
            p.selinux_label().is_some(),
            "process.selinuxLabel",
            SELINUX_MISSING,
        ),
        (p.io_priority().is_some(), "process.ioPriority", PHASE_2),
        (p.scheduler().is_some(), "process.scheduler", PHASE_2),
        (
            p.exec_cpu_affinity().is_some(),
            "process.execCPUAffinity",
            PHASE_2,
        ),
    ] {
        if set {
            return Err(SpecError::unsupported(field, reason));
        }
    }
    Ok(())
}

/// Why AppArmor fields are refused (checked per host in phase 2; this
/// host's kernel has no AppArmor, see docs/oci.md).
pub(crate) const APPARMOR_MISSING: &str = ": AppArmor is not enabled on this host";
/// Why SELinux fields are refused.
pub(crate) const SELINUX_MISSING: &str = ": SELinux is not enabled on this host";
/// Why time namespaces are refused.
const TIME_NAMESPACE: &str = ": domrun does not create time namespaces yet";
/// A field the launcher does not carry out yet.
pub(crate) const PHASE_2: &str = " by domrun yet";

/// `KEY=VALUE` strings as (name, value); the first `=` splits.
fn environment(env: &[String]) -> Result<Vec<(OsString, OsString)>, SpecError> {
    env.iter()
        .enumerate()
        .map(|(i, entry)| {
            entry
                .split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .ok_or_else(|| {
                    SpecError::invalid(
                        format!("process.env[{i}]"),
                        format!("{entry:?} is not KEY=VALUE"),
                    )
                })
        })
        .collect()
}

/// The five sets exactly as listed (absent sets are empty: the spec grants
/// nothing it does not name). A capability domrun does not hold itself is
/// left out of every set, as for the XML front end (`limit_to_held`).
fn capabilities(c: Option<&LinuxCapabilities>) -> CapabilityPlan {
    let set = |s: &Option<Capabilities>| -> CapsHashSet {
        s.iter()
            .flatten()
            .filter_map(|cap| format!("CAP_{cap}").parse().ok())
            .collect()
    };
    let Some(c) = c else {
        return CapabilityPlan::only(&[]);
    };
    let mut plan = CapabilityPlan {
        bounding: set(c.bounding()),
        effective: set(c.effective()),
        permitted: set(c.permitted()),
        inheritable: set(c.inheritable()),
        ambient: set(c.ambient()),
    };
    plan.limit_to_held();
    plan
}

/// runtime-spec's rlimit names and the plan's resources, one table.
const RLIMITS: &[(PosixRlimitType, RlimitResource)] = &[
    (PosixRlimitType::RlimitAs, RlimitResource::As),
    (PosixRlimitType::RlimitCore, RlimitResource::Core),
    (PosixRlimitType::RlimitCpu, RlimitResource::Cpu),
    (PosixRlimitType::RlimitData, RlimitResource::Data),
    (PosixRlimitType::RlimitFsize, RlimitResource::Fsize),
    (PosixRlimitType::RlimitLocks, RlimitResource::Locks),
    (PosixRlimitType::RlimitMemlock, RlimitResource::Memlock),
    (PosixRlimitType::RlimitMsgqueue, RlimitResource::Msgqueue),
    (PosixRlimitType::RlimitNice, RlimitResource::Nice),
    (PosixRlimitType::RlimitNofile, RlimitResource::Nofile),
    (PosixRlimitType::RlimitNproc, RlimitResource::Nproc),
    (PosixRlimitType::RlimitRss, RlimitResource::Rss),
    (PosixRlimitType::RlimitRtprio, RlimitResource::Rtprio),
    (PosixRlimitType::RlimitRttime, RlimitResource::Rttime),
    (
        PosixRlimitType::RlimitSigpending,
        RlimitResource::Sigpending,
    ),
    (PosixRlimitType::RlimitStack, RlimitResource::Stack),
];

fn rlimits(p: &SpecProcess) -> Result<Vec<Rlimit>, SpecError> {
    let mut out: Vec<Rlimit> = Vec::new();
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        let field = format!("process.rlimits[{i}]");
        let resource = RLIMITS
            .iter()
            .find(|(t, _)| *t == r.typ())
            .map(|(_, res)| *res)
            .ok_or_else(|| {
                SpecError::unsupported(format!("{field}.type"), ": not a Linux rlimit")
            })?;
        if r.soft() > r.hard() {
            return Err(SpecError::invalid(field, "soft limit above the hard limit"));
        }
        if out.iter().any(|o| o.resource == resource) {
            return Err(SpecError::invalid(field, "this rlimit type is set twice"));
        }
        out.push(Rlimit {
            resource,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(out)
}

/// runtime-spec's namespace types and the plan's kinds.
const NAMESPACES: &[(LinuxNamespaceType, NamespaceKind)] = &[
    (LinuxNamespaceType::Mount, NamespaceKind::Mount),
    (LinuxNamespaceType::Pid, NamespaceKind::Pid),
    (LinuxNamespaceType::Uts, NamespaceKind::Uts),
    (LinuxNamespaceType::Ipc, NamespaceKind::Ipc),
    (LinuxNamespaceType::Cgroup, NamespaceKind::Cgroup),
    (LinuxNamespaceType::Network, NamespaceKind::Network),
    (LinuxNamespaceType::User, NamespaceKind::User),
];

fn namespaces(linux: &oci_spec::runtime::Linux) -> Result<crate::plan::Namespaces, SpecError> {
    let mut ns = crate::plan::Namespaces::default();
    let mut listed = Vec::new();
    for (i, n) in linux.namespaces().iter().flatten().enumerate() {
        let field = format!("linux.namespaces[{i}]");
        let kind = NAMESPACES
            .iter()
            .find(|(t, _)| *t == n.typ())
            .map(|(_, k)| *k)
            .ok_or_else(|| SpecError::unsupported(format!("{field}.type"), TIME_NAMESPACE))?;
        if listed.contains(&kind) {
            return Err(SpecError::invalid(
                field,
                "this namespace type is listed twice",
            ));
        }
        listed.push(kind);
        match (n.path(), kind) {
            (Some(path), _) => {
                if !path.is_absolute() {
                    return Err(SpecError::invalid(
                        format!("{field}.path"),
                        "must be absolute",
                    ));
                }
                ns.join.push(NamespaceJoin {
                    kind,
                    path: path.clone(),
                });
            }
            (None, NamespaceKind::Network) => ns.new_network = true,
            (None, NamespaceKind::User) => ns.user = Some(user_namespace(linux)?),
            (None, _) => {}
        }
    }
    if !listed.contains(&NamespaceKind::User)
        && (linux.uid_mappings().is_some() || linux.gid_mappings().is_some())
    {
        return Err(SpecError::invalid(
            "linux.uidMappings",
            "mappings need a new user namespace in linux.namespaces",
        ));
    }
    ns.keep_host = [
        NamespaceKind::Mount,
        NamespaceKind::Pid,
        NamespaceKind::Ipc,
        NamespaceKind::Uts,
        NamespaceKind::Cgroup,
    ]
    .into_iter()
    .filter(|k| !listed.contains(k))
    .collect();
    Ok(ns)
}

fn user_namespace(linux: &oci_spec::runtime::Linux) -> Result<UserNamespace, SpecError> {
    let uid_map = id_ranges(linux.uid_mappings().as_deref().unwrap_or_default());
    let gid_map = id_ranges(linux.gid_mappings().as_deref().unwrap_or_default());
    if uid_map.is_empty() || gid_map.is_empty() {
        return Err(SpecError::invalid(
            "linux.uidMappings",
            "a new user namespace needs uidMappings and gidMappings",
        ));
    }
    Ok(UserNamespace {
        uid_map,
        gid_map,
        // runc allows setgroups in a namespace it sets up as root.
        allow_setgroups: true,
    })
}

/// runtime-spec id mappings as plan ranges.
pub(crate) fn id_ranges(maps: &[LinuxIdMapping]) -> Vec<IdMapRange> {
    maps.iter()
        .map(|m| IdMapRange {
            inside: m.container_id(),
            outside: m.host_id(),
            count: m.size(),
        })
        .collect()
}

/// `linux.maskedPaths` or `linux.readonlyPaths` (`field`): absolute paths.
fn paths(list: &Option<Vec<String>>, field: &str) -> Result<Vec<PathBuf>, SpecError> {
    list.iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| {
            let path = PathBuf::from(p);
            if path.is_absolute() {
                Ok(path)
            } else {
                Err(SpecError::invalid(
                    format!("{field}[{i}]"),
                    "must be an absolute path",
                ))
            }
        })
        .collect()
}

fn sysctls(map: Option<&std::collections::HashMap<String, String>>) -> Vec<Sysctl> {
    let mut out: Vec<Sysctl> = map
        .into_iter()
        .flatten()
        .map(|(k, v)| Sysctl {
            key: k.clone(),
            value: v.clone(),
        })
        .collect();
    // A JSON object has no order; a stable one keeps plans comparable.
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

fn hooks(spec: &Spec) -> Result<Hooks, SpecError> {
    let Some(h) = spec.hooks() else {
        return Ok(Hooks::default());
    };
    let list = |hooks: &Option<Vec<SpecHook>>, name: &str| -> Result<Vec<Hook>, SpecError> {
        hooks
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, hook)| {
                let field = format!("hooks.{name}[{i}]");
                if !hook.path().is_absolute() {
                    return Err(SpecError::invalid(
                        format!("{field}.path"),
                        "must be absolute",
                    ));
                }
                let timeout = match hook.timeout() {
                    None => None,
                    Some(t) if t > 0 => Some(Duration::from_secs(t.unsigned_abs())),
                    Some(_) => {
                        return Err(SpecError::invalid(
                            format!("{field}.timeout"),
                            "must be above zero",
                        ));
                    }
                };
                Ok(Hook {
                    path: hook.path().clone(),
                    args: hook.args().clone().unwrap_or_default(),
                    env: hook.env().clone().unwrap_or_default(),
                    timeout,
                })
            })
            .collect()
    };
    Ok(Hooks {
        prestart: list(h.prestart(), "prestart")?,
        create_runtime: list(h.create_runtime(), "createRuntime")?,
        create_container: list(h.create_container(), "createContainer")?,
        start_container: list(h.start_container(), "startContainer")?,
        poststart: list(h.poststart(), "poststart")?,
        poststop: list(h.poststop(), "poststop")?,
    })
}

fn personality(p: &oci_spec::runtime::LinuxPersonality) -> Result<Personality, SpecError> {
    if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(SpecError::unsupported(
            "linux.personality.flags",
            ": runtime-spec defines no flags",
        ));
    }
    Ok(match p.domain() {
        LinuxPersonalityDomain::PerLinux => Personality::Linux,
        LinuxPersonalityDomain::PerLinux32 => Personality::Linux32,
    })
}

/// The `linux` fields domrun does not carry out on this host.
fn refuse_linux_extras(linux: &oci_spec::runtime::Linux) -> Result<(), SpecError> {
    for (set, field, reason) in [
        (
            linux.intel_rdt().is_some(),
            "linux.intelRdt",
            ": resctrl is not mounted on this host",
        ),
        (
            linux.mount_label().is_some(),
            "linux.mountLabel",
            SELINUX_MISSING,
        ),
        (
            linux.memory_policy().is_some(),
            "linux.memoryPolicy",
            PHASE_2,
        ),
        (
            linux.time_offsets().is_some(),
            "linux.timeOffsets",
            TIME_NAMESPACE,
        ),
        (linux.net_devices().is_some(), "linux.netDevices", PHASE_2),
    ] {
        if set {
            return Err(SpecError::unsupported(field, reason));
        }
    }
    Ok(())
}
