//! The text side of the importers: config lines, quoted words, sizes; and
//! the few model values every importer builds.

use super::{ImportError, Note};
use domrun::domain::{Extras, Filesystem, FsSource, FsType, Interface, NetIp, NetType, units};
use domrun::xml::Pos;
use std::net::IpAddr;

/// One `KEY = VALUE` of a config, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub key: String,
    pub value: String,
}

/// The error for an entry whose value is not what the key takes.
pub fn bad(e: &Entry, expected: impl Into<String>) -> ImportError {
    ImportError::BadValue {
        line: e.line,
        key: e.key.clone(),
        value: e.value.clone(),
        expected: expected.into(),
    }
}

/// Records that `e` (or part of it) was not imported, and why.
pub fn note(notes: &mut Vec<Note>, e: &Entry, message: impl Into<String>) {
    notes.push(Note {
        line: e.line,
        key: e.key.clone(),
        message: message.into(),
    });
}

/// The two line forms: LXC's `key = value` (value to the end of the line)
/// and vzctl's shell assignments `KEY="value"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineForm {
    Lxc,
    Shell,
}

impl LineForm {
    fn describe(self) -> &'static str {
        match self {
            LineForm::Lxc => "key = value",
            LineForm::Shell => "KEY=\"value\"",
        }
    }
}

/// Splits a config into entries: blank lines and `#` comments skipped, the
/// value trimmed and one pair of surrounding quotes removed (as LXC and
/// vzctl both do). A shell value stops at its closing quote, or at the first
/// blank when unquoted (so a trailing `# comment` is not part of it).
pub fn entries(text: &str, form: LineForm) -> Result<Vec<Entry>, ImportError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let syntax = || ImportError::Syntax {
            line,
            text: t.to_owned(),
            form: form.describe(),
        };
        let (key, value) = t.split_once('=').ok_or_else(syntax)?;
        let key = key.trim();
        let key_ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !key_ok {
            return Err(syntax());
        }
        let value = match form {
            LineForm::Lxc => unquote(value.trim()).to_owned(),
            LineForm::Shell => shell_value(value.trim_start()).ok_or_else(syntax)?,
        };
        out.push(Entry {
            line,
            key: key.to_owned(),
            value,
        });
    }
    Ok(out)
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

fn shell_value(v: &str) -> Option<String> {
    for q in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(q) {
            let end = rest.find(q)?;
            let after = rest[end + 1..].trim_start();
            return (after.is_empty() || after.starts_with('#')).then(|| rest[..end].to_owned());
        }
    }
    Some(v.split_whitespace().next().unwrap_or("").to_owned())
}

/// Words of a command line, with `'…'` and `"…"` quoting (LXC's
/// `lxc.init.cmd` split). `None` when a quote is not closed.
pub fn words(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        out.push(cur);
    }
    Some(out)
}

/// `8m`, `512M`, `2G`, `1024` → bytes; a bare number is `default_unit`.
/// Units as domain XML spells them (`k`, `M`, `GiB`, `GB`, …).
pub fn size_bytes(s: &str, default_unit: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if unit == "%" {
        return Err("an absolute size (a relative one depends on the host)".into());
    }
    let unit = (!unit.is_empty()).then_some(unit);
    units::scale(digits, unit, default_unit)
}

/// An `<ip address= prefix=>` from `ADDRESS/PREFIX` (family filled in by the
/// defaults pass).
pub fn net_ip(address: IpAddr, prefix: Option<u8>) -> NetIp {
    NetIp {
        address,
        family: None,
        prefix,
        peer: None,
        extras: Extras::default(),
    }
}

/// `ADDRESS/PREFIX`, the prefix required when `need_prefix`.
pub fn cidr(s: &str, need_prefix: bool) -> Option<(IpAddr, Option<u8>)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None if need_prefix => return None,
        None => (s, None),
    };
    let address: IpAddr = addr.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    if prefix.is_some_and(|p| p > max) {
        return None;
    }
    Some((address, prefix))
}

/// A `<filesystem>` of `kind` from `source` at `target`, with the
/// passthrough access mode libvirt's importers set.
pub fn filesystem(kind: FsType, source: FsSource, target: &str, readonly: bool) -> Filesystem {
    Filesystem {
        kind,
        accessmode: None,
        driver: None,
        source,
        source_extras: Extras::default(),
        target: Some(target.to_owned()),
        target_attrs: Vec::new(),
        readonly,
        space_hard_limit: None,
        space_soft_limit: None,
        extras: Extras::default(),
        pos: Pos::default(),
    }
}

/// An empty `<interface type=…>`.
pub fn interface(kind: NetType) -> Interface {
    Interface {
        kind,
        mac: None,
        source: None,
        bandwidth: None,
        ips: Vec::new(),
        routes: Vec::new(),
        script: None,
        target_dev: None,
        guest_dev: None,
        model: None,
        link_state: None,
        mtu: None,
        child_attrs: Vec::new(),
        extras: Extras::default(),
        pos: Pos::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_lines_keep_the_rest_of_the_line_and_drop_quotes() {
        let e = entries(
            "# c\n\nlxc.uts.name = \"bb\"\nlxc.cgroup.blkio.device_weight = 8:16\t1000 \nlxc.autodev=1\n",
            LineForm::Lxc,
        )
        .unwrap();
        let kv: Vec<_> = e.iter().map(|e| (e.line, &*e.key, &*e.value)).collect();
        assert_eq!(
            kv,
            [
                (3, "lxc.uts.name", "bb"),
                (4, "lxc.cgroup.blkio.device_weight", "8:16\t1000"),
                (5, "lxc.autodev", "1")
            ]
        );
        assert!(matches!(
            entries("lxc.rootfs /x\n", LineForm::Lxc),
            Err(ImportError::Syntax { line: 1, .. })
        ));
    }

    #[test]
    fn shell_lines_stop_at_the_closing_quote() {
        let e = entries(
            "ONBOOT=\"yes\"  # boot\nCPUS=2\nNAME='web'\n",
            LineForm::Shell,
        )
        .unwrap();
        let kv: Vec<_> = e.iter().map(|e| (&*e.key, &*e.value)).collect();
        assert_eq!(kv, [("ONBOOT", "yes"), ("CPUS", "2"), ("NAME", "web")]);
        assert!(entries("A=\"open\n", LineForm::Shell).is_err());
    }

    #[test]
    fn words_honour_quotes() {
        assert_eq!(
            words("/bin/sh -c 'echo a b' \"x\"").unwrap(),
            ["/bin/sh", "-c", "echo a b", "x"]
        );
        assert!(words("sh -c 'open").is_none());
    }

    #[test]
    fn sizes_take_domain_units() {
        assert_eq!(size_bytes("8m", "b").unwrap(), 8 << 20);
        assert_eq!(size_bytes("1024", "b").unwrap(), 1024);
        assert_eq!(size_bytes("2G", "KiB").unwrap(), 2 << 30);
        assert!(size_bytes("50%", "b").is_err());
    }
}
