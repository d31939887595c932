//! execve with its argument arrays built in advance: the cloned child must
//! not allocate (the allocator's lock may be held by a thread the clone did
//! not copy), and nix's execve allocates the pointer arrays.

use std::ffi::{CStr, CString};

use nix::errno::Errno;

/// A program, its argv and envp, ready for execve.
#[derive(Debug)]
pub struct ExecArgs {
    /// Own the strings the pointers below point into.
    argv: Vec<CString>,
    #[expect(dead_code, reason = "owns what envp_ptrs points into, never read")]
    envp: Vec<CString>,
    /// NULL-terminated pointer arrays into `argv` and `envp`. Moving a
    /// CString's owner does not move its heap buffer, so they stay valid
    /// as long as `self` lives and is not mutated (no `&mut` API exists).
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
}

impl ExecArgs {
    /// Builds the arrays; `argv[0]` is also the path executed.
    pub fn new(argv: Vec<CString>, envp: Vec<CString>) -> Self {
        let pointers = |strings: &[CString]| {
            strings
                .iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect::<Vec<_>>()
        };
        let argv_ptrs = pointers(&argv);
        let envp_ptrs = pointers(&envp);
        Self {
            argv,
            envp,
            argv_ptrs,
            envp_ptrs,
        }
    }

    /// The program path (`argv[0]`).
    pub fn program(&self) -> Option<&CStr> {
        self.argv.first().map(CString::as_c_str)
    }
}

/// Replaces this process with the program; returns only on failure.
pub fn exec(args: &ExecArgs) -> Errno {
    let Some(program) = args.program() else {
        return Errno::ENOENT;
    };
    // SAFETY: `program` is a NUL-terminated string; `argv_ptrs` and
    // `envp_ptrs` are NULL-terminated arrays of pointers into CStrings
    // owned by `args`, which outlives the call (see ExecArgs).
    unsafe {
        libc::execve(
            program.as_ptr(),
            args.argv_ptrs.as_ptr(),
            args.envp_ptrs.as_ptr(),
        );
    }
    Errno::last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_arrays_are_null_terminated_and_match() {
        let args = ExecArgs::new(
            vec![c"/bin/sh".into(), c"-c".into()],
            vec![c"PATH=/bin".into()],
        );
        assert_eq!(args.argv_ptrs.len(), 3);
        assert!(args.argv_ptrs[2].is_null());
        assert_eq!(args.envp_ptrs.len(), 2);
        assert_eq!(args.argv_ptrs[0], args.argv[0].as_ptr());
        assert_eq!(args.program(), Some(c"/bin/sh"));
    }
}
