//! The OCI container life cycle as a pure state machine, and the state
//! JSON runtime-spec defines.
//!
//! [`decide`] says, for the container's observed [`Status`] (or its
//! absence) and a [`Verb`], what the runtime must do ([`Effect`]) or why
//! the verb is refused ([`LifecycleError`]). It touches nothing, so every
//! verb × status pair is tested without forking; `store.rs` reads and
//! writes the state files, `cli.rs` carries the effects out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// runtime-spec's `ociVersion` of the state domrun writes.
pub const OCI_VERSION: &str = "1.2.0";

/// A container's status (runtime-spec "state"; `paused` as runc adds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `create` is setting it up.
    Creating,
    /// Set up, init blocked before exec until `start`.
    Created,
    /// Init exec'd the user process.
    Running,
    /// Frozen (`pause`).
    Paused,
    /// Init has exited (reaped or a zombie).
    Stopped,
}

impl Status {
    /// The lowercase word of `state` and `list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// A life-cycle verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Create,
    Start,
    Kill { all: bool },
    Delete { force: bool },
    Pause,
    Resume,
    Exec,
    State,
}

/// What the runtime does for an allowed verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Set up a new container: write `creating`, build, write `created`.
    Create,
    /// Release init (it execs the user process): `created` → `running`.
    Release,
    /// Send the signal (to init, or every process with `--all`).
    Signal { all: bool },
    /// Remove the state (and cgroup) of a stopped container.
    Remove,
    /// Kill every process, then remove (`delete --force` of a live one).
    KillAndRemove,
    /// Nothing to do: `delete --force` of a container that is gone.
    Nothing,
    /// Freeze the cgroup: `running` → `paused`.
    Freeze,
    /// Thaw it: `paused` → `running`.
    Thaw,
    /// Start another process in the container's namespaces.
    Exec,
    /// Print the state JSON.
    Report,
}

/// Why a verb is refused in a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("container {id} does not exist")]
    NotFound { id: String },
    #[error("container {id} already exists")]
    Exists { id: String },
    #[error("container {id} is {status}: {verb} needs it {needs}", status = status.as_str())]
    WrongStatus {
        id: String,
        verb: &'static str,
        status: Status,
        needs: &'static str,
    },
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Start => "start",
            Verb::Kill { .. } => "kill",
            Verb::Delete { .. } => "delete",
            Verb::Pause => "pause",
            Verb::Resume => "resume",
            Verb::Exec => "exec",
            Verb::State => "state",
        }
    }
}

/// The transition table. `status` is the observed status (`None`: no such
/// container).
pub fn decide(id: &str, status: Option<Status>, verb: Verb) -> Result<Effect, LifecycleError> {
    use Status::*;
    let wrong = |status, needs| LifecycleError::WrongStatus {
        id: id.to_owned(),
        verb: verb.name(),
        status,
        needs,
    };
    let Some(status) = status else {
        return match verb {
            Verb::Create => Ok(Effect::Create),
            // runc exits 0: the shim's cleanup runs after every delete.
            Verb::Delete { force: true } => Ok(Effect::Nothing),
            _ => Err(LifecycleError::NotFound { id: id.to_owned() }),
        };
    };
    match (verb, status) {
        (Verb::Create, _) => Err(LifecycleError::Exists { id: id.to_owned() }),
        (Verb::State, _) => Ok(Effect::Report),
        (Verb::Start, Created) => Ok(Effect::Release),
        (Verb::Start, s) => Err(wrong(s, "created")),
        // The spec: kill of a created or running container signals init;
        // a stopped one is an error (runtime-tools' `kill` test checks it).
        (Verb::Kill { all }, Created | Running | Paused) => Ok(Effect::Signal { all }),
        (Verb::Kill { .. }, s) => Err(wrong(s, "created, running or paused")),
        (Verb::Delete { .. }, Stopped) => Ok(Effect::Remove),
        (Verb::Delete { force: true }, _) => Ok(Effect::KillAndRemove),
        // The spec: deleting a container that is not stopped is an error.
        (Verb::Delete { force: false }, s) => Err(wrong(s, "stopped (or --force)")),
        (Verb::Pause, Running) => Ok(Effect::Freeze),
        (Verb::Pause, s) => Err(wrong(s, "running")),
        (Verb::Resume, Paused) => Ok(Effect::Thaw),
        (Verb::Resume, s) => Err(wrong(s, "paused")),
        (Verb::Exec, Created | Running) => Ok(Effect::Exec),
        (Verb::Exec, s) => Err(wrong(s, "created or running")),
    }
}

/// The status after `effect` succeeded (`None`: the state is gone).
pub fn after(effect: Effect, before: Option<Status>) -> Option<Status> {
    match effect {
        Effect::Create => Some(Status::Created),
        Effect::Release | Effect::Thaw => Some(Status::Running),
        Effect::Freeze => Some(Status::Paused),
        Effect::Remove | Effect::KillAndRemove | Effect::Nothing => None,
        Effect::Signal { .. } | Effect::Exec | Effect::Report => before,
    }
}

/// The state JSON of runtime-spec (plus runc's `created` and `owner`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciState {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub status: Status,
    /// Init's host pid; absent once stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 creation time (UTC).
    pub created: String,
    /// The creating user's name (runc writes `""` for root's default).
    pub owner: String,
}

/// `t` as RFC 3339 UTC with nanoseconds (`2026-12-02T05:06:06.000000005Z`),
/// as runc writes `created`: the template store's formatter plus the fraction.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let whole = crate::template::format_rfc3339(t);
    let nanos = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}.{nanos:09}Z", whole.trim_end_matches('Z'))
}

