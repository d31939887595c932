//! Network vocabulary of the model: MAC addresses, IP addresses with their
//! prefix lengths, IPv4 netmasks and address families, each parsed once (by
//! the parse pass, so a bad value is a positioned [`ParseError`](super::ParseError))
//! and printed as libvirt prints it.

use super::cursor::{FromXml, string_enum};
use std::net::{IpAddr, Ipv4Addr};

/// An Ethernet MAC address (`52:54:00:12:34:56`), printed in lower case as
/// libvirt prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

/// The hint every refused MAC address gets.
const MAC_EXPECTED: &str = "a MAC address like 52:54:00:12:34:56";

impl MacAddr {
    /// Parses six colon-separated pairs of hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for b in &mut out {
            let p = parts.next()?;
            if p.len() != 2 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            *b = u8::from_str_radix(p, 16).ok()?;
        }
        parts.next().is_none().then_some(MacAddr(out))
    }

    pub fn octets(self) -> [u8; 6] {
        self.0
    }
}

impl FromXml for MacAddr {
    fn from_xml(s: &str) -> Result<Self, String> {
        MacAddr::parse(s).ok_or_else(|| MAC_EXPECTED.to_owned())
    }
}

impl std::fmt::Display for MacAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl FromXml for IpAddr {
    fn from_xml(s: &str) -> Result<Self, String> {
        s.parse()
            .map_err(|_| "an IPv4 or IPv6 address (like 192.168.122.2 or fd00::2)".to_owned())
    }
}

string_enum! {
    /// `family=` of `<ip>` and `<route>`.
    pub enum IpFamily { Ipv4 = "ipv4", Ipv6 = "ipv6" }
}

impl IpFamily {
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => IpFamily::Ipv4,
            IpAddr::V6(_) => IpFamily::Ipv6,
        }
    }

    /// The longest prefix an address of this family has.
    pub fn max_prefix(self) -> u8 {
        match self {
            IpFamily::Ipv4 => 32,
            IpFamily::Ipv6 => 128,
        }
    }
}

/// Parses a prefix length for an address of `family`: the error says the
/// range that family allows.
pub fn parse_prefix(family: IpFamily, s: &str) -> Result<u8, String> {
    let max = family.max_prefix();
    s.trim()
        .parse::<u8>()
        .ok()
        .filter(|p| *p <= max)
        .ok_or_else(|| format!("a prefix length from 0 to {max} ({family})"))
}

/// libvirt's prefix when none is given: classful for IPv4, 64 for IPv6
/// (`virSocketAddrGetIPPrefix`).
pub fn default_prefix(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(v4) => match v4.octets()[0] {
            0..=127 => 8,
            128..=191 => 16,
            _ => 24,
        },
        IpAddr::V6(_) => 64,
    }
}

/// A contiguous IPv4 netmask (`255.255.255.0`), kept as its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Netmask(u8);

impl Netmask {
    pub fn prefix_len(self) -> u8 {
        self.0
    }
}

impl FromXml for Netmask {
    fn from_xml(s: &str) -> Result<Self, String> {
        let expected = || "a contiguous IPv4 netmask like 255.255.255.0".to_owned();
        let bits = u32::from(s.trim().parse::<Ipv4Addr>().map_err(|_| expected())?);
        let len = bits.leading_ones();
        if bits.checked_shl(len).unwrap_or(0) != 0 {
            return Err(expected());
        }
        // At most 32 ones: fits in u8.
        Ok(Netmask(u8::try_from(len).map_err(|_| expected())?))
    }
}

impl std::fmt::Display for Netmask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bits = u32::MAX.checked_shl(32 - u32::from(self.0)).unwrap_or(0);
        Ipv4Addr::from(bits).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_and_print_in_lower_case() {
        for (text, printed) in [
            ("52:54:00:12:34:56", "52:54:00:12:34:56"),
            ("00:16:3E:0F:EF:8A", "00:16:3e:0f:ef:8a"),
        ] {
            assert_eq!(MacAddr::from_xml(text).unwrap().to_string(), printed);
        }
        assert_eq!(
            MacAddr::parse("52:54:00:aa:bb:cc").unwrap().octets(),
            [0x52, 0x54, 0, 0xaa, 0xbb, 0xcc]
        );
        for bad in [
            "52:54:00:12:34",
            "52:54:00:zz:34:56",
            "52:54:00:12:34:56:78",
            "52-54-00-12-34-56",
            "5:54:00:12:34:56",
            "+5:54:00:12:34:56",
            "",
        ] {
            assert_eq!(
                MacAddr::from_xml(bad),
                Err(MAC_EXPECTED.to_owned()),
                "{bad}"
            );
        }
    }

    #[test]
    fn prefixes_are_bounded_by_the_family() {
        for (family, text, want) in [
            (IpFamily::Ipv4, "0", Some(0)),
            (IpFamily::Ipv4, "32", Some(32)),
            (IpFamily::Ipv4, "33", None),
            (IpFamily::Ipv6, "128", Some(128)),
            (IpFamily::Ipv6, "129", None),
            (IpFamily::Ipv6, "-1", None),
            (IpFamily::Ipv4, "x", None),
        ] {
            assert_eq!(parse_prefix(family, text).ok(), want, "{family} {text}");
        }
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(default_prefix(a("10.1.2.3")), 8);
        assert_eq!(default_prefix(a("172.16.0.1")), 16);
        assert_eq!(default_prefix(a("192.168.1.1")), 24);
        assert_eq!(default_prefix(a("fd00::1")), 64);
        assert_eq!(IpFamily::of(a("fd00::1")), IpFamily::Ipv6);
    }

    #[test]
    fn netmasks_must_be_contiguous_and_print_back() {
        for (text, len) in [
            ("255.255.255.0", Some(24)),
            ("0.0.0.0", Some(0)),
            ("255.255.255.255", Some(32)),
            ("255.0.255.0", None),
            ("255.255.255.1", None),
            ("fd00::", None),
        ] {
            let m = Netmask::from_xml(text).ok();
            assert_eq!(m.map(Netmask::prefix_len), len, "{text}");
            if let Some(m) = m {
                assert_eq!(m.to_string(), text);
            }
        }
    }

    #[test]
    fn addresses_name_both_families_when_refused() {
        let e = IpAddr::from_xml("192.168.122.300").unwrap_err();
        assert!(e.contains("IPv4 or IPv6"), "{e}");
        assert_eq!(
            IpAddr::from_xml("2003:db8:1:0:214:1234:fe0b:3596")
                .unwrap()
                .to_string(),
            "2003:db8:1:0:214:1234:fe0b:3596"
        );
    }
}
