//! Property tests for the VM backends' parsers: the `data:` URI decoder and
//! the xl.cfg reader/writer never panic, and what they write they read back.
#![allow(clippy::unwrap_used)]

use domrun::vm::datauri::{DataUriError, decode};
use domrun::vm::xen::Config;
use proptest::prelude::*;

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            s.push(if k <= c.len() {
                T[(n >> (18 - 6 * k) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    s
}

fn percent(data: &[u8]) -> String {
    data.iter()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (*b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

proptest! {
    #[test]
    fn data_uri_round_trips(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let b = decode(&format!("data:application/octet-stream;base64,{}", base64(&data)), 1 << 20).unwrap();
        prop_assert_eq!(&b.data, &data);
        let p = decode(&format!("data:,{}", percent(&data)), 1 << 20).unwrap();
        prop_assert_eq!(&p.data, &data);
    }

    #[test]
    fn data_uri_never_panics_and_never_echoes(s in "data:[ -~]{0,64}") {
        if let Err(e) = decode(&s, 1 << 20) {
            let msg = e.to_string();
            // Only the rule and an offset: the input is never quoted.
            prop_assert!(s.len() <= 20 || !msg.contains(&s[5..]), "{}", msg);
        }
    }

    #[test]
    fn data_uri_cap_is_exact(n in 0usize..64, cap in 0u64..64) {
        let data = vec![7u8; n];
        let r = decode(&format!("data:,{}", percent(&data)), cap);
        if (percent(&data).len() as u64) > cap {
            let is_too_large = matches!(r, Err(DataUriError::TooLarge { .. }));
            prop_assert!(is_too_large);
        } else {
            prop_assert_eq!(r.unwrap().data, data);
        }
    }

    #[test]
    fn xl_strings_round_trip(s in "[^\\p{Cc}]{0,40}") {
        let mut c = Config::default();
        c.set_str("cmdline", s.clone());
        c.set_list("disk", vec![s.clone(), "x".into()]);
        let text = c.format().unwrap();
        let back = Config::parse(&text).unwrap();
        prop_assert_eq!(back.str("cmdline"), Some(s.as_str()));
        prop_assert_eq!(back, c);
    }

    #[test]
    fn xl_parser_never_panics(s in "\\PC{0,200}") {
        let _ = Config::parse(&s);
    }

    #[test]
    fn xl_control_characters_are_always_refused(a in "[a-z]{0,5}", c in "\\p{Cc}", b in "[a-z]{0,5}") {
        let mut cfg = Config::default();
        cfg.set_str("name", format!("{a}{c}{b}"));
        prop_assert!(cfg.format().is_err());
    }
}
