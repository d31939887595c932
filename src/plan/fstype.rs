//! Filesystem types the launcher mounts from block devices and images, and a
//! superblock probe for when the plan does not name one.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// A block filesystem type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FsType {
    /// ext2 (no journal).
    Ext2,
    /// ext3 (journal, no ext4-only features).
    Ext3,
    /// ext4.
    Ext4,
    /// XFS.
    Xfs,
    /// Btrfs.
    Btrfs,
    /// SquashFS (read-only).
    Squashfs,
    /// EROFS (read-only).
    Erofs,
    /// FAT12/16/32.
    Vfat,
}

/// Both directions of the name mapping, in one table.
const NAMES: &[(FsType, &str)] = &[
    (FsType::Ext2, "ext2"),
    (FsType::Ext3, "ext3"),
    (FsType::Ext4, "ext4"),
    (FsType::Xfs, "xfs"),
    (FsType::Btrfs, "btrfs"),
    (FsType::Squashfs, "squashfs"),
    (FsType::Erofs, "erofs"),
    (FsType::Vfat, "vfat"),
];

impl FsType {
    /// The kernel's name, as passed to mount(2).
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(t, _)| *t == self)
            .map_or("", |(_, n)| n)
    }

    /// Parses a kernel filesystem name (`"ext4"`); `None` if unknown.
    pub fn from_name(name: &str) -> Option<Self> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
    }
}

/// Why probing a device or image failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The device or image could not be opened or read.
    #[error("reading the superblock of {path}: {source}")]
    Read {
        /// Device or image path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No known superblock was found.
    #[error("{0}: no ext2/3/4, xfs, btrfs, squashfs, erofs or vfat superblock found")]
    Unknown(PathBuf),
}

/// Bytes read from the start of a device: enough to reach btrfs's superblock
/// at 64 KiB.
const PROBE_LEN: usize = 0x10000 + 0x1000;

/// Reads the start of `path` and recognises its filesystem.
pub fn probe_path(path: &Path) -> Result<FsType, ProbeError> {
    let read_err = |source| ProbeError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Devices are probed too, so no type check; but a FIFO given as an
    // image must not block the open (it then reads as empty: unknown).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(read_err)?;
    let mut head = Vec::with_capacity(PROBE_LEN);
    file.take(PROBE_LEN as u64)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    probe_bytes(&head).ok_or_else(|| ProbeError::Unknown(path.to_path_buf()))
}

/// Recognises a filesystem from the first bytes of a device.
pub fn probe_bytes(head: &[u8]) -> Option<FsType> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let le32 = |offset: usize| {
        head.get(offset..offset + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if at(0, b"XFSB") {
        return Some(FsType::Xfs);
    }
    if at(0, b"hsqs") {
        return Some(FsType::Squashfs);
    }
    if le32(1024) == Some(0xE0F5_E1E2) {
        return Some(FsType::Erofs);
    }
    if at(0x10000 + 0x40, b"_BHRfS_M") {
        return Some(FsType::Btrfs);
    }
    // ext superblock at 1024; s_magic at +56.
    if at(1024 + 56, &[0x53, 0xEF]) {
        return Some(ext_generation(head));
    }
    if at(510, &[0x55, 0xAA]) && (at(54, b"FAT") || at(82, b"FAT32")) {
        return Some(FsType::Vfat);
    }
    None
}

/// ext2, 3 or 4, from the feature flags (as blkid decides).
fn ext_generation(head: &[u8]) -> FsType {
    const COMPAT_HAS_JOURNAL: u32 = 0x4;
    // Features ext3 lacks: extents, 64bit, flex_bg, huge files, metadata csum...
    const INCOMPAT_EXT4: u32 = 0x40 | 0x80 | 0x200 | 0x400 | 0x8000 | 0x10000;
    const RO_COMPAT_EXT4: u32 = 0x8 | 0x10 | 0x20 | 0x40 | 0x400;
    let le32 = |offset: usize| {
        head.get(offset..offset + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let compat = le32(1024 + 0x5C);
    let incompat = le32(1024 + 0x60);
    let ro_compat = le32(1024 + 0x64);
    if incompat & INCOMPAT_EXT4 != 0 || ro_compat & RO_COMPAT_EXT4 != 0 {
        FsType::Ext4
    } else if compat & COMPAT_HAS_JOURNAL != 0 {
        FsType::Ext3
    } else {
        FsType::Ext2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> Vec<u8> {
        vec![0; PROBE_LEN]
    }

    #[test]
    fn name_table_round_trips() {
        for (t, n) in NAMES {
            assert_eq!(t.name(), *n);
            assert_eq!(FsType::from_name(n), Some(*t));
        }
        assert_eq!(FsType::from_name("nfs"), None);
    }

    #[test]
    fn recognises_magics() {
        let mut b = blank();
        b[..4].copy_from_slice(b"XFSB");
        assert_eq!(probe_bytes(&b), Some(FsType::Xfs));
        let mut b = blank();
        b[..4].copy_from_slice(b"hsqs");
        assert_eq!(probe_bytes(&b), Some(FsType::Squashfs));
        let mut b = blank();
        b[1024..1028].copy_from_slice(&0xE0F5_E1E2u32.to_le_bytes());
        assert_eq!(probe_bytes(&b), Some(FsType::Erofs));
        let mut b = blank();
        b[0x10040..0x10048].copy_from_slice(b"_BHRfS_M");
        assert_eq!(probe_bytes(&b), Some(FsType::Btrfs));
        let mut b = blank();
        b[510] = 0x55;
        b[511] = 0xAA;
        b[82..87].copy_from_slice(b"FAT32");
        assert_eq!(probe_bytes(&b), Some(FsType::Vfat));
        assert_eq!(probe_bytes(&blank()), None);
        assert_eq!(probe_bytes(&[]), None);
    }

    #[test]
    fn tells_ext_generations_apart() {
        let mut b = blank();
        b[1024 + 56] = 0x53;
        b[1024 + 57] = 0xEF;
        assert_eq!(probe_bytes(&b), Some(FsType::Ext2));
        b[1024 + 0x5C] = 0x4;
        assert_eq!(probe_bytes(&b), Some(FsType::Ext3));
        b[1024 + 0x60] = 0x40;
        assert_eq!(probe_bytes(&b), Some(FsType::Ext4));
    }
}
