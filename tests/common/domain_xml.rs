//! Container domain documents for the tests: `DomainXml::lxc("web")`.
//!
//! ```ignore
//! DomainXml::lxc("web")
//!     .rootfs(rootfs.path())            // <filesystem type='mount'> on /
//!     .shell("echo hi; sleep 30")       // <init>/bin/sh</init> -c SCRIPT (escaped)
//!     .element("<memory unit='MiB'>64</memory>")
//!     .feature("<privnet/>")
//!     .device("<interface type='bridge'><source bridge='br0'/></interface>")
//!     .write(tmp.path())                // -> tmp/web.xml
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Escapes `&`, `<`, `>` and `'` for XML text and single-quoted attributes.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
}

/// A `<domain type='lxc'>` under construction. Every piece is optional but
/// the name; the console (`<console type='pty'/>`) is there unless removed.
#[derive(Debug, Clone)]
pub struct DomainXml {
    name: String,
    attrs: String,
    rootfs: Option<PathBuf>,
    readonly_root: bool,
    init: String,
    initargs: Vec<String>,
    os: String,
    elements: String,
    features: String,
    devices: String,
    console: bool,
    tail: String,
}

impl DomainXml {
    /// A container named `name` running `/bin/sh` on the host's root.
    pub fn lxc(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            attrs: String::new(),
            rootfs: None,
            readonly_root: false,
            init: "/bin/sh".to_owned(),
            initargs: Vec::new(),
            os: String::new(),
            elements: String::new(),
            features: String::new(),
            devices: String::new(),
            console: true,
            tail: String::new(),
        }
    }

    /// An attribute of `<domain>` (`id`, `xmlns:lxc`), value unescaped.
    pub fn attr(mut self, name: &str, value: &str) -> Self {
        let _ = write!(self.attrs, " {name}='{}'", xml_escape(value));
        self
    }

    /// The root filesystem: a host directory mounted on `/`.
    pub fn rootfs(mut self, dir: &Path) -> Self {
        self.rootfs = Some(dir.to_path_buf());
        self
    }

    /// Makes the root filesystem read-only (`<readonly/>`).
    pub fn readonly_root(mut self) -> Self {
        self.readonly_root = true;
        self
    }

    /// Init is `/bin/sh -c SCRIPT`.
    pub fn shell(self, script: &str) -> Self {
        self.init("/bin/sh").initargs(&["-c", script])
    }

    /// The program that runs as PID 1.
    pub fn init(mut self, path: &str) -> Self {
        self.init = path.to_owned();
        self.initargs.clear();
        self
    }

    /// Arguments of init (escaped).
    pub fn initargs(mut self, args: &[&str]) -> Self {
        self.initargs.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Raw XML inside `<os>` after init (`<initenv>`, `<inituser>`, …).
    pub fn os(mut self, xml: &str) -> Self {
        self.os.push_str(xml);
        self
    }

    /// A raw top-level element (`<memory>`, `<vcpu>`, `<idmap>`, `<on_reboot>`…).
    pub fn element(mut self, xml: &str) -> Self {
        self.elements.push_str(xml);
        self
    }

    /// Raw XML inside `<features>`.
    pub fn feature(mut self, xml: &str) -> Self {
        self.features.push_str(xml);
        self
    }

    /// A raw device inside `<devices>`, after the root filesystem.
    pub fn device(mut self, xml: &str) -> Self {
        self.devices.push_str(xml);
        self
    }

    /// No `<console>`.
    pub fn without_console(mut self) -> Self {
        self.console = false;
        self
    }

    /// Raw XML after `<devices>` (`<lxc:namespace>`).
    pub fn tail(mut self, xml: &str) -> Self {
        self.tail.push_str(xml);
        self
    }

    /// The document.
    pub fn render(&self) -> String {
        let mut x = format!(
            "<domain type='lxc'{}>\n  <name>{}</name>\n",
            self.attrs,
            xml_escape(&self.name)
        );
        if !self.elements.is_empty() {
            let _ = writeln!(x, "  {}", self.elements);
        }
        let _ = write!(
            x,
            "  <os><type>exe</type><init>{}</init>",
            xml_escape(&self.init)
        );
        for a in &self.initargs {
            let _ = write!(x, "<initarg>{}</initarg>", xml_escape(a));
        }
        let _ = writeln!(x, "{}</os>", self.os);
        if !self.features.is_empty() {
            let _ = writeln!(x, "  <features>{}</features>", self.features);
        }
        x.push_str("  <devices>\n");
        if let Some(dir) = &self.rootfs {
            let ro = if self.readonly_root {
                "<readonly/>"
            } else {
                ""
            };
            let _ = writeln!(
                x,
                "    <filesystem type='mount'><source dir='{}'/><target dir='/'/>{ro}</filesystem>",
                xml_escape(&dir.to_string_lossy())
            );
        }
        if !self.devices.is_empty() {
            let _ = writeln!(x, "    {}", self.devices);
        }
        if self.console {
            x.push_str("    <console type='pty'/>\n");
        }
        x.push_str("  </devices>\n");
        if !self.tail.is_empty() {
            let _ = writeln!(x, "  {}", self.tail);
        }
        x.push_str("</domain>\n");
        x
    }

    /// Writes the document to `DIR/NAME.xml` and returns that path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        self.write_to(&dir.join(format!("{}.xml", self.name)))
    }

    /// Writes the document to `path` and returns it.
    pub fn write_to(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.render())
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path.to_path_buf()
    }

    /// The parsed, defaulted domain (for library-level tests).
    pub fn domain(&self) -> domrun::domain::Domain {
        let mut d = domrun::domain::Domain::parse(self.render().as_bytes())
            .unwrap_or_else(|e| panic!("{e}\n{}", self.render()));
        d.apply_defaults().expect("defaults");
        d
    }
}

/// Writes a device fragment (or any text) to `DIR/NAME` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}
