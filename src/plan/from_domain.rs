//! Domain → Plan: the libvirt front end of the launcher.
//!
//! Runs once, before any clone, on a defaulted and validated [`Domain`]. Every
//! decision the child would otherwise make is made here: which namespaces,
//! which root, each mount step in document order, the environment libvirt's
//! LXC driver gives init, the identity (names resolved in the container's own
//! /etc/passwd and /etc/group), the capability sets from the policy and toggles.
//!
//! What the engine cannot do yet is refused with a message naming the element,
//! never silently ignored.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::mount::{is_root_target, mount_step, root_source};
use super::users::{IdSpec, UserError, resolve_identity};
use super::{
    CapabilityPlan, CapsHashSet, CgroupPlan, ConsoleMode, IdMapRange, Identity, MountStep,
    NamespaceJoin, NamespaceKind, Namespaces, Plan, Process, Root, RootSource, UserNamespace,
};
use crate::domain::{CapsPolicy, Device, Domain, IdMapEntry, NamespaceShare, OsType, ShareKind};

/// The `PATH` init starts with.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where template roots come from: the engine asks for a root by template
/// name and domain, and gets a directory or an overlay back. The template
/// store implements it; the engine knows nothing else of templates.
pub trait TemplateProvider {
    /// Provisions `template` as the root of `domain` (copy-on-write; a
    /// read-only root gets no writable layer).
    fn provision(
        &self,
        template: &str,
        domain: &str,
        readonly: bool,
    ) -> Result<RootSource, crate::template::TemplateError>;
}

