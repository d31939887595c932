//! OpenVZ container config (vzctl's `CTID.conf`, `ve-*.conf-sample` format)
//! → domain XML.
//!
//! Prior art: libvirt's OpenVZ driver (`src/openvz/openvz_conf.c`), which
//! reads OSTEMPLATE/VE_PRIVATE, DISKSPACE, IP_ADDRESS, NETIF, CPUS,
//! PRIVVMPAGES and VMGUARPAGES; this importer reads those the same way and
//! adds vswap memory (PHYSPAGES, SWAPPAGES), CPU weight and limit, masks,
//! the name and the autostart mark. The mapping table is docs/import.md.
//!
//! Values are vzctl's: `BARRIER:LIMIT` (one value is both), `unlimited`,
//! page counts (4 KiB) for `*PAGES` or sizes with a `K`/`M`/`G`/`T`/`P`
//! suffix (decimals allowed: `2.2G`), 1 KiB blocks for DISKSPACE.

use super::text::{self, Entry, LineForm, bad, note};
use super::{Conversion, ImportError, Note};
use domrun::domain::{
    Chardev, CpuSet, CpuTune, Device, DomainType, Extras, FsSource, FsType, MacAddr, MemTune,
    NetSource, NetType, NumaMemory, NumaMode, NumaTune, Placement, Vcpu,
};
use std::path::Path;

/// vzctl's page size for `*PAGES` values without a suffix.
const PAGE_BYTES: u64 = 4096;

/// How a key is taken.
#[derive(Debug, Clone, Copy)]
enum Handling {
    Mapped,
    Noted(&'static str),
    /// A beancounter count limit: fine when unlimited, refused otherwise.
    CountLimit,
    /// A beancounter memory limit: the cgroup memory limit counts it.
    MemoryCounted,
}

use Handling::{CountLimit, Mapped, MemoryCounted, Noted};

const NO_RESOLVER: &str =
    "domain XML has no resolver setting; put it in the template's /etc/resolv.conf";

const KEYS: &[(&str, Handling)] = &[
    ("VEID", Mapped),
    ("NAME", Mapped),
    ("HOSTNAME", Mapped),
    ("DESCRIPTION", Mapped),
    ("ONBOOT", Mapped),
    ("OSTEMPLATE", Mapped),
    ("VE_PRIVATE", Mapped),
    (
        "VE_ROOT",
        Noted("the host-side mount point is domrun's own"),
    ),
    (
        "ORIGIN_SAMPLE",
        Noted("the sample's values are already in this file"),
    ),
    ("CONFIG_CUSTOMIZED", Noted("vzctl bookkeeping")),
    (
        "LAYOUT",
        Noted("the root's layout is told by OSTEMPLATE or VE_PRIVATE"),
    ),
    ("IP_ADDRESS", Mapped),
    ("NETIF", Mapped),
    ("NAMESERVER", Noted(NO_RESOLVER)),
    ("SEARCHDOMAIN", Noted(NO_RESOLVER)),
    (
        "NETFILTER",
        Noted("domrun gives the container its own netfilter tables"),
    ),
    (
        "IPTABLES",
        Noted("domrun gives the container its own netfilter tables"),
    ),
    (
        "FEATURES",
        Noted("OpenVZ kernel features have no domain XML element"),
    ),
    (
        "CAPABILITY",
        Noted("the container keeps libvirt's default capability set"),
    ),
    (
        "DEVICES",
        Noted("domrun's fixed device set applies; hostdevs add devices"),
    ),
    (
        "DEVNODES",
        Noted("domrun's fixed device set applies; hostdevs add devices"),
    ),
    ("PHYSPAGES", Mapped),
    ("SWAPPAGES", Mapped),
    ("VMGUARPAGES", Mapped),
    ("PRIVVMPAGES", Mapped),
    ("CPUUNITS", Mapped),
    ("CPULIMIT", Mapped),
    ("CPUS", Mapped),
    ("CPUMASK", Mapped),
    ("NODEMASK", Mapped),
    ("DISKSPACE", Mapped),
    ("DISKINODES", Noted("domain XML has no inode quota")),
    ("QUOTATIME", Noted("domain XML has no quota grace time")),
    (
        "QUOTAUGIDLIMIT",
        Noted("domain XML has no in-container quotas"),
    ),
    (
        "IOPRIO",
        Noted("domain XML's I/O weights are per domain; not derived from a priority"),
    ),
    (
        "IOLIMIT",
        Noted("blkiotune limits name a host device, which the config does not"),
    ),
    (
        "IOPSLIMIT",
        Noted("blkiotune limits name a host device, which the config does not"),
    ),
    (
        "MEMINFO",
        Noted("domrun shows the container the host's /proc/meminfo"),
    ),
    ("NUMPROC", CountLimit),
    ("AVNUMPROC", Noted("a hint for vzcalc, not a limit")),
    ("NUMTCPSOCK", CountLimit),
    ("NUMOTHERSOCK", CountLimit),
    ("NUMFLOCK", CountLimit),
    ("NUMPTY", CountLimit),
    ("NUMSIGINFO", CountLimit),
    ("NUMFILE", CountLimit),
    ("NUMIPTENT", CountLimit),
    ("KMEMSIZE", MemoryCounted),
    ("LOCKEDPAGES", MemoryCounted),
    ("SHMPAGES", MemoryCounted),
    ("OOMGUARPAGES", MemoryCounted),
    ("TCPSNDBUF", MemoryCounted),
    ("TCPRCVBUF", MemoryCounted),
    ("OTHERSOCKBUF", MemoryCounted),
    ("DGRAMRCVBUF", MemoryCounted),
    ("DCACHESIZE", MemoryCounted),
];

struct Config {
    entries: Vec<Entry>,
}

impl Config {
    /// vzctl takes the last assignment of a key.
    fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }
}

