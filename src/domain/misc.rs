//! Small families: `<idmap>`, `<clock>`, lifecycle actions, `<seclabel>` and
//! the `lxc:namespace` extension.

use super::LXC_NS;
use super::cursor::{Cursor, Extras, string_enum};
use super::error::ParseError;
use super::os::yes_no;
use crate::xml::{Attr, Element, Writer};

/// One `<uid>`/`<gid>` range: container ids `start..start+count` are host ids
/// `target..target+count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapEntry {
    pub start: u32,
    pub target: u32,
    pub count: u32,
}

/// `<idmap>`: user-namespace mappings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    pub uid: Vec<IdMapEntry>,
    pub gid: Vec<IdMapEntry>,
    pub extras: Extras,
}

fn parse_ranges(c: &mut Cursor<'_>, name: &str) -> Result<Vec<IdMapEntry>, ParseError> {
    let mut out = Vec::new();
    for mut e in c.children(name) {
        out.push(IdMapEntry {
            start: e.require_attr("start")?,
            target: e.require_attr("target")?,
            count: e.require_attr("count")?,
        });
    }
    Ok(out)
}

impl IdMap {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        Ok(IdMap {
            uid: parse_ranges(&mut c, "uid")?,
            gid: parse_ranges(&mut c, "gid")?,
            extras: c.finish(&["uid", "gid"]),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w.tag("idmap").extra_attrs(&self.extras.attrs);
        w.children(t, |w| {
            self.extras.leading(w);
            for (name, ranges) in [("uid", &self.uid), ("gid", &self.gid)] {
                for (i, r) in ranges.iter().enumerate() {
                    let t = w
                        .tag(name)
                        .attr("start", r.start)
                        .attr("target", r.target)
                        .attr("count", r.count)
                        .extra_attrs(self.extras.attrs_of(name, i + 1));
                    w.empty(t);
                }
                self.extras.after(w, name);
            }
        });
    }
}

/// `<clock offset= adjustment= basis= timezone=>`; timers are kept as extras.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clock {
    pub offset: Option<String>,
    pub adjustment: Option<String>,
    pub basis: Option<String>,
    pub timezone: Option<String>,
    pub extras: Extras,
}

impl Clock {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        Ok(Clock {
            offset: c.parse_attr("offset")?,
            adjustment: c.parse_attr("adjustment")?,
            basis: c.parse_attr("basis")?,
            timezone: c.parse_attr("timezone")?,
            extras: c.finish(&[]),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w
            .tag("clock")
            .opt_attr("offset", self.offset.as_deref())
            .opt_attr("adjustment", self.adjustment.as_deref())
            .opt_attr("basis", self.basis.as_deref())
            .opt_attr("timezone", self.timezone.as_deref())
            .extra_attrs(&self.extras.attrs);
        w.children(t, |w| self.extras.leading(w));
    }
}

string_enum! {
    /// `<on_poweroff>`, `<on_reboot>`, `<on_crash>`: what the monitor does
    /// when the domain stops that way.
    pub enum LifecycleAction {
        Destroy = "destroy",
        Restart = "restart",
        RenameRestart = "rename-restart",
        Preserve = "preserve",
        CoredumpDestroy = "coredump-destroy",
        CoredumpRestart = "coredump-restart",
    }
}

/// `<seclabel>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecLabel {
    /// `none`, `dynamic` or `static`.
    pub kind: Option<String>,
    pub model: Option<String>,
    pub relabel: Option<bool>,
    pub label: Option<String>,
    pub imagelabel: Option<String>,
    pub baselabel: Option<String>,
    pub extras: Extras,
}

const SECLABEL: &[&str] = &["label", "imagelabel", "baselabel"];

impl SecLabel {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        Ok(SecLabel {
            kind: c.parse_attr("type")?,
            model: c.parse_attr("model")?,
            relabel: c.parse_attr("relabel")?,
            label: c.child("label").map(|l| l.text()),
            imagelabel: c.child("imagelabel").map(|l| l.text()),
            baselabel: c.child("baselabel").map(|l| l.text()),
            extras: c.finish(SECLABEL),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let t = w
            .tag("seclabel")
            .opt_attr("type", self.kind.as_deref())
            .opt_attr("model", self.model.as_deref())
            .opt_attr("relabel", self.relabel.map(yes_no))
            .extra_attrs(&self.extras.attrs);
        w.children(t, |w| {
            self.extras.leading(w);
            for (name, v) in SECLABEL
                .iter()
                .zip([&self.label, &self.imagelabel, &self.baselabel])
            {
                if let Some(v) = v {
                    let t = w.tag(name).extra_attrs(self.extras.attrs_of(name, 1));
                    w.text(t, v);
                }
                self.extras.after(w, name);
            }
        });
    }
}

string_enum! {
    /// How an `lxc:namespace` share names what to join.
    pub enum ShareKind {
        /// A named network namespace (`/run/netns/NAME`, as `ip netns` makes).
        NetNs = "netns",
        /// Another libvirt/domrun domain, by name.
        Name = "name",
        /// A process id.
        Pid = "pid",
    }
}

/// One `<lxc:sharenet|shareipc|shareuts type= value=/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceShare {
    pub kind: ShareKind,
    pub value: String,
}

/// `<lxc:namespace>`: namespaces joined instead of created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LxcNamespace {
    pub sharenet: Option<NamespaceShare>,
    pub shareipc: Option<NamespaceShare>,
    pub shareuts: Option<NamespaceShare>,
    pub extras: Extras,
}

/// The prefix the document binds to libvirt's LXC namespace URI, if any.
pub(crate) fn lxc_prefix(root: &Element) -> Option<&str> {
    lxc_prefix_of_attrs(&root.attrs)
}

pub(crate) fn lxc_prefix_of_attrs(attrs: &[Attr]) -> Option<&str> {
    attrs
        .iter()
        .find(|a| a.value == LXC_NS)
        .and_then(|a| a.name.strip_prefix("xmlns:"))
}

impl LxcNamespace {
    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let prefix = c.element().prefix().unwrap_or("lxc").to_owned();
        let share = |c: &mut Cursor<'_>, what: &str| -> Result<_, ParseError> {
            match c.child(&format!("{prefix}:{what}")) {
                Some(mut s) => Ok(Some(NamespaceShare {
                    kind: s.require_attr("type")?,
                    value: s.require_attr("value")?,
                })),
                None => Ok(None),
            }
        };
        let sharenet = share(&mut c, "sharenet")?;
        let shareipc = share(&mut c, "shareipc")?;
        let shareuts = share(&mut c, "shareuts")?;
        Ok(LxcNamespace {
            sharenet,
            shareipc,
            shareuts,
            extras: c.finish(&[]),
        })
    }

    pub(crate) fn format(&self, w: &mut Writer, prefix: &str) {
        let name = format!("{prefix}:namespace");
        let t = w.tag(&name).extra_attrs(&self.extras.attrs);
        w.children(t, |w| {
            for (what, s) in [
                ("sharenet", &self.sharenet),
                ("shareipc", &self.shareipc),
                ("shareuts", &self.shareuts),
            ] {
                if let Some(s) = s {
                    let el = format!("{prefix}:{what}");
                    let t = w
                        .tag(&el)
                        .attr("type", s.kind)
                        .attr("value", &s.value)
                        .extra_attrs(self.extras.attrs_of(&el, 1));
                    w.empty(t);
                }
            }
            self.extras.leading(w);
        });
    }
}
