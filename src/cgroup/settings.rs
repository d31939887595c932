//! The domain's resource elements as typed cgroup settings, and the exact
//! control files and values each becomes on a v1 or v2 hierarchy.
//!
//! Both steps are pure: building the settings reads only the [`Domain`], and
//! [`CgroupSettings::writes`] takes the device-number lookup as a function.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{CgroupError, Controller};
use crate::domain::{Domain, Placement};

/// libvirt's "unlimited" memory value: `VIR_DOMAIN_MEMORY_PARAM_UNLIMITED`
/// (2^53 - 1 KiB). Anything at or above it means no limit.
const UNLIMITED_KIB: u64 = 9_007_199_254_740_991;

/// The kernel's default CFS period when only a quota is given (µs).
const DEFAULT_PERIOD_US: u64 = 100_000;

/// A memory limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemLimit {
    Bytes(u64),
    Unlimited,
}

impl MemLimit {
    fn from_kib(kib: u64) -> MemLimit {
        if kib >= UNLIMITED_KIB {
            MemLimit::Unlimited
        } else {
            // Below 2^53 KiB, so the product fits in u64.
            MemLimit::Bytes(kib.saturating_mul(1024))
        }
    }

    /// The value as v2 writes it (`max` for no limit).
    fn v2(self) -> String {
        match self {
            MemLimit::Bytes(b) => b.to_string(),
            MemLimit::Unlimited => "max".into(),
        }
    }

    /// The value as v1 writes it (`-1` for no limit).
    fn v1(self) -> String {
        match self {
            MemLimit::Bytes(b) => b.to_string(),
            MemLimit::Unlimited => "-1".into(),
        }
    }
}

/// Memory limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemorySettings {
    /// The hard limit: `memtune/hard_limit`, else `<memory>`.
    pub max: Option<MemLimit>,
    /// Which element `max` came from (for error messages).
    pub max_from: &'static str,
    /// `memtune/soft_limit`.
    pub soft: Option<MemLimit>,
    /// `memtune/swap_hard_limit`: memory plus swap, as libvirt means it.
    pub swap_total: Option<MemLimit>,
}

/// CPU and memory-node placement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpusetSettings {
    /// `vcpu/@cpuset`, normalised to the kernel's list form (`0-2,5`).
    pub cpus: Option<String>,
    /// `numatune/memory/@nodeset` (mode strict or restrictive), normalised.
    pub mems: Option<String>,
}

/// CPU bandwidth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuSettings {
    /// `cputune/shares` (v1 scale, default 1024).
    pub shares: Option<u64>,
    /// `cputune/period` in µs.
    pub period_us: Option<u64>,
    /// `cputune/quota` in µs; negative means no limit.
    pub quota_us: Option<i64>,
}

/// One `blkiotune/device`. Zero throttles mean "no limit" (as in libvirt) and
/// are not written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoDevice {
    /// The block device (`/dev/vda`); resolved to `MAJ:MIN` when applied.
    pub path: PathBuf,
    pub weight: Option<u32>,
    pub read_bps: Option<u64>,
    pub write_bps: Option<u64>,
    pub read_iops: Option<u64>,
    pub write_iops: Option<u64>,
}

/// Block I/O weight and throttles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoSettings {
    /// `blkiotune/weight`.
    pub weight: Option<u32>,
    pub devices: Vec<IoDevice>,
}

/// Everything the domain asks of its cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupSettings {
    pub memory: MemorySettings,
    pub cpuset: CpusetSettings,
    pub cpu: CpuSettings,
    pub io: IoSettings,
}

/// Which file format a hierarchy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchy {
    V1,
    V2,
}

/// One control-file write, before any I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    /// The domain setting it comes from, as an XML path (`memtune/hard_limit`).
    pub setting: String,
    /// The controller that must be present.
    pub controller: Controller,
    /// Candidate files in the domain's group; the first that exists is
    /// written (`blkio.weight` or, with BFQ, `blkio.bfq.weight`).
    pub files: &'static [&'static str],
    pub value: String,
}

/// cgroup v1 `cpu.shares` → v2 `cpu.weight`, as systemd converts it
/// (`shares × 100 / 1024`, clamped to 1..=10000): the v1 default 1024 maps to
/// the v2 default 100, and ratios between domains are kept.
pub fn shares_to_weight(shares: u64) -> u64 {
    (shares.saturating_mul(100) / 1024).clamp(1, 10_000)
}