/// One side of `BARRIER:LIMIT` in bytes; `None` is unlimited. A bare
/// number is `unit` bytes (a page, a 1 KiB block); a suffixed one is a size.
fn amount(s: &str, unit: u64) -> Option<Option<u64>> {
    let s = s.trim();
    // LONG_MAX (64- and 32-bit) is vzctl's spelling of unlimited too.
    if matches!(s, "unlimited" | "9223372036854775807" | "2147483647") {
        return Some(None);
    }
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let mult: u64 = match suffix {
        "" => unit,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        "T" | "t" => 1 << 40,
        "P" | "p" => 1 << 50,
        _ => return None,
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() || (suffix.is_empty() && !frac.is_empty()) {
        return None;
    }
    let whole = int.parse::<u64>().ok()?.checked_mul(mult)?;
    // The fraction exactly: mult × digits / 10^len (rounded down to a byte).
    let part = match u32::try_from(frac.len()).ok()? {
        0 => 0,
        len @ 1..=18 => {
            let digits = u128::from(frac.parse::<u64>().ok()?);
            u64::try_from(u128::from(mult) * digits / 10u128.pow(len)).ok()?
        }
        _ => return None,
    };
    Some(Some(whole.checked_add(part)?))
}

/// `BARRIER:LIMIT` (or one value for both) in bytes.
fn barrier_limit(e: &Entry, unit: u64) -> Result<(Option<u64>, Option<u64>), ImportError> {
    let expected = "BARRIER:LIMIT, each a number, a size (256M, 2.2G) or unlimited";
    let (b, l) = e.value.split_once(':').unwrap_or((&e.value, &e.value));
    let b = amount(b, unit).ok_or_else(|| bad(e, expected))?;
    let l = amount(l, unit).ok_or_else(|| bad(e, expected))?;
    Ok((b, l))
}

/// Converts a vzctl config; `file` names it (its stem is the CTID when the
/// config has no VEID line).
pub fn convert(text: &str, file: &Path) -> Result<Conversion, ImportError> {
    let cfg = Config {
        entries: text::entries(text, LineForm::Shell)?,
    };
    let mut notes = Vec::new();
    check_keys(&cfg, &mut notes)?;
    let veid = veid(&cfg, file)?;

    let (name, hostname_note) = name(&cfg, veid);
    let mut d = super::skeleton(DomainType::OpenVz, &name, "/sbin/init");
    d.id = Some(veid);
    if let Some((e, message)) = hostname_note {
        note(&mut notes, e, message);
    }
    d.description = cfg.get("DESCRIPTION").map(|e| e.value.clone());

    let mut root = match (cfg.get("OSTEMPLATE"), cfg.get("VE_PRIVATE")) {
        (Some(t), _) => {
            // vzctl marks a template it should not list with a leading dot.
            let name = t.value.trim_start_matches('.');
            text::filesystem(
                FsType::Template,
                FsSource::Template(name.to_owned()),
                "/",
                false,
            )
        }
        (None, Some(p)) => {
            let dir = p.value.replace("$VEID", &veid.to_string());
            text::filesystem(FsType::Mount, FsSource::Dir(dir), "/", false)
        }
        (None, None) => {
            return Err(ImportError::Missing {
                key: "OSTEMPLATE",
                why: "the container's root comes from its OS template (or VE_PRIVATE)",
            });
        }
    };
    if let Some(e) = cfg.get("DISKSPACE") {
        let (soft, hard) = barrier_limit(e, 1024)?;
        root.space_soft_limit = soft;
        root.space_hard_limit = hard;
    }
    d.devices.list.push(Device::Filesystem(root));
    interfaces(&cfg, &mut d.devices.list, &mut notes)?;
    d.devices.list.push(Device::Console(Chardev::pty()));
    memory(&cfg, &mut d, &mut notes)?;
    cpu(&cfg, &mut d)?;

    let autostart = match cfg.get("ONBOOT") {
        Some(e) => match e.value.as_str() {
            "yes" => true,
            "no" | "" => false,
            _ => return Err(bad(e, "yes or no")),
        },
        None => false,
    };
    Ok(Conversion {
        domain: super::finish(d, true)?,
        notes,
        autostart,
    })
}

fn check_keys(cfg: &Config, notes: &mut Vec<Note>) -> Result<(), ImportError> {
    for e in &cfg.entries {
        match KEYS.iter().find(|(k, _)| *k == e.key).map(|(_, h)| *h) {
            None => note(notes, e, "unknown key, not imported"),
            Some(Mapped) => {}
            Some(Noted(why)) => note(notes, e, format!("not imported: {why}")),
            // An unlimited beancounter loses nothing: not even a note.
            Some(MemoryCounted | CountLimit) if barrier_limit(e, 1)? == (None, None) => {}
            Some(MemoryCounted) => note(
                notes,
                e,
                "not imported: the domain's memory limit counts kernel and socket memory",
            ),
            Some(CountLimit) => {
                return Err(ImportError::Refused {
                    line: e.line,
                    key: e.key.clone(),
                    value: e.value.clone(),
                    reason: "a count limit domain XML has no element for",
                });
            }
        }
    }
    Ok(())
}

fn veid(cfg: &Config, file: &Path) -> Result<u32, ImportError> {
    let from_file = file
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse::<u32>().ok());
    match (cfg.get("VEID"), from_file) {
        (Some(e), stem) => {
            let id: u32 = e
                .value
                .parse()
                .map_err(|_| bad(e, "a container id (a number)"))?;
            if stem.is_some_and(|s| s != id) {
                return Err(bad(
                    e,
                    format!("the id the file is named for ({})", file.display()),
                ));
            }
            Ok(id)
        }
        (None, Some(id)) => Ok(id),
        (None, None) => Err(ImportError::Missing {
            key: "VEID",
            why: "the container id is the file's name (CTID.conf) or a VEID line",
        }),
    }
}