/// Why a domain cannot become a plan.
#[derive(Debug, thiserror::Error)]
pub enum FromDomainError {
    #[error(
        "domain '{name}' is a {kind} domain: domrun's container engine runs lxc, openvz and vserver domains"
    )]
    NotAContainer { name: String, kind: String },
    #[error("<os><type> is '{0}': a container needs <type>exe</type>")]
    NotExe(OsType),
    #[error("<os> has no <init>: say which program runs as PID 1")]
    NoInit,
    #[error("{path}: {what} is not supported yet{hint}")]
    Unsupported {
        path: String,
        what: String,
        hint: &'static str,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: template '{template}': no template store is available here")]
    NoTemplateStore { path: String, template: String },
    #[error("{path}: template '{template}': {source}")]
    Template {
        path: String,
        template: String,
        #[source]
        source: Box<crate::template::TemplateError>,
    },
    #[error("{0}")]
    Cgroup(#[from] crate::cgroup::CgroupError),
    #[error("resolving <inituser>/<initgroup>: {0}")]
    Identity(#[from] UserError),
    #[error(transparent)]
    Network(#[from] super::network::NetPlanError),
}

/// A hostname made from a domain name: letters, digits and '-', at most 63
/// characters, never starting or ending with '-'.
pub fn hostname_for(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    let trimmed = mapped.trim_matches('-');
    if trimmed.is_empty() {
        "container".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn id_ranges(entries: &[IdMapEntry]) -> Vec<IdMapRange> {
    entries
        .iter()
        .map(|e| IdMapRange {
            inside: e.start,
            outside: e.target,
            count: e.count,
        })
        .collect()
}

fn id_spec(s: &str) -> IdSpec {
    match s.parse::<u32>() {
        Ok(n) => IdSpec::Id(n),
        Err(_) => IdSpec::Name(OsString::from(s)),
    }
}

fn capabilities(d: &Domain) -> CapabilityPlan {
    let Some(caps) = d.features.as_ref().and_then(|f| f.capabilities.as_ref()) else {
        return CapabilityPlan::libvirt_default();
    };
    let mut plan = match caps.policy.unwrap_or(CapsPolicy::Default) {
        CapsPolicy::Default => CapabilityPlan::libvirt_default(),
        CapsPolicy::Allow => CapabilityPlan::all_except(&[]),
        CapsPolicy::Deny => CapabilityPlan::only(&[]),
    };
    let known = caps::all();
    for (cap, on) in &caps.toggles {
        let Some(c) = known.iter().find(|c| c.index() == cap.number()).copied() else {
            continue;
        };
        for set in [&mut plan.bounding, &mut plan.effective, &mut plan.permitted] {
            if *on {
                set.insert(c);
            } else {
                set.remove(&c);
            }
        }
    }
    plan
}

/// Finds running domains by name, for `lxc:namespace` sharing with
/// `type='name'` (libvirt: another domain's namespaces).
pub trait DomainLookup {
    /// The pid of the running domain's init, as this process sees it.
    fn init_pid(&self, name: &str) -> Option<i32>;
}

fn join(
    kind: NamespaceKind,
    share: &NamespaceShare,
    what: &str,
    domains: Option<&dyn DomainLookup>,
) -> Result<NamespaceJoin, FromDomainError> {
    let path = match share.kind {
        ShareKind::Name => {
            let pid = domains
                .and_then(|d| d.init_pid(&share.value))
                .ok_or_else(|| FromDomainError::Invalid {
                    path: format!("/domain/lxc:namespace/{what}"),
                    message: format!(
                        "domain '{}' is not running here (start it first)",
                        share.value
                    ),
                })?;
            PathBuf::from(format!("/proc/{pid}/ns/{}", kind.proc_name()))
        }
        ShareKind::NetNs if kind == NamespaceKind::Network => {
            PathBuf::from("/run/netns").join(&share.value)
        }
        ShareKind::Pid => {
            let pid: u32 = share.value.parse().map_err(|_| FromDomainError::Invalid {
                path: format!("/domain/lxc:namespace/{what}"),
                message: format!("value '{}' is not a process id", share.value),
            })?;
            PathBuf::from(format!("/proc/{pid}/ns/{}", kind.proc_name()))
        }
        other => {
            return Err(FromDomainError::Unsupported {
                path: format!("/domain/lxc:namespace/{what}"),
                what: format!("sharing by {other}"),
                hint: " (use type='name', type='pid', or type='netns' for sharenet)",
            });
        }
    };
    Ok(NamespaceJoin { kind, path })
}

/// Builds the plan for a container domain. `d` must have had defaults
/// applied and passed validation; `sources` says where template roots and
/// named networks come from.
pub fn plan_from_domain(d: &Domain, sources: &Sources<'_>) -> Result<Plan, FromDomainError> {
    let mut plan = plan_without_network(d, sources.templates, sources.domains)?;
    // Network devices: a domain with any gets its own network namespace.
    plan.network = super::network::plan_network(d, sources.networks_dir)?;
    if !plan.network.is_empty() {
        plan.namespaces.new_network = true;
    }
    Ok(plan)
}

/// What the translation needs from the host besides the domain: the two
/// narrow interfaces to the state root.
#[derive(Default)]
pub struct Sources<'a> {
    /// Provisions template roots; `None` refuses `type='template'` roots.
    pub templates: Option<&'a dyn TemplateProvider>,
    /// Where named networks are defined (`<state root>/networks`); `None`
    /// refuses `<interface type='network'>`.
    pub networks_dir: Option<&'a Path>,
    /// Running domains, for sharing another domain's namespaces.
    pub domains: Option<&'a dyn DomainLookup>,
}

impl std::fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("templates", &self.templates.is_some())
            .field("networks_dir", &self.networks_dir)
            .field("domains", &self.domains.is_some())
            .finish()
    }
}

fn plan_without_network(
    d: &Domain,
    templates: Option<&dyn TemplateProvider>,
    domains: Option<&dyn DomainLookup>,
) -> Result<Plan, FromDomainError> {
    let init = container_init(d)?;
    // The root first: it decides where names are resolved and what the rest
    // of the mounts are relative to.
    let (root, mounts) = root_and_mounts(d, templates)?;
    let mut plan = Plan::new(root.source, Vec::new());
    plan.root.readonly = root.readonly;
    plan.mounts = mounts;
    plan.namespaces = namespaces(d, domains)?;
    // A joined UTS namespace keeps its owner's hostname.
    let shares_uts = d
        .lxc_namespace
        .as_ref()
        .is_some_and(|n| n.shareuts.is_some());
    plan.hostname = (!shares_uts).then(|| hostname_for(&d.name).into());
    plan.process = process(d, init, &plan.root.source)?;
    plan.capabilities = capabilities_for(d, plan.process.identity.uid);
    plan.console = ConsoleMode::Auto;
    plan.cgroup = Some(CgroupPlan::for_domain(d)?);
    Ok(plan)
}

impl CgroupPlan {
    /// The domain's cgroup and its settings.
    pub fn for_domain(d: &Domain) -> Result<CgroupPlan, crate::cgroup::CgroupError> {
        let partition = d.resource.as_ref().and_then(|r| r.partition.as_deref());
        let (partition, name) = CgroupPlan::place(&d.name, partition);
        Ok(CgroupPlan {
            partition,
            name,
            settings: crate::cgroup::CgroupSettings::from_domain(d)?,
            extras: super::CgroupExtras::default(),
        })
    }

    /// The same group moved below `partition` (an absolute cgroup path):
    /// `run --cgroup=inherit` puts the domain below the systemd unit's own
    /// delegated group (`generate::inherited_partition`).
    pub fn under(self, partition: String) -> CgroupPlan {
        CgroupPlan { partition, ..self }
    }

    /// Where domain `name`'s cgroup is: (`<resource><partition>`, default
    /// `/machine`; `NAME.domrun`). The one place these are spelled, so the
    /// launcher, `dominfo` and the stale sweep find the same group.
    pub fn place(name: &str, partition: Option<&str>) -> (String, String) {
        (
            partition
                .unwrap_or(crate::cgroup::DEFAULT_PARTITION)
                .to_owned(),
            format!("{name}.domrun"),
        )
    }
}

/// Init's path, once the domain is known to be a container that runs one.
fn container_init(d: &Domain) -> Result<&str, FromDomainError> {
    if !d.kind.is_container() {
        return Err(FromDomainError::NotAContainer {
            name: d.name.clone(),
            kind: d.kind.to_string(),
        });
    }
    if d.os.kind != OsType::Exe {
        return Err(FromDomainError::NotExe(d.os.kind));
    }
    d.os.init.as_deref().ok_or(FromDomainError::NoInit)
}

/// The root (the filesystem on `/`, else the host's) and every other
/// filesystem as a mount step, in document order. Devices the engine
/// cannot give a container are refused here, in the same walk.
fn root_and_mounts(
    d: &Domain,
    templates: Option<&dyn TemplateProvider>,
) -> Result<(Root, Vec<MountStep>), FromDomainError> {
    let mut root = Root {
        source: RootSource::SharedHost,
        readonly: false,
    };
    let mut mounts = Vec::new();
    let mut fs_index = 0;
    for dev in &d.devices.list {
        let fs = match dev {
            Device::Filesystem(fs) => fs,
            // Network devices: planned by `network::plan_network`.
            Device::Interface(_) => continue,
            Device::Hostdev(h) if h.is_net() => continue,
            Device::Hostdev(h) => {
                return Err(FromDomainError::Unsupported {
                    path: "/domain/devices/hostdev".into(),
                    what: format!("<hostdev type='{}'>", h.kind),
                    hint: "",
                });
            }
            _ => continue,
        };
        fs_index += 1;
        let path = format!("/domain/devices/filesystem[{fs_index}]");
        if fs.target.as_deref().is_some_and(is_root_target) {
            root = Root {
                source: root_source(fs, &path, &d.name, templates)?,
                readonly: fs.readonly,
            };
        } else {
            mounts.push(mount_step(fs, &path)?);
        }
    }
    Ok((root, mounts))
}

/// The namespaces: a private network with `<privnet/>`, a user namespace
/// with `<idmap>`, and the `<lxc:namespace>` shares joined.
fn namespaces(
    d: &Domain,
    domains: Option<&dyn DomainLookup>,
) -> Result<Namespaces, FromDomainError> {
    let mut ns = Namespaces {
        new_network: d.features.as_ref().is_some_and(|f| f.privnet),
        ..Namespaces::default()
    };
    if let Some(idmap) = &d.idmap {
        ns.user = Some(UserNamespace {
            uid_map: id_ranges(&idmap.uid),
            gid_map: id_ranges(&idmap.gid),
            allow_setgroups: true,
        });
    }
    if let Some(shares) = &d.lxc_namespace {
        for (kind, share, what) in [
            (NamespaceKind::Network, &shares.sharenet, "sharenet"),
            (NamespaceKind::Ipc, &shares.shareipc, "shareipc"),
            (NamespaceKind::Uts, &shares.shareuts, "shareuts"),
        ] {
            if let Some(share) = share {
                ns.join.push(join(kind, share, what, domains)?);
            }
        }
        if shares.sharenet.is_some() {
            ns.new_network = false;
        }
    }
    Ok(ns)
}

/// Init's argv, environment, directory and identity (names resolved in the
/// account files of `root`).
fn process(d: &Domain, init: &str, root: &RootSource) -> Result<Process, FromDomainError> {
    let mut argv = vec![OsString::from(init)];
    argv.extend(d.os.initargs.iter().map(OsString::from));
    let mut identity = Identity::default();
    if let Some(user) = &d.os.inituser {
        let names_root = match root {
            RootSource::Directory(p) => p.clone(),
            RootSource::SharedHost => PathBuf::from("/"),
            // The topmost layer that has the account files.
            RootSource::Overlay(o) => o
                .upper
                .iter()
                .map(|(u, _)| u)
                .chain(&o.lowers)
                .find(|l| l.join("etc/passwd").exists())
                .cloned()
                .unwrap_or_else(|| o.mountpoint.clone()),
        };
        let group = d.os.initgroup.as_deref().map(id_spec);
        identity = resolve_identity(&names_root, &id_spec(user), group.as_ref())?;
    }
    Ok(Process {
        argv,
        env: environment(d),
        cwd: PathBuf::from(d.os.initdir.as_deref().unwrap_or("/")),
        identity,
    })
}

/// The capability sets of an init running as `uid`.
fn capabilities_for(d: &Domain, uid: u32) -> CapabilityPlan {
    let mut caps = capabilities(d);
    // Toggles may name a capability domrun lacks itself: init does not get
    // it either, rather than the start failing with EPERM.
    caps.limit_to_held();
    if uid != 0 {
        // A non-root init holds no capabilities after exec (the kernel clears
        // them at setuid and exec); only the bounding set still limits what
        // setuid binaries inside may gain.
        caps.effective.clear();
        caps.permitted.clear();
        caps.inheritable.clear();
        caps.ambient.clear();
    }
    caps
}

/// The environment libvirt's LXC driver gives init, then every `<initenv>`.
fn environment(d: &Domain) -> Vec<(OsString, OsString)> {
    let term = std::env::var_os("TERM").unwrap_or_else(|| "linux".into());
    let uuid = d.uuid.map(|u| u.to_string()).unwrap_or_default();
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), DEFAULT_PATH.into()),
        ("TERM".into(), term),
        ("HOME".into(), "/".into()),
        ("container".into(), "lxc-libvirt".into()),
        ("container_uuid".into(), uuid.clone().into()),
        ("LIBVIRT_LXC_NAME".into(), d.name.clone().into()),
        ("LIBVIRT_LXC_UUID".into(), uuid.into()),
    ];
    if let Some(cmdline) = &d.os.cmdline {
        env.push(("LIBVIRT_LXC_CMDLINE".into(), cmdline.into()));
    }
    // A later definition of a name wins, as in a shell, and comes last: the
    // same list as removing each name before appending it, in one pass (a
    // removal per <initenv> would be quadratic in them).
    let last: std::collections::HashMap<&str, usize> =
        d.os.initenv
            .iter()
            .enumerate()
            .map(|(k, (name, _))| (name.as_str(), k))
            .collect();
    env.retain(|(n, _)| n.to_str().is_none_or(|n| !last.contains_key(n)));
    for (k, (name, value)) in d.os.initenv.iter().enumerate() {
        if last.get(name.as_str()) == Some(&k) {
            env.push((name.into(), value.into()));
        }
    }
    env
}

