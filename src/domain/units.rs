//! libvirt's scaled integers: `<memory unit='GiB'>2</memory>`, `usage` + `units`.
//!
//! Every memory size is held in KiB, as libvirt holds it, rounded up from
//! bytes; the formatter always writes `unit='KiB'`.

use super::cursor::Cursor;
use super::error::{ParseError, ParseErrorKind};

/// The units libvirt accepts, with their size in bytes. Single letters and
/// `KiB`-style names are powers of 1024, `KB`-style names powers of 1000.
pub const UNITS: &[(&str, u64)] = &[
    ("b", 1),
    ("bytes", 1),
    ("k", 1 << 10),
    ("KiB", 1 << 10),
    ("KB", 1_000),
    ("M", 1 << 20),
    ("MiB", 1 << 20),
    ("MB", 1_000_000),
    ("G", 1 << 30),
    ("GiB", 1 << 30),
    ("GB", 1_000_000_000),
    ("T", 1 << 40),
    ("TiB", 1 << 40),
    ("TB", 1_000_000_000_000),
    ("P", 1 << 50),
    ("PiB", 1 << 50),
    ("PB", 1_000_000_000_000_000),
    ("E", 1 << 60),
    ("EiB", 1 << 60),
    ("EB", 1_000_000_000_000_000_000),
];

fn unit_bytes(unit: &str) -> Option<u64> {
    // libvirt matches unit names case-insensitively for the single letters.
    UNITS
        .iter()
        .find(|(n, _)| *n == unit || (n.len() == 1 && n.eq_ignore_ascii_case(unit)))
        .map(|(_, b)| *b)
}

fn unit_names() -> String {
    UNITS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// `value` × `unit` in bytes, or why not.
pub fn scale(value: &str, unit: Option<&str>, default_unit: &str) -> Result<u64, String> {
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| "a non-negative integer".to_string())?;
    let unit = unit.unwrap_or(default_unit);
    let mult = unit_bytes(unit).ok_or_else(|| format!("a unit among {}", unit_names()))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("a size below 2^64 bytes ({n} {unit} overflows)"))
}

/// Bytes to KiB, rounding up as libvirt's VIR_DIV_UP does.
pub fn kib_from_bytes(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// Reads a scaled element (`<memory unit='MiB'>512</memory>`) as KiB.
pub fn element_kib(c: &mut Cursor<'_>, unit_attr: &str) -> Result<u64, ParseError> {
    let unit = c.attr(unit_attr);
    let text = c.text();
    match scale(&text, unit, "KiB") {
        Ok(bytes) => Ok(kib_from_bytes(bytes)),
        Err(expected) => {
            let (what, value) = if unit.is_some_and(|u| unit_bytes(u).is_none()) {
                (format!("attribute '{unit_attr}'"), unit.unwrap_or_default())
            } else {
                (format!("<{}>", c.element().name), text.as_str())
            };
            Err(c.error(ParseErrorKind::InvalidValue {
                what,
                value: value.to_owned(),
                expected,
            }))
        }
    }
}

/// Reads an optional scaled child element as KiB.
pub fn child_kib(c: &mut Cursor<'_>, name: &str) -> Result<Option<u64>, ParseError> {
    match c.child(name) {
        Some(mut child) => element_kib(&mut child, "unit").map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_every_unit() {
        assert_eq!(scale("1", Some("GiB"), "KiB"), Ok(1 << 30));
        assert_eq!(scale("2", Some("MB"), "KiB"), Ok(2_000_000));
        assert_eq!(scale("3", None, "KiB"), Ok(3072));
        assert_eq!(scale("1", Some("g"), "KiB"), Ok(1 << 30));
        assert_eq!(kib_from_bytes(1025), 2);
        assert!(
            scale("16", Some("EiB"), "KiB")
                .unwrap_err()
                .contains("overflows")
        );
        assert!(
            scale("1", Some("parsecs"), "KiB")
                .unwrap_err()
                .contains("KiB")
        );
        assert!(scale("-1", None, "KiB").is_err());
    }
}