/// The domain's name: NAME, else HOSTNAME's first label (the container's
/// hostname is its domain's name), else the VEID, as libvirt names it.
fn name(cfg: &Config, veid: u32) -> (String, Option<(&Entry, String)>) {
    if let Some(e) = cfg.get("NAME") {
        return (e.value.clone(), None);
    }
    if let Some(e) = cfg.get("HOSTNAME") {
        let (short, domain) = e.value.split_once('.').unwrap_or((&e.value, ""));
        if !short.is_empty() {
            let lost = (!domain.is_empty()).then(|| {
                (
                    e,
                    format!(
                        "the container's hostname is the domain's name '{short}'; \
                         the domain part '{domain}' is not imported"
                    ),
                )
            });
            return (short.to_owned(), lost);
        }
    }
    (veid.to_string(), None)
}

/// IP_ADDRESS (venet: one routed interface with every address) and NETIF
/// (veth: one interface each).
fn interfaces(
    cfg: &Config,
    list: &mut Vec<Device>,
    notes: &mut Vec<Note>,
) -> Result<(), ImportError> {
    if let Some(e) = cfg.get("IP_ADDRESS") {
        let mut venet = text::interface(NetType::Ethernet);
        for addr in e.value.split_whitespace() {
            let (address, prefix) = text::cidr(addr, false).ok_or_else(|| {
                bad(
                    e,
                    "IP addresses (with an optional /PREFIX), blank-separated",
                )
            })?;
            // venet routes each address alone.
            let prefix = prefix.or(Some(if address.is_ipv4() { 32 } else { 128 }));
            venet.ips.push(text::net_ip(address, prefix));
        }
        if !venet.ips.is_empty() {
            venet.guest_dev = Some("venet0".to_owned());
            list.push(Device::Interface(venet));
        }
    }
    let Some(e) = cfg.get("NETIF") else {
        return Ok(());
    };
    for nic in e.value.split(';').filter(|s| !s.trim().is_empty()) {
        let mut net = text::interface(NetType::Ethernet);
        for kv in nic.split(',') {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| bad(e, "NIC settings KEY=VALUE,…, NICs separated by ';'"))?;
            match k.trim() {
                "ifname" => net.guest_dev = Some(v.to_owned()),
                "host_ifname" => net.target_dev = Some(v.to_owned()),
                "mac" => {
                    net.mac = Some(
                        MacAddr::parse(v)
                            .ok_or_else(|| bad(e, "MAC addresses like 00:18:51:c1:05:ee"))?,
                    );
                }
                "bridge" => {
                    net.kind = NetType::Bridge;
                    net.source = Some(NetSource {
                        bridge: Some(v.to_owned()),
                        ..Default::default()
                    });
                }
                "host_mac" => note(
                    notes,
                    e,
                    format!("host-side MAC {v} not imported: domrun picks it"),
                ),
                other => note(notes, e, format!("NIC setting '{other}' not imported")),
            }
        }
        list.push(Device::Interface(net));
    }
    Ok(())
}

