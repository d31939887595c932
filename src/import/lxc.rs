//! LXC container config (`lxc-tools`, legacy and 3.0 keys) → domain XML.
//!
//! The reference is libvirt's `lxcParseConfigString` (`src/lxc/lxc_native.c`)
//! and its `lxcconf2xmldata` corpus: with [`Options::libvirt_exact`] the
//! output is libvirt's byte for byte. Without it two things differ, both
//! for the container's sake (docs/import.md): a pty console is added when
//! the config has no tty (LXC always gives `/dev/console`; libvirt's own
//! driver and domrun refuse a container without one), and `lxc.idmap`
//! fields are read as LXC documents them (container id, then host id),
//! where libvirt swaps the two.
//!
//! Every key is mapped, noted (not imported, with the reason, on stderr) or
//! refused (an error: its loss would leave the container less confined than
//! the config asks, and domain XML cannot express it): the whole list is
//! `lxc_keys.rs`; NICs are `lxc_net.rs`.

use super::text::{self, Entry, LineForm, bad, note};
use super::{Conversion, ImportError, Note, lxc_keys, lxc_net};
use domrun::domain::{
    BlkioDevice, BlkioTune, Capability, CapsFeature, CapsPolicy, Chardev, CpuSet, CpuTune, Device,
    Domain, Extras, FsSource, FsType, IdMap, IdMapEntry, MemTune, NumaMemory, NumaMode, NumaTune,
    Placement, Vcpu,
};

/// How the conversion is done.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// libvirt's conversion exactly (no console added, its idmap reading),
    /// and not validated: for comparing with libvirt.
    pub libvirt_exact: bool,
}

/// `lxc.arch` values and libvirt's names for them.
const ARCHES: &[(&str, &str)] = &[
    ("x86", "i686"),
    ("i686", "i686"),
    ("amd64", "x86_64"),
    ("x86_64", "x86_64"),
    ("arm64", "aarch64"),
    ("aarch64", "aarch64"),
    ("armhf", "armv7l"),
    ("armv7l", "armv7l"),
    ("ppc64el", "ppc64le"),
    ("ppc64le", "ppc64le"),
    ("s390x", "s390x"),
    ("riscv64", "riscv64"),
];

/// Mount targets a container gets anyway: libvirt's `lxcBasicMounts` and
/// domrun's kernel mounts; entries for them are skipped, as libvirt does.
const LIBVIRT_BASIC_MOUNTS: &[&str] = &[
    "/proc",
    "/proc/sys",
    "/proc/sys/net/ipv4",
    "/proc/sys/net/ipv6",
    "/sys",
    "/sys/kernel/security",
    "/sys/fs/selinux",
];

/// The emulator libvirt's post-parse writes for an LXC domain (its
/// `libvirt_lxc` controller); domrun ignores it, libvirt can use the XML.
const LIBVIRT_LXC_EMULATOR: &str = "/usr/libexec/libvirt_lxc";

/// The memory libvirt gives an imported container without a limit: 64 MiB.
const DEFAULT_MEMORY_KIB: u64 = 64 * 1024;

/// The config's entries, in order, with the helpers the mapping needs.
struct Config {
    entries: Vec<Entry>,
}

impl Config {
    /// The last entry of any of `keys` (a repeated key: LXC takes the last).
    fn last(&self, keys: &[&str]) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| keys.contains(&e.key.as_str()))
    }

    fn all<'a>(&'a self, keys: &'a [&'a str]) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries
            .iter()
            .filter(move |e| keys.contains(&e.key.as_str()))
    }
}

fn parse_num<T: std::str::FromStr>(e: &Entry, what: &str) -> Result<T, ImportError> {
    e.value.trim().parse().map_err(|_| bad(e, what))
}

