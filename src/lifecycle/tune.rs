//! Live tuning with virsh's verbs: `setmem`, `memtune`, `schedinfo`,
//! `blkiotune`, `emulatorpin` (the domain's cpuset) and domrun's own
//! `setpids`, on the running domain's cgroup (`--live`), in its definition
//! (`--config`), or both; no flag is `--current` (live if it runs).
//!
//! One path for every verb: the change is made to a [`Domain`] (the live
//! XML or the definition), and for a live change
//! [`CgroupSettings::from_domain`] of the changed domain, cut to the
//! verb's [`SettingGroup`], is written by [`Cgroup::apply`]: the same
//! element → file table as at start, checked the same way.

use super::devices::targets;
use super::{DeviceFlags, LifecycleError, host_layout, live_state, stored_domain};
use crate::cgroup::{Cgroup, CgroupError, CgroupSettings, SettingGroup, pids_write};
use crate::domain::{BlkioTune, CpuSet, CpuTune, Domain, MemTune, Vcpu};
use crate::plan::CgroupPlan;
use crate::state::Root;

/// libvirt's "unlimited" for memory parameters, in KiB
/// (`VIR_DOMAIN_MEMORY_PARAM_UNLIMITED`); virsh takes `-1` for it.
pub const UNLIMITED_KIB: u64 = 9_007_199_254_740_991;

/// Why a tuning change was refused.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error("'{value}' is not a {what}: expected {expected}")]
    BadValue {
        what: &'static str,
        value: String,
        expected: String,
    },
    #[error("{verb} --config: {reason}")]
    NoConfig {
        verb: &'static str,
        reason: &'static str,
    },
    #[error("domain '{name}': {source}")]
    Cgroup {
        name: String,
        #[source]
        source: CgroupError,
    },
    #[error("domain '{0}' runs without a cgroup (none was made at start)")]
    NoGroup(String),
    #[error("live XML of '{name}' is unreadable: {source}")]
    LiveXml {
        name: String,
        #[source]
        source: crate::domain::ParseError,
    },
}

/// One verb's change; `None` fields are left as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tune {
    /// `setmem NAME SIZE`: `<memory>` (the limit a container has; also
    /// `<currentMemory>`: a container has no balloon).
    Memory { kib: u64 },
    /// `memtune`: hard, soft and swap-hard limits in KiB.
    MemTune {
        hard: Option<u64>,
        soft: Option<u64>,
        swap_hard: Option<u64>,
    },
    /// `schedinfo --set cpu_shares=N vcpu_period=N vcpu_quota=N`.
    Sched {
        shares: Option<u64>,
        period: Option<u64>,
        quota: Option<i64>,
    },
    /// `blkiotune --weight N`.
    BlkioWeight { weight: u32 },
    /// `emulatorpin NAME LIST`: the domain's CPUs (`vcpu/@cpuset`).
    Cpuset { cpus: CpuSet },
    /// `setpids NAME N|max`: live only (no libvirt element holds it).
    Pids { max: Option<u64> },
}

/// Which verb: what is changed and what is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TuneVerb {
    SetMem,
    MemTune,
    SchedInfo,
    BlkioTune,
    EmulatorPin,
    SetPids,
}

impl TuneVerb {
    pub fn as_str(self) -> &'static str {
        match self {
            TuneVerb::SetMem => "setmem",
            TuneVerb::MemTune => "memtune",
            TuneVerb::SchedInfo => "schedinfo",
            TuneVerb::BlkioTune => "blkiotune",
            TuneVerb::EmulatorPin => "emulatorpin",
            TuneVerb::SetPids => "setpids",
        }
    }

    fn group(self) -> Option<SettingGroup> {
        match self {
            TuneVerb::SetMem | TuneVerb::MemTune => Some(SettingGroup::Memory),
            TuneVerb::SchedInfo => Some(SettingGroup::Cpu),
            TuneVerb::BlkioTune => Some(SettingGroup::Io),
            TuneVerb::EmulatorPin => Some(SettingGroup::Cpuset),
            TuneVerb::SetPids => None,
        }
    }
}

