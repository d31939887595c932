//! A reader between the decompressor and the tar parser that keeps tar's
//! extension entries bounded.
//!
//! The `tar` crate reads a GNU long name (`L`), long link (`K`) or pax
//! header (`x`) entry whole into memory, whatever size its header claims: a
//! 10 MB `.tar.zst` can decompress into one "long name" of many gigabytes.
//! This reader follows the archive's block structure as it streams through
//! (headers, data rounded to 512-byte blocks, pax `size` overrides, old GNU
//! sparse extension blocks) and refuses an extension entry larger than
//! [`EXTENSION_LIMIT`] before a byte of it is handed on. Bytes pass
//! through unchanged. A block that is not a valid header where one is
//! expected stops the tracking; the tar parser reports that archive itself.

use std::io::{self, Read};

/// Largest GNU long name / long link / pax header entry accepted. Real
/// ones are a path or a few records (xattrs included): kilobytes.
pub(crate) const EXTENSION_LIMIT: u64 = 1 << 20;

const BLOCK: usize = 512;

/// Rounds `size` up to whole blocks; `None` on overflow.
fn blocks(size: u64) -> Option<u64> {
    size.checked_add(BLOCK as u64 - 1)
        .map(|s| s & !(BLOCK as u64 - 1))
}

/// A header's numeric field: octal text, or GNU base-256 (high bit set).
fn numeric(field: &[u8]) -> Option<u64> {
    match field.first() {
        Some(b) if b & 0x80 != 0 => field[1..]
            .iter()
            .try_fold(0u64, |n, b| n.checked_mul(256).map(|n| n | u64::from(*b))),
        _ => {
            let text = std::str::from_utf8(field).ok()?;
            let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
            if text.is_empty() {
                return Some(0);
            }
            u64::from_str_radix(text, 8).ok()
        }
    }
}

/// The header checksum holds: the unsigned sum of the block with the
/// checksum field read as spaces.
fn checksum_ok(h: &[u8; BLOCK]) -> bool {
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    numeric(&h[148..156]) == Some(sum)
}

/// The `size` record of pax extension data (`LEN size=VALUE\n` records).
fn pax_size(data: &[u8]) -> Option<u64> {
    let mut rest = data;
    let mut size = None;
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        let record = rest.get(space + 1..len)?;
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(value) = record.strip_prefix(b"size=") {
            size = std::str::from_utf8(value).ok()?.parse().ok();
        }
        rest = &rest[len..];
    }
    size
}

/// Where in the archive's structure the stream is.
#[derive(Debug)]
enum At {
    /// At a header block (or an old GNU sparse extension block).
    Header,
    /// Inside an entry's data: this many bytes (block-rounded) to go.
    Data(u64),
    /// Not following the structure any more: bytes pass through.
    Lost,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct ExtensionGuard<R> {
    inner: R,
    at: At,
    block: [u8; BLOCK],
    /// Bytes of `block` read from `inner` / handed on.
    filled: usize,
    served: usize,
    /// The data of the pax header being passed through (with its length
    /// without the block padding), for its `size`.
    pax: Option<(Vec<u8>, usize)>,
    /// A pax `size` for the next entry.
    size_override: Option<u64>,
    /// Old GNU sparse: extension blocks follow, then this much data.
    sparse_data: Option<u64>,
}

impl<R: Read> ExtensionGuard<R> {
    pub(crate) fn new(inner: R) -> Self {
        ExtensionGuard {
            inner,
            at: At::Header,
            block: [0; BLOCK],
            filled: 0,
            served: 0,
            pax: None,
            size_override: None,
            sparse_data: None,
        }
    }

