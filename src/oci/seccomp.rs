//! `linux.seccomp` → classic BPF, compiled in the parent with `seccompiler`
//! (pure Rust, maintained by the Firecracker project: no libseccomp C
//! library or headers to build against; see docs/oci.md). The child only
//! loads the programs.
//!
//! runtime-spec gives one default action and per-syscall actions;
//! seccompiler filters have one match action each. So the profile becomes
//! one filter per action, all loaded: the *default* filter returns ALLOW for
//! every listed rule (with its argument conditions) and the default action
//! otherwise; the filter of action A returns A for A's rules and ALLOW
//! otherwise. The kernel runs every filter and keeps the most restrictive
//! result, which is exactly "the listed rule's action, else the default".
//! Syscall names this architecture lacks are skipped, as libseccomp does
//! (profiles list `arm_fadvise64`, `socketcall`, …).

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};
use serde_json::{Value, json};

use crate::plan::{BpfInstruction, SeccompFlag, SeccompProgram};

/// EPERM: the errno of `SCMP_ACT_ERRNO` without `errnoRet`.
const DEFAULT_ERRNO: u32 = 1;

/// Why a profile cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// An action domrun cannot carry out.
    #[error("{field}: {action:?} is not supported (no seccomp notify agent)")]
    Action {
        field: String,
        action: LinuxSeccompAction,
    },
    /// `listenerPath` (seccomp notify).
    #[error("listenerPath: seccomp notify is not supported")]
    Listener,
    /// An argument index beyond the six syscall arguments.
    #[error("{field}: index {index} (a syscall has six arguments, 0-5)")]
    ArgIndex { field: String, index: usize },
    /// seccompiler refused the filter.
    #[error("compiling the filter")]
    Compile {
        #[source]
        source: seccompiler::Error,
    },
    /// This architecture has no seccompiler backend.
    #[error("no seccomp compiler for this architecture")]
    Arch,
}

/// The action as seccompiler's JSON spells it.
fn action_json(
    action: LinuxSeccompAction,
    errno: Option<u32>,
    field: &str,
) -> Result<Value, SeccompError> {
    Ok(match action {
        LinuxSeccompAction::ScmpActAllow => json!("allow"),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            json!("kill_thread")
        }
        LinuxSeccompAction::ScmpActKillProcess => json!("kill_process"),
        LinuxSeccompAction::ScmpActTrap => json!("trap"),
        LinuxSeccompAction::ScmpActLog => json!("log"),
        LinuxSeccompAction::ScmpActErrno => json!({"errno": errno.unwrap_or(DEFAULT_ERRNO)}),
        LinuxSeccompAction::ScmpActTrace => json!({"trace": errno.unwrap_or(0)}),
        LinuxSeccompAction::ScmpActNotify => {
            return Err(SeccompError::Action {
                field: field.to_owned(),
                action,
            });
        }
    })
}

/// The conditions of one rule, in seccompiler's JSON.
fn conditions(rule: &LinuxSyscall, field: &str) -> Result<Vec<Value>, SeccompError> {
    rule.args()
        .iter()
        .flatten()
        .enumerate()
        .map(|(k, a)| {
            if a.index() > 5 {
                return Err(SeccompError::ArgIndex {
                    field: format!("{field}.args[{k}]"),
                    index: a.index(),
                });
            }
            let (op, val) = match a.op() {
                LinuxSeccompOperator::ScmpCmpNe => (json!("ne"), a.value()),
                LinuxSeccompOperator::ScmpCmpLt => (json!("lt"), a.value()),
                LinuxSeccompOperator::ScmpCmpLe => (json!("le"), a.value()),
                LinuxSeccompOperator::ScmpCmpEq => (json!("eq"), a.value()),
                LinuxSeccompOperator::ScmpCmpGe => (json!("ge"), a.value()),
                LinuxSeccompOperator::ScmpCmpGt => (json!("gt"), a.value()),
                // libseccomp: (arg & value) == valueTwo.
                LinuxSeccompOperator::ScmpCmpMaskedEq => {
                    (json!({"masked_eq": a.value()}), a.value_two().unwrap_or(0))
                }
            };
            Ok(json!({"index": a.index(), "type": "qword", "op": op, "val": val}))
        })
        .collect()
}

/// One seccompiler rule per name.
fn rules_json(rule: &LinuxSyscall, field: &str) -> Result<Vec<Value>, SeccompError> {
    let args = conditions(rule, field)?;
    Ok(rule
        .names()
        .iter()
        .map(|name| {
            if args.is_empty() {
                json!({"syscall": name})
            } else {
                json!({"syscall": name, "args": args})
            }
        })
        .collect())
}

fn target_arch() -> Result<seccompiler::TargetArch, SeccompError> {
    if cfg!(target_arch = "x86_64") {
        Ok(seccompiler::TargetArch::x86_64)
    } else if cfg!(target_arch = "aarch64") {
        Ok(seccompiler::TargetArch::aarch64)
    } else if cfg!(target_arch = "riscv64") {
        Ok(seccompiler::TargetArch::riscv64)
    } else {
        Err(SeccompError::Arch)
    }
}