impl Tune {
    /// Makes the change in `d` (pure).
    pub fn apply_to(&self, d: &mut Domain) {
        match self {
            Tune::Memory { kib } => {
                d.memory = Some(*kib);
                d.current_memory = Some(*kib);
            }
            Tune::MemTune {
                hard,
                soft,
                swap_hard,
            } => {
                let m = d.memtune.get_or_insert_with(MemTune::default);
                m.hard_limit = hard.or(m.hard_limit);
                m.soft_limit = soft.or(m.soft_limit);
                m.swap_hard_limit = swap_hard.or(m.swap_hard_limit);
            }
            Tune::Sched {
                shares,
                period,
                quota,
            } => {
                let c = d.cputune.get_or_insert_with(CpuTune::default);
                c.shares = shares.or(c.shares);
                c.period = period.or(c.period);
                c.quota = quota.or(c.quota);
            }
            Tune::BlkioWeight { weight } => {
                d.blkiotune.get_or_insert_with(BlkioTune::default).weight = Some(*weight);
            }
            Tune::Cpuset { cpus } => match &mut d.vcpu {
                Some(v) => v.cpuset = Some(cpus.clone()),
                None => {
                    d.vcpu = Some(Vcpu {
                        count: 1,
                        placement: None,
                        cpuset: Some(cpus.clone()),
                        current: None,
                        extras: Default::default(),
                    })
                }
            },
            Tune::Pids { .. } => {}
        }
    }
}

/// What a tuning verb did, and the values it shows afterwards (virsh prints
/// them when called without a change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TuneReport {
    pub live: bool,
    pub config: bool,
    /// `(virsh's parameter name, value)`, from the live domain when `live`
    /// was the target, else from the definition.
    pub values: Vec<(&'static str, String)>,
}

/// `domrun VERB NAME [change] [--live] [--config] [--current]`: applies
/// `change` (when given) and reports the verb's values.
pub fn tune(
    root: &Root,
    name: &str,
    verb: TuneVerb,
    change: Option<&Tune>,
    flags: DeviceFlags,
) -> Result<TuneReport, LifecycleError> {
    let _lock = root.lock(name)?;
    let (live, config) = targets(root, name, flags)?;
    if config && verb == TuneVerb::SetPids {
        return Err(TuneError::NoConfig {
            verb: verb.as_str(),
            reason: "libvirt's XML has no pids limit for a container; use --live",
        }
        .into());
    }
    // The definition is changed and checked first, so a refused value
    // changes nothing; it is saved after the live change succeeded.
    let mut stored = None;
    if config {
        let mut d = stored_domain(root, name)?;
        if let Some(c) = change {
            c.apply_to(&mut d);
            d.validate().map_err(super::DeviceError::Invalid)?;
            CgroupSettings::from_domain(&d).map_err(|source| TuneError::Cgroup {
                name: name.to_owned(),
                source,
            })?;
        }
        stored = Some(d);
    }
    let mut shown = None;
    if live {
        let mut d = live_domain(root, name)?;
        if let Some(c) = change {
            c.apply_to(&mut d);
            write_live(&d, c, verb)?;
            crate::state::write_atomic(&root.live_xml(name), d.format().as_bytes(), 0o600)
                .map_err(crate::state::StateError::from)?;
        }
        shown = Some(d);
    }
    if let (Some(d), Some(_)) = (&stored, change) {
        root.save_definition(name, &d.format_inactive())?;
    }
    let values = match (shown, stored) {
        (Some(d), _) | (None, Some(d)) => values(&d, verb, change),
        (None, None) => Vec::new(),
    };
    Ok(TuneReport {
        live,
        config,
        values,
    })
}

/// The running domain as its monitor wrote it.
fn live_domain(root: &Root, name: &str) -> Result<Domain, LifecycleError> {
    if live_state(root, name)?.is_none() {
        return Err(LifecycleError::NotRunning(name.to_owned()));
    }
    let bytes = crate::state::read_optional(&root.live_xml(name))?
        .ok_or_else(|| LifecycleError::NotRunning(name.to_owned()))?;
    let mut d = Domain::parse(&bytes).map_err(|source| TuneError::LiveXml {
        name: name.to_owned(),
        source,
    })?;
    let _ = d.apply_defaults();
    Ok(d)
}

