//! Domain UUIDs: parsed as libvirt parses them, printed canonically.

use super::cursor::FromXml;

/// A 128-bit UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// A random (version 4) UUID.
    pub fn random() -> Result<Uuid, getrandom::Error> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b)?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Ok(Uuid(b))
    }

    /// Parses 32 hex digits; like libvirt, dashes and spaces between digit
    /// pairs are allowed anywhere (`e21987a5-e98e-…`, or no dashes at all).
    pub fn parse(s: &str) -> Option<Uuid> {
        let mut out = [0u8; 16];
        let mut n = 0;
        let mut hi: Option<u8> = None;
        for c in s.trim().chars() {
            if c == '-' || c == ' ' {
                if hi.is_some() {
                    return None;
                }
                continue;
            }
            let d = c.to_digit(16)? as u8;
            match hi.take() {
                None => hi = Some(d),
                Some(h) => {
                    *out.get_mut(n)? = (h << 4) | d;
                    n += 1;
                }
            }
        }
        (n == 16 && hi.is_none()).then_some(Uuid(out))
    }
}

impl std::fmt::Display for Uuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromXml for Uuid {
    fn from_xml(s: &str) -> Result<Self, String> {
        Uuid::parse(s).ok_or_else(|| {
            "32 hexadecimal digits, e.g. 8369f1ac-7e46-e869-4ca5-759d51478066".into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libvirt_forms_and_prints_canonically() {
        let u = Uuid::parse("8369F1AC7E46E8694CA5759D51478066").unwrap();
        assert_eq!(u.to_string(), "8369f1ac-7e46-e869-4ca5-759d51478066");
        assert_eq!(Uuid::parse(&u.to_string()), Some(u));
        assert_eq!(Uuid::parse("8369f1ac-7e46"), None);
        assert_eq!(Uuid::parse("8369f1ac7e46e8694ca5759d514780661"), None);
        let r = Uuid::random().unwrap();
        assert_eq!(r.0[6] >> 4, 4);
    }
}
