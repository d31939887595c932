//! `meta.json`: what a template is and where it came from, and the atomic
//! small-file write every store file goes through.
//!
//! The file is one flat JSON object of strings and integers. domrun writes it
//! and reads it back; unknown keys are ignored so later versions can add some.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::error::{Result, TemplateError};

/// What a template was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A directory tree, copied.
    Directory,
    /// An uncompressed tarball.
    Tar,
    /// A gzip-compressed tarball.
    TarGz,
    /// A zstd-compressed tarball.
    TarZst,
    /// An xz-compressed tarball.
    TarXz,
    /// A recipe run by `build`.
    Recipe,
}

impl SourceKind {
    const TABLE: [(SourceKind, &'static str); 6] = [
        (Self::Directory, "directory"),
        (Self::Tar, "tar"),
        (Self::TarGz, "tar.gz"),
        (Self::TarZst, "tar.zst"),
        (Self::TarXz, "tar.xz"),
        (Self::Recipe, "recipe"),
    ];

    /// The name stored in `meta.json`.
    pub fn as_str(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("?", |(_, s)| s)
    }

    /// The kind a `meta.json` name stands for.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::TABLE.iter().find(|(_, n)| *n == s).map(|(k, _)| *k)
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A template's metadata (`<root>/templates/<name>/meta.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateInfo {
    /// The template's name.
    pub name: String,
    /// What it was made from: the absolute path of the directory, tarball or
    /// recipe, as given.
    pub source: String,
    /// How it was made.
    pub kind: SourceKind,
    /// Lowercase hex sha256 of the source: the tarball's bytes, the recipe's
    /// bytes, or, for a directory, a canonical listing of the tree (each
    /// entry's path, type, mode, owner, and its content or link target).
    pub sha256: String,
    /// Bytes of regular-file data in the tree (a hard-linked file counts once).
    pub size_bytes: u64,
    /// When it was made (whole seconds).
    pub created: SystemTime,
}

impl TemplateInfo {
    /// The JSON text of `meta.json`.
    pub fn to_json(&self) -> String {
        format!(
            "{{\n  \"name\": {},\n  \"source\": {},\n  \"kind\": {},\n  \"sha256\": {},\n  \"size\": {},\n  \"created\": {}\n}}\n",
            json_string(&self.name),
            json_string(&self.source),
            json_string(self.kind.as_str()),
            json_string(&self.sha256),
            self.size_bytes,
            json_string(&format_rfc3339(self.created)),
        )
    }

    /// Parses `meta.json` text; `path` only names the file in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let bad = |reason: String| TemplateError::ParseMeta {
            path: path.to_path_buf(),
            reason,
        };
        let fields = parse_flat_object(text).map_err(bad)?;
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .ok_or_else(|| bad(format!("missing \"{key}\"")))
        };
        let string = |key: &str| match get(key)? {
            Value::Str(s) => Ok(s.clone()),
            Value::Num(_) => Err(bad(format!("\"{key}\" must be a string"))),
        };
        let kind_name = string("kind")?;
        let kind = SourceKind::from_name(&kind_name)
            .ok_or_else(|| bad(format!("unknown kind {kind_name:?}")))?;
        let size_bytes = match get("size")? {
            Value::Num(n) => *n,
            Value::Str(_) => return Err(bad("\"size\" must be a number".into())),
        };
        let created_text = string("created")?;
        let created = parse_rfc3339(&created_text)
            .ok_or_else(|| bad(format!("bad \"created\" time {created_text:?}")))?;
        Ok(Self {
            name: string("name")?,
            source: string("source")?,
            kind,
            sha256: string("sha256")?,
            size_bytes,
            created,
        })
    }
}

/// Writes `contents` to `path` atomically: a temp file beside it, fsync,
/// rename over `path`, fsync of the directory. A reader sees the old file or
/// the new one, never a part.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let err = |source| TemplateError::WriteMeta {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[derive(Debug)]
enum Value {
    Str(String),
    Num(u64),
}

/// Parses `{ "k": "v" | 123, ... }`: the only JSON shape domrun writes.
fn parse_flat_object(text: &str) -> std::result::Result<Vec<(String, Value)>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    p.ws();
    p.expect(b'{')?;
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let key = p.string()?;
            p.ws();
            p.expect(b':')?;
            p.ws();
            let value = match p.peek() {
                Some(b'"') => Value::Str(p.string()?),
                Some(b'0'..=b'9') => Value::Num(p.number()?),
                _ => return Err(format!("expected a string or a number at byte {}", p.i)),
            };
            out.push((key, value));
            p.ws();
            match p.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(format!("expected ',' or '}}' at byte {}", p.i)),
            }
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("trailing data at byte {}", p.i));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        self.i += 1;
        b
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }
    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.next() == Some(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", c as char, self.i - 1))
        }
    }
    fn number(&mut self) -> std::result::Result<u64, String> {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("bad number at byte {start}"))
    }
    fn string(&mut self) -> std::result::Result<String, String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.next() {
                None => return Err("unterminated string".into()),
                Some(b'"') => break,
                Some(b'\\') => {
                    let c = match self.next() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'u') => {
                            let hex = self
                                .s
                                .get(self.i..self.i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or_else(|| format!("bad \\u escape at byte {}", self.i))?;
                            self.i += 4;
                            char::from_u32(hex).ok_or_else(|| {
                                format!("unsupported \\u escape at byte {}", self.i)
                            })?
                        }
                        _ => return Err(format!("bad escape at byte {}", self.i)),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                Some(b) => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| "string is not UTF-8".into())
    }
}

/// `2026-11-21T05:30:00Z` (UTC, whole seconds).
pub fn format_rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses what [`format_rfc3339`] writes.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let secs = days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

// Howard Hinnant's civil-calendar algorithms.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TemplateInfo {
        TemplateInfo {
            name: "busybox".into(),
            source: "/srv/odd \"name\"\\\n.tar.zst".into(),
            kind: SourceKind::TarZst,
            sha256: "ab".repeat(32),
            size_bytes: 1_234_567,
            created: UNIX_EPOCH + Duration::from_secs(1_795_152_600),
        }
    }

    #[test]
    fn meta_round_trips() {
        let m = sample();
        let json = m.to_json();
        assert_eq!(TemplateInfo::from_json(&json, Path::new("m")).unwrap(), m);
    }

    #[test]
    fn unknown_keys_are_ignored_and_missing_ones_named() {
        let json = sample().to_json().replacen('{', "{\"future\": 1,", 1);
        assert!(TemplateInfo::from_json(&json, Path::new("m")).is_ok());
        let json = sample().to_json().replace("\"sha256\"", "\"sha\"");
        let e = TemplateInfo::from_json(&json, Path::new("m")).unwrap_err();
        assert!(e.to_string().contains("missing \"sha256\""), "{e}");
    }

    #[test]
    fn malformed_meta_is_an_error() {
        for bad in [
            "",
            "{",
            "{\"name\": }",
            "{\"a\": \"b\"} x",
            "[]",
            "{\"a\": \"\\q\"}",
        ] {
            assert!(
                TemplateInfo::from_json(bad, Path::new("m")).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn times_round_trip() {
        for secs in [0u64, 951_782_400, 1_795_152_600, 4_102_444_800] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t), "{secs}");
        }
        assert_eq!(
            format_rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn source_kind_table_is_two_way() {
        for (k, n) in SourceKind::TABLE {
            assert_eq!(k.as_str(), n);
            assert_eq!(SourceKind::from_name(n), Some(k));
        }
    }
}
