//! The `xl` tool, run through a configurable path (`DOMRUN_XL`), so tests
//! use a fake that records its calls.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::XenError;

/// One row of `xl list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlDomain {
    pub name: String,
    pub id: u32,
    pub mem_mib: u64,
    pub vcpus: u32,
    pub state: String,
}

/// The `xl` tool.
#[derive(Debug, Clone)]
pub struct Xl {
    pub path: PathBuf,
}

impl Xl {
    pub fn new(path: impl Into<PathBuf>) -> Xl {
        Xl { path: path.into() }
    }

    /// A command running `xl ARGS` (for callers that supervise it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.path);
        c.args(args);
        c
    }

    fn call(&self, args: &[&str]) -> Result<String, XenError> {
        let joined = args.join(" ");
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| XenError::Exec {
                xl: self.path.display().to_string(),
                args: joined.clone(),
                error,
            })?;
        if !out.status.success() {
            return Err(XenError::Failed {
                xl: self.path.display().to_string(),
                args: joined,
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `xl create CFG`: starts the domain and returns.
    pub fn create(&self, cfg: &Path) -> Result<(), XenError> {
        let cfg = cfg.to_string_lossy();
        self.call(&["create", &cfg]).map(drop)
    }

    /// `xl shutdown [-w] NAME`: asks the guest to power off (PV control
    /// node or ACPI); with `wait`, returns once it has.
    pub fn shutdown(&self, name: &str, wait: bool) -> Result<(), XenError> {
        let mut args = vec!["shutdown"];
        if wait {
            args.push("-w");
        }
        args.push(name);
        self.call(&args).map(drop)
    }

    /// `xl reboot NAME`.
    pub fn reboot(&self, name: &str) -> Result<(), XenError> {
        self.call(&["reboot", name]).map(drop)
    }

    /// `xl destroy NAME`: stops the domain at once.
    pub fn destroy(&self, name: &str) -> Result<(), XenError> {
        self.call(&["destroy", name]).map(drop)
    }

    /// `xl list`: the running domains (Domain-0 included).
    pub fn list(&self) -> Result<Vec<XlDomain>, XenError> {
        Ok(parse_list(&self.call(&["list"])?))
    }
}

/// Parses `xl list` output: a header, then `Name ID Mem VCPUs State Time`.
/// Names may contain spaces, so fields are taken from the right.
pub fn parse_list(out: &str) -> Vec<XlDomain> {
    out.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let n = fields.len();
            if n < 6 {
                return None;
            }
            Some(XlDomain {
                name: fields[..n - 5].join(" "),
                id: fields[n - 5].parse().ok()?,
                mem_mib: fields[n - 4].parse().ok()?,
                vcpus: fields[n - 3].parse().ok()?,
                state: fields[n - 2].to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_output() {
        let out = "Name                                        ID   Mem VCPUs\tState\tTime(s)\nDomain-0                                     0  4096     4     r-----     123.4\nweb server                                  12   512     2     -b----       1.0\n";
        let l = parse_list(out);
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].name, "web server");
        assert_eq!(l[1].id, 12);
        assert_eq!(l[1].mem_mib, 512);
        assert_eq!(l[1].state, "-b----");
    }
}
