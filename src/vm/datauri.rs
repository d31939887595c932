//! RFC 2397 `data:` URIs for `<kernel>`, `<initrd>` and `<dtb>`.
//!
//! `data:[<mediatype>][;base64],<data>`. The header is checked by hand
//! before anything is decoded: printable ASCII, `type/subtype` and
//! `attribute=value` parameters made of URI characters, `;base64` only as the
//! last parameter, and no `#` anywhere (a fragment has no meaning for an
//! image and would silently cut it). The decoded size is bounded from the
//! encoded length *before* decoding, so a huge URI costs no allocation.
//!
//! Errors never quote the URI: the data may be secret (a kernel with
//! embedded keys) and is always large. They say which element and what is
//! wrong, and at which byte offset.

use std::fmt;

/// The default cap on a decoded image (256 MiB).
pub const DEFAULT_MAX_DECODED: u64 = 256 << 20;

/// Longest header (`data:` up to the comma) accepted.
const MAX_HEADER: usize = 1024;

/// True when `s` is a `data:` URI (scheme matched case-insensitively).
pub fn is_data_uri(s: &str) -> bool {
    s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("data:"))
}

/// A decoded `data:` URI. `Debug` prints the media type and the size only.
#[derive(Clone, PartialEq, Eq)]
pub struct DataUri {
    /// `type/subtype` with its parameters, as written (may be empty).
    pub media_type: String,
    pub base64: bool,
    pub data: Vec<u8>,
}

impl fmt::Debug for DataUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataUri")
            .field("media_type", &self.media_type)
            .field("base64", &self.base64)
            .field("len", &self.data.len())
            .finish()
    }
}

/// Why a `data:` URI was refused (never containing its data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataUriError {
    #[error("not a data: URI")]
    NotData,
    #[error("no ',' ends the header within {MAX_HEADER} bytes")]
    NoComma,
    #[error("the header has a non-printable or non-ASCII byte at offset {0}")]
    HeaderByte(usize),
    #[error("'#' at offset {0}: a fragment is not allowed in a data: URI")]
    Fragment(usize),
    #[error("the media type must be type/subtype made of token characters")]
    MediaType,
    #[error("parameter {0} of the header is not attribute=value")]
    Parameter(usize),
    #[error("';base64' must be the last parameter of the header")]
    Base64NotLast,
    #[error("the data decodes to up to {estimate} bytes, over the {max}-byte cap")]
    TooLarge { estimate: u64, max: u64 },
    #[error("bad percent-escape at offset {0}")]
    Percent(usize),
    #[error("invalid base64 at offset {0}")]
    Base64(usize),
    #[error("a data: URI cannot hold whitespace or control characters (offset {0})")]
    DataByte(usize),
}

fn is_token(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$&-^_.+~*'".contains(&c)
}

/// Characters allowed (unescaped) in a parameter value: URI unreserved and
/// sub-delimiters other than `;` and `,`, plus `%` escapes.
fn is_value_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~!$&'()*+=:@%/".contains(&c)
}

/// Parses and decodes `uri`, refusing a result over `max_decoded` bytes
/// before decoding anything.
pub fn decode(uri: &str, max_decoded: u64) -> Result<DataUri, DataUriError> {
    if !is_data_uri(uri) {
        return Err(DataUriError::NotData);
    }
    let bytes = uri.as_bytes();
    if let Some(i) = bytes.iter().position(|&b| b == b'#') {
        return Err(DataUriError::Fragment(i));
    }
    let comma = bytes
        .iter()
        .take(MAX_HEADER)
        .position(|&b| b == b',')
        .ok_or(DataUriError::NoComma)?;
    for (i, &b) in bytes[..comma].iter().enumerate() {
        if !(0x21..0x7f).contains(&b) {
            return Err(DataUriError::HeaderByte(i));
        }
    }
    let header = &uri[5..comma];
    let mut params: Vec<&str> = header.split(';').collect();
    let media = params.remove(0);
    let mut base64 = false;
    let n = params.len();
    for (i, p) in params.iter().enumerate() {
        if p.eq_ignore_ascii_case("base64") {
            if i + 1 != n {
                return Err(DataUriError::Base64NotLast);
            }
            base64 = true;
            continue;
        }
        let ok = p.split_once('=').is_some_and(|(a, v)| {
            !a.is_empty() && a.bytes().all(is_token) && v.bytes().all(is_value_char)
        });
        if !ok {
            return Err(DataUriError::Parameter(i + 1));
        }
    }
    if !media.is_empty() {
        let ok = media.split_once('/').is_some_and(|(t, s)| {
            !t.is_empty() && !s.is_empty() && t.bytes().all(is_token) && s.bytes().all(is_token)
        });
        if !ok {
            return Err(DataUriError::MediaType);
        }
    }
    let data = &bytes[comma + 1..];
    let offset = comma + 1;
    // Bound the decoded size from the encoded length first.
    let len = data.len() as u64;
    let estimate = if base64 { len.div_ceil(4) * 3 } else { len };
    if estimate > max_decoded {
        return Err(DataUriError::TooLarge {
            estimate,
            max: max_decoded,
        });
    }
    let unescaped = percent_decode(data, offset)?;
    let out = if base64 {
        base64_decode(&unescaped, offset)?
    } else {
        unescaped
    };
    Ok(DataUri {
        media_type: header
            .strip_suffix(";base64")
            .or_else(|| header.strip_suffix(";BASE64"))
            .unwrap_or(header)
            .to_owned(),
        base64,
        data: out,
    })
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes; refuses whitespace and control bytes (a URI has
/// none). Offsets in errors are from the start of the URI.
fn percent_decode(data: &[u8], offset: usize) -> Result<Vec<u8>, DataUriError> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b == b'%' {
            let v = data
                .get(i + 1..i + 3)
                .and_then(|h| Some(hex(h[0])? << 4 | hex(h[1])?))
                .ok_or(DataUriError::Percent(offset + i))?;
            out.push(v);
            i += 3;
            continue;
        }
        if b <= b' ' || b == 0x7f {
            return Err(DataUriError::DataByte(offset + i));
        }
        out.push(b);
        i += 1;
    }
    Ok(out)
}

