//! Pass 3: whole-domain semantics. Every problem is collected, not just the
//! first, each with where it is and what would fix it.

use super::devices::{
    ChardevType, Device, Filesystem, FsSource, FsType, HostdevCapsType, HostdevKind, HostdevSource,
};
use super::error::write_location;
use super::{Domain, DomainType, OsType, Positions};
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

struct Checker<'a> {
    positions: &'a Positions,
    errors: Vec<ValidateError>,
}

impl Checker<'_> {
    /// Records a problem at the element `path`, located at that element in
    /// the document (or at its nearest ancestor, when it is missing).
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        self.errors.push(ValidateError {
            pos: self.positions.get(&path),
            path,
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

/// What a filesystem's `<source>` must have, when the parser found none of
/// its type's form.
fn missing_source(fs: &Filesystem) -> Option<&'static str> {
    if fs.source != FsSource::Missing {
        return None;
    }
    Some(match fs.kind {
        FsType::Mount | FsType::Bind => "needs <source dir='…'/>",
        FsType::Block => "needs <source dev='/dev/…'/>",
        FsType::File => "needs <source file='…'/> (an image file)",
        FsType::Template => "needs <source name='…'/> (a template name)",
        FsType::Ram => "needs <source usage='…' units='KiB'/> (the tmpfs size)",
        FsType::Volume => "needs <source pool='…' volume='…'/>",
    })
}

/// What a filesystem's `<source>` does carry, and which type that belongs
/// to: `" (it has file='/a.img', which is for type='file')"`, or nothing.
fn source_hint(fs: &Filesystem) -> String {
    const FORMS: [(&str, &str); 6] = [
        ("dir", "mount' or 'bind"),
        ("dev", "block"),
        ("file", "file"),
        ("name", "template"),
        ("pool", "volume"),
        ("usage", "ram"),
    ];
    let attrs = &fs.source_extras.attrs;
    for (attr, kind) in FORMS {
        if let Some(a) = attrs.iter().find(|a| a.name == attr) {
            let value = if attr == "usage" {
                "…".to_owned()
            } else {
                format!("'{}'", a.value)
            };
            return format!(" (it has {attr}={value}, which is for type='{kind}')");
        }
    }
    String::new()
}

impl Domain {
    /// Checks the whole domain; returns every problem found.
    pub fn validate(&self) -> Result<(), ValidateErrors> {
        let mut c = Checker {
            positions: &self.positions,
            errors: Vec::new(),
        };
        self.check_identity(&mut c);
        self.check_os(&mut c);
        self.check_devices(&mut c);
        if c.errors.is_empty() {
            Ok(())
        } else {
            // In document order, as an editor walks them (stable: errors
            // without a position keep the order the checks found them in).
            c.errors.sort_by_key(|e| e.pos);
            Err(ValidateErrors {
                file: None,
                errors: c.errors,
            })
        }
    }

    fn check_identity(&self, c: &mut Checker<'_>) {
        if self.name.is_empty() {
            c.err("/domain/name", "the name is empty");
        } else if self.name.contains('/') || self.name.chars().any(char::is_control) {
            c.err("/domain/name",
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
                "/domain/currentMemory",
                format!("currentMemory {cur} KiB exceeds memory {m} KiB"),
            );
        }
        if let Some(idmap) = &self.idmap {
            for (name, ranges) in [("uid", &idmap.uid), ("gid", &idmap.gid)] {
                if ranges.is_empty() {
                    c.err(
                        format!("/domain/idmap/{name}"),
                        format!(
                            "<idmap> needs a <{name}> range too (both uid and gid must be mapped)"
                        ),
                    );
                } else if !ranges.iter().any(|r| r.start == 0) {
                    c.err(format!("/domain/idmap/{name}"),
                        format!(
                            "no <{name} start='0' …/> range: the container's root ({name} 0) must be mapped"
                        ),
                    );
                }
                for (k, r) in ranges.iter().enumerate() {
                    if r.count == 0 {
                        c.err(
                            format!("/domain/idmap/{name}[{}]", k + 1),
                            format!(
                                "range starting at {} has count='0': it maps nothing",
                                r.start
                            ),
                        );
                    }
                }
            }
        }
    }

    fn check_os(&self, c: &mut Checker<'_>) {
        let os = &self.os;
        let path = "/domain/os/type";
        match (self.kind.is_container(), os.kind) {
            (true, OsType::Exe) => {}
            (true, other) => c.err(
                path,
                format!(
                    "<domain type='{}'> is a container: the os type must be 'exe', not '{other}'",
                    self.kind
                ),
            ),
            (false, OsType::Exe) => c.err(
                path,
                format!(
                    "<domain type='{}'> is a VM: os type 'exe' needs a container domain type (lxc, openvz or vserver)",
                    self.kind
                ),
            ),
            (false, OsType::Xen | OsType::Linux | OsType::XenPvh)
                if self.kind != DomainType::Xen =>
            {
                c.err(path,
                    format!("os type '{}' needs <domain type='xen'>", os.kind),
                )
            }
            _ => {}
        }
        if os.kind != OsType::Exe {
            return;
        }
        match &os.init {
            None => c.err("/domain/os",
                "an exe domain needs <init>, the program to run as PID 1 (e.g. <init>/sbin/init</init>)",
            ),
            Some(init) if !init.starts_with('/') => c.err("/domain/os/init",
                format!("init '{init}' must be an absolute path inside the container"),
            ),
            _ => {}
        }
        match (&os.inituser, &os.initgroup) {
            (Some(_), None) => c.err(
                "/domain/os/inituser",
                "<inituser> needs <initgroup> too: give both or neither",
            ),
            (None, Some(_)) => c.err(
                "/domain/os/initgroup",
                "<initgroup> needs <inituser> too: give both or neither",
            ),
            _ => {}
        }
        if let Some(dir) = &os.initdir
            && !dir.starts_with('/')
        {
            c.err(
                "/domain/os/initdir",
                format!("initdir '{dir}' must be an absolute path"),
            );
        }
        for (k, (name, _)) in os.initenv.iter().enumerate() {
            let problem = if name.is_empty() {
                Some("is empty")
            } else if name.contains('=') {
                Some("contains '='")
            } else if name.contains('\0') {
                Some("contains a NUL character")
            } else {
                None
            };
            if let Some(problem) = problem {
                c.err(
                    format!("/domain/os/initenv[{}]", k + 1),
                    format!(
                        "environment variable name '{}' {problem}",
                        name.escape_default()
                    ),
                );
            }
        }
        let has_pty_console = self
            .devices
            .consoles()
            .any(|con| con.kind == ChardevType::Pty);
        if !has_pty_console {
            c.err(
                "/domain/devices",
                "an exe domain needs a console: add <console type='pty'/> to <devices>",
            );
        }
    }

    fn check_devices(&self, c: &mut Checker<'_>) {
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
                    if let Some(fix) = missing_source(fs) {
                        c.err(
                            format!("{path}/source"),
                            format!("a {} filesystem {fix}{}", fs.kind, source_hint(fs)),
                        );
                    }
                    match &fs.target {
                        None => c.err(
                            &path,
                            "missing <target dir='…'/>: where the filesystem appears in the container",
                        ),
                        Some(t) if !is_absolute_clean(t) => c.err(
                            format!("{path}/target"),
                            format!("target dir '{t}' must be an absolute path without '..'"),
                        ),
                        Some(t) => {
                            let norm = normalize(t);
                            if let Some((_, first)) = targets.iter().find(|(p, _)| *p == norm) {
                                let at = c.positions.get(first);
                                let at = if at.is_known() {
                                    format!(" (at {at})")
                                } else {
                                    String::new()
                                };
                                c.err(
                                    format!("{path}/target"),
                                    format!("target dir '{t}' is already used by {first}{at}"),
                                );
                            } else {
                                targets.push((norm, path.clone()));
                            }
                        }
                    }
                    if fs.kind == FsType::Bind
                        && let FsSource::Dir(d) = &fs.source
                        && !d.starts_with('/')
                    {
                        c.err(
                            format!("{path}/source"),
                            format!("bind source '{d}' must be absolute"),
                        );
                    }
                }
                Device::Hostdev(h) => {
                    if let HostdevKind::Capabilities(caps) = h.kind {
                        let ok = matches!(
                            (caps, &h.source),
                            (HostdevCapsType::Storage, HostdevSource::Block(_))
                                | (HostdevCapsType::Misc, HostdevSource::Char(_))
                                | (HostdevCapsType::Net, HostdevSource::Interface(_))
                        );
                        if !ok {
                            c.err(format!("{path}/source"),
                                format!(
                                    "a capabilities hostdev of type '{}' needs <source> with <block> (storage), <char> (misc) or <interface> (net)",
                                    h.kind
                                ),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
