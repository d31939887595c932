//! xl config → Domain, following libvirt's `xenParseXL`: the XML libvirt
//! would produce is written out (escaped) and read back through the domain
//! parser, so the result is exactly what `domrun format` prints for it.

use std::fmt::Write as _;

use super::XenError;
use super::cfg::Config;
use crate::domain::Domain;
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
    let mut x = String::from("<domain type='xen'>\n");
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
    if hvm {
        features(c, &mut x)?;
    }
    if hvm && flag(c, "nestedhvm")? == Some(true) {
        x.push_str("  <cpu mode='host-passthrough'/>\n");
    }
    clock(c, hvm, &mut x)?;
    for key in ["on_poweroff", "on_reboot", "on_crash"] {
        if let Some(v) = c.str(key) {
            let _ = writeln!(x, "  <{key}>{}</{key}>", t(v));
        }
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
    x.push_str("    <controller type='xenbus' index='0'/>\n");
    if ide {
        x.push_str("    <controller type='ide' index='0'/>\n");
    }
    if let Some(vifs) = c.get("vif") {
        for spec in vifs.strings() {
            vif(spec, hvm, &mut x)?;
        }
    }
    chardevs(c, hvm, &mut x);
    let bus = if hvm { "ps2" } else { "xen" };
    let _ = writeln!(x, "    <input type='mouse' bus='{bus}'/>");
    let _ = writeln!(x, "    <input type='keyboard' bus='{bus}'/>");
    if hvm {
        graphics(c, &mut x)?;
    }
    x.push_str("    <memballoon model='xen'/>\n  </devices>\n</domain>\n");
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
    if kind == Kind::Hvm {
        for ch in c.str("boot").unwrap_or("c").chars() {
            let dev = match ch {
                'a' => "fd",
                'd' => "cdrom",
                'n' => "network",
                _ => "hd",
            };
            let _ = writeln!(x, "    <boot dev='{dev}'/>");
        }
    }
    x.push_str("  </os>\n");
    Ok(())
}

