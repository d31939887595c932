//! runtime-spec `linux.resources`, `linux.cgroupsPath` and `linux.devices`
//! → the plan's [`CgroupPlan`] (what [`CgroupSettings`] already models goes
//! there, the rest into [`CgroupExtras`]) and device nodes.

use oci_spec::runtime::{Linux, LinuxDeviceType, LinuxResources};

use super::error::SpecError;
use super::spec::{PHASE_2, SpecOptions};
use crate::cgroup::{CgroupSettings, MemLimit};
use crate::plan::{
    CgroupDriver, CgroupExtras, CgroupPlan, DeviceAccess, DeviceNodeSpec, DeviceNodes, DeviceRule,
    DeviceType, HugepageLimit, IoDeviceLimit, IoLimit,
};

/// The container's cgroup: where (`cgroupsPath`) and what is set.
pub fn cgroup_plan(linux: &Linux, options: &SpecOptions) -> Result<CgroupPlan, SpecError> {
    let mut extras = CgroupExtras::default();
    let path = linux
        .cgroups_path()
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    let (partition, name) = if options.systemd_cgroup {
        extras.driver = CgroupDriver::Systemd;
        systemd_place(path.as_deref().unwrap_or(""), &options.id)?
    } else {
        match path.as_deref() {
            None | Some("") => ("/".to_owned(), options.id.clone()),
            Some(p) => {
                extras.relative = !p.starts_with('/');
                cgroupfs_place(p)?
            }
        }
    };
    let mut settings = CgroupSettings::default();
    if let Some(r) = linux.resources() {
        apply_resources(r, &mut settings, &mut extras)?;
    }
    Ok(CgroupPlan {
        partition,
        name,
        settings,
        extras,
    })
}

/// `/a/b/c` → (`/a/b`, `c`); a relative `a/b` → (`/a`, `b`) below the caller.
fn cgroupfs_place(path: &str) -> Result<(String, String), SpecError> {
    let trimmed = path.trim_matches('/');
    if trimmed
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(SpecError::invalid(
            "linux.cgroupsPath",
            format!("{path:?}: empty, `.` or `..` components"),
        ));
    }
    Ok(match trimmed.rsplit_once('/') {
        Some((parent, name)) => (format!("/{parent}"), name.to_owned()),
        None => ("/".to_owned(), trimmed.to_owned()),
    })
}

/// systemd's `slice:prefix:name` → (the slice's path, `prefix-name.scope`).
/// An empty slice is `system.slice`; `a-b.slice` nests in `a.slice`.
fn systemd_place(path: &str, id: &str) -> Result<(String, String), SpecError> {
    let parts: Vec<&str> = path.split(':').collect();
    let (slice, prefix, name) = match parts.as_slice() {
        [""] => ("", "domrun", id),
        [slice, prefix, name] => (*slice, *prefix, *name),
        _ => {
            return Err(SpecError::invalid(
                "linux.cgroupsPath",
                format!("{path:?}: with --systemd-cgroup it is slice:prefix:name"),
            ));
        }
    };
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    let Some(stem) = slice
        .strip_suffix(".slice")
        .filter(|s| !s.is_empty() && !s.contains('/'))
    else {
        return Err(SpecError::invalid(
            "linux.cgroupsPath",
            format!("{slice:?} is not a systemd slice name (NAME.slice)"),
        ));
    };
    let mut partition = String::new();
    let mut acc = String::new();
    for piece in stem.split('-') {
        if !acc.is_empty() {
            acc.push('-');
        }
        acc.push_str(piece);
        partition.push('/');
        partition.push_str(&acc);
        partition.push_str(".slice");
    }
    let name = if name.ends_with(".slice") {
        name.to_owned()
    } else if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    Ok((partition, name))
}

/// A runtime-spec byte count where `-1` is unlimited.
fn mem_limit(v: i64, field: &str) -> Result<MemLimit, SpecError> {
    match v {
        -1 => Ok(MemLimit::Unlimited),
        v => u64::try_from(v)
            .map(MemLimit::Bytes)
            .map_err(|_| SpecError::invalid(field, format!("{v} is neither bytes nor -1"))),
    }
}

