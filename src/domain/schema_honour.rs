//! Names libvirt defines that domrun cannot honour, per domain type.
//!
//! domrun parses them (and keeps them for a lossless round trip), but its
//! plan does not act on them. Each entry says whether ignoring it would
//! change what the domain may reach or use (isolation, limits, pinning, a
//! confidentiality promise): then it is an **error**, with the fix in the
//! reason. Otherwise (a VM-only knob that a container simply has no use for)
//! it is a one-line **note**. When unsure, the entry is an error.
//!
//! Settings that the cgroup pass already refuses or reports with its own
//! reason (`memtune/min_guarantee`, `cputune/emulator_period`, NUMA modes,
//! automatic placement) are not repeated here. The VM backends (`kvm`,
//! `qemu`, `xen`) hand the document to their engine, which has its own
//! refusals, so the table only covers the container types.
//!
//! See docs/domain-xml.md, "Vocabulary".

use super::DomainType;
use crate::xml::Element;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Severity {
    Error,
    Note,
}

/// One name domrun does not act on.
#[derive(Debug)]
pub(super) struct Unhonoured {
    /// The element's path without indices (`/domain/cputune/vcpupin`).
    pub(super) path: &'static str,
    /// The entry does not apply when this attribute has this value
    /// (`<seclabel type='none'>` asks for nothing).
    pub(super) unless: Option<(&'static str, &'static str)>,
    pub(super) severity: Severity,
    pub(super) reason: &'static str,
}

const fn error(path: &'static str, reason: &'static str) -> Unhonoured {
    Unhonoured {
        path,
        unless: None,
        severity: Severity::Error,
        reason,
    }
}

const fn note(path: &'static str, reason: &'static str) -> Unhonoured {
    Unhonoured {
        path,
        unless: None,
        severity: Severity::Note,
        reason,
    }
}

/// What a container domain (`lxc`, `openvz`, `vserver`: domrun's own engine)
/// cannot honour.
const CONTAINER: &[Unhonoured] = &[
    // Isolation.
    Unhonoured {
        path: "/domain/seclabel",
        unless: Some(("type", "none")),
        severity: Severity::Error,
        reason: "domrun applies no SELinux or AppArmor label, so the container would run \
                 unconfined by it; remove it or say <seclabel type='none'/>",
    },
    error(
        "/domain/launchSecurity",
        "memory encryption is a VM feature; a container shares the host kernel",
    ),
    error(
        "/domain/devices/interface/filterref",
        "domrun applies no nwfilter, so the traffic would not be filtered; remove it and \
         filter in the host's firewall",
    ),
    error(
        "/domain/devices/interface/vlan",
        "domrun sets no VLAN tag, so the interface would join the untagged network; remove it \
         or use a bridge on the VLAN",
    ),
    error(
        "/domain/devices/interface/virtualport",
        "domrun configures no Open vSwitch or 802.1Qbx port; remove it",
    ),
    error(
        "/domain/devices/interface/port",
        "domrun does not isolate ports on a bridge (<port isolated>); remove it",
    ),
    error(
        "/domain/devices/filesystem/idmap",
        "domrun does not map ids per filesystem; map the domain with <idmap>",
    ),
    error(
        "/domain/devices/disk",
        "a container's plan has no disks, so the container would run without it; give it as \
         <filesystem type='block'> or <hostdev mode='capabilities' type='storage'>",
    ),
    // Limits and placement.
    error(
        "/domain/memoryBacking",
        "domrun backs a container's memory with nothing special (no hugepages, locking or \
         sharing); remove it",
    ),
    error(
        "/domain/numatune/memnode",
        "per-node memory policies are not applied; use <numatune><memory nodeset=…>",
    ),
    error(
        "/domain/cputune/vcpupin",
        "a container has no vCPU threads to pin; give the CPUs in <vcpu cpuset=…>",
    ),
    error(
        "/domain/cputune/emulatorpin",
        "a container has no emulator threads to pin; give the CPUs in <vcpu cpuset=…>",
    ),
    error(
        "/domain/cputune/iothreadpin",
        "a container has no I/O threads to pin; give the CPUs in <vcpu cpuset=…>",
    ),
    error(
        "/domain/cputune/vcpusched",
        "domrun sets no scheduler policy; remove it",
    ),
    error(
        "/domain/cputune/iothreadsched",
        "domrun sets no scheduler policy; remove it",
    ),
    error(
        "/domain/cputune/emulatorsched",
        "domrun sets no scheduler policy; remove it",
    ),
    error(
        "/domain/cputune/cachetune",
        "domrun allocates no cache (resctrl); remove it",
    ),
    error(
        "/domain/cputune/memorytune",
        "domrun allocates no memory bandwidth (resctrl); remove it",
    ),
    // VM-only, harmless when ignored.
    note(
        "/domain/maxMemory",
        "memory hotplug is a VM feature; <memory> is the limit",
    ),
    note("/domain/cpu", "a container runs on the host's CPU"),
    note(
        "/domain/sysinfo",
        "a container sees the host's firmware tables",
    ),
    note("/domain/iothreads", "a container has no I/O threads"),
    note("/domain/iothreadids", "a container has no I/O threads"),
    note("/domain/pm", "a container has no power management"),
    note("/domain/perf", "domrun collects no perf events"),
    note("/domain/keywrap", "a container has no S390 key wrapping"),
    note("/domain/genid", "a container has no VM generation id"),
    note("/domain/on_lockfailure", "domrun uses no lock manager"),
    note("/domain/devices/graphics", "a container has no display"),
    note("/domain/devices/video", "a container has no display"),
    note(
        "/domain/devices/sound",
        "a container has no emulated sound card",
    ),
    note(
        "/domain/devices/audio",
        "a container has no emulated sound card",
    ),
    note(
        "/domain/devices/input",
        "a container has no emulated input device",
    ),
    note(
        "/domain/devices/memballoon",
        "a container has no balloon driver",
    ),
    note(
        "/domain/devices/watchdog",
        "a container has no emulated watchdog",
    ),
    note("/domain/devices/panic", "a container has no panic device"),
    note("/domain/clock/timer", "a container uses the host's clocks"),
    note(
        "/domain/devices/controller",
        "a container has no emulated bus",
    ),
    note(
        "/domain/devices/channel",
        "a container has no guest-agent channel",
    ),
    note(
        "/domain/devices/parallel",
        "a container has no emulated parallel port",
    ),
    note(
        "/domain/devices/rng",
        "a container reads the host's random source",
    ),
    note("/domain/devices/tpm", "a container has no emulated TPM"),
    note(
        "/domain/devices/smartcard",
        "a container has no emulated smartcard",
    ),
    note(
        "/domain/devices/redirdev",
        "a container has no USB redirection",
    ),
    note("/domain/devices/hub", "a container has no emulated USB hub"),
    note("/domain/devices/iommu", "a container has no emulated IOMMU"),
    note("/domain/devices/vsock", "a container has no virtio socket"),
    note("/domain/devices/memory", "memory hotplug is a VM feature"),
];

