//! prctl calls for the bounding and ambient capability sets.

use caps::Capability;
use nix::errno::Errno;

/// Removes `cap` from this thread's bounding set (needs CAP_SETPCAP).
pub fn drop_from_bounding_set(cap: Capability) -> nix::Result<()> {
    // SAFETY: PR_CAPBSET_DROP takes the capability number as a plain integer;
    // the trailing arguments are unused and passed as 0.
    let ret = unsafe {
        libc::prctl(
            libc::PR_CAPBSET_DROP,
            libc::c_ulong::from(cap.index()),
            0,
            0,
            0,
        )
    };
    Errno::result(ret).map(drop)
}

/// Adds `cap` to this thread's ambient set (it must be permitted and inheritable).
pub fn raise_ambient(cap: Capability) -> nix::Result<()> {
    // SAFETY: PR_CAP_AMBIENT/PR_CAP_AMBIENT_RAISE takes the capability number
    // as a plain integer; the trailing arguments must be 0.
    let ret = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            libc::c_ulong::from(cap.index()),
            0,
            0,
        )
    };
    Errno::result(ret).map(drop)
}