/// Converts an LXC config's text. `read_file` reads the fstab a
/// `lxc.mount.fstab` names (the only other file the conversion reads).
pub fn convert(
    text: &str,
    opts: Options,
    read_file: &dyn Fn(&str) -> std::io::Result<String>,
) -> Result<Conversion, ImportError> {
    let cfg = Config {
        entries: text::entries(text, LineForm::Lxc)?,
    };
    let mut notes = Vec::new();
    lxc_keys::check_keys(&cfg.entries, &mut notes)?;

    let name = cfg
        .last(&["lxc.uts.name", "lxc.utsname"])
        .ok_or(ImportError::Missing {
            key: "lxc.uts.name",
            why: "the domain is named after the container's hostname",
        })?
        .value
        .clone();
    let mut d = super::skeleton(domrun::domain::DomainType::Lxc, &name, "/sbin/init");
    d.memory = Some(DEFAULT_MEMORY_KIB);
    d.devices.emulator = Some(LIBVIRT_LXC_EMULATOR.to_owned());
    if let Some(e) = cfg.last(&["lxc.arch"]) {
        match ARCHES.iter().find(|(a, _)| *a == e.value) {
            Some((_, arch)) => d.os.arch = Some((*arch).to_owned()),
            None => note(&mut notes, e, "unknown architecture, left out"),
        }
    }
    set_rootfs(&cfg, &mut d, &mut notes)?;
    set_mounts(&cfg, &mut d, &mut notes, read_file)?;
    let privnet = lxc_net::convert(&cfg.entries, &mut d, &mut notes)?;
    set_consoles(&cfg, &mut d, opts)?;
    set_idmap(&cfg, &mut d, opts)?;
    set_memtune(&cfg, &mut d, &mut notes)?;
    set_cputune(&cfg, &mut d)?;
    set_blkio(&cfg, &mut d)?;
    let caps = capabilities(&cfg, &mut notes)?;
    d.features = Some(domrun::domain::Features {
        privnet,
        capabilities: Some(caps),
        ..Default::default()
    });
    set_init(&cfg, &mut d)?;
    let autostart = match cfg.last(&["lxc.start.auto"]) {
        Some(e) => parse_num::<u8>(e, "0 or 1")? == 1,
        None => false,
    };
    let domain = super::finish(d, !opts.libvirt_exact)?;
    Ok(Conversion {
        domain,
        notes,
        autostart,
    })
}

/// `lxc.rootfs.path` (`lxc.rootfs`): a directory (optionally `dir:`), a
/// block device (`/dev/…`) or a `loop:` image file.
fn set_rootfs(cfg: &Config, d: &mut Domain, notes: &mut Vec<Note>) -> Result<(), ImportError> {
    let e = cfg
        .last(&["lxc.rootfs.path", "lxc.rootfs"])
        .ok_or(ImportError::Missing {
            key: "lxc.rootfs.path",
            why: "the container needs a root filesystem",
        })?;
    let v = e.value.as_str();
    let (kind, source) = if let Some(p) = v.strip_prefix("dir:").or(v.strip_prefix("btrfs:")) {
        (FsType::Mount, FsSource::Dir(p.to_owned()))
    } else if let Some(p) = v.strip_prefix("loop:") {
        (FsType::File, FsSource::File(p.to_owned()))
    } else if v.starts_with("/dev/") {
        (FsType::Block, FsSource::Dev(v.to_owned()))
    } else if v.starts_with('/') {
        (FsType::Mount, FsSource::Dir(v.to_owned()))
    } else {
        return Err(bad(
            e,
            "a directory, dir:DIR, loop:FILE or /dev/DEVICE (copy other storage backends into a directory)",
        ));
    };
    let mut readonly = false;
    if let Some(o) = cfg.last(&["lxc.rootfs.options"]) {
        for opt in o.value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match opt {
                "ro" => readonly = true,
                "rw" => readonly = false,
                other => note(notes, o, format!("mount option '{other}' not imported")),
            }
        }
    }
    d.devices.list.push(Device::Filesystem(text::filesystem(
        kind, source, "/", readonly,
    )));
    Ok(())
}