impl CgroupSettings {
    /// Reads the resource elements of a (defaulted) domain. Pure.
    ///
    /// Elements domrun cannot honour on any host are errors here, never
    /// dropped: `memtune/min_guarantee`, NUMA modes other than
    /// strict/restrictive, automatic placement, and the VM-only `cputune`
    /// knobs (`global_*`, `emulator_*`, `iothread_*`).
    pub fn from_domain(d: &Domain) -> Result<CgroupSettings, CgroupError> {
        let mut s = CgroupSettings::default();

        // Memory: libvirt writes <memory> first, then lets hard_limit replace it.
        let mt = d.memtune.as_ref();
        if let Some(kib) = mt.and_then(|m| m.hard_limit) {
            s.memory.max = Some(MemLimit::from_kib(kib));
            s.memory.max_from = "memtune/hard_limit";
        } else if let Some(kib) = d.memory {
            s.memory.max = Some(MemLimit::from_kib(kib));
            s.memory.max_from = "memory";
        }
        s.memory.soft = mt
            .and_then(|m| m.soft_limit)
            .map(MemLimit::from_kib)
            .filter(|l| *l != MemLimit::Unlimited);
        if mt.is_some_and(|m| m.min_guarantee.is_some()) {
            return Err(CgroupError::Unsupported {
                setting: "memtune/min_guarantee".into(),
                reason: "libvirt honours it only on ESX and OpenVZ; use memtune/soft_limit".into(),
            });
        }
        if let Some(kib) = mt.and_then(|m| m.swap_hard_limit) {
            let swap = MemLimit::from_kib(kib);
            match (s.memory.max, swap) {
                (None, _) => {
                    return Err(CgroupError::SwapWithoutMemoryLimit {
                        swap_kib: kib.to_string(),
                    });
                }
                (Some(MemLimit::Bytes(m)), MemLimit::Bytes(t)) if t < m => {
                    return Err(CgroupError::SwapBelowMemory {
                        swap_bytes: t,
                        memory_bytes: m,
                        memory_from: s.memory.max_from,
                    });
                }
                (Some(MemLimit::Unlimited), MemLimit::Bytes(t)) => {
                    return Err(CgroupError::SwapBelowMemory {
                        swap_bytes: t,
                        memory_bytes: u64::MAX,
                        memory_from: s.memory.max_from,
                    });
                }
                _ => s.memory.swap_total = Some(swap),
            }
        }

        if let Some(v) = &d.vcpu {
            if v.placement == Some(Placement::Auto) {
                return Err(CgroupError::Unsupported {
                    setting: "vcpu/@placement".into(),
                    reason: "placement='auto' needs numad; give an explicit cpuset".into(),
                });
            }
            if let Some(list) = &v.cpuset {
                s.cpuset.cpus = Some(list.kernel_list());
            }
        }
        if let Some(m) = d.numatune.as_ref().and_then(|n| n.memory.as_ref()) {
            // `NumaMode` is not re-exported by `domain`; compare its XML name.
            let mode = m.mode.map_or("strict", |m| m.as_str());
            if m.placement == Some(Placement::Auto) && m.nodeset.is_none() {
                return Err(CgroupError::Unsupported {
                    setting: "numatune/memory/@placement".into(),
                    reason: "placement='auto' needs numad; give an explicit nodeset".into(),
                });
            }
            if let Some(nodes) = &m.nodeset {
                if mode == "strict" || mode == "restrictive" {
                    s.cpuset.mems = Some(nodes.kernel_list());
                } else {
                    return Err(CgroupError::Unsupported {
                        setting: "numatune/memory/@mode".into(),
                        reason: format!(
                            "mode '{mode}' is a memory policy (set_mempolicy), not a cgroup setting; use strict"
                        ),
                    });
                }
            }
        }

        if let Some(ct) = &d.cputune {
            let vm_only = [
                ("cputune/global_period", ct.global_period.is_some()),
                ("cputune/global_quota", ct.global_quota.is_some()),
                ("cputune/emulator_period", ct.emulator_period.is_some()),
                ("cputune/emulator_quota", ct.emulator_quota.is_some()),
                ("cputune/iothread_period", ct.iothread_period.is_some()),
                ("cputune/iothread_quota", ct.iothread_quota.is_some()),
            ];
            if let Some((name, _)) = vm_only.iter().find(|(_, set)| *set) {
                return Err(CgroupError::Unsupported {
                    setting: (*name).into(),
                    reason: "it tunes a VM's emulator or I/O threads; a container has one group (use cputune/period and quota)".into(),
                });
            }
            s.cpu.shares = ct.shares;
            // libvirt treats 0 as "not set" for both.
            s.cpu.period_us = ct.period.filter(|p| *p != 0);
            s.cpu.quota_us = ct.quota.filter(|q| *q != 0);
        }

        if let Some(b) = &d.blkiotune {
            s.io.weight = b.weight;
            for dev in &b.devices {
                let nz = |v: Option<u64>| v.filter(|v| *v != 0);
                s.io.devices.push(IoDevice {
                    path: PathBuf::from(&dev.path),
                    weight: dev.weight,
                    read_bps: nz(dev.read_bytes_sec),
                    write_bps: nz(dev.write_bytes_sec),
                    read_iops: nz(dev.read_iops_sec),
                    write_iops: nz(dev.write_iops_sec),
                });
            }
        }
        Ok(s)
    }

