//! xl config → Domain, following libvirt's `xenParseXL`: the XML libvirt
//! would produce is written out (escaped) and read back through the domain
//! parser, so the result is exactly what `domrun format` prints for it.

use std::fmt::Write as _;

use super::XenError;
use super::cfg::Config;
use super::native_devices::{channel, disk, pci, usbctrl, usbdev, vif};
use crate::domain::{BootDevice, Domain};
use crate::xml::{escape_attr as a, escape_text as t};

/// The firmware libvirt names for HVM guests without `bios = "ovmf"`.
const HVMLOADER: &str = "/usr/lib/xen/boot/hvmloader";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pv,
    Pvh,
    Hvm,
}

fn num(c: &Config, key: &str) -> Result<Option<u64>, XenError> {
    match c.str(key) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| XenError::BadValue {
            key: key.to_owned(),
            value: v.to_owned(),
        }),
    }
}

fn flag(c: &Config, key: &str) -> Result<Option<bool>, XenError> {
    Ok(num(c, key)?.map(|v| v != 0))
}

/// Converts an xl config to a domain (defaults applied).
pub fn from_native(c: &Config) -> Result<Domain, XenError> {
    let xml = to_xml(c)?;
    let mut d = Domain::parse(xml.as_bytes()).map_err(|e| XenError::Domain(e.to_string()))?;
    d.apply_defaults()
        .map_err(|e| XenError::Domain(e.to_string()))?;
    Ok(d)
}