/// `lxc.mount.fstab` files (read; libvirt refuses them) then
/// `lxc.mount.entry` lines, each an fstab line.
fn set_mounts(
    cfg: &Config,
    d: &mut Domain,
    notes: &mut Vec<Note>,
    read_file: &dyn Fn(&str) -> std::io::Result<String>,
) -> Result<(), ImportError> {
    for e in cfg.all(&["lxc.mount.fstab", "lxc.mount"]) {
        let fstab_error = |source| ImportError::Fstab {
            line: e.line,
            key: e.key.clone(),
            path: e.value.clone(),
            source: Box::new(source),
        };
        let text = read_file(&e.value).map_err(|source| {
            fstab_error(ImportError::Read {
                path: e.value.clone().into(),
                source,
            })
        })?;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let entry = Entry {
                line: i + 1,
                key: "fstab".to_owned(),
                value: t.to_owned(),
            };
            mount_entry(&entry, d, notes).map_err(fstab_error)?;
        }
    }
    for e in cfg.all(&["lxc.mount.entry"]) {
        mount_entry(e, d, notes)?;
    }
    Ok(())
}

/// One fstab line, as libvirt's `lxcAddFstabLine` maps it.
fn mount_entry(e: &Entry, d: &mut Domain, notes: &mut Vec<Note>) -> Result<(), ImportError> {
    let fields: Vec<&str> = e.value.split_whitespace().collect();
    let [src, dst, fstype, options, ..] = fields[..] else {
        return Err(bad(
            e,
            "an fstab line: SOURCE TARGET TYPE OPTIONS [DUMP PASS]",
        ));
    };
    let target = if dst.starts_with('/') {
        dst.to_owned()
    } else {
        format!("/{dst}")
    };
    let basic = LIBVIRT_BASIC_MOUNTS.contains(&target.as_str())
        || domrun::plan::defaults::KERNEL_MOUNTS
            .iter()
            .any(|m| m.target == target);
    if basic {
        return Ok(());
    }
    let options: Vec<&str> = options.split(',').collect();
    let readonly = options.contains(&"ro");
    let (kind, source) = if fstype == "tmpfs" {
        let size = options
            .iter()
            .find_map(|o| o.strip_prefix("size="))
            .ok_or_else(|| {
                bad(
                    e,
                    "a tmpfs with a size= option (domain XML sizes every tmpfs)",
                )
            })?;
        let bytes = text::size_bytes(size, "b").map_err(|why| bad(e, why))?;
        (FsType::Ram, FsSource::Ram { usage_bytes: bytes })
    } else if src.starts_with("/dev/") {
        (FsType::Block, FsSource::Dev(src.to_owned()))
    } else if src.starts_with('/') {
        (FsType::Mount, FsSource::Dir(src.to_owned()))
    } else if options.contains(&"optional") {
        note(
            notes,
            e,
            format!(
                "optional {fstype} mount at {target} not imported: domain XML mounts host paths only"
            ),
        );
        return Ok(());
    } else {
        return Err(bad(
            e,
            "an absolute host path or device as the source (domain XML mounts host paths only)",
        ));
    };
    d.devices.list.push(Device::Filesystem(text::filesystem(
        kind, source, &target, readonly,
    )));
    Ok(())
}

/// `lxc.tty.max` (`lxc.tty`): that many pty consoles. Without one, a single
/// console is added unless the output must be libvirt's.
fn set_consoles(cfg: &Config, d: &mut Domain, opts: Options) -> Result<(), ImportError> {
    let count = match cfg.last(&["lxc.tty.max", "lxc.tty"]) {
        Some(e) => parse_num::<u32>(e, "a number of ttys")?,
        None => 0,
    };
    let count = if count == 0 && !opts.libvirt_exact {
        1
    } else {
        count
    };
    for _ in 0..count {
        d.devices.list.push(Device::Console(Chardev::pty()));
    }
    Ok(())
}

