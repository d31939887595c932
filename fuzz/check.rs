//! The property the `parse_domain` fuzz target checks, shared with the
//! `cargo test` replay of the seed corpus (`tests/fuzz_seeds.rs`).
//!
//! For any bytes: parsing never panics; if the document parses, defaults
//! apply, validation runs and its messages print, and the formatted text
//! parses again and formats to exactly the same text, with the same validity.

use domrun::domain::Domain;

pub fn check(data: &[u8]) {
    let mut d = match Domain::parse(data) {
        Ok(d) => d,
        Err(e) => {
            // Error messages must print (no panic in Display).
            let _ = e.to_string();
            return;
        }
    };
    d.apply_defaults()
        .expect("defaults apply to a parsed domain");
    let valid = match d.validate() {
        Ok(()) => true,
        Err(e) => {
            assert!(!e.errors.is_empty(), "an empty ValidateErrors");
            let _ = e.to_string();
            false
        }
    };
    let once = d.format();
    let mut again = Domain::parse(once.as_bytes())
        .unwrap_or_else(|e| panic!("formatted output does not parse: {e}\n{once}"));
    again
        .apply_defaults()
        .expect("defaults apply to a reparsed domain");
    let twice = again.format();
    assert_eq!(once, twice, "format is not a fixed point");
    assert_eq!(
        valid,
        again.validate().is_ok(),
        "validity changed across a round trip:\n{once}"
    );
    // The inactive form is a document too.
    let inactive = d.format_inactive();
    Domain::parse(inactive.as_bytes())
        .unwrap_or_else(|e| panic!("inactive output does not parse: {e}\n{inactive}"));
}