/// The entry for `el` at `path` (without indices) in a `kind` domain.
pub(super) fn unhonoured(
    kind: DomainType,
    path: &str,
    el: &Element,
) -> Option<&'static Unhonoured> {
    if !kind.is_container() {
        return None;
    }
    CONTAINER.iter().find(|u| {
        u.path == path
            && u.unless
                .is_none_or(|(attr, value)| el.attr(attr) != Some(value))
    })
}

#[cfg(test)]
mod tests {
    use super::super::schema::{Strictness, check_vocabulary};
    use super::*;
    use crate::xml::{Limits, read_document};

    fn check(body: &str, kind: &str) -> Result<String, String> {
        let doc =
            format!("<domain type='{kind}'><name>a</name><os><type>exe</type></os>{body}</domain>");
        let root = read_document(doc.as_bytes(), &Limits::default()).unwrap();
        match check_vocabulary(&root, Strictness::Strict) {
            Ok(notes) => Ok(notes.iter().map(ToString::to_string).collect()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn every_entry_names_a_place_libvirt_defines() {
        for u in CONTAINER {
            let (parent, name) = u.path.rsplit_once('/').unwrap();
            let frag = read_document(format!("<{name}/>").as_bytes(), &Limits::default()).unwrap();
            let r = super::super::schema::check_fragment(
                &frag,
                parent,
                DomainType::Lxc,
                Strictness::Strict,
            );
            let unknown = match &r {
                Err(e) => e.to_string().contains("unknown element"),
                Ok(_) => false,
            };
            assert!(!unknown, "{}: {r:?}", u.path);
            assert!(r.is_err() == (u.severity == Severity::Error), "{}", u.path);
        }
    }

    /// docs/domain-xml.md lists the table for users; it must not drift.
    #[test]
    fn every_entry_is_documented() {
        let docs = include_str!("../../docs/domain-xml.md");
        let section = docs
            .split_once("## Vocabulary")
            .and_then(|(_, rest)| rest.split_once("\n## "))
            .map(|(s, _)| s)
            .unwrap();
        for u in CONTAINER {
            let name = u.path.rsplit('/').next().unwrap();
            assert!(
                section.contains(&format!("<{name}>")),
                "{} is not in docs/domain-xml.md, Vocabulary",
                u.path
            );
        }
    }

    #[test]
    fn isolation_is_an_error_and_cosmetics_a_note() {
        let e = check("<seclabel type='dynamic' model='selinux'/>", "lxc").unwrap_err();
        assert!(e.starts_with("1:59: /domain/seclabel: <seclabel> is not honoured in a domain of type 'lxc': domrun applies no SELinux"), "{e}");
        assert_eq!(check("<seclabel type='none'/>", "lxc"), Ok(String::new()));
        let n = check("<pm/>", "lxc").unwrap();
        assert_eq!(
            n,
            "note: 1:59: /domain/pm: <pm> is ignored in a domain of type 'lxc': a container has no power management"
        );
        // VM types are left to their engine.
        assert_eq!(check("<pm/>", "kvm"), Ok(String::new()));
    }
}