/// `lxc.idmap = u|g CONTAINER HOST COUNT` (`lxc.id_map`).
fn set_idmap(cfg: &Config, d: &mut Domain, opts: Options) -> Result<(), ImportError> {
    let mut map = IdMap::default();
    for e in cfg.all(&["lxc.idmap", "lxc.id_map"]) {
        let parts: Vec<&str> = e.value.split_whitespace().collect();
        let expected = "u|g CONTAINER-ID HOST-ID COUNT";
        let [kind, a, b, count] = parts[..] else {
            return Err(bad(e, expected));
        };
        let num = |s: &str| s.parse::<u32>().map_err(|_| bad(e, expected));
        let (first, second, count) = (num(a)?, num(b)?, num(count)?);
        // libvirt reads the first number as the host id (`target`).
        let (start, target) = if opts.libvirt_exact {
            (second, first)
        } else {
            (first, second)
        };
        let entry = IdMapEntry {
            start,
            target,
            count,
        };
        match kind {
            "u" => map.uid.push(entry),
            "g" => map.gid.push(entry),
            _ => return Err(bad(e, expected)),
        }
    }
    if !map.uid.is_empty() || !map.gid.is_empty() {
        d.idmap = Some(map);
    }
    Ok(())
}

/// A cgroup byte value in KiB; `None` for "unlimited" (`max`, `-1`).
fn cgroup_kib(e: &Entry) -> Result<Option<u64>, ImportError> {
    if matches!(e.value.trim(), "max" | "-1") {
        return Ok(None);
    }
    let bytes = text::size_bytes(&e.value, "b").map_err(|why| bad(e, why))?;
    Ok(Some(bytes / 1024))
}

fn set_memtune(cfg: &Config, d: &mut Domain, notes: &mut Vec<Note>) -> Result<(), ImportError> {
    let mut tune = MemTune::default();
    let mut any = false;
    if let Some(e) = cfg.last(&["lxc.cgroup.memory.limit_in_bytes", "lxc.cgroup2.memory.max"])
        && let Some(kib) = cgroup_kib(e)?
    {
        d.memory = Some(kib);
        tune.hard_limit = Some(kib);
        any = true;
    }
    if let Some(e) = cfg.last(&[
        "lxc.cgroup.memory.soft_limit_in_bytes",
        "lxc.cgroup2.memory.high",
    ]) && let Some(kib) = cgroup_kib(e)?
    {
        tune.soft_limit = Some(kib);
        any = true;
    }
    if let Some(e) = cfg.last(&["lxc.cgroup.memory.memsw.limit_in_bytes"])
        && let Some(kib) = cgroup_kib(e)?
    {
        tune.swap_hard_limit = Some(kib);
        any = true;
    }
    // cgroup v2 limits swap alone; libvirt's swap_hard_limit is memory + swap.
    if let Some(e) = cfg.last(&["lxc.cgroup2.memory.swap.max"])
        && let Some(kib) = cgroup_kib(e)?
    {
        match tune.hard_limit {
            Some(mem) => {
                tune.swap_hard_limit = Some(mem.saturating_add(kib));
                any = true;
            }
            None => note(
                notes,
                e,
                "not imported: without lxc.cgroup2.memory.max there is no memory+swap limit to give",
            ),
        }
    }
    if any {
        d.memtune = Some(tune);
    }
    Ok(())
}