fn apply_resources(
    r: &LinuxResources,
    s: &mut CgroupSettings,
    x: &mut CgroupExtras,
) -> Result<(), SpecError> {
    if let Some(m) = r.memory() {
        const F: &str = "linux.resources.memory";
        if let Some(v) = m.limit() {
            s.memory.max = Some(mem_limit(v, "linux.resources.memory.limit")?);
            s.memory.max_from = "linux.resources.memory.limit";
        }
        if let Some(v) = m.reservation() {
            s.memory.soft = Some(mem_limit(v, "linux.resources.memory.reservation")?);
        }
        if let Some(v) = m.swap() {
            s.memory.swap_total = Some(mem_limit(v, "linux.resources.memory.swap")?);
        }
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            return Err(SpecError::unsupported(
                format!("{F}.kernel"),
                ": kernel memory limits are gone from the kernel (5.16+)",
            ));
        }
        x.memory_swappiness = m.swappiness();
        x.disable_oom_killer = m.disable_oom_killer().unwrap_or(false);
        if m.use_hierarchy() == Some(false) {
            return Err(SpecError::unsupported(
                format!("{F}.useHierarchy"),
                ": false (the kernel always uses the hierarchy)",
            ));
        }
        if m.check_before_update() == Some(true) {
            return Err(SpecError::unsupported(
                format!("{F}.checkBeforeUpdate"),
                PHASE_2,
            ));
        }
    }
    if let Some(c) = r.cpu() {
        s.cpu.shares = c.shares();
        s.cpu.quota_us = c.quota();
        s.cpu.period_us = c.period();
        s.cpuset.cpus = c.cpus().clone().filter(|v| !v.is_empty());
        s.cpuset.mems = c.mems().clone().filter(|v| !v.is_empty());
        x.cpu_idle = c.idle();
        x.cpu_burst_us = c.burst();
        if c.realtime_runtime().is_some() || c.realtime_period().is_some() {
            x.cpu_realtime = Some((c.realtime_runtime(), c.realtime_period()));
        }
    }
    if let Some(p) = r.pids() {
        x.pids_max = Some(u64::try_from(p.limit()).ok().filter(|n| *n > 0));
    }
    if let Some(b) = r.block_io() {
        s.io.weight = b.weight().map(u32::from);
        if b.leaf_weight().is_some() {
            return Err(SpecError::unsupported(
                "linux.resources.blockIO.leafWeight",
                ": blkio.leaf_weight left the kernel with CFQ (5.0)",
            ));
        }
        io_devices(b, x)?;
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let limit_bytes = u64::try_from(h.limit()).map_err(|_| {
            SpecError::invalid(
                format!("linux.resources.hugepageLimits[{i}].limit"),
                "negative",
            )
        })?;
        x.hugepages.push(HugepageLimit {
            page_size: h.page_size().clone(),
            limit_bytes,
        });
    }
    if let Some(n) = r.network() {
        x.net_class_id = n.class_id();
        x.net_priorities = n
            .priorities()
            .iter()
            .flatten()
            .map(|p| (p.name().clone(), p.priority()))
            .collect();
    }
    if r.rdma().is_some() {
        return Err(SpecError::unsupported("linux.resources.rdma", PHASE_2));
    }
    if let Some(u) = r.unified() {
        let mut files: Vec<(String, String)> =
            u.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        files.sort();
        for (k, _) in &files {
            if k.contains('/') || k.starts_with('.') {
                return Err(SpecError::invalid(
                    format!("linux.resources.unified.{k}"),
                    "not a file name in the container's cgroup",
                ));
            }
        }
        x.unified = files;
    }
    for (i, d) in r.devices().iter().flatten().enumerate() {
        x.device_rules
            .push(device_rule(d, &format!("linux.resources.devices[{i}]"))?);
    }
    Ok(())
}

/// One `throttle*Device` list, its field name and the limit it sets.
type Throttle<'a> = (
    &'a Option<Vec<oci_spec::runtime::LinuxThrottleDevice>>,
    &'static str,
    fn(u64) -> IoLimit,
);

fn io_devices(b: &oci_spec::runtime::LinuxBlockIo, x: &mut CgroupExtras) -> Result<(), SpecError> {
    let number = |v: i64, field: &str| {
        u64::try_from(v)
            .map_err(|_| SpecError::invalid(field, format!("{v}: negative device number")))
    };
    for (i, w) in b.weight_device().iter().flatten().enumerate() {
        let f = format!("linux.resources.blockIO.weightDevice[{i}]");
        let (major, minor) = (number(w.major(), &f)?, number(w.minor(), &f)?);
        for limit in [
            w.weight().map(IoLimit::Weight),
            w.leaf_weight().map(IoLimit::LeafWeight),
        ]
        .into_iter()
        .flatten()
        {
            x.io_devices.push(IoDeviceLimit {
                major,
                minor,
                limit,
            });
        }
    }
    let throttles: [Throttle; 4] = [
        (
            b.throttle_read_bps_device(),
            "throttleReadBpsDevice",
            IoLimit::ReadBps,
        ),
        (
            b.throttle_write_bps_device(),
            "throttleWriteBpsDevice",
            IoLimit::WriteBps,
        ),
        (
            b.throttle_read_iops_device(),
            "throttleReadIOPSDevice",
            IoLimit::ReadIops,
        ),
        (
            b.throttle_write_iops_device(),
            "throttleWriteIOPSDevice",
            IoLimit::WriteIops,
        ),
    ];
    for (list, name, limit) in throttles {
        for (i, t) in list.iter().flatten().enumerate() {
            let f = format!("linux.resources.blockIO.{name}[{i}]");
            x.io_devices.push(IoDeviceLimit {
                major: number(t.major(), &f)?,
                minor: number(t.minor(), &f)?,
                limit: limit(t.rate()),
            });
        }
    }
    Ok(())
}