    /// Reads the whole header block; `false` when the stream ended first.
    fn fill_block(&mut self) -> io::Result<bool> {
        while self.filled < BLOCK {
            match self.inner.read(&mut self.block[self.filled..]) {
                Ok(0) => return Ok(false),
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Reads a header block and decides what follows it.
    fn inspect(&mut self) -> io::Result<()> {
        let h = &self.block;
        if let Some(data) = self.sparse_data {
            // An old GNU sparse extension block: no checksum; its last
            // flag says whether another follows.
            if h[504] == 0 {
                self.sparse_data = None;
                self.at = At::Data(data);
            }
            return Ok(());
        }
        if h.iter().all(|b| *b == 0) {
            return Ok(()); // End-of-archive block: another block follows.
        }
        let (Some(size), true) = (numeric(&h[124..136]), checksum_ok(h)) else {
            self.at = At::Lost;
            return Ok(());
        };
        let kind = h[156];
        let is_extension = matches!(kind, b'L' | b'K' | b'x' | b'g');
        if is_extension && size > EXTENSION_LIMIT {
            let what = match kind {
                b'L' => "GNU long name",
                b'K' => "GNU long link name",
                _ => "pax header",
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a {what} entry of {size} bytes, over the limit of {EXTENSION_LIMIT} bytes"
                ),
            ));
        }
        let size = if is_extension {
            size
        } else {
            self.size_override.take().unwrap_or(size)
        };
        if kind == b'x' {
            let len = usize::try_from(size).unwrap_or(0);
            self.pax = Some((Vec::with_capacity(len), len));
        }
        let Some(data) = blocks(size) else {
            self.at = At::Lost;
            return Ok(());
        };
        if kind == b'S' && h[482] != 0 {
            self.sparse_data = Some(data);
        } else if data > 0 {
            self.at = At::Data(data);
        } else if kind == b'x' {
            self.end_of_pax();
        }
        Ok(())
    }

    fn end_of_pax(&mut self) {
        if let Some((mut data, len)) = self.pax.take() {
            data.truncate(len);
            self.size_override = pax_size(&data);
        }
    }
}

impl<R: Read> Read for ExtensionGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // The rest of a header block first, whatever follows it.
        if self.served < self.filled {
            let n = (self.filled - self.served).min(buf.len());
            buf[..n].copy_from_slice(&self.block[self.served..self.served + n]);
            self.served += n;
            return Ok(n);
        }
        match self.at {
            At::Lost => self.inner.read(buf),
            At::Data(left) => {
                let want = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
                let n = self.inner.read(&mut buf[..want])?;
                if n == 0 {
                    return Ok(0); // Truncated: the tar parser says so.
                }
                if let Some((pax, _)) = &mut self.pax {
                    // Bounded: the entry's size was checked against the limit.
                    pax.extend_from_slice(&buf[..n]);
                }
                let left = left - n as u64;
                self.at = At::Data(left);
                if left == 0 {
                    self.at = At::Header;
                    self.end_of_pax();
                }
                Ok(n)
            }
            At::Header => {
                self.filled = 0;
                self.served = 0;
                if self.fill_block()? {
                    self.inspect()?;
                } else {
                    // A partial block at the end: hand it on as it is.
                    self.at = At::Lost;
                }
                let n = self.filled.min(buf.len());
                buf[..n].copy_from_slice(&self.block[..n]);
                self.served = n;
                Ok(n)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ustar header for `name` of `kind` and `size`.
    fn header(name: &str, kind: u8, size: u64) -> [u8; BLOCK] {
        let mut h = [0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        if size < 8u64.pow(11) {
            h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        } else {
            // GNU base-256, as tar writes sizes of 8 GiB and more.
            h[124] = 0x80;
            h[128..136].copy_from_slice(&size.to_be_bytes());
        }
        h[136..148].copy_from_slice(b"00000000000\0");
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    fn entry(out: &mut Vec<u8>, name: &str, kind: u8, data: &[u8]) {
        out.extend_from_slice(&header(name, kind, data.len() as u64));
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(BLOCK), 0);
    }

    fn read_through(archive: &[u8], chunk: usize) -> io::Result<Vec<u8>> {
        let mut guard = ExtensionGuard::new(archive);
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = guard.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn passes_archives_through_unchanged_and_follows_pax_sizes() {
        let mut a = Vec::new();
        entry(&mut a, "file", b'0', b"hello");
        entry(&mut a, "././@LongLink", b'L', &[b'n'; 300]);
        entry(&mut a, "short", b'0', b"long-named");
        // A pax size record overrides the header's size of the next entry;
        // its data contains a block that would look like a giant header.
        let giant = header("trap", b'L', 1 << 40);
        entry(&mut a, "pax", b'x', b"16 size=1024000\n");
        a.extend_from_slice(&header("big", b'0', 0));
        a.extend_from_slice(&giant);
        a.resize(a.len() + 1_024_000 - BLOCK, 7);
        entry(&mut a, "after", b'0', b"x");
        a.resize(a.len() + 2 * BLOCK, 0);
        for chunk in [1, 100, 512, 4096] {
            assert_eq!(read_through(&a, chunk).expect("read"), a);
        }
    }

    #[test]
    fn refuses_giant_extension_entries_before_passing_them_on() {
        for kind in [b'L', b'K', b'x'] {
            let mut a = Vec::new();
            entry(&mut a, "ok", b'0', b"x");
            a.extend_from_slice(&header("././@LongLink", kind, EXTENSION_LIMIT + 1));
            let err = read_through(&a, 4096).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert!(err.to_string().contains("over the limit"), "{err}");
        }
    }

    #[test]
    fn stops_tracking_at_a_block_that_is_no_header() {
        let mut a = vec![b'z'; BLOCK];
        a.extend_from_slice(&header("x", b'L', 1 << 40));
        assert_eq!(read_through(&a, 700).expect("read"), a);
    }
}