/// Now, as [`rfc3339`].
pub fn now_rfc3339() -> String {
    rfc3339(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUSES: [Option<Status>; 6] = [
        None,
        Some(Status::Creating),
        Some(Status::Created),
        Some(Status::Running),
        Some(Status::Paused),
        Some(Status::Stopped),
    ];

    fn verbs() -> Vec<Verb> {
        vec![
            Verb::Create,
            Verb::Start,
            Verb::Kill { all: false },
            Verb::Kill { all: true },
            Verb::Delete { force: false },
            Verb::Delete { force: true },
            Verb::Pause,
            Verb::Resume,
            Verb::Exec,
            Verb::State,
        ]
    }

    /// The whole table, one line per verb × status, as the spec reads.
    #[test]
    fn every_verb_in_every_status() {
        use Effect::*;
        let mut table = String::new();
        for verb in verbs() {
            for status in STATUSES {
                let got = match decide("c", status, verb) {
                    Ok(e) => format!("{e:?}"),
                    Err(LifecycleError::NotFound { .. }) => "not found".into(),
                    Err(LifecycleError::Exists { .. }) => "exists".into(),
                    Err(LifecycleError::WrongStatus { .. }) => "refused".into(),
                };
                table.push_str(&format!("{verb:?} {status:?}: {got}\n"));
            }
        }
        let expect = |verb: Verb, status: Option<Status>| decide("c", status, verb).ok();
        assert_eq!(
            expect(Verb::Start, Some(Status::Created)),
            Some(Release),
            "{table}"
        );
        for s in [
            Status::Creating,
            Status::Running,
            Status::Paused,
            Status::Stopped,
        ] {
            assert_eq!(
                expect(Verb::Start, Some(s)),
                None,
                "start twice / after exit"
            );
        }
        assert_eq!(
            expect(Verb::Delete { force: false }, Some(Status::Created)),
            None
        );
        assert_eq!(
            expect(Verb::Delete { force: false }, Some(Status::Running)),
            None
        );
        assert_eq!(
            expect(Verb::Delete { force: false }, Some(Status::Stopped)),
            Some(Remove)
        );
        assert_eq!(
            expect(Verb::Delete { force: true }, Some(Status::Running)),
            Some(KillAndRemove)
        );
        assert_eq!(
            expect(Verb::Delete { force: true }, Some(Status::Creating)),
            Some(KillAndRemove)
        );
        assert_eq!(expect(Verb::Delete { force: true }, None), Some(Nothing));
        assert_eq!(expect(Verb::Delete { force: false }, None), None);
        assert_eq!(
            expect(Verb::Kill { all: false }, Some(Status::Stopped)),
            None
        );
        assert_eq!(
            expect(Verb::Kill { all: true }, Some(Status::Created)),
            Some(Signal { all: true })
        );
        assert_eq!(expect(Verb::Pause, Some(Status::Running)), Some(Freeze));
        assert_eq!(expect(Verb::Pause, Some(Status::Paused)), None);
        assert_eq!(expect(Verb::Resume, Some(Status::Paused)), Some(Thaw));
        assert_eq!(expect(Verb::Create, Some(Status::Stopped)), None);
        assert_eq!(expect(Verb::Create, None), Some(Create));
        assert_eq!(expect(Verb::State, None), None);
        for s in STATUSES.into_iter().flatten() {
            assert_eq!(expect(Verb::State, Some(s)), Some(Report));
        }
    }

    #[test]
    fn effects_move_the_status() {
        assert_eq!(after(Effect::Create, None), Some(Status::Created));
        assert_eq!(
            after(Effect::Release, Some(Status::Created)),
            Some(Status::Running)
        );
        assert_eq!(
            after(Effect::Freeze, Some(Status::Running)),
            Some(Status::Paused)
        );
        assert_eq!(
            after(Effect::Thaw, Some(Status::Paused)),
            Some(Status::Running)
        );
        assert_eq!(after(Effect::Remove, Some(Status::Stopped)), None);
        assert_eq!(
            after(Effect::Signal { all: false }, Some(Status::Running)),
            Some(Status::Running)
        );
    }

    #[test]
    fn refusals_say_what_the_verb_needs() {
        let e = decide("web", Some(Status::Created), Verb::Delete { force: false }).unwrap_err();
        assert_eq!(
            e.to_string(),
            "container web is created: delete needs it stopped (or --force)"
        );
    }

    #[test]
    fn state_json_has_the_spec_fields() {
        let s = OciState {
            oci_version: OCI_VERSION.into(),
            id: "c1".into(),
            status: Status::Created,
            pid: Some(42),
            bundle: "/b".into(),
            annotations: BTreeMap::from([("k".into(), "v".into())]),
            created: rfc3339(std::time::UNIX_EPOCH),
            owner: String::new(),
        };
        let v: serde_json::Value = serde_json::to_value(&s).unwrap();
        assert_eq!(v["ociVersion"], OCI_VERSION);
        assert_eq!(v["status"], "created");
        assert_eq!(v["pid"], 42);
        assert_eq!(v["annotations"]["k"], "v");
        assert_eq!(v["created"], "1970-01-01T00:00:00.000000000Z");
        let stopped = OciState {
            pid: None,
            status: Status::Stopped,
            ..s
        };
        assert!(serde_json::to_value(&stopped).unwrap().get("pid").is_none());
    }

    #[test]
    fn rfc3339_dates() {
        let at = |s, n| std::time::UNIX_EPOCH + std::time::Duration::new(s, n);
        assert_eq!(
            rfc3339(at(1_796_187_966, 5)),
            "2026-12-02T05:06:06.000000005Z"
        );
        assert_eq!(
            rfc3339(at(951_782_400, 0)),
            "2000-02-29T00:00:00.000000000Z"
        );
    }
}