/// The libvirt domain XML for an xl config.
pub fn to_xml(c: &Config) -> Result<String, XenError> {
    let kind = match (c.str("type"), c.str("builder")) {
        (Some("hvm"), _) | (None, Some("hvm")) => Kind::Hvm,
        (Some("pvh"), _) => Kind::Pvh,
        (Some("pv") | None, _) => Kind::Pv,
        (Some(other), _) => {
            return Err(XenError::BadValue {
                key: "type".into(),
                value: other.into(),
            });
        }
    };
    let hvm = kind == Kind::Hvm;
    let qemu_args = c.get("device_model_args").map(|v| v.strings());
    let mut x = String::from(if qemu_args.is_some() {
        "<domain type='xen' xmlns:xen='http://libvirt.org/schemas/domain/xen/1.0'>\n"
    } else {
        "<domain type='xen'>\n"
    });
    let name = c.str("name").ok_or(XenError::Missing("name"))?;
    let _ = writeln!(x, "  <name>{}</name>", t(name));
    if let Some(u) = c.str("uuid") {
        let _ = writeln!(x, "  <uuid>{}</uuid>", t(u));
    }
    let memory = num(c, "memory")?;
    let maxmem = num(c, "maxmem")?.or(memory);
    if let Some(m) = maxmem {
        let _ = writeln!(x, "  <memory unit='KiB'>{}</memory>", m * 1024);
    }
    if let Some(m) = memory.or(maxmem) {
        let _ = writeln!(
            x,
            "  <currentMemory unit='KiB'>{}</currentMemory>",
            m * 1024
        );
    }
    let vcpus = num(c, "vcpus")?.unwrap_or(1);
    match num(c, "maxvcpus")? {
        Some(max) if max != vcpus => {
            let _ = writeln!(
                x,
                "  <vcpu placement='static' current='{vcpus}'>{max}</vcpu>"
            );
        }
        _ => {
            let _ = writeln!(x, "  <vcpu placement='static'>{vcpus}</vcpu>");
        }
    }
    if let Some(b) = c.str("bootloader") {
        let _ = writeln!(x, "  <bootloader>{}</bootloader>", t(b));
    }
    if let Some(b) = c.str("bootargs") {
        let _ = writeln!(x, "  <bootloader_args>{}</bootloader_args>", t(b));
    }
    os(c, kind, &mut x)?;
    features(c, hvm, &mut x)?;
    cpu(c, hvm, &mut x)?;
    clock(c, hvm, &mut x)?;
    // libvirt's Xen defaults: a crashed guest restarts.
    for (key, default) in [
        ("on_poweroff", "destroy"),
        ("on_reboot", "restart"),
        ("on_crash", "restart"),
    ] {
        let v = c.str(key).unwrap_or(default);
        let _ = writeln!(x, "  <{key}>{}</{key}>", t(v));
    }
    x.push_str("  <devices>\n");
    if let Some(e) = c.str("device_model_override") {
        let _ = writeln!(x, "    <emulator>{}</emulator>", t(e));
    }
    let mut ide = false;
    if let Some(disks) = c.get("disk") {
        for spec in disks.strings() {
            ide |= disk(spec, &mut x)?;
        }
    }
    let mut xenbus = String::from("    <controller type='xenbus' index='0'");
    if let Some(n) = num(c, "max_grant_frames")? {
        let _ = write!(xenbus, " maxGrantFrames='{n}'");
    }
    if let Some(n) = num(c, "max_event_channels")? {
        let _ = write!(xenbus, " maxEventChannels='{n}'");
    }
    x.push_str(&xenbus);
    x.push_str("/>\n");
    if ide {
        x.push_str("    <controller type='ide' index='0'/>\n");
    }
    if let Some(ctrls) = c.get("usbctrl") {
        for (i, spec) in ctrls.strings().into_iter().enumerate() {
            usbctrl(spec, i, &mut x)?;
        }
    }
    if let Some(vifs) = c.get("vif") {
        for spec in vifs.strings() {
            vif(spec, &mut x)?;
        }
    }
    chardevs(c, hvm, &mut x);
    if let Some(chans) = c.get("channel") {
        for spec in chans.strings() {
            channel(spec, &mut x)?;
        }
    }
    if hvm && flag(c, "usb")? == Some(true) {
        for dev in c.get("usbdevice").map(|v| v.strings()).unwrap_or_default() {
            let _ = writeln!(x, "    <input type='{}' bus='usb'/>", a(dev));
        }
    }
    let bus = if hvm { "ps2" } else { "xen" };
    let _ = writeln!(x, "    <input type='mouse' bus='{bus}'/>");
    let _ = writeln!(x, "    <input type='keyboard' bus='{bus}'/>");
    if hvm {
        graphics(c, &mut x)?;
    }
    for spec in c.get("pci").map(|v| v.strings()).unwrap_or_default() {
        pci(spec, &mut x)?;
    }
    for spec in c.get("usbdev").map(|v| v.strings()).unwrap_or_default() {
        usbdev(spec, &mut x)?;
    }
    x.push_str("    <memballoon model='xen'/>\n  </devices>\n");
    if let Some(args) = qemu_args {
        x.push_str("  <xen:commandline>\n");
        for arg in args {
            let _ = writeln!(x, "    <xen:arg value='{}'/>", a(arg));
        }
        x.push_str("  </xen:commandline>\n");
    }
    x.push_str("</domain>\n");
    Ok(x)
}

