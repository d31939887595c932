//! Pass 3: whole-domain semantics. Every problem is collected, not just the
//! first, each with where it is and what would fix it.

use super::devices::{Device, Filesystem, FsType, HostdevSource};
use super::error::write_location;
use super::{Domain, DomainType, OsType};
use crate::xml::Pos;
use std::path::{Component, Path, PathBuf};

/// One semantic problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateError {
    pub pos: Pos,
    /// Element path, e.g. `/domain/devices/filesystem[2]/target`.
    pub path: String,
    pub message: String,
}

/// Every semantic problem of a domain (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateErrors {
    pub file: Option<PathBuf>,
    pub errors: Vec<ValidateError>,
}

impl ValidateErrors {
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }
}

/// One line per problem: `FILE:LINE:COL: PATH: message`.
impl std::fmt::Display for ValidateErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write_location(f, self.file.as_deref(), e.pos, &e.path)?;
            f.write_str(&e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidateErrors {}

struct Checker {
    errors: Vec<ValidateError>,
}

impl Checker {
    fn err(&mut self, pos: Pos, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ValidateError {
            pos,
            path: path.into(),
            message: message.into(),
        });
    }
}

/// A path with `.` and repeated `/` removed, for comparing targets.
fn normalize(p: &str) -> PathBuf {
    Path::new(p)
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn is_absolute_clean(p: &str) -> bool {
    p.starts_with('/') && !Path::new(p).components().any(|c| c == Component::ParentDir)
}

/// Parses a libvirt CPU list (`0-3,^2,8`).
pub fn parse_cpu_list(s: &str) -> Result<Vec<u32>, String> {
    let mut set = std::collections::BTreeSet::new();
    let mut excluded = Vec::new();
    for part in s.split(',').map(str::trim) {
        let (neg, part) = match part.strip_prefix('^') {
            Some(p) => (true, p),
            None => (false, part),
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let bad = || format!("'{part}' is not a CPU number or range like 0-3");
        let a: u32 = a.parse().map_err(|_| bad())?;
        let b: u32 = b.parse().map_err(|_| bad())?;
        if a > b || b > 8191 {
            return Err(bad());
        }
        if neg {
            excluded.extend(a..=b);
        } else {
            set.extend(a..=b);
        }
    }
    for e in excluded {
        set.remove(&e);
    }
    Ok(set.into_iter().collect())
}

fn source_for(fs: &Filesystem) -> Result<(), &'static str> {
    let s = &fs.source;
    let ok = match fs.kind {
        FsType::Mount | FsType::Bind => s.dir.is_some(),
        FsType::Block => s.dev.is_some(),
        FsType::File => s.file.is_some(),
        FsType::Template => s.name.is_some(),
        FsType::Ram => s.usage_bytes.is_some(),
        FsType::Volume => s.pool.is_some() && s.volume.is_some(),
    };
    if ok {
        return Ok(());
    }
    Err(match fs.kind {
        FsType::Mount | FsType::Bind => "needs <source dir='…'/>",
        FsType::Block => "needs <source dev='/dev/…'/>",
        FsType::File => "needs <source file='…'/> (an image file)",
        FsType::Template => "needs <source name='…'/> (a template name)",
        FsType::Ram => "needs <source usage='…' units='KiB'/> (the tmpfs size)",
        FsType::Volume => "needs <source pool='…' volume='…'/>",
    })
}

impl Domain {
    /// Checks the whole domain; returns every problem found.
    pub fn validate(&self) -> Result<(), ValidateErrors> {
        let mut c = Checker { errors: Vec::new() };
        self.check_identity(&mut c);
        self.check_os(&mut c);
        self.check_devices(&mut c);
        if c.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidateErrors {
                file: None,
                errors: c.errors,
            })
        }
    }

    fn check_identity(&self, c: &mut Checker) {
        if self.name.is_empty() {
            c.err(Pos::default(), "/domain/name", "the name is empty");
        } else if self.name.contains('/') || self.name.chars().any(char::is_control) {
            c.err(
                Pos::default(),
                "/domain/name",
                format!(
                    "name '{}' contains '/' or a control character; use letters, digits, '-', '_' or '.'",
                    self.name.escape_default()
                ),
            );
        }
        if let (Some(m), Some(cur)) = (self.memory, self.current_memory)
            && cur > m
        {
            c.err(
                Pos::default(),
                "/domain/currentMemory",
                format!("currentMemory {cur} KiB exceeds memory {m} KiB"),
            );
        }
        if let Some(cpuset) = self.vcpu.as_ref().and_then(|v| v.cpuset.as_deref())
            && let Err(e) = parse_cpu_list(cpuset)
        {
            c.err(
                Pos::default(),
                "/domain/vcpu",
                format!("cpuset '{cpuset}': {e}"),
            );
        }
        if let Some(idmap) = &self.idmap {
            for (name, ranges) in [("uid", &idmap.uid), ("gid", &idmap.gid)] {
                if ranges.is_empty() {
                    c.err(
                        Pos::default(),
                        format!("/domain/idmap/{name}"),
                        format!(
                            "<idmap> needs a <{name}> range too (both uid and gid must be mapped)"
                        ),
                    );
                } else if !ranges.iter().any(|r| r.start == 0) {
                    c.err(
                        Pos::default(),
                        format!("/domain/idmap/{name}"),
                        format!(
                            "no <{name} start='0' …/> range: the container's root must be mapped"
                        ),
                    );
                }
                for r in ranges.iter() {
                    if r.count == 0 {
                        c.err(
                            Pos::default(),
                            format!("/domain/idmap/{name}"),
                            format!("range starting at {} has count 0", r.start),
                        );
                    }
                }
            }
        }
    }

    fn check_os(&self, c: &mut Checker) {
        let os = &self.os;
        let path = "/domain/os/type";
        match (self.kind.is_container(), os.kind) {
            (true, OsType::Exe) => {}
            (true, other) => c.err(
                Pos::default(),
                path,
                format!(
                    "a {} domain is a container: <type>exe</type> is required, not '{other}'",
                    self.kind
                ),
            ),
            (false, OsType::Exe) => c.err(
                Pos::default(),
                path,
                format!(
                    "a {} domain is a VM: <type>exe</type> needs a container type (lxc, openvz, vserver)",
                    self.kind
                ),
            ),
            (false, OsType::Xen | OsType::Linux | OsType::XenPvh)
                if self.kind != DomainType::Xen =>
            {
                c.err(
                    Pos::default(),
                    path,
                    format!("os type '{}' needs <domain type='xen'>", os.kind),
                )
            }
            _ => {}
        }
        if os.kind != OsType::Exe {
            return;
        }
        match &os.init {
            None => c.err(
                Pos::default(),
                "/domain/os",
                "an exe domain needs <init>, the program to run as PID 1 (e.g. <init>/sbin/init</init>)",
            ),
            Some(init) if !init.starts_with('/') => c.err(
                Pos::default(),
                "/domain/os/init",
                format!("init '{init}' must be an absolute path inside the container"),
            ),
            _ => {}
        }
        if os.inituser.is_some() != os.initgroup.is_some() {
            c.err(
                Pos::default(),
                "/domain/os",
                "<inituser> and <initgroup> go together: give both or neither",
            );
        }
        if let Some(dir) = &os.initdir
            && !dir.starts_with('/')
        {
            c.err(
                Pos::default(),
                "/domain/os/initdir",
                format!("initdir '{dir}' must be an absolute path"),
            );
        }
        for (name, _) in &os.initenv {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                c.err(
                    Pos::default(),
                    "/domain/os/initenv",
                    format!("environment variable name '{name}' is empty or contains '='"),
                );
            }
        }
        let has_pty_console = self.devices.consoles().any(|con| con.kind == "pty");
        if !has_pty_console {
            c.err(
                Pos::default(),
                "/domain/devices",
                "an exe domain needs a console: add <console type='pty'/> to <devices>",
            );
        }
    }

    fn check_devices(&self, c: &mut Checker) {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        let mut targets: Vec<(PathBuf, String)> = Vec::new();
        for dev in &self.devices.list {
            let name = dev.element_name();
            let n = match counts.iter_mut().find(|(k, _)| *k == name) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    counts.push((name, 1));
                    1
                }
            };
            let path = format!("/domain/devices/{name}[{n}]");
            match dev {
                Device::Filesystem(fs) => {
                    if let Err(fix) = source_for(fs) {
                        c.err(
                            fs.pos,
                            format!("{path}/source"),
                            format!("a {} filesystem {fix}", fs.kind),
                        );
                    }
                    match &fs.target {
                        None => c.err(fs.pos, &path, "missing <target dir='…'/>"),
                        Some(t) if !is_absolute_clean(t) => c.err(
                            fs.pos,
                            format!("{path}/target"),
                            format!("target dir '{t}' must be an absolute path without '..'"),
                        ),
                        Some(t) => {
                            let norm = normalize(t);
                            if let Some((_, first)) = targets.iter().find(|(p, _)| *p == norm) {
                                c.err(
                                    fs.pos,
                                    format!("{path}/target"),
                                    format!("target dir '{t}' is already used by {first}"),
                                );
                            } else {
                                targets.push((norm, path.clone()));
                            }
                        }
                    }
                    if matches!(fs.kind, FsType::Bind)
                        && let Some(d) = &fs.source.dir
                        && !d.starts_with('/')
                    {
                        c.err(
                            fs.pos,
                            format!("{path}/source"),
                            format!("bind source '{d}' must be absolute"),
                        );
                    }
                }
                Device::Interface(i) => {
                    if let Some(mac) = &i.mac
                        && !is_mac(mac)
                    {
                        c.err(
                            i.pos,
                            format!("{path}/mac"),
                            format!("'{mac}' is not a MAC address like 52:54:00:12:34:56"),
                        );
                    }
                    let source_ips = i.source.iter().flat_map(|s| s.ips.iter());
                    for ip in i.ips.iter().chain(source_ips) {
                        check_ip(c, i.pos, &format!("{path}/ip"), &ip.address, ip.prefix);
                    }
                }
                Device::Hostdev(h) => {
                    if h.mode == "capabilities" {
                        let ok = matches!(
                            (h.kind.as_str(), &h.source),
                            ("storage", HostdevSource::Block(_))
                                | ("misc", HostdevSource::Char(_))
                                | ("net", HostdevSource::Interface(_))
                        );
                        if !ok {
                            c.err(
                                h.pos,
                                format!("{path}/source"),
                                format!(
                                    "a capabilities hostdev of type '{}' needs <source> with <block> (storage), <char> (misc) or <interface> (net)",
                                    h.kind
                                ),
                            );
                        }
                    }
                    for ip in &h.ips {
                        check_ip(c, h.pos, &format!("{path}/ip"), &ip.address, ip.prefix);
                    }
                }
                _ => {}
            }
        }
    }
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn check_ip(c: &mut Checker, pos: Pos, path: &str, address: &str, prefix: Option<u32>) {
    match address.parse::<std::net::IpAddr>() {
        Err(_) => c.err(
            pos,
            path,
            format!("'{address}' is not an IPv4 or IPv6 address"),
        ),
        Ok(ip) => {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if let Some(p) = prefix
                && p > max
            {
                c.err(
                    pos,
                    path,
                    format!("prefix {p} is larger than {max} for {address}"),
                );
            }
        }
    }
}