/// PHYSPAGES/SWAPPAGES (vswap), else PRIVVMPAGES as libvirt reads it;
/// VMGUARPAGES is the guarantee.
fn memory(
    cfg: &Config,
    d: &mut domrun::domain::Domain,
    notes: &mut Vec<Note>,
) -> Result<(), ImportError> {
    let kib = |b: Option<u64>| b.map(|b| b / 1024);
    let mut tune = MemTune::default();
    if let Some(e) = cfg.get("PHYSPAGES") {
        let (barrier, limit) = barrier_limit(e, PAGE_BYTES)?;
        tune.hard_limit = kib(limit);
        // In vswap the barrier is 0; a positive one is a soft limit.
        tune.soft_limit = kib(barrier.filter(|b| *b > 0));
        if let Some(p) = cfg.get("PRIVVMPAGES") {
            note(notes, p, "not imported: PHYSPAGES sets the memory limit");
        }
    } else if let Some(e) = cfg.get("PRIVVMPAGES") {
        let (barrier, limit) = barrier_limit(e, PAGE_BYTES)?;
        tune.soft_limit = kib(barrier);
        tune.hard_limit = kib(limit);
    }
    if let Some(e) = cfg.get("SWAPPAGES") {
        let (_, swap) = barrier_limit(e, PAGE_BYTES)?;
        match (tune.hard_limit, kib(swap)) {
            // libvirt's swap_hard_limit is memory plus swap.
            (Some(mem), Some(swap)) => tune.swap_hard_limit = Some(mem.saturating_add(swap)),
            (None, Some(_)) => note(
                notes,
                e,
                "not imported: without a memory limit there is no memory+swap limit",
            ),
            (_, None) => {}
        }
    }
    if let Some(e) = cfg.get("VMGUARPAGES") {
        let (barrier, _) = barrier_limit(e, PAGE_BYTES)?;
        tune.min_guarantee = kib(barrier);
    }
    d.memory = tune.hard_limit;
    if tune != MemTune::default() {
        d.memtune = Some(tune);
    }
    Ok(())
}