/// Compiles one filter, dropping syscall names unknown on this
/// architecture (seccompiler names the first unknown one; retry without it).
fn compile_filter(
    mut rules: Vec<Value>,
    on_match: &Value,
    otherwise: &Value,
) -> Result<Vec<BpfInstruction>, SeccompError> {
    let arch = target_arch()?;
    loop {
        let doc = json!({"f": {"mismatch_action": otherwise, "filter_action": on_match, "filter": rules}});
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        match seccompiler::compile_from_json(bytes.as_slice(), arch) {
            Ok(mut map) => {
                let program = map.remove("f").unwrap_or_default();
                return Ok(program
                    .into_iter()
                    .map(|i| BpfInstruction {
                        code: i.code,
                        jt: i.jt,
                        jf: i.jf,
                        k: i.k,
                    })
                    .collect());
            }
            Err(source) => {
                let Some(name) = unknown_syscall(&source) else {
                    return Err(SeccompError::Compile { source });
                };
                let before = rules.len();
                rules.retain(|r| r["syscall"] != name.as_str());
                if rules.len() == before {
                    return Err(SeccompError::Compile { source });
                }
            }
        }
    }
}

/// The syscall name of seccompiler's "Invalid syscall name: NAME for given
/// arch" error. Its JSON front end's error type is not exported, so its
/// message is the only way to learn the name.
fn unknown_syscall(e: &seccompiler::Error) -> Option<String> {
    let seccompiler::Error::JsonFrontend(inner) = e else {
        return None;
    };
    let text = inner.to_string();
    let rest = text.strip_prefix("Invalid syscall name: ")?;
    Some(rest.split_once(" for given arch")?.0.to_owned())
}

/// The BPF programs of `profile`.
pub fn compile(profile: &LinuxSeccomp) -> Result<SeccompProgram, SeccompError> {
    if profile.listener_path().is_some() {
        return Err(SeccompError::Listener);
    }
    let default_errno = profile.default_errno_ret();
    let default = action_json(profile.default_action(), default_errno, "defaultAction")?;
    let allow = json!("allow");
    // (action, its rules), in first-seen order.
    let mut by_action: Vec<(Value, Vec<Value>)> = Vec::new();
    let mut all_rules = Vec::new();
    for (i, rule) in profile.syscalls().iter().flatten().enumerate() {
        let field = format!("syscalls[{i}]");
        let action = action_json(rule.action(), rule.errno_ret().or(default_errno), &field)?;
        let rules = rules_json(rule, &field)?;
        all_rules.extend(rules.iter().cloned());
        match by_action.iter_mut().find(|(a, _)| *a == action) {
            Some((_, list)) => list.extend(rules),
            None => by_action.push((action, rules)),
        }
    }
    let mut filters = Vec::new();
    if default != allow {
        filters.push(compile_filter(all_rules, &allow, &default)?);
    }
    for (action, rules) in by_action {
        if action != allow && action != default {
            filters.push(compile_filter(rules, &action, &allow)?);
        }
    }
    let flags = profile
        .flags()
        .iter()
        .flatten()
        .filter_map(|f| match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => Some(SeccompFlag::Log),
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => Some(SeccompFlag::SpecAllow),
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                Some(SeccompFlag::WaitKillableRecv)
            }
            // The child is single-threaded when it loads the filter.
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => None,
        })
        .collect();
    Ok(SeccompProgram { filters, flags })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).expect("profile")
    }

    /// BPF_RET | BPF_K: the instructions that end a filter with an action.
    const RET_K: u16 = 0x06;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

    #[test]
    fn a_small_profile_compiles_to_bpf() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["getcwd","no_such_syscall"],"action":"SCMP_ACT_ERRNO","errnoRet":38},
                {"names":["personality"],"action":"SCMP_ACT_ERRNO",
                 "args":[{"index":0,"value":8,"op":"SCMP_CMP_NE"}]}]}"#,
        );
        let program = compile(&p).expect("compiles");
        // Two errno values are two actions: two filters, the default ALLOW needs none.
        assert_eq!(program.filters.len(), 2);
        for filter in &program.filters {
            assert!(filter.len() > 4, "{filter:?}");
            let rets: Vec<u32> = filter
                .iter()
                .filter(|i| i.code == RET_K)
                .map(|i| i.k)
                .collect();
            assert!(rets.contains(&SECCOMP_RET_ALLOW), "{rets:x?}");
        }
        let rets: Vec<u32> = program.filters[0]
            .iter()
            .filter(|i| i.code == RET_K)
            .map(|i| i.k)
            .collect();
        assert!(rets.contains(&(SECCOMP_RET_ERRNO | 38)), "{rets:x?}");
    }

    #[test]
    fn a_default_deny_profile_allows_what_it_lists() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let program = compile(&p).expect("compiles");
        assert_eq!(program.filters.len(), 1);
        let rets: Vec<u32> = program.filters[0]
            .iter()
            .filter(|i| i.code == RET_K)
            .map(|i| i.k)
            .collect();
        assert!(rets.contains(&(SECCOMP_RET_ERRNO | DEFAULT_ERRNO)));
    }

    #[test]
    fn notify_is_refused_with_its_field() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        let e = compile(&p).unwrap_err().to_string();
        assert!(e.starts_with("syscalls[0]: ScmpActNotify"), "{e}");
    }
}
