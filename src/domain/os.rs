//! `<os>`: what the domain boots: a container's init, or a VM's kernel/loader.

use super::cursor::{Cursor, Extras, string_enum};
use super::error::{ParseError, ParseErrorKind};
use crate::xml::Writer;

string_enum! {
    /// `<os><type>`. `linux` is libvirt's older spelling of Xen PV.
    pub enum OsType {
        Exe = "exe",
        Hvm = "hvm",
        Xen = "xen",
        Linux = "linux",
        XenPvh = "xenpvh",
    }
}

string_enum! {
    /// `<boot dev=…>`.
    pub enum BootDevice { Hd = "hd", Cdrom = "cdrom", Network = "network", Fd = "fd" }
}

/// The letter each boot device has in QEMU's `-boot order=` and in xl.cfg's
/// `boot=` (both inherited from the PC BIOS drive letters).
const BOOT_LETTERS: [(BootDevice, char); 4] = [
    (BootDevice::Fd, 'a'),
    (BootDevice::Hd, 'c'),
    (BootDevice::Cdrom, 'd'),
    (BootDevice::Network, 'n'),
];

impl BootDevice {
    /// Its letter in `-boot order=` / `boot=`.
    pub fn qemu_letter(self) -> char {
        BOOT_LETTERS
            .iter()
            .find(|(d, _)| *d == self)
            .map_or('c', |(_, l)| *l)
    }

    /// The device a boot-order letter names, `None` for a letter no device has.
    pub fn from_qemu_letter(letter: char) -> Option<Self> {
        BOOT_LETTERS
            .iter()
            .find(|(_, l)| *l == letter)
            .map(|(d, _)| *d)
    }
}

/// `yes`/`no` as libvirt prints booleans in attributes.
pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// `<loader readonly= secure= type= stateless= format=>PATH</loader>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loader {
    pub readonly: Option<bool>,
    pub secure: Option<bool>,
    /// `rom` or `pflash`.
    pub kind: Option<String>,
    pub stateless: Option<bool>,
    pub format: Option<String>,
    pub path: Option<String>,
    pub extras: Extras,
}

/// `<os>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Os {
    pub kind: OsType,
    pub arch: Option<String>,
    pub machine: Option<String>,
    /// Attributes of `<type>` domrun does not model.
    pub type_attrs: Vec<crate::xml::Attr>,
    /// Container init and its arguments, environment, directory and identity.
    pub init: Option<String>,
    pub initargs: Vec<String>,
    pub initenv: Vec<(String, String)>,
    pub initdir: Option<String>,
    pub inituser: Option<String>,
    pub initgroup: Option<String>,
    pub loader: Option<Loader>,
    /// Direct kernel boot: paths, or RFC 2397 `data:` URIs.
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    pub cmdline: Option<String>,
    pub dtb: Option<String>,
    pub boot: Vec<BootDevice>,
    pub extras: Extras,
}

/// The known children of `<os>`, in libvirt's order.
const KNOWN: &[&str] = &[
    "type",
    "init",
    "initarg",
    "initenv",
    "initdir",
    "inituser",
    "initgroup",
    "loader",
    "kernel",
    "initrd",
    "cmdline",
    "dtb",
    "boot",
];

impl Os {
    /// An `exe` os running `init`.
    pub fn exe(init: &str) -> Os {
        Os {
            kind: OsType::Exe,
            arch: None,
            machine: None,
            type_attrs: Vec::new(),
            init: Some(init.to_owned()),
            initargs: Vec::new(),
            initenv: Vec::new(),
            initdir: None,
            inituser: None,
            initgroup: None,
            loader: None,
            kernel: None,
            initrd: None,
            cmdline: None,
            dtb: None,
            boot: Vec::new(),
            extras: Extras::default(),
        }
    }