fn set_cputune(cfg: &Config, d: &mut Domain) -> Result<(), ImportError> {
    let mut tune = CpuTune::default();
    if let Some(e) = cfg.last(&["lxc.cgroup.cpu.shares"]) {
        tune.shares = Some(parse_num(e, "an integer")?);
    }
    if let Some(e) = cfg.last(&["lxc.cgroup2.cpu.weight"]) {
        // cpu.weight 100 is cpu.shares 1024 (the kernel's own conversion).
        let w: u64 = parse_num(e, "a weight from 1 to 10000")?;
        tune.shares = Some(w * 1024 / 100);
    }
    if let Some(e) = cfg.last(&["lxc.cgroup.cpu.cfs_quota_us"]) {
        tune.quota = Some(parse_num(e, "an integer (-1: no quota)")?);
    }
    if let Some(e) = cfg.last(&["lxc.cgroup.cpu.cfs_period_us"]) {
        tune.period = Some(parse_num(e, "an integer")?);
    }
    if let Some(e) = cfg.last(&["lxc.cgroup2.cpu.max"]) {
        let expected = "QUOTA [PERIOD] or max [PERIOD]";
        let mut parts = e.value.split_whitespace();
        match parts.next() {
            Some("max") => tune.quota = Some(-1),
            Some(q) => tune.quota = Some(q.parse().map_err(|_| bad(e, expected))?),
            None => return Err(bad(e, expected)),
        }
        if let Some(p) = parts.next() {
            tune.period = Some(p.parse().map_err(|_| bad(e, expected))?);
        }
    }
    if tune != CpuTune::default() {
        d.cputune = Some(tune);
    }
    let cpuset = |e: &Entry| -> Result<CpuSet, ImportError> {
        let set = CpuSet::parse(&e.value).map_err(|why| bad(e, why))?;
        // libvirt prints its bitmap in canonical form.
        CpuSet::parse(&set.kernel_list()).map_err(|why| bad(e, why))
    };
    if let Some(e) = cfg.last(&["lxc.cgroup.cpuset.cpus", "lxc.cgroup2.cpuset.cpus"]) {
        d.vcpu = Some(Vcpu {
            count: 1,
            placement: Some(Placement::Static),
            cpuset: Some(cpuset(e)?),
            current: None,
            extras: Extras::default(),
        });
    }
    if let Some(e) = cfg.last(&["lxc.cgroup.cpuset.mems", "lxc.cgroup2.cpuset.mems"]) {
        d.numatune = Some(NumaTune {
            memory: Some(NumaMemory {
                mode: Some(NumaMode::Strict),
                nodeset: Some(cpuset(e)?),
                placement: None,
                extras: Extras::default(),
            }),
            extras: Extras::default(),
        });
    }
    Ok(())
}

/// `lxc.cgroup.blkio.*`: the weight, and per-device `MAJ:MIN VALUE` lines
/// gathered by device in order of first mention (as libvirt does).
fn set_blkio(cfg: &Config, d: &mut Domain) -> Result<(), ImportError> {
    let mut tune = BlkioTune::default();
    if let Some(e) = cfg.last(&["lxc.cgroup.blkio.weight"]) {
        tune.weight = Some(parse_num(e, "a weight")?);
    }
    if let Some(e) = cfg.last(&["lxc.cgroup2.io.weight"]) {
        let v = e.value.trim();
        let v = v.strip_prefix("default").unwrap_or(v).trim();
        tune.weight = Some(
            v.parse()
                .map_err(|_| bad(e, "a weight (or default WEIGHT)"))?,
        );
    }
    for e in &cfg.entries {
        let Some(what) = e.key.strip_prefix("lxc.cgroup.blkio.") else {
            continue;
        };
        if what == "weight" {
            continue;
        }
        let expected = "MAJOR:MINOR VALUE";
        let parts: Vec<&str> = e.value.split_whitespace().collect();
        let [dev, value] = parts[..] else {
            return Err(bad(e, expected));
        };
        let path = format!("/dev/block/{dev}");
        let idx = match tune.devices.iter().position(|x| x.path == path) {
            Some(i) => i,
            None => {
                tune.devices.push(BlkioDevice {
                    path,
                    ..Default::default()
                });
                tune.devices.len() - 1
            }
        };
        let device = &mut tune.devices[idx];
        let n = || value.parse::<u64>().map_err(|_| bad(e, expected));
        match what {
            "device_weight" => {
                device.weight = Some(value.parse().map_err(|_| bad(e, expected))?);
            }
            "throttle.read_bps_device" => device.read_bytes_sec = Some(n()?),
            "throttle.write_bps_device" => device.write_bytes_sec = Some(n()?),
            "throttle.read_iops_device" => device.read_iops_sec = Some(n()?),
            "throttle.write_iops_device" => device.write_iops_sec = Some(n()?),
            _ => {}
        }
    }
    if tune != BlkioTune::default() {
        d.blkiotune = Some(tune);
    }
    Ok(())
}