fn os(c: &Config, kind: Kind, x: &mut String) -> Result<(), XenError> {
    let (machine, os_type) = match kind {
        Kind::Hvm => ("xenfv", "hvm"),
        Kind::Pv => ("xenpv", "linux"),
        Kind::Pvh => ("xenpvh", "xenpvh"),
    };
    x.push_str("  <os>\n");
    let _ = writeln!(
        x,
        "    <type arch='x86_64' machine='{machine}'>{os_type}</type>"
    );
    if kind == Kind::Hvm {
        match (c.str("bios"), c.str("bios_path_override")) {
            (Some("ovmf"), Some(p)) => {
                let _ = writeln!(
                    x,
                    "    <loader readonly='yes' type='pflash' format='raw'>{}</loader>",
                    t(p)
                );
            }
            _ => {
                let _ = writeln!(
                    x,
                    "    <loader type='rom' format='raw'>{HVMLOADER}</loader>"
                );
            }
        }
    }
    if let Some(k) = c.str("kernel") {
        let _ = writeln!(x, "    <kernel>{}</kernel>", t(k));
    }
    if let Some(r) = c.str("ramdisk") {
        let _ = writeln!(x, "    <initrd>{}</initrd>", t(r));
    }
    // libvirt: `cmdline` wins; otherwise `root=` and `extra` combined.
    let cmdline = match (c.str("cmdline"), c.str("root"), c.str("extra")) {
        (Some(cmd), _, _) => Some(cmd.to_owned()),
        (None, Some(root), Some(extra)) => Some(format!("root={root} {extra}")),
        (None, Some(root), None) => Some(format!("root={root}")),
        (None, None, Some(extra)) => Some(extra.to_owned()),
        (None, None, None) => None,
    };
    if let Some(cmd) = cmdline {
        let _ = writeln!(x, "    <cmdline>{}</cmdline>", t(&cmd));
    }
    if let Some(fw) = c.str("acpi_firmware") {
        let _ = write!(
            x,
            "    <acpi>\n      <table type='rawset'>{}</table>\n    </acpi>\n",
            t(fw)
        );
    }
    if kind == Kind::Hvm {
        for ch in c.str("boot").unwrap_or("c").chars() {
            // xl reads a letter it does not know as the disk, as libvirt does.
            let dev = BootDevice::from_qemu_letter(ch).unwrap_or(BootDevice::Hd);
            let _ = writeln!(x, "    <boot dev='{dev}'/>");
        }
    }
    x.push_str("  </os>\n");
    Ok(())
}