    pub(crate) fn parse(mut c: Cursor<'_>) -> Result<Self, ParseError> {
        let Some(mut t) = c.child("type") else {
            return Err(c.error(ParseErrorKind::MissingElement {
                name: "type",
                hint: " (exe for a container; hvm, xen, linux or xenpvh for a VM)".into(),
            }));
        };
        let arch = t.attr("arch").map(str::to_owned);
        let machine = t.attr("machine").map(str::to_owned);
        let kind = t.parse_text()?;
        let type_attrs = t.finish(&[]).attrs;
        let text = |c: &mut Cursor<'_>, name: &str| c.child(name).map(|e| e.element().text());
        let init = text(&mut c, "init");
        let initargs = c
            .children("initarg")
            .iter()
            .map(|a| a.element().text())
            .collect();
        let mut initenv = Vec::new();
        for mut e in c.children("initenv") {
            let name: String = e.require_attr("name")?;
            initenv.push((name, e.element().text()));
        }
        let initdir = text(&mut c, "initdir");
        let inituser = text(&mut c, "inituser");
        let initgroup = text(&mut c, "initgroup");
        let loader = match c.child("loader") {
            Some(mut l) => Some(Loader {
                readonly: l.parse_attr("readonly")?,
                secure: l.parse_attr("secure")?,
                kind: l.parse_attr("type")?,
                stateless: l.parse_attr("stateless")?,
                format: l.parse_attr("format")?,
                path: Some(l.text()).filter(|p| !p.is_empty()),
                extras: l.finish(&[]),
            }),
            None => None,
        };
        let kernel = text(&mut c, "kernel");
        let initrd = text(&mut c, "initrd");
        let cmdline = text(&mut c, "cmdline");
        let dtb = text(&mut c, "dtb");
        let mut boot = Vec::new();
        for mut b in c.children("boot") {
            boot.push(b.require_attr("dev")?);
        }
        let extras = c.finish(KNOWN);
        Ok(Os {
            kind,
            arch,
            machine,
            type_attrs,
            init,
            initargs,
            initenv,
            initdir,
            inituser,
            initgroup,
            loader,
            kernel,
            initrd,
            cmdline,
            dtb,
            boot,
            extras,
        })
    }

    pub(crate) fn format(&self, w: &mut Writer) {
        let x = &self.extras;
        let t = w.tag("os").extra_attrs(&x.attrs);
        w.children(t, |w| {
            x.leading(w);
            let t = w
                .tag("type")
                .opt_attr("arch", self.arch.as_deref())
                .opt_attr("machine", self.machine.as_deref())
                .extra_attrs(&self.type_attrs);
            w.text(t, self.kind.as_str());
            x.after(w, "type");
            let text = |w: &mut Writer, name: &str, v: &Option<String>| {
                if let Some(v) = v {
                    let t = w.tag(name).extra_attrs(x.attrs_of(name, 1));
                    w.text(t, v);
                }
                x.after(w, name);
            };
            text(w, "init", &self.init);
            for (i, a) in self.initargs.iter().enumerate() {
                let t = w.tag("initarg").extra_attrs(x.attrs_of("initarg", i + 1));
                w.text(t, a);
            }
            x.after(w, "initarg");
            for (i, (name, value)) in self.initenv.iter().enumerate() {
                let t = w
                    .tag("initenv")
                    .attr("name", name)
                    .extra_attrs(x.attrs_of("initenv", i + 1));
                w.text(t, value);
            }
            x.after(w, "initenv");
            text(w, "initdir", &self.initdir);
            text(w, "inituser", &self.inituser);
            text(w, "initgroup", &self.initgroup);
            if let Some(l) = &self.loader {
                let t = w
                    .tag("loader")
                    .opt_attr("readonly", l.readonly.map(yes_no))
                    .opt_attr("secure", l.secure.map(yes_no))
                    .opt_attr("type", l.kind.as_deref())
                    .opt_attr("stateless", l.stateless.map(yes_no))
                    .opt_attr("format", l.format.as_deref())
                    .extra_attrs(&l.extras.attrs);
                match &l.path {
                    Some(p) => w.text(t, p),
                    None => w.empty(t),
                }
            }
            x.after(w, "loader");
            text(w, "kernel", &self.kernel);
            text(w, "initrd", &self.initrd);
            text(w, "cmdline", &self.cmdline);
            text(w, "dtb", &self.dtb);
            for (i, b) in self.boot.iter().enumerate() {
                let t = w
                    .tag("boot")
                    .attr("dev", b)
                    .extra_attrs(x.attrs_of("boot", i + 1));
                w.empty(t);
            }
            x.after(w, "boot");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_boot_device_has_one_letter_and_back() {
        for &dev in BootDevice::ALL {
            assert_eq!(BootDevice::from_qemu_letter(dev.qemu_letter()), Some(dev));
        }
        assert_eq!(
            BootDevice::ALL
                .iter()
                .map(|d| d.qemu_letter())
                .collect::<String>(),
            "cdna"
        );
        assert_eq!(BootDevice::from_qemu_letter('z'), None);
    }
}