/// `lxc.cap.drop` (policy allow, each dropped one off) or `lxc.cap.keep`
/// (policy deny, each kept one on). Repeated lines add up; an empty one
/// clears the list, as in LXC.
fn capabilities(cfg: &Config, notes: &mut Vec<Note>) -> Result<CapsFeature, ImportError> {
    let list = |key: &str, notes: &mut Vec<Note>| -> Vec<Capability> {
        let mut caps = Vec::new();
        for e in cfg.all(&[key]) {
            if e.value.trim().is_empty() {
                caps.clear();
            }
            for name in e.value.split_whitespace() {
                let lower = name.to_ascii_lowercase();
                match Capability::parse(lower.trim_start_matches("cap_")) {
                    Some(c) if !caps.contains(&c) => caps.push(c),
                    Some(_) => {}
                    None => note(
                        notes,
                        e,
                        format!("capability '{name}' has no libvirt toggle, left out"),
                    ),
                }
            }
        }
        caps
    };
    let drop = list("lxc.cap.drop", notes);
    let keep = list("lxc.cap.keep", notes);
    if !drop.is_empty() && !keep.is_empty() {
        let e = cfg.last(&["lxc.cap.keep"]).ok_or(ImportError::Missing {
            key: "lxc.cap.keep",
            why: "internal: a kept capability without its line",
        })?;
        return Err(bad(e, "either lxc.cap.drop or lxc.cap.keep, as LXC allows"));
    }
    let (policy, caps, on) = if keep.is_empty() {
        (CapsPolicy::Allow, drop, false)
    } else {
        (CapsPolicy::Deny, keep, true)
    };
    let mut toggles: Vec<(Capability, bool)> = caps.into_iter().map(|c| (c, on)).collect();
    toggles.sort_by_key(|(c, _)| Capability::ALL.iter().position(|x| x == c));
    Ok(CapsFeature {
        policy: Some(policy),
        toggles,
        extras: Extras::default(),
    })
}

/// `lxc.init.cmd`, `lxc.init.cwd`, `lxc.init.uid`/`gid`, `lxc.environment`.
fn set_init(cfg: &Config, d: &mut Domain) -> Result<(), ImportError> {
    if let Some(e) = cfg.last(&["lxc.init.cmd", "lxc.init_cmd"]) {
        let words = text::words(&e.value)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| bad(e, "a command line (quotes closed)"))?;
        let mut words = words.into_iter();
        d.os.init = words.next();
        d.os.initargs = words.collect();
    }
    if let Some(e) = cfg.last(&["lxc.init.cwd"]) {
        d.os.initdir = Some(e.value.clone());
    }
    let uid = cfg.last(&["lxc.init.uid", "lxc.init_uid"]);
    let gid = cfg.last(&["lxc.init.gid", "lxc.init_gid"]);
    if uid.is_some() || gid.is_some() {
        // domrun sets init's identity as a pair; LXC's default for the other is 0.
        let id = |e: Option<&Entry>| -> Result<String, ImportError> {
            match e {
                Some(e) => Ok(parse_num::<u32>(e, "a numeric id")?.to_string()),
                None => Ok("0".to_owned()),
            }
        };
        d.os.inituser = Some(id(uid)?);
        d.os.initgroup = Some(id(gid)?);
    }
    for e in cfg.all(&["lxc.environment"]) {
        let (k, v) = e.value.split_once('=').ok_or_else(|| {
            bad(
                e,
                "NAME=VALUE (passing the host's value through is not imported)",
            )
        })?;
        d.os.initenv.push((k.trim().to_owned(), v.to_owned()));
    }
    Ok(())
}
