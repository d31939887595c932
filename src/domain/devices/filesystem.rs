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

string_enum! {
    /// `<driver format=…>`: an image's format (libvirt's `virStorageFileFormat`,
    /// the names QEMU uses).
    pub enum ImageFormat {
        Raw = "raw",
        Dir = "dir",
        Bochs = "bochs",
        Cloop = "cloop",
        Dmg = "dmg",
        Iso = "iso",
        Vpc = "vpc",
        Vdi = "vdi",
        Fat = "fat",
        Vhd = "vhd",
        Ploop = "ploop",
        Cow = "cow",
        Qcow = "qcow",
        Qcow2 = "qcow2",
        Qed = "qed",
        Vmdk = "vmdk",
        Luks = "luks",
        Vhdx = "vhdx",
    }
}

/// `<driver type= format=/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsDriver {
    pub kind: Option<FsDriverType>,
    pub format: Option<ImageFormat>,
    pub extras: Extras,
}

/// `<source>`, in the one form the filesystem's type reads. Attributes of
/// another type's form (`file=` on a `mount`) are kept in
/// [`Filesystem::source_extras`]: printed back, and named by validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FsSource {
    /// No `<source>`, or not the attributes the type needs.
    #[default]
    Missing,
    /// `dir=`: a host directory (`mount`) or a container path (`bind`).
    Dir(String),
    /// `dev=`: a host block device (`block`).
    Dev(String),
    /// `file=`: an image file (`file`).
    File(String),
    /// `name=`: a template name (`template`).
    Template(String),
    /// `usage=` scaled by `units=` (default KiB), in bytes (`ram`).
    Ram { usage_bytes: u64 },
    /// `pool=` and `volume=` (`volume`).
    Volume { pool: String, volume: String },
}

impl FsSource {
    /// The path or name the source gives (`dir`, `dev`, `file` or a
    /// template's `name`), which identifies it.
    pub fn path(&self) -> Option<&str> {
        match self {
            FsSource::Dir(p) | FsSource::Dev(p) | FsSource::File(p) | FsSource::Template(p) => {
                Some(p)
            }
            FsSource::Missing | FsSource::Ram { .. } | FsSource::Volume { .. } => None,
        }
    }
}

/// The `<source>` attribute each type reads (`volume` reads two).
fn source_attr(kind: FsType) -> &'static str {
    match kind {
        FsType::Mount | FsType::Bind => "dir",
        FsType::Block => "dev",
        FsType::File => "file",
        FsType::Template => "name",
        FsType::Ram => "usage",
        FsType::Volume => "pool",
    }
}

fn parse_source(s: &mut Cursor<'_>, kind: FsType) -> Result<FsSource, ParseError> {
    let attr = source_attr(kind);
    Ok(match kind {
        // Both attributes or neither: a lone pool= stays as it was written.
        FsType::Volume => {
            let el = s.element();
            match (el.attr("pool"), el.attr("volume")) {
                (Some(pool), Some(volume)) => {
                    // Taken only together, so a lone one stays an extra.
                    s.attr("pool");
                    s.attr("volume");
                    FsSource::Volume {
                        pool: pool.to_owned(),
                        volume: volume.to_owned(),
                    }
                }
                _ => FsSource::Missing,
            }
        }
        FsType::Ram => match s.attr("usage") {
            Some(u) => FsSource::Ram {
                usage_bytes: scaled(s, "attribute 'usage'", u, "units", "KiB")?,
            },
            None => FsSource::Missing,
        },
        FsType::Mount | FsType::Bind => {
            s.parse_attr(attr)?.map_or(FsSource::Missing, FsSource::Dir)
        }
        FsType::Block => s.parse_attr(attr)?.map_or(FsSource::Missing, FsSource::Dev),
        FsType::File => s
            .parse_attr(attr)?
            .map_or(FsSource::Missing, FsSource::File),
        FsType::Template => s
            .parse_attr(attr)?
            .map_or(FsSource::Missing, FsSource::Template),
    })
}

/// `<filesystem>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    pub kind: FsType,
    pub accessmode: Option<AccessMode>,
    pub driver: Option<FsDriver>,
    pub source: FsSource,
    /// What `<source>` has besides the type's form: another type's
    /// attributes, unknown attributes and children.
    pub source_extras: Extras,
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
        let (source, source_extras) = match c.child("source") {
            Some(mut s) => (parse_source(&mut s, kind)?, s.finish(&[])),
            None => (FsSource::Missing, Extras::default()),
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
            source_extras,
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
                    .opt_attr("format", d.format)
                    .extra_attrs(&d.extras.attrs);
                w.children(t, |w| d.extras.leading(w));
            }
            x.after(w, "driver");
            let t = w.tag("source");
            let t = match &self.source {
                FsSource::Missing => t,
                FsSource::Dir(v) => t.attr("dir", v),
                FsSource::Dev(v) => t.attr("dev", v),
                FsSource::File(v) => t.attr("file", v),
                FsSource::Template(v) => t.attr("name", v),
                FsSource::Ram { usage_bytes } => {
                    t.attr("usage", usage_bytes / 1024).attr("units", "KiB")
                }
                FsSource::Volume { pool, volume } => t.attr("pool", pool).attr("volume", volume),
            };
            let t = t.extra_attrs(&self.source_extras.attrs);
            // An empty <source/> says nothing: it is not printed.
            if self.source != FsSource::Missing || !self.source_extras.is_empty() {
                w.children(t, |w| self.source_extras.leading(w));
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