    /// True when nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.writes(Hierarchy::V1, |_| Ok((0, 0)))
            .map(|w| w.is_empty())
            .unwrap_or(false)
    }

    /// The controllers these settings need (whatever the hierarchy).
    pub fn controllers(&self) -> BTreeSet<Controller> {
        let mut set = BTreeSet::new();
        for h in [Hierarchy::V1, Hierarchy::V2] {
            if let Ok(w) = self.writes(h, |_| Ok((0, 0))) {
                set.extend(w.into_iter().map(|w| w.controller));
            }
        }
        set
    }

    /// The control-file writes for one hierarchy kind, in the order they
    /// must happen. `device` maps a block device path to `(major, minor)`.
    ///
    /// Order matters on v1: `memory.limit_in_bytes` before
    /// `memory.memsw.limit_in_bytes` (the kernel refuses memsw below the
    /// memory limit), `cfs_period_us` before `cfs_quota_us`.
    pub fn writes(
        &self,
        h: Hierarchy,
        mut device: impl FnMut(&Path) -> Result<(u64, u64), CgroupError>,
    ) -> Result<Vec<FileWrite>, CgroupError> {
        let mut out = Vec::new();
        let mut push = |setting: &str, controller, files, value: String| {
            out.push(FileWrite {
                setting: setting.to_owned(),
                controller,
                files,
                value,
            });
        };
        let m = &self.memory;
        use Controller::{Blkio, Cpu, Cpuset, Memory};
        match h {
            Hierarchy::V2 => {
                if let Some(soft) = m.soft {
                    push("memtune/soft_limit", Memory, &["memory.low"], soft.v2());
                }
                if let Some(max) = m.max {
                    push(m.max_from, Memory, &["memory.max"], max.v2());
                }
                if let Some(total) = m.swap_total {
                    let swap = match (total, m.max) {
                        (MemLimit::Bytes(t), Some(MemLimit::Bytes(max))) => {
                            MemLimit::Bytes(t.saturating_sub(max))
                        }
                        _ => MemLimit::Unlimited,
                    };
                    push(
                        "memtune/swap_hard_limit",
                        Memory,
                        &["memory.swap.max"],
                        swap.v2(),
                    );
                }
            }
            Hierarchy::V1 => {
                if let Some(max) = m.max {
                    push(m.max_from, Memory, &["memory.limit_in_bytes"], max.v1());
                }
                if let Some(soft) = m.soft {
                    push(
                        "memtune/soft_limit",
                        Memory,
                        &["memory.soft_limit_in_bytes"],
                        soft.v1(),
                    );
                }
                if let Some(total) = m.swap_total {
                    push(
                        "memtune/swap_hard_limit",
                        Memory,
                        &["memory.memsw.limit_in_bytes"],
                        total.v1(),
                    );
                }
            }
        }

        // Same file names on v1 and v2.
        if let Some(cpus) = &self.cpuset.cpus {
            push("vcpu/@cpuset", Cpuset, &["cpuset.cpus"], cpus.clone());
        }
        if let Some(mems) = &self.cpuset.mems {
            push(
                "numatune/memory/@nodeset",
                Cpuset,
                &["cpuset.mems"],
                mems.clone(),
            );
        }

        let c = &self.cpu;
        let quota = c.quota_us.filter(|q| *q > 0);
        match h {
            Hierarchy::V2 => {
                if let Some(shares) = c.shares {
                    push(
                        "cputune/shares",
                        Cpu,
                        &["cpu.weight"],
                        shares_to_weight(shares).to_string(),
                    );
                }
                if c.period_us.is_some() || c.quota_us.is_some() {
                    let setting = if c.quota_us.is_some() {
                        "cputune/quota"
                    } else {
                        "cputune/period"
                    };
                    let period = c.period_us.unwrap_or(DEFAULT_PERIOD_US);
                    let quota = quota.map_or_else(|| "max".to_owned(), |q| q.to_string());
                    push(setting, Cpu, &["cpu.max"], format!("{quota} {period}"));
                }
            }
            Hierarchy::V1 => {
                if let Some(shares) = c.shares {
                    push("cputune/shares", Cpu, &["cpu.shares"], shares.to_string());
                }
                if let Some(period) = c.period_us {
                    push(
                        "cputune/period",
                        Cpu,
                        &["cpu.cfs_period_us"],
                        period.to_string(),
                    );
                }
                if c.quota_us.is_some() {
                    let q = quota.map_or_else(|| "-1".to_owned(), |q| q.to_string());
                    push("cputune/quota", Cpu, &["cpu.cfs_quota_us"], q);
                }
            }
        }

        let weight_files: &'static [&'static str] = match h {
            Hierarchy::V2 => &["io.weight", "io.bfq.weight"],
            Hierarchy::V1 => &["blkio.weight", "blkio.bfq.weight"],
        };
        let weight_device_files: &'static [&'static str] = match h {
            Hierarchy::V2 => &["io.weight", "io.bfq.weight"],
            Hierarchy::V1 => &["blkio.weight_device", "blkio.bfq.weight_device"],
        };
        if let Some(w) = self.io.weight {
            push("blkiotune/weight", Blkio, weight_files, w.to_string());
        }
        for dev in &self.io.devices {
            let base = format!("blkiotune/device[{}]", dev.path.display());
            let (major, minor) = device(&dev.path)?;
            let id = format!("{major}:{minor}");
            if let Some(w) = dev.weight {
                push(
                    &format!("{base}/weight"),
                    Blkio,
                    weight_device_files,
                    format!("{id} {w}"),
                );
            }
            let limits = [
                (
                    "read_bytes_sec",
                    "rbps",
                    "blkio.throttle.read_bps_device",
                    dev.read_bps,
                ),
                (
                    "write_bytes_sec",
                    "wbps",
                    "blkio.throttle.write_bps_device",
                    dev.write_bps,
                ),
                (
                    "read_iops_sec",
                    "riops",
                    "blkio.throttle.read_iops_device",
                    dev.read_iops,
                ),
                (
                    "write_iops_sec",
                    "wiops",
                    "blkio.throttle.write_iops_device",
                    dev.write_iops,
                ),
            ];
            match h {
                Hierarchy::V2 => {
                    let set: Vec<_> = limits.iter().filter(|l| l.3.is_some()).collect();
                    if !set.is_empty() {
                        let keys: Vec<String> = set
                            .iter()
                            .map(|(_, key, _, v)| format!("{key}={}", v.unwrap_or(0)))
                            .collect();
                        let names: Vec<&str> = set.iter().map(|l| l.0).collect();
                        push(
                            &format!("{base}/{}", names.join("+")),
                            Blkio,
                            &["io.max"],
                            format!("{id} {}", keys.join(" ")),
                        );
                    }
                }
                Hierarchy::V1 => {
                    for (name, _, file, v) in limits {
                        if let Some(v) = v {
                            push(
                                &format!("{base}/{name}"),
                                Blkio,
                                v1_file(file),
                                format!("{id} {v}"),
                            );
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// One family of settings, as a live-tuning verb changes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingGroup {
    Memory,
    Cpuset,
    Cpu,
    Io,
}

impl CgroupSettings {
    /// Only the settings of `group` (the rest left unset), so a live change
    /// writes the files of what it changed and nothing else.
    pub fn subset(&self, group: SettingGroup) -> CgroupSettings {
        let mut out = CgroupSettings::default();
        match group {
            SettingGroup::Memory => out.memory = self.memory.clone(),
            SettingGroup::Cpuset => out.cpuset = self.cpuset.clone(),
            SettingGroup::Cpu => out.cpu = self.cpu.clone(),
            SettingGroup::Io => out.io = self.io.clone(),
        }
        out
    }
}

/// The write for a pids limit (`None`: no limit). The file is `pids.max` on
/// v1 and v2 alike; libvirt has no pids element for containers, so this is
/// for the live `setpids` only.
pub fn pids_write(max: Option<u64>) -> FileWrite {
    FileWrite {
        setting: "pids".into(),
        controller: Controller::Pids,
        files: &["pids.max"],
        value: max.map_or_else(|| "max".to_owned(), |n| n.to_string()),
    }
}

/// A one-element candidate list for a v1 throttle file.
fn v1_file(name: &str) -> &'static [&'static str] {
    match name {
        "blkio.throttle.read_bps_device" => &["blkio.throttle.read_bps_device"],
        "blkio.throttle.write_bps_device" => &["blkio.throttle.write_bps_device"],
        "blkio.throttle.read_iops_device" => &["blkio.throttle.read_iops_device"],
        _ => &["blkio.throttle.write_iops_device"],
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
