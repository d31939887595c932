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

/// Makes sure this process runs from a sealed in-memory copy of its own
/// binary, re-executing itself (same argv and environment) when it does
/// not yet. A process that joins a container's namespaces is visible to
/// the container as `/proc/PID/exe`; if that were the host's binary, a
/// process inside could open it and overwrite it (CVE-2019-5736, runc's
/// and crun's fix is the same copy). A sealed memfd cannot be written.
///
/// Returns only when already running from the copy.
pub fn run_from_sealed_copy() -> std::io::Result<()> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    if exe.as_os_str().as_encoded_bytes().starts_with(b"/memfd:") {
        return Ok(());
    }
    let copy = sealed_memfd("domrun", &std::fs::read("/proc/self/exe")?)?;
    let to_c = |s: std::ffi::OsString| {
        std::ffi::CString::new(s.into_encoded_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let argv = std::env::args_os()
        .map(to_c)
        .collect::<Result<Vec<_>, _>>()?;
    let envp = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            to_c(kv)
        })
        .collect::<Result<Vec<_>, _>>()?;
    // fexecve of a close-on-exec memfd works for an ELF binary (only a
    // script would need the fd open after exec).
    let err = nix::unistd::fexecve(&copy, &argv, &envp).unwrap_err();
    Err(err.into())
}