fn features(c: &Config, x: &mut String) -> Result<(), XenError> {
    let mut f = String::new();
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
    if !f.is_empty() {
        let _ = write!(x, "  <features>\n{f}  </features>\n");
    }
    Ok(())
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

/// One `disk=` spec: `key=value` settings and up to four positional ones
/// (target, format, vdev, access); `target=` takes the rest of the spec.
/// Returns whether the disk is on IDE.
fn disk(spec: &str, x: &mut String) -> Result<bool, XenError> {
    let mut target: Option<String> = None;
    let mut format: Option<String> = None;
    let mut vdev: Option<String> = None;
    let mut access: Option<String> = None;
    let mut backend: Option<String> = None;
    let mut cdrom = false;
    let mut positional = 0;
    let mut rest = spec;
    while !rest.is_empty() {
        if let Some(tgt) = rest.strip_prefix("target=") {
            target = Some(tgt.to_owned());
            break;
        }
        let (item, tail) = rest.split_once(',').unwrap_or((rest, ""));
        rest = tail;
        let item = item.trim();
        match item.split_once('=') {
            Some(("format", v)) => format = Some(v.to_owned()),
            Some(("vdev", v)) => vdev = Some(v.to_owned()),
            Some(("access", v)) => access = Some(v.to_owned()),
            Some(("backendtype", v)) => backend = Some(v.to_owned()),
            Some(("devtype", v)) => cdrom = v == "cdrom",
            Some(("script", _)) | Some(("backend", _)) => {}
            Some((k, _)) => {
                return Err(XenError::BadSpec {
                    what: "disk",
                    message: format!("unknown setting '{k}'"),
                });
            }
            None => {
                let v = (!item.is_empty()).then(|| item.to_owned());
                match positional {
                    0 => target = v,
                    1 => format = v,
                    2 => vdev = v,
                    3 => access = v,
                    _ => {
                        return Err(XenError::BadSpec {
                            what: "disk",
                            message: "more than four positional settings".into(),
                        });
                    }
                }
                positional += 1;
            }
        }
        if item == "cdrom" {
            cdrom = true;
        }
    }
    let vdev = vdev.ok_or(XenError::BadSpec {
        what: "disk",
        message: "no vdev".into(),
    })?;
    let readonly = matches!(access.as_deref(), Some("ro" | "r"));
    let format = format.unwrap_or_else(|| "raw".to_owned());
    let device = if cdrom { "cdrom" } else { "disk" };
    let (bus, ide_slot) = if let Some(l) = vdev.strip_prefix("hd") {
        let idx = l.bytes().next().map_or(0, |b| b.saturating_sub(b'a'));
        ("ide", Some(idx))
    } else if vdev.starts_with("sd") {
        ("scsi", None)
    } else {
        ("xen", None)
    };
    let phy = backend.as_deref() == Some("phy");
    let kind = if phy { "block" } else { "file" };
    let _ = writeln!(x, "    <disk type='{kind}' device='{device}'>");
    let driver = if phy { "phy" } else { "qemu" };
    let _ = writeln!(x, "      <driver name='{driver}' type='{}'/>", a(&format));
    if let Some(tg) = &target {
        let attr = if phy { "dev" } else { "file" };
        let _ = writeln!(x, "      <source {attr}='{}'/>", a(tg));
    }
    let _ = writeln!(x, "      <target dev='{}' bus='{bus}'/>", a(&vdev));
    if readonly {
        x.push_str("      <readonly/>\n");
    }
    if let Some(idx) = ide_slot {
        let _ = writeln!(
            x,
            "      <address type='drive' controller='0' bus='{}' target='0' unit='{}'/>",
            idx / 2,
            idx % 2
        );
    }
    x.push_str("    </disk>\n");
    Ok(ide_slot.is_some())
}

/// One `vif=` spec.
fn vif(spec: &str, hvm: bool, x: &mut String) -> Result<(), XenError> {
    let mut mac = None;
    let mut bridge = None;
    let mut ips = Vec::new();
    let mut script = None;
    let mut model = None;
    let mut vifname = None;
    let mut rate = None;
    for item in spec.split(',') {
        let Some((k, v)) = item.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "mac" => mac = Some(v.to_owned()),
            "bridge" => bridge = Some(v.to_owned()),
            "ip" => ips.extend(v.split_whitespace().map(str::to_owned)),
            "script" => script = Some(v.to_owned()),
            "model" => model = Some(v.to_owned()),
            "type" if v == "vif" || v == "netfront" => model = Some("netfront".to_owned()),
            "type" => {}
            "vifname" => vifname = Some(v.to_owned()),
            "rate" => rate = Some(v.to_owned()),
            _ => {}
        }
    }
    let kind = if bridge.is_some() {
        "bridge"
    } else {
        "ethernet"
    };
    let _ = writeln!(x, "    <interface type='{kind}'>");
    if let Some(m) = &mac {
        let _ = writeln!(x, "      <mac address='{}'/>", a(m));
    }
    if let Some(b) = &bridge {
        let _ = writeln!(x, "      <source bridge='{}'/>", a(b));
    }
    if let Some(r) = &rate {
        let kb = parse_rate(r).ok_or(XenError::BadSpec {
            what: "vif",
            message: format!("rate '{r}' (expected e.g. 10240KB/s)"),
        })?;
        let _ = write!(
            x,
            "      <bandwidth>\n        <outbound average='{kb}'/>\n      </bandwidth>\n"
        );
    }
    for ip in &ips {
        let _ = writeln!(x, "      <ip address='{}'/>", a(ip));
    }
    if let Some(s) = &script {
        let _ = writeln!(x, "      <script path='{}'/>", a(s));
    }
    if let Some(v) = &vifname {
        let _ = writeln!(x, "      <target dev='{}'/>", a(v));
    }
    if let Some(m) = &model {
        let _ = writeln!(x, "      <model type='{}'/>", a(m));
    }
    let _ = hvm;
    x.push_str("    </interface>\n");
    Ok(())
}

/// `10240KB/s` (also `10MB/s`, `1GB/s`, bytes per second `B/s`) → KB/s.
fn parse_rate(r: &str) -> Option<u64> {
    let (n, unit) = r.split_once('/').map_or((r, ""), |(n, u)| (n, u));
    if !unit.is_empty() && unit != "s" {
        return None;
    }
    let digits: String = n.chars().take_while(char::is_ascii_digit).collect();
    let v: u64 = digits.parse().ok()?;
    match &n[digits.len()..] {
        "KB" | "K" => Some(v),
        "MB" | "M" => v.checked_mul(1024),
        "GB" | "G" => v.checked_mul(1024 * 1024),
        "B" | "" => Some(v / 1024),
        _ => None,
    }
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
