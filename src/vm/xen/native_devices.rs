//! xl device specs → domain XML fragments: `disk`, `vif`, `channel`,
//! `usbctrl`, `usbdev` and `pci` entries, following libvirt's `xenParseXL*`.

use std::fmt::Write as _;

use super::XenError;
use crate::xml::escape_attr as a;

/// One `disk=` spec: `key=value` settings and up to four positional ones
/// (target, format, vdev, access); `target=` takes the rest of the spec.
/// Returns whether the disk is on IDE.
pub(super) fn disk(spec: &str, x: &mut String) -> Result<bool, XenError> {
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
pub(super) fn vif(spec: &str, x: &mut String) -> Result<(), XenError> {
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

/// `pool/image:key=value:…` of an `rbd:` target → the image name and the
/// monitor hosts (`mon_host=h\\:p\\;h\\:p`).
pub(super) fn parse_rbd(spec: &str) -> (String, Vec<(String, Option<String>)>) {
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
pub(super) fn split_unescaped(s: &str, sep: char) -> Vec<String> {
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
pub(super) fn channel(spec: &str, x: &mut String) -> Result<(), XenError> {
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

/// `usbctrl = [ "type=qusb,version=2,ports=6" ]`.
pub(super) fn usbctrl(spec: &str, index: usize, x: &mut String) -> Result<(), XenError> {
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
pub(super) fn usbdev(spec: &str, x: &mut String) -> Result<(), XenError> {
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
pub(super) fn pci(spec: &str, x: &mut String) -> Result<(), XenError> {
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