/// runtime-spec device types; `a` is only for cgroup rules.
fn device_type(t: LinuxDeviceType) -> Option<DeviceType> {
    match t {
        LinuxDeviceType::C | LinuxDeviceType::U => Some(DeviceType::Char),
        LinuxDeviceType::B => Some(DeviceType::Block),
        LinuxDeviceType::P => Some(DeviceType::Fifo),
        LinuxDeviceType::A => None,
    }
}

fn device_rule(
    d: &oci_spec::runtime::LinuxDeviceCgroup,
    field: &str,
) -> Result<DeviceRule, SpecError> {
    let number = |v: Option<i64>, which: &str| -> Result<Option<u64>, SpecError> {
        match v {
            None | Some(-1) => Ok(None),
            Some(v) => u64::try_from(v).map(Some).map_err(|_| {
                SpecError::invalid(format!("{field}.{which}"), format!("{v}: negative"))
            }),
        }
    };
    let mut access = DeviceAccess::default();
    for c in d.access().as_deref().unwrap_or("rwm").chars() {
        match c {
            'r' => access.read = true,
            'w' => access.write = true,
            'm' => access.mknod = true,
            _ => {
                return Err(SpecError::invalid(
                    format!("{field}.access"),
                    format!("{c:?}: access is a combination of r, w and m"),
                ));
            }
        }
    }
    Ok(DeviceRule {
        allow: d.allow(),
        kind: d.typ().and_then(device_type),
        major: number(d.major(), "major")?,
        minor: number(d.minor(), "minor")?,
        access,
    })
}

/// `linux.devices`: nodes made in /dev besides the standard ones.
pub fn device_nodes(devices: &[oci_spec::runtime::LinuxDevice]) -> Result<DeviceNodes, SpecError> {
    devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let field = format!("linux.devices[{i}]");
            if !d.path().is_absolute() {
                return Err(SpecError::invalid(
                    format!("{field}.path"),
                    "must be absolute",
                ));
            }
            let kind = device_type(d.typ()).ok_or_else(|| {
                SpecError::invalid(format!("{field}.type"), "must be c, b, u or p")
            })?;
            let number = |v: i64, which: &str| {
                u64::try_from(v).map_err(|_| {
                    SpecError::invalid(format!("{field}.{which}"), format!("{v}: negative"))
                })
            };
            Ok(DeviceNodeSpec {
                path: d.path().clone(),
                kind,
                major: number(d.major(), "major")?,
                minor: number(d.minor(), "minor")?,
                mode: d.file_mode(),
                uid: d.uid(),
                gid: d.gid(),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(DeviceNodes::StandardPlus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_cgroup_paths_expand_like_systemd() {
        assert_eq!(
            systemd_place("machine.slice:libpod:abc", "x").unwrap(),
            ("/machine.slice".to_owned(), "libpod-abc.scope".to_owned())
        );
        assert_eq!(
            systemd_place("a-b.slice:p:n", "x").unwrap(),
            ("/a.slice/a-b.slice".to_owned(), "p-n.scope".to_owned())
        );
        assert_eq!(
            systemd_place("", "id").unwrap(),
            ("/system.slice".to_owned(), "domrun-id.scope".to_owned())
        );
        assert!(systemd_place("machine:p:n", "x").is_err());
        assert!(systemd_place("a:b", "x").is_err());
    }

    #[test]
    fn cgroupfs_paths_split_into_partition_and_name() {
        assert_eq!(
            cgroupfs_place("/a/b/c").unwrap(),
            ("/a/b".to_owned(), "c".to_owned())
        );
        assert_eq!(
            cgroupfs_place("/c").unwrap(),
            ("/".to_owned(), "c".to_owned())
        );
        assert!(cgroupfs_place("/a/../b").is_err());
    }
}
