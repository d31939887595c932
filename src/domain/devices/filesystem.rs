//! `<filesystem>`: what a container mounts.

use crate::domain::cursor::{Cursor, Extras, string_enum};
use crate::domain::error::{ParseError, ParseErrorKind};
use crate::domain::units::scale;
use crate::xml::{Attr, Pos, Writer};

string_enum! {
    /// `<filesystem type=…>`.
    pub enum FsType {
        /// A host directory, bind-mounted recursively.
        Mount = "mount",
        /// A host block device.
        Block = "block",
        /// An image file on a loop (or nbd) device.
        File = "file",
        /// A named template, provisioned copy-on-write.
        Template = "template",
        /// A tmpfs of `usage` size.
        Ram = "ram",
        /// A path inside the container bound elsewhere in it.
        Bind = "bind",
        /// A storage-pool volume.
        Volume = "volume",
    }
}

string_enum! {
    /// `accessmode=…` (how file ownership is presented; containers use passthrough).
    pub enum AccessMode { Passthrough = "passthrough", Mapped = "mapped", Squash = "squash" }
}

string_enum! {
    /// `<driver type=…>`.
    pub enum FsDriverType {
        Path = "path",
        Handle = "handle",
        Loop = "loop",
        Nbd = "nbd",
        Ploop = "ploop",
        Virtiofs = "virtiofs",
    }
}

/// `<driver type= format=/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsDriver {
    pub kind: Option<FsDriverType>,
    /// Image format: raw, qcow2, …
    pub format: Option<String>,
    pub extras: Extras,
}

/// `<source>`: every form libvirt has; which one applies depends on the type
/// (checked by validation, so a mismatch is reported, not silently dropped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsSource {
    pub dir: Option<String>,
    pub dev: Option<String>,
    pub file: Option<String>,
    pub name: Option<String>,
    /// `ram` size in bytes (`usage` scaled by `units`, default KiB).
    pub usage_bytes: Option<u64>,
    pub pool: Option<String>,
    pub volume: Option<String>,
    pub extras: Extras,
}

/// `<filesystem>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    pub kind: FsType,
    pub accessmode: Option<AccessMode>,
    pub driver: Option<FsDriver>,
    pub source: FsSource,
    /// `<target dir=…>`: where it appears in the container.
    pub target: Option<String>,
    /// Attributes of `<target>` other than `dir`.
    pub target_attrs: Vec<Attr>,
    pub readonly: bool,
    /// Limits in bytes.
    pub space_hard_limit: Option<u64>,
    pub space_soft_limit: Option<u64>,
    pub extras: Extras,
    pub pos: Pos,
}

const KNOWN: &[&str] = &[
    "driver",
    "source",
    "target",
    "readonly",
    "space_hard_limit",
    "space_soft_limit",
];

/// `value` scaled by the unit attribute `unit_attr`, in bytes. The error
/// names the unit attribute when the unit is what is wrong, else `what`.
fn scaled(
    c: &mut Cursor<'_>,
    what: &str,
    value: &str,
    unit_attr: &str,
    default_unit: &str,
) -> Result<u64, ParseError> {
    let unit = c.attr(unit_attr);
    scale(value, unit, default_unit).map_err(|expected| {
        let bad_unit = unit.is_some_and(|u| scale("0", Some(u), default_unit).is_err());
        let (what, value) = match unit {
            Some(u) if bad_unit => (format!("attribute '{unit_attr}'"), u),
            _ => (what.to_owned(), value),
        };
        c.error(ParseErrorKind::InvalidValue {
            what,
            value: value.to_owned(),
            expected,
        })
    })
}

