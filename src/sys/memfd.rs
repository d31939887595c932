//! Sealed in-memory files: a kernel image handed to qemu as `/dev/fd/N`
//! without ever touching a disk.

use std::io::Write as _;
use std::os::fd::OwnedFd;

use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};

/// Creates a close-on-exec memfd named `name` (shown in /proc/PID/fd, so
/// never the data), writes `data` into it, rewinds it, and seals it against
/// any further write, resize or sealing: whoever receives it reads exactly
/// these bytes.
pub fn sealed_memfd(name: &str, data: &[u8]) -> std::io::Result<OwnedFd> {
    let fd = memfd_create(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(data)?;
    std::io::Seek::rewind(&mut file)?;
    let fd = OwnedFd::from(file);
    fcntl(
        &fd,
        FcntlArg::F_ADD_SEALS(
            SealFlag::F_SEAL_WRITE
                | SealFlag::F_SEAL_GROW
                | SealFlag::F_SEAL_SHRINK
                | SealFlag::F_SEAL_SEAL,
        ),
    )?;
    Ok(fd)
}
