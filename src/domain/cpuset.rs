//! `CpuSet`: libvirt's CPU and NUMA-node lists (`cpuset='0-3,^2,8'`,
//! `nodeset='1-4'`), parsed once, in the model.
//!
//! The text is kept as the user wrote it, so a round trip is byte-exact;
//! [`CpuSet::kernel_list`] gives the kernel's form for cgroup files.

use super::cursor::FromXml;
use std::collections::BTreeSet;

/// The largest CPU or NUMA node number accepted in a list (libvirt's
/// `VIR_DOMAIN_CPUMASK_LEN` - 1).
pub const MAX_CPU: u32 = 8191;

/// A set of CPU (or NUMA node) numbers, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuSet {
    /// As written (`0-3,^2`).
    text: String,
    /// The numbers it selects.
    members: BTreeSet<u32>,
}

impl CpuSet {
    /// Parses `0-3,^2,8`: numbers and ranges, `^` excludes. The error says
    /// which part is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut members = BTreeSet::new();
        let mut excluded = Vec::new();
        for part in s.split(',').map(str::trim) {
            let (neg, range) = match part.strip_prefix('^') {
                Some(p) => (true, p),
                None => (false, part),
            };
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            let bad = || format!("a CPU list like 0-3,^2,8 ('{part}' is not a number or a range)");
            let a: u32 = a.trim().parse().map_err(|_| bad())?;
            let b: u32 = b.trim().parse().map_err(|_| bad())?;
            if a > b {
                return Err(bad());
            }
            if b > MAX_CPU {
                return Err(format!(
                    "a CPU list like 0-3,^2,8 ('{part}' is above the largest number, {MAX_CPU})"
                ));
            }
            if neg {
                excluded.extend(a..=b);
            } else {
                members.extend(a..=b);
            }
        }
        for e in excluded {
            members.remove(&e);
        }
        if members.is_empty() {
            // The kernel refuses an empty cpuset, and it could run nothing.
            return Err("a CPU list that leaves at least one number".into());
        }
        Ok(CpuSet {
            text: s.to_owned(),
            members,
        })
    }

    /// The list as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The numbers selected, ascending.
    pub fn members(&self) -> impl Iterator<Item = u32> + '_ {
        self.members.iter().copied()
    }

    /// The kernel's form (`0-1,3,8`): ascending, ranges merged.
    pub fn kernel_list(&self) -> String {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for n in self.members() {
            match ranges.last_mut() {
                Some((_, end)) if *end + 1 == n => *end = n,
                _ => ranges.push((n, n)),
            }
        }
        ranges
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl FromXml for CpuSet {
    fn from_xml(s: &str) -> Result<Self, String> {
        CpuSet::parse(s)
    }
}

impl std::fmt::Display for CpuSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_to_their_members_and_print_as_written() {
        for (text, kernel) in [
            ("0-3,^2,8", "0-1,3,8"),
            ("3,1,2", "1-3"),
            ("1-2,5-7", "1-2,5-7"),
            (" 4 - 6 ", "4-6"),
            ("8191", "8191"),
        ] {
            let set = CpuSet::parse(text).unwrap();
            assert_eq!(set.kernel_list(), kernel, "{text}");
            assert_eq!(set.to_string(), text);
        }
    }

    #[test]
    fn bad_lists_are_refused_with_the_part_that_is_wrong() {
        for (text, says) in [
            ("a", "'a' is not"),
            ("0-3,x", "'x' is not"),
            ("3-1", "'3-1' is not"),
            ("9000", "'9000' is above"),
            ("", "'' is not"),
            ("1,^1", "leaves at least one"),
        ] {
            let e = CpuSet::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