impl Filesystem {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let pos = c.pos();
        let kind = c.parse_attr("type")?.unwrap_or(FsType::Mount);
        let accessmode = c.parse_attr("accessmode")?;
        let driver = match c.child("driver") {
            Some(mut d) => Some(FsDriver {
                kind: d.parse_attr("type")?,
                format: d.parse_attr("format")?,
                extras: d.finish(&[]),
            }),
            None => None,
        };
        let source = match c.child("source") {
            Some(mut s) => {
                let usage_bytes = match s.attr("usage") {
                    Some(u) => Some(scaled(&mut s, "attribute 'usage'", u, "units", "KiB")?),
                    None => None,
                };
                FsSource {
                    dir: s.parse_attr("dir")?,
                    dev: s.parse_attr("dev")?,
                    file: s.parse_attr("file")?,
                    name: s.parse_attr("name")?,
                    usage_bytes,
                    pool: s.parse_attr("pool")?,
                    volume: s.parse_attr("volume")?,
                    extras: s.finish(&[]),
                }
            }
            None => FsSource::default(),
        };
        let (target, target_attrs) = match c.child("target") {
            Some(mut t) => (t.parse_attr("dir")?, t.finish(&[]).attrs),
            None => (None, Vec::new()),
        };
        let readonly = c.flag("readonly");
        let limit = |c: &mut Cursor<'_>, name: &str| -> Result<Option<u64>, ParseError> {
            match c.child(name) {
                Some(mut l) => {
                    let text = l.text();
                    scaled(&mut l, &format!("<{name}>"), &text, "unit", "bytes").map(Some)
                }
                None => Ok(None),
            }
        };
        let space_hard_limit = limit(&mut c, "space_hard_limit")?;
        let space_soft_limit = limit(&mut c, "space_soft_limit")?;
        Ok(Filesystem {
            kind,
            accessmode,
            driver,
            source,
            target,
            target_attrs,
            readonly,
            space_hard_limit,
            space_soft_limit,
            extras: c.finish(KNOWN),
            pos,
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let x = &self.extras;
        let t = w
            .tag("filesystem")
            .attr("type", self.kind)
            .opt_attr("accessmode", self.accessmode)
            .extra_attrs(&x.attrs);
        w.children(t, |w| {
            x.leading(w);
            if let Some(d) = &self.driver {
                let t = w
                    .tag("driver")
                    .opt_attr("type", d.kind)
                    .opt_attr("format", d.format.as_deref())
                    .extra_attrs(&d.extras.attrs);
                w.children(t, |w| d.extras.leading(w));
            }
            x.after(w, "driver");
            let s = &self.source;
            let t = w
                .tag("source")
                .opt_attr("dir", s.dir.as_deref())
                .opt_attr("dev", s.dev.as_deref())
                .opt_attr("file", s.file.as_deref())
                .opt_attr("name", s.name.as_deref())
                .opt_attr("usage", s.usage_bytes.map(|b| b / 1024))
                .opt_attr("units", s.usage_bytes.map(|_| "KiB"))
                .opt_attr("pool", s.pool.as_deref())
                .opt_attr("volume", s.volume.as_deref())
                .extra_attrs(&s.extras.attrs);
            if *s != FsSource::default() {
                w.children(t, |w| s.extras.leading(w));
            }
            x.after(w, "source");
            if self.target.is_some() || !self.target_attrs.is_empty() {
                let t = w
                    .tag("target")
                    .opt_attr("dir", self.target.as_deref())
                    .extra_attrs(&self.target_attrs);
                w.empty(t);
            }
            x.after(w, "target");
            if self.readonly {
                w.empty(w.tag("readonly").extra_attrs(x.attrs_of("readonly", 1)));
            }
            x.after(w, "readonly");
            for (name, v) in [
                ("space_hard_limit", self.space_hard_limit),
                ("space_soft_limit", self.space_soft_limit),
            ] {
                if let Some(bytes) = v {
                    let t = w
                        .tag(name)
                        .attr("unit", "bytes")
                        .extra_attrs(x.attrs_of(name, 1));
                    w.text(t, &bytes.to_string());
                }
                x.after(w, name);
            }
        });
    }
}