/// CPUUNITS (weight), CPULIMIT (percent of one CPU), CPUS, CPUMASK, NODEMASK.
fn cpu(cfg: &Config, d: &mut domrun::domain::Domain) -> Result<(), ImportError> {
    let mut tune = CpuTune::default();
    if let Some(e) = cfg.get("CPUUNITS") {
        let units: u64 = e
            .value
            .parse()
            .map_err(|_| bad(e, "a weight from 8 to 500000"))?;
        // vzctl's default weight 1000 is the cgroup default 1024.
        tune.shares = Some(units * 1024 / 1000);
    }
    if let Some(e) = cfg.get("CPULIMIT") {
        let pct: i64 = e
            .value
            .trim_end_matches('%')
            .parse()
            .map_err(|_| bad(e, "a percentage of one CPU (100: one whole CPU)"))?;
        if pct > 0 {
            tune.period = Some(100_000);
            tune.quota = Some(pct * 1000);
        }
    }
    if tune != CpuTune::default() {
        d.cputune = Some(tune);
    }
    let count = match cfg.get("CPUS") {
        Some(e) if e.value != "unlimited" && e.value != "0" => Some(
            e.value
                .parse::<u32>()
                .map_err(|_| bad(e, "a number of CPUs"))?,
        ),
        _ => None,
    };
    let set = |e: &Entry| -> Result<Option<CpuSet>, ImportError> {
        if e.value == "all" {
            return Ok(None);
        }
        CpuSet::parse(&e.value).map(Some).map_err(|why| bad(e, why))
    };
    let cpuset = cfg.get("CPUMASK").map(set).transpose()?.flatten();
    if count.is_some() || cpuset.is_some() {
        d.vcpu = Some(Vcpu {
            count: count.unwrap_or(1),
            placement: Some(Placement::Static),
            cpuset,
            current: None,
            extras: Extras::default(),
        });
    }
    if let Some(nodes) = cfg.get("NODEMASK").map(set).transpose()?.flatten() {
        d.numatune = Some(NumaTune {
            memory: Some(NumaMemory {
                mode: Some(NumaMode::Strict),
                nodeset: Some(nodes),
                placement: None,
                extras: Extras::default(),
            }),
            extras: Extras::default(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vzctl_amounts() {
        assert_eq!(amount("65536", PAGE_BYTES), Some(Some(256 << 20)));
        assert_eq!(amount("256M", PAGE_BYTES), Some(Some(256 << 20)));
        assert_eq!(amount("2.5G", 1024), Some(Some(5 << 29)));
        assert_eq!(amount("unlimited", 1), Some(None));
        assert_eq!(amount("9223372036854775807", 1), Some(None));
        assert_eq!(amount("1.5", 1024), None);
        assert_eq!(amount("12X", 1), None);
    }
}