/// Capability sets as a sorted list of names (for tests and `dominfo`).
pub fn capability_names(set: &CapsHashSet) -> Vec<String> {
    let mut v: Vec<String> = set.iter().map(|c| c.to_string()).collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::super::MountSource;
    use super::*;

    fn plan_from_domain_t(d: &Domain) -> Result<Plan, FromDomainError> {
        plan_from_domain(d, &Sources::default())
    }

    fn domain(xml: &str) -> Domain {
        let mut d = Domain::parse(xml.as_bytes()).unwrap();
        d.apply_defaults().unwrap();
        d.validate().unwrap();
        d
    }

    const HELLO: &str = "<domain type='lxc'><name>My App_1</name>
      <uuid>8369f1ac-7e46-e869-4ca5-759d51478066</uuid>
      <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>true</initarg>
      <initenv name='PATH'>/opt/bin</initenv><initdir>/srv</initdir></os>
      <features><capabilities policy='default'><sys_time state='on'/><chown state='off'/></capabilities></features>
      <devices>
        <filesystem type='mount'><source dir='/srv/root'/><target dir='/'/><readonly/></filesystem>
        <filesystem type='ram'><source usage='2' units='MiB'/><target dir='/tmp'/></filesystem>
        <filesystem type='file'><source file='/img/data.img'/><target dir='/data'/><readonly/></filesystem>
        <filesystem type='bind'><source dir='/data/sub'/><target dir='/sub'/></filesystem>
        <console type='pty'/>
      </devices></domain>";

    #[test]
    fn translates_root_mounts_env_and_caps() {
        let p = plan_from_domain_t(&domain(HELLO)).unwrap();
        assert_eq!(p.root.source, RootSource::Directory("/srv/root".into()));
        assert!(p.root.readonly);
        assert_eq!(
            p.hostname.as_deref(),
            Some(std::ffi::OsStr::new("My-App-1"))
        );
        assert_eq!(p.mounts.len(), 3);
        assert_eq!(
            p.mounts[0].source,
            MountSource::Tmpfs {
                size_bytes: Some(2 << 20)
            }
        );
        assert!(matches!(p.mounts[1].source, MountSource::Image { .. }) && p.mounts[1].readonly);
        assert_eq!(
            p.mounts[2].source,
            MountSource::ContainerBind {
                path: "/data/sub".into()
            }
        );
        assert_eq!(p.process.argv, ["/bin/sh", "-c", "true"]);
        assert_eq!(p.process.cwd, PathBuf::from("/srv"));
        let env: Vec<String> = p
            .process
            .env
            .iter()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .collect();
        assert!(env.contains(&"PATH=/opt/bin".to_string()), "{env:?}");
        assert!(env.contains(&"container=lxc-libvirt".to_string()));
        assert!(env.contains(&"LIBVIRT_LXC_UUID=8369f1ac-7e46-e869-4ca5-759d51478066".to_string()));
        assert_eq!(env.iter().filter(|e| e.starts_with("PATH=")).count(), 1);
        assert!(
            p.capabilities
                .bounding
                .contains(&caps::Capability::CAP_SYS_TIME)
        );
        assert!(
            !p.capabilities
                .bounding
                .contains(&caps::Capability::CAP_CHOWN)
        );
        assert!(
            !p.capabilities
                .bounding
                .contains(&caps::Capability::CAP_SYS_MODULE)
        );
        assert!(!p.namespaces.new_network);
        assert!(p.namespaces.user.is_none());
    }

    #[test]
    fn no_root_filesystem_shares_the_host_root() {
        let p = plan_from_domain_t(&domain(
            "<domain type='lxc'><name>h</name><os><type>exe</type><init>/bin/true</init></os>
             <features><privnet/><capabilities policy='deny'><kill state='on'/></capabilities></features>
             <devices><console type='pty'/></devices></domain>",
        ))
        .unwrap();
        assert_eq!(p.root.source, RootSource::SharedHost);
        assert!(p.namespaces.new_network);
        assert_eq!(capability_names(&p.capabilities.bounding), ["CAP_KILL"]);
    }

    #[test]
    fn qcow2_images_are_exported_and_unbuilt_types_are_refused_by_path() {
        let p = plan_from_domain_t(&domain(
            "<domain type='lxc'><name>h</name><os><type>exe</type><init>/bin/true</init></os>
             <devices><filesystem type='file'><driver type='nbd' format='qcow2'/><source file='/a.qcow2'/>
             <target dir='/data'/></filesystem><console type='pty'/></devices></domain>",
        ))
        .unwrap();
        assert_eq!(
            p.mounts[0].source,
            MountSource::ExportedImage {
                file: "/a.qcow2".into(),
                format: crate::domain::ImageFormat::Qcow2
            }
        );
        let e = plan_from_domain_t(&domain(
            "<domain type='lxc'><name>h</name><os><type>exe</type><init>/bin/true</init></os>
             <devices><filesystem type='volume'><source pool='p' volume='v'/>
             <target dir='/data'/></filesystem><console type='pty'/></devices></domain>",
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/domain/devices/filesystem[1]: a volume filesystem is not supported yet"
        );
    }
}