/// Writes the verb's settings of the changed live domain `d` to its group.
fn write_live(d: &Domain, change: &Tune, verb: TuneVerb) -> Result<(), TuneError> {
    let cgroup_err = |source| TuneError::Cgroup {
        name: d.name.clone(),
        source,
    };
    let partition = d.resource.as_ref().and_then(|r| r.partition.as_deref());
    let (partition, group) = CgroupPlan::place(&d.name, partition);
    let layout = host_layout().ok_or_else(|| TuneError::NoGroup(d.name.clone()))?;
    let cg = Cgroup::open(layout, &partition, &group)
        .map_err(cgroup_err)?
        .ok_or_else(|| TuneError::NoGroup(d.name.clone()))?;
    match (change, verb.group()) {
        (Tune::Pids { max }, _) => cg.apply_writes(&[pids_write(*max)]),
        // The container's own groups below hold the old list (v1 nesting).
        (Tune::Cpuset { cpus }, _) => {
            CgroupSettings::from_domain(d).and_then(|_| cg.set_cpus(&cpus.kernel_list()))
        }
        (_, Some(group)) => CgroupSettings::from_domain(d).and_then(|s| cg.apply(&s.subset(group))),
        (_, None) => Ok(()),
    }
    .map_err(cgroup_err)
}

/// virsh's parameter names and the domain's values for `verb`.
fn values(d: &Domain, verb: TuneVerb, change: Option<&Tune>) -> Vec<(&'static str, String)> {
    let kib = |v: Option<u64>| match v {
        Some(k) if k < UNLIMITED_KIB => k.to_string(),
        _ => "unlimited".to_owned(),
    };
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    match verb {
        TuneVerb::SetMem => vec![("memory", kib(d.memory))],
        TuneVerb::MemTune => {
            let m = d.memtune.as_ref();
            vec![
                ("hard_limit", kib(m.and_then(|m| m.hard_limit))),
                ("soft_limit", kib(m.and_then(|m| m.soft_limit))),
                ("swap_hard_limit", kib(m.and_then(|m| m.swap_hard_limit))),
            ]
        }
        TuneVerb::SchedInfo => {
            let c = d.cputune.as_ref();
            vec![
                ("Scheduler", "posix".to_owned()),
                (
                    "cpu_shares",
                    opt(c.and_then(|c| c.shares).map(|v| v.to_string())),
                ),
                (
                    "vcpu_period",
                    opt(c.and_then(|c| c.period).map(|v| v.to_string())),
                ),
                (
                    "vcpu_quota",
                    opt(c.and_then(|c| c.quota).map(|v| v.to_string())),
                ),
            ]
        }
        TuneVerb::BlkioTune => vec![(
            "weight",
            opt(d
                .blkiotune
                .as_ref()
                .and_then(|b| b.weight)
                .map(|w| w.to_string())),
        )],
        TuneVerb::EmulatorPin => vec![(
            "cpuset",
            d.vcpu
                .as_ref()
                .and_then(|v| v.cpuset.as_ref())
                .map_or_else(|| "*".to_owned(), |c| c.kernel_list()),
        )],
        TuneVerb::SetPids => vec![(
            "pids",
            match change {
                Some(Tune::Pids { max: Some(n) }) => n.to_string(),
                Some(Tune::Pids { max: None }) => "max".to_owned(),
                _ => "-".to_owned(),
            },
        )],
    }
}

/// A size as virsh takes it: an integer in KiB, or with a unit suffix
/// (`512M`, `1GiB`, libvirt's unit names); `-1` or `unlimited` is no limit.
pub fn parse_kib(value: &str) -> Result<u64, TuneError> {
    if value == "-1" || value.eq_ignore_ascii_case("unlimited") {
        return Ok(UNLIMITED_KIB);
    }
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (num, unit) = value.split_at(split);
    let unit = (!unit.is_empty()).then_some(unit);
    crate::domain::units::scale(num, unit, "KiB")
        .map(crate::domain::units::kib_from_bytes)
        .map_err(|expected| TuneError::BadValue {
            what: "size",
            value: value.to_owned(),
            expected,
        })
}

