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
    let readonly = cdrom || matches!(access.as_deref(), Some("ro" | "r"));
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
    let mut network = false;
    if let Some(rbd) = target.as_deref().and_then(|tg| tg.strip_prefix("rbd:")) {
        network = true;
        let (name, hosts) = parse_rbd(rbd);
        let _ = writeln!(x, "    <disk type='network' device='{device}'>");
        let _ = writeln!(x, "      <driver name='qemu' type='{}'/>", a(&format));
        let _ = writeln!(x, "      <source protocol='rbd' name='{}'>", a(&name));
        for (h, p) in &hosts {
            match p {
                Some(p) => {
                    let _ = writeln!(x, "        <host name='{}' port='{}'/>", a(h), a(p));
                }
                None => {
                    let _ = writeln!(x, "        <host name='{}'/>", a(h));
                }
            }
        }
        x.push_str("      </source>\n");
        target = None;
    }
    let phy = backend.as_deref() == Some("phy");
    let kind = if phy { "block" } else { "file" };
    if !network {
        let _ = writeln!(x, "    <disk type='{kind}' device='{device}'>");
        let driver = if phy { "phy" } else { "qemu" };
        let _ = writeln!(x, "      <driver name='{driver}' type='{}'/>", a(&format));
    }
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
fn vif(spec: &str, x: &mut String) -> Result<(), XenError> {
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
    let ovs = script
        .as_deref()
        .is_some_and(|s| s.contains("vif-openvswitch"));
    if let Some(b) = &bridge {
        // Open vSwitch: `bridge.TAG` or `bridge:TAG:TAG…` (a trunk).
        let (name, tags, trunk) = match (ovs, b.split_once('.'), b.split_once(':')) {
            (true, Some((n, tag)), _) => (n, vec![tag], false),
            (true, None, Some((n, tags))) => (n, tags.split(':').collect(), true),
            _ => (b.as_str(), Vec::new(), false),
        };
        let _ = writeln!(x, "      <source bridge='{}'/>", a(name));
        if !tags.is_empty() {
            x.push_str(if trunk {
                "      <vlan trunk='yes'>\n"
            } else {
                "      <vlan>\n"
            });
            for tag in tags {
                let _ = writeln!(x, "        <tag id='{}'/>", a(tag));
            }
            x.push_str("      </vlan>\n");
        }
        if ovs {
            x.push_str("      <virtualport type='openvswitch'/>\n");
        }
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

/// `pool/image:key=value:…` of an `rbd:` target → the image name and the
/// monitor hosts (`mon_host=h\\:p\\;h\\:p`).
fn parse_rbd(spec: &str) -> (String, Vec<(String, Option<String>)>) {
    let fields = split_unescaped(spec, ':');
    let name = fields.first().cloned().unwrap_or_default();
    let mut hosts = Vec::new();
    for f in fields.iter().skip(1) {
        if let Some(list) = f.strip_prefix("mon_host=") {
            for h in list.split("\\;") {
                match h.split_once("\\:") {
                    Some((n, p)) => hosts.push((n.to_owned(), Some(p.to_owned()))),
                    None => hosts.push((h.to_owned(), None)),
                }
            }
        }
    }
    (name, hosts)
}

/// Splits at `sep` not preceded by a backslash (escapes are kept).
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut prev = '\0';
    for ch in s.chars() {
        if ch == sep && prev != '\\' {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push(ch);
        }
        prev = ch;
    }
    out
}

/// One `channel=` spec: `connection=pty|socket,path=…,name=…`.
fn channel(spec: &str, x: &mut String) -> Result<(), XenError> {
    let mut conn = None;
    let mut path = None;
    let mut name = None;
    for item in spec.split(',') {
        match item.trim().split_once('=') {
            Some(("connection", v)) => conn = Some(v.to_owned()),
            Some(("path", v)) => path = Some(v.to_owned()),
            Some(("name", v)) => name = Some(v.to_owned()),
            _ => {}
        }
    }
    let target = match &name {
        Some(n) => format!("      <target type='xen' name='{}'/>\n", a(n)),
        None => "      <target type='xen'/>\n".to_owned(),
    };
    match (conn.as_deref(), &path) {
        (Some("pty"), _) => {
            let _ = write!(x, "    <channel type='pty'>\n{target}    </channel>\n");
        }
        (Some("socket"), Some(p)) => {
            let _ = write!(
                x,
                "    <channel type='unix'>\n      <source mode='bind' path='{}'/>\n{target}    </channel>\n",
                a(p)
            );
        }
        _ => {
            return Err(XenError::BadSpec {
                what: "channel",
                message: "connection must be pty, or socket with a path".into(),
            });
        }
    }
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

/// `usbctrl = [ "type=qusb,version=2,ports=6" ]`.
fn usbctrl(spec: &str, index: usize, x: &mut String) -> Result<(), XenError> {
    let (mut kind, mut version, mut ports) = (None, None, None);
    for item in spec.split(',') {
        match item.trim().split_once('=') {
            Some(("type", v)) => kind = Some(v),
            Some(("version", v)) => version = Some(v),
            Some(("ports", v)) => ports = Some(v),
            _ => {}
        }
    }
    let model = match (kind.unwrap_or("auto"), version.unwrap_or("2")) {
        ("qusb", v) => format!("qusb{v}"),
        ("pv", _) => "xen".to_owned(),
        (other, _) => other.to_owned(),
    };
    let mut tag = format!(
        "    <controller type='usb' index='{index}' model='{}'",
        a(&model)
    );
    if let Some(p) = ports {
        let _ = write!(tag, " ports='{}'", a(p));
    }
    let _ = writeln!(x, "{tag}/>");
    Ok(())
}

/// `usbdev = [ "hostbus=1,hostaddr=3" ]`.
fn usbdev(spec: &str, x: &mut String) -> Result<(), XenError> {
    let (mut bus, mut addr) = (None, None);
    for item in spec.split(',') {
        match item.trim().split_once('=') {
            Some(("hostbus", v)) => bus = Some(v),
            Some(("hostaddr", v)) => addr = Some(v),
            _ => {}
        }
    }
    let (Some(bus), Some(addr)) = (bus, addr) else {
        return Err(XenError::BadSpec {
            what: "usbdev",
            message: "needs hostbus= and hostaddr=".into(),
        });
    };
    let _ = write!(
        x,
        "    <hostdev mode='subsystem' type='usb' managed='no'>\n      <source>\n        <address bus='{}' device='{}'/>\n      </source>\n    </hostdev>\n",
        a(bus),
        a(addr)
    );
    Ok(())
}

/// `pci = [ "DDDD:BB:SS.F[,permissive=1]" ]`.
fn pci(spec: &str, x: &mut String) -> Result<(), XenError> {
    let bad = || XenError::BadSpec {
        what: "pci",
        message: format!("'{spec}' is not DDDD:BB:SS.F[,permissive=1]"),
    };
    let mut items = spec.split(',');
    let bdf = items.next().ok_or_else(bad)?;
    let permissive = items.any(|i| i.trim() == "permissive=1");
    let (dbs, function) = bdf.split_once('.').ok_or_else(bad)?;
    let parts: Vec<&str> = dbs.split(':').collect();
    let (domain, bus, slot) = match parts.as_slice() {
        [d, b, s] => (*d, *b, *s),
        [b, s] => ("0000", *b, *s),
        _ => return Err(bad()),
    };
    let hex = |v: &str| u32::from_str_radix(v, 16).map_err(|_| bad());
    let (domain, bus, slot, function) = (hex(domain)?, hex(bus)?, hex(slot)?, hex(function)?);
    let source = if permissive {
        "      <source writeFiltering='no'>\n"
    } else {
        "      <source>\n"
    };
    let _ = write!(
        x,
        "    <hostdev mode='subsystem' type='pci' managed='no'>\n{source}        <address domain='0x{domain:04x}' bus='0x{bus:02x}' slot='0x{slot:02x}' function='0x{function:x}'/>\n      </source>\n    </hostdev>\n"
    );
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