fn b64_value(b: u8) -> Option<u32> {
    Some(u32::from(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// Strict base64 (RFC 4648 §4): `=` padding only at the end, optional when
/// the length says how many bytes the last group holds.
fn base64_decode(data: &[u8], offset: usize) -> Result<Vec<u8>, DataUriError> {
    let body_len = data.iter().rposition(|&b| b != b'=').map_or(0, |p| p + 1);
    let padding = data.len() - body_len;
    if padding > 2 || (padding > 0 && data.len() % 4 != 0) || body_len % 4 == 1 {
        return Err(DataUriError::Base64(offset + body_len));
    }
    let body = &data[..body_len];
    let mut out = Vec::with_capacity(body_len / 4 * 3 + 2);
    for (g, chunk) in body.chunks(4).enumerate() {
        let mut acc = 0u32;
        for (k, &b) in chunk.iter().enumerate() {
            let v = b64_value(b).ok_or(DataUriError::Base64(offset + g * 4 + k))?;
            acc |= v << (18 - 6 * k);
        }
        let [_, a, b, c] = acc.to_be_bytes();
        match chunk.len() {
            4 => out.extend_from_slice(&[a, b, c]),
            3 => out.extend_from_slice(&[a, b]),
            _ => out.push(a),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = DEFAULT_MAX_DECODED;

    #[test]
    fn base64_and_percent() {
        let d = decode("data:application/octet-stream;base64,aGVsbG8=", MAX).unwrap();
        assert_eq!(d.data, b"hello");
        assert!(d.base64);
        assert_eq!(d.media_type, "application/octet-stream");
        assert_eq!(decode("data:,a%20b%00", MAX).unwrap().data, b"a b\0");
        assert_eq!(decode("DATA:;base64,aGk", MAX).unwrap().data, b"hi");
        assert_eq!(decode("data:;base64,", MAX).unwrap().data, b"");
        assert_eq!(
            decode("data:text/plain;charset=US-ASCII,x", MAX)
                .unwrap()
                .data,
            b"x"
        );
        assert_eq!(
            decode("data:;base64,aGVs%2Bw==", MAX).unwrap().data.len(),
            4
        );
    }

    #[test]
    fn header_rules() {
        use DataUriError as E;
        assert_eq!(decode("/boot/vmlinuz", MAX), Err(E::NotData));
        assert_eq!(decode("data:;base64;a=b,aGk", MAX), Err(E::Base64NotLast));
        assert_eq!(decode("data:;base64,aGk#frag", MAX), Err(E::Fragment(16)));
        assert_eq!(decode("data:text,x", MAX), Err(E::MediaType));
        assert_eq!(decode("data:a/b;x,y", MAX), Err(E::Parameter(1)));
        assert_eq!(decode("data:a b/c,y", MAX), Err(E::HeaderByte(6)));
        assert_eq!(decode("data:abc", MAX), Err(E::NoComma));
        assert_eq!(decode("data:,a b", MAX), Err(E::DataByte(7)));
        assert_eq!(decode("data:,%4", MAX), Err(E::Percent(6)));
        assert_eq!(decode("data:;base64,a===", MAX), Err(E::Base64(14)));
        assert_eq!(decode("data:;base64,a*==", MAX), Err(E::Base64(14)));
    }

    #[test]
    fn size_is_checked_before_decoding() {
        let e = decode("data:;base64,AAAAAAAA", 5).unwrap_err();
        assert_eq!(
            e,
            DataUriError::TooLarge {
                estimate: 6,
                max: 5
            }
        );
        assert_eq!(
            decode("data:,abcdef", 5).unwrap_err(),
            DataUriError::TooLarge {
                estimate: 6,
                max: 5
            }
        );
        // Invalid data past the cap is never looked at.
        assert!(matches!(
            decode("data:;base64,!!!!!!!!", 5),
            Err(DataUriError::TooLarge { .. })
        ));
    }

    #[test]
    fn errors_and_debug_never_show_data() {
        let secret = "c2VjcmV0LWtleQ";
        let uri = format!("data:;base64,{secret}#x");
        let e = decode(&uri, MAX).unwrap_err().to_string();
        assert!(!e.contains(secret), "{e}");
        let d = decode("data:;base64,c2VjcmV0LWtleQ", MAX).unwrap();
        assert!(!format!("{d:?}").contains("secret"));
    }
}