fn features(c: &Config, hvm: bool, x: &mut String) -> Result<(), XenError> {
    let mut f = String::new();
    if hvm {
        for key in ["acpi", "apic", "pae"] {
            if flag(c, key)? == Some(true) {
                let _ = writeln!(f, "    <{key}/>");
            }
        }
        if flag(c, "hap")? == Some(false) {
            f.push_str("    <hap state='off'/>\n");
        }
        if flag(c, "viridian")? == Some(true) {
            f.push_str("    <viridian/>\n");
        }
    }
    let mut xen = String::new();
    if let Some(on) = flag(c, "e820_host")? {
        let _ = writeln!(xen, "      <e820_host state='{}'/>", on_off(on));
    }
    match c.str("passthrough") {
        None => {}
        Some("enabled") => xen.push_str("      <passthrough state='on'/>\n"),
        Some("disabled") => xen.push_str("      <passthrough state='off'/>\n"),
        Some(mode) => {
            let _ = writeln!(xen, "      <passthrough state='on' mode='{}'/>", a(mode));
        }
    }
    if !xen.is_empty() {
        let _ = write!(f, "    <xen>\n{xen}    </xen>\n");
    }
    if !f.is_empty() {
        let _ = write!(x, "  <features>\n{f}  </features>\n");
    }
    Ok(())
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn clock(c: &Config, hvm: bool, x: &mut String) -> Result<(), XenError> {
    let localtime = flag(c, "localtime")? == Some(true);
    let mut timers = String::new();
    if let Some(mode) = c.str("tsc_mode") {
        let _ = writeln!(
            timers,
            "    <timer name='tsc' present='yes' mode='{}'/>",
            a(mode)
        );
    }
    if hvm && let Some(on) = flag(c, "hpet")? {
        let _ = writeln!(
            timers,
            "    <timer name='hpet' present='{}'/>",
            if on { "yes" } else { "no" }
        );
    }
    let open = if hvm {
        let adj = num(c, "rtc_timeoffset")?.unwrap_or(0);
        let basis = if localtime { "localtime" } else { "utc" };
        format!("  <clock offset='variable' adjustment='{adj}' basis='{basis}'")
    } else {
        let offset = if localtime { "localtime" } else { "utc" };
        format!("  <clock offset='{offset}' adjustment='reset'")
    };
    if timers.is_empty() {
        let _ = writeln!(x, "{open}/>");
    } else {
        let _ = write!(x, "{open}>\n{timers}  </clock>\n");
    }
    Ok(())
}

fn chardevs(c: &Config, hvm: bool, x: &mut String) {
    if !hvm {
        x.push_str(
            "    <console type='pty'>\n      <target type='xen' port='0'/>\n    </console>\n",
        );
        return;
    }
    let serials: Vec<&str> = c
        .get("serial")
        .map(|v| v.strings())
        .unwrap_or_default()
        .into_iter()
        .filter(|s| *s != "none")
        .collect();
    for (i, s) in serials.iter().enumerate() {
        let _ = write!(
            x,
            "    <serial type='{}'>\n      <target port='{i}'/>\n    </serial>\n",
            a(s)
        );
    }
    if let Some(first) = serials.first() {
        let _ = write!(
            x,
            "    <console type='{}'>\n      <target type='serial' port='0'/>\n    </console>\n",
            a(first)
        );
    }
}

fn graphics(c: &Config, x: &mut String) -> Result<(), XenError> {
    if flag(c, "spice")? == Some(true) {
        return spice(c, x);
    }
    if flag(c, "vnc")? != Some(true) {
        return Ok(());
    }
    let autoport = flag(c, "vncunused")?.unwrap_or(true);
    let port = match num(c, "vncdisplay")? {
        Some(d) if !autoport => (d + 5900).to_string(),
        _ => "-1".to_owned(),
    };
    let mut tag = format!(
        "    <graphics type='vnc' port='{port}' autoport='{}'",
        if autoport { "yes" } else { "no" }
    );
    let listen = c.str("vnclisten");
    if let Some(l) = listen {
        let _ = write!(tag, " listen='{}'", a(l));
    }
    if let Some(p) = c.str("vncpasswd") {
        let _ = write!(tag, " passwd='{}'", a(p));
    }
    if let Some(k) = c.str("keymap") {
        let _ = write!(tag, " keymap='{}'", a(k));
    }
    match listen {
        Some(l) => {
            let _ = write!(
                x,
                "{tag}>\n      <listen type='address' address='{}'/>\n    </graphics>\n",
                a(l)
            );
        }
        None => {
            let _ = writeln!(x, "{tag}/>");
        }
    }
    x.push_str("    <video>\n      <model type='cirrus' vram='8192' heads='1' primary='yes'/>\n    </video>\n");
    Ok(())
}

fn spice(c: &Config, x: &mut String) -> Result<(), XenError> {
    let mut tag = String::from("    <graphics type='spice'");
    let port = num(c, "spiceport")?;
    if let Some(p) = port {
        let _ = write!(tag, " port='{p}'");
    }
    if let Some(p) = num(c, "spicetls_port")? {
        let _ = write!(tag, " tlsPort='{p}'");
    }
    let _ = write!(
        tag,
        " autoport='{}'",
        if port.is_some() { "no" } else { "yes" }
    );
    let listen = c.str("spicehost");
    if let Some(l) = listen {
        let _ = write!(tag, " listen='{}'", a(l));
    }
    if let Some(p) = c.str("spicepasswd") {
        let _ = write!(tag, " passwd='{}'", a(p));
    }
    let _ = writeln!(x, "{tag}>");
    if let Some(l) = listen {
        let _ = writeln!(x, "      <listen type='address' address='{}'/>", a(l));
    }
    let mouse = if flag(c, "spiceagent_mouse")? == Some(true) {
        "client"
    } else {
        "server"
    };
    let _ = writeln!(x, "      <mouse mode='{mouse}'/>");
    let copy = if flag(c, "spice_clipboard_sharing")? == Some(true) {
        "yes"
    } else {
        "no"
    };
    let _ = writeln!(x, "      <clipboard copypaste='{copy}'/>");
    x.push_str("    </graphics>\n");
    x.push_str("    <video>\n      <model type='cirrus' vram='8192' heads='1' primary='yes'/>\n    </video>\n");
    Ok(())
}

/// Xen's CPUID flag names that libvirt spells differently.
pub(super) const CPUID_NAMES: &[(&str, &str)] = &[
    ("sse3", "pni"),
    ("page1gb", "pdpe1gb"),
    ("lahfsahf", "lahf_lm"),
    ("cmplegacy", "cmp_legacy"),
    ("altmovcr8", "cr8legacy"),
    ("nodeid", "nodeid_msr"),
];

/// `nestedhvm` and `cpuid = "host,FLAG=0|1|x,…"` → `<cpu mode='host-passthrough'>`.
fn cpu(c: &Config, hvm: bool, x: &mut String) -> Result<(), XenError> {
    let nested = if hvm { flag(c, "nestedhvm")? } else { None };
    let mut features = String::new();
    if let Some(spec) = c.str("cpuid") {
        let mut items = spec.split(',');
        if items.next() != Some("host") {
            return Err(XenError::BadValue {
                key: "cpuid".into(),
                value: spec.into(),
            });
        }
        for item in items {
            let (flag_name, v) = item.split_once('=').ok_or_else(|| XenError::BadValue {
                key: "cpuid".into(),
                value: spec.into(),
            })?;
            let policy = match v {
                "0" => "disable",
                "1" => "force",
                "x" => "optional",
                _ => {
                    return Err(XenError::BadValue {
                        key: "cpuid".into(),
                        value: spec.into(),
                    });
                }
            };
            let name = CPUID_NAMES
                .iter()
                .find(|(xen, _)| *xen == flag_name)
                .map_or(flag_name, |(_, lv)| lv);
            let _ = writeln!(
                features,
                "    <feature policy='{policy}' name='{}'/>",
                a(name)
            );
        }
    }
    if nested == Some(false) {
        features.push_str("    <feature policy='disable' name='vmx'/>\n");
    }
    let numa = match c.get("vnuma") {
        Some(v) => vnuma(v)?,
        None => String::new(),
    };
    let passthrough = nested.is_some() || !features.is_empty();
    if !passthrough && numa.is_empty() {
        return Ok(());
    }
    let open = if passthrough {
        "  <cpu mode='host-passthrough'"
    } else {
        "  <cpu"
    };
    if features.is_empty() && numa.is_empty() {
        let _ = writeln!(x, "{open}/>");
    } else {
        let _ = write!(x, "{open}>\n{features}{numa}  </cpu>\n");
    }
    Ok(())
}

/// `vnuma = [ [ "pnode=P", "size=MiB", "vcpus=LIST", "vdistances=D,…" ], … ]`
/// → `<numa>` cells (ids in list order) with every distance spelt out.
fn vnuma(v: &super::cfg::Value) -> Result<String, XenError> {
    let bad = |m: &str| XenError::BadSpec {
        what: "vnuma",
        message: m.to_owned(),
    };
    let super::cfg::Value::List(nodes) = v else {
        return Err(bad("expected a list of node lists"));
    };
    let mut out = String::from("    <numa>\n");
    for (id, node) in nodes.iter().enumerate() {
        let (mut size, mut vcpus, mut dists) = (None, None, None);
        for item in node.strings() {
            match item.split_once('=') {
                Some(("size", v)) => size = Some(v.parse::<u64>().map_err(|_| bad("size"))?),
                Some(("vcpus", v)) => vcpus = Some(v),
                Some(("vdistances", v)) => dists = Some(v),
                Some(("pnode", _)) => {}
                _ => return Err(bad(&format!("unknown setting '{item}'"))),
            }
        }
        let size = size.ok_or_else(|| bad("a node needs size="))?;
        let vcpus = vcpus.ok_or_else(|| bad("a node needs vcpus="))?;
        let _ = write!(
            out,
            "      <cell id='{id}' cpus='{}' memory='{}' unit='KiB'",
            a(vcpus),
            size * 1024
        );
        match dists {
            Some(d) => {
                out.push_str(">\n        <distances>\n");
                for (sib, val) in d.split(',').enumerate() {
                    let val: u32 = val.trim().parse().map_err(|_| bad("vdistances"))?;
                    let _ = writeln!(out, "          <sibling id='{sib}' value='{val}'/>");
                }
                out.push_str("        </distances>\n      </cell>\n");
            }
            None => out.push_str("/>\n"),
        }
    }
    out.push_str("    </numa>\n");
    Ok(out)
}
