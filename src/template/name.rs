//! Template and domain names: names, never paths.

use super::error::{Result, TemplateError};

/// Longest template name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Checks that `name` is a template name: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`
/// and no `..` anywhere. So it is always one path component of its own, never
/// hidden (the store keeps its own `.`-names beside templates) and never a
/// way out of the store.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(TemplateError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    let Some(first) = name.bytes().next() else {
        return bad("it is empty");
    };
    if name.len() > MAX_NAME_LEN {
        return bad("it is longer than 64 bytes");
    }
    if !first.is_ascii_alphanumeric() {
        return bad("it must start with a letter or a digit");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
    if name.contains("..") {
        return bad("it must not contain \"..\"");
    }
    Ok(())
}

/// Checks that a domain name can name its layer directory: libvirt allows
/// almost anything in a domain name, so only what would make it a path, or
/// collide with the store's own `.`-entries, is refused.
pub fn validate_domain_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(TemplateError::InvalidDomainName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 255 {
        return bad("it is longer than 255 bytes");
    }
    if name.starts_with('.') {
        return bad("it must not start with '.'");
    }
    if name.contains('/') || name.contains('\0') {
        return bad("it must not contain '/' or NUL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names() {
        for n in [
            "busybox",
            "debian-12",
            "fedora9web",
            "a",
            "c7.x86_64",
            "x_y",
            "9",
        ] {
            assert!(validate_name(n).is_ok(), "{n}");
        }
        assert!(validate_name(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn paths_and_odd_names_are_refused() {
        for n in [
            "", "../x", "/etc", "..", ".", ".hidden", "a/b", "a..b", "x..", "-x", "_x", "a b", "é",
            "a\0b", "a\nb",
        ] {
            assert!(validate_name(n).is_err(), "{n:?}");
        }
        assert!(validate_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn error_names_the_name() {
        let e = validate_name("../x").unwrap_err().to_string();
        assert!(e.contains("\"../x\""), "{e}");
    }

    #[test]
    fn domain_names() {
        for n in ["web", "web server", "Web-1.ü"] {
            assert!(validate_domain_name(n).is_ok(), "{n}");
        }
        for n in ["", ".", "..", ".tmp-x", "a/b", "../x", "/etc"] {
            assert!(validate_domain_name(n).is_err(), "{n:?}");
        }
    }
}