/// A CPU list (`0-3,^2`), as `<vcpu cpuset>` takes it.
pub fn parse_cpus(value: &str) -> Result<CpuSet, TuneError> {
    CpuSet::parse(value).map_err(|expected| TuneError::BadValue {
        what: "CPU list",
        value: value.to_owned(),
        expected,
    })
}

/// `schedinfo --set NAME=VALUE` (repeatable) with virsh's names
/// `cpu_shares`, `vcpu_period`, `vcpu_quota`; `global_period` and
/// `global_quota` are the same group's bandwidth for a container.
pub fn parse_sched(sets: &[String]) -> Result<Tune, TuneError> {
    let (mut shares, mut period, mut quota) = (None, None, None);
    for set in sets {
        let bad = |expected: &str| TuneError::BadValue {
            what: "scheduler parameter",
            value: set.clone(),
            expected: expected.to_owned(),
        };
        let (key, value) = set
            .split_once('=')
            .ok_or_else(|| bad("NAME=VALUE (cpu_shares, vcpu_period, vcpu_quota)"))?;
        let int = || bad("an integer value");
        match key {
            "cpu_shares" => shares = Some(value.parse().map_err(|_| int())?),
            "vcpu_period" | "global_period" => period = Some(value.parse().map_err(|_| int())?),
            "vcpu_quota" | "global_quota" => quota = Some(value.parse().map_err(|_| int())?),
            _ => {
                return Err(bad(
                    "one of cpu_shares, vcpu_period, vcpu_quota, global_period, global_quota",
                ));
            }
        }
    }
    Ok(Tune::Sched {
        shares,
        period,
        quota,
    })
}

impl std::fmt::Display for TuneReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self.values.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in &self.values {
            writeln!(f, "{k:<w$}: {v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_kib_unless_a_unit_says_otherwise() {
        assert_eq!(parse_kib("65536").unwrap(), 65536);
        assert_eq!(parse_kib("64M").unwrap(), 65536);
        assert_eq!(parse_kib("1GiB").unwrap(), 1 << 20);
        assert_eq!(parse_kib("-1").unwrap(), UNLIMITED_KIB);
        assert!(parse_kib("12Q").is_err());
        assert!(parse_kib("").is_err());
    }

    #[test]
    fn sched_takes_virsh_names() {
        let t = parse_sched(&["cpu_shares=512".into(), "vcpu_quota=-1".into()]).unwrap();
        assert_eq!(
            t,
            Tune::Sched {
                shares: Some(512),
                period: None,
                quota: Some(-1)
            }
        );
        assert!(parse_sched(&["emulator_quota=5".into()]).is_err());
        assert!(parse_sched(&["cpu_shares".into()]).is_err());
    }

    #[test]
    fn changes_land_in_the_domain_and_keep_what_they_do_not_name() {
        let mut d = Domain::parse(
            b"<domain type='lxc'><name>t</name><memory unit='KiB'>1024</memory>\
              <memtune><soft_limit unit='KiB'>512</soft_limit></memtune>\
              <os><type>exe</type><init>/bin/sh</init></os></domain>",
        )
        .unwrap();
        Tune::MemTune {
            hard: Some(2048),
            soft: None,
            swap_hard: None,
        }
        .apply_to(&mut d);
        let m = d.memtune.as_ref().unwrap();
        assert_eq!((m.hard_limit, m.soft_limit), (Some(2048), Some(512)));
        Tune::Cpuset {
            cpus: parse_cpus("0").unwrap(),
        }
        .apply_to(&mut d);
        assert_eq!(d.vcpu.as_ref().unwrap().count, 1);
        let live = CgroupSettings::from_domain(&d)
            .unwrap()
            .subset(SettingGroup::Cpuset);
        assert_eq!(live.cpuset.cpus.as_deref(), Some("0"));
        assert_eq!(live.memory, Default::default());
    }
}
