//! The monitor's rules, apart from its I/O: events in (the guest ended, a
//! lifecycle request, a signal to the monitor, a deadline), actions out
//! (ask the guest to stop, kill it, restart it, answer, exit). `serve.rs`
//! polls, turns what it sees into an [`Event`], and executes the
//! [`Action`]s in order; nothing here touches a process, so every rule is
//! tested below without forking (youki's `InitRequestSequence`, libvirt's
//! `virLXCControllerRun` policy).

use super::guest::ExitReason;
use crate::domain::{Domain, LifecycleAction};
use std::time::Duration;

/// How long a host signal to the monitor (the host shutting down) waits for
/// the guest to shut down before it is killed.
pub(super) const HOST_STOP_GRACE: Duration = Duration::from_secs(30);

/// How long a reboot waits for the guest to shut down before it is killed.
pub(super) const REBOOT_GRACE: Duration = Duration::from_secs(10);

/// What a control request asked for, pending the guest's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Intent {
    /// Nothing: the domain's `on_*` policy decides.
    None,
    Shutdown,
    Destroy,
    Reboot,
}

/// What the monitor saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    /// The guest ended (reaped).
    Exited(ExitReason),
    /// `shutdown`: ask the guest to stop; the requester waits up to `timeout`.
    ShutdownRequested { timeout: Duration },
    /// `destroy`: kill the guest now; the requester waits for its end.
    DestroyRequested,
    /// `reboot`: reset in place if the guest can.
    RebootRequested,
    /// The guest could not reset in place (a container never can).
    ResetFailed,
    /// TERM, INT or HUP to the monitor (e.g. the host shutting down).
    StopSignal,
    /// The kill deadline armed by [`Action::ArmKill`] passed.
    KillDeadline,
    /// The guest could not be started again after an exit.
    RestartFailed,
}

/// What the monitor must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Action {
    /// The guest's shutdown request (init's shutdown signal, ACPI power button).
    AskShutdown,
    /// SIGKILL the guest.
    Kill,
    /// Reset the guest in place; report [`Event::ResetFailed`] if it cannot.
    ResetInPlace,
    /// Kill the guest if it has not ended after this long (replaces a
    /// deadline armed before).
    ArmKill(Duration),
    /// Forget the kill deadline.
    DisarmKill,
    /// Keep the requesting connection and answer it when the guest ends, or
    /// with "did not shut down in time" after the duration.
    HoldRequester(Option<Duration>),
    /// Answer the requesting connection "ok" now.
    AnswerOk,
    /// Release what the ended guest held (cgroup; report an OOM kill).
    ReleaseGuest,
    /// Log the end and the action taken.
    Log {
        reason: ExitReason,
        action: LifecycleAction,
    },
    /// Start the guest again; report [`Event::RestartFailed`] if it cannot.
    Restart,
    /// Answer every held requester "ok" (the guest is gone).
    AnswerHeld,
    /// Leave the loop with this exit code (the live state is removed).
    Exit(i32),
}

/// A domain's `<on_poweroff>`, `<on_reboot>` and `<on_crash>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct OnExit {
    pub poweroff: Option<LifecycleAction>,
    pub reboot: Option<LifecycleAction>,
    pub crash: Option<LifecycleAction>,
}

impl OnExit {
    pub(super) fn of(d: &Domain) -> OnExit {
        OnExit {
            poweroff: d.on_poweroff,
            reboot: d.on_reboot,
            crash: d.on_crash,
        }
    }
}

/// The `on_*` action for an end, given what was asked: a requested
/// shutdown or destroy stops the domain whatever the policy; a requested
/// reboot restarts it; otherwise the domain's `on_poweroff` / `on_reboot` /
/// `on_crash` decide (libvirt's defaults when unset).
pub(super) fn decide(intent: Intent, reason: ExitReason, on: &OnExit) -> LifecycleAction {
    match (intent, reason) {
        (Intent::Destroy | Intent::Shutdown, _) => LifecycleAction::Destroy,
        (Intent::Reboot, _) => LifecycleAction::Restart,
        (Intent::None, ExitReason::Poweroff) => on.poweroff.unwrap_or(LifecycleAction::Destroy),
        (Intent::None, ExitReason::Reboot) => on.reboot.unwrap_or(LifecycleAction::Restart),
        (Intent::None, ExitReason::Crash) => on.crash.unwrap_or(LifecycleAction::Destroy),
    }
}

/// Whether an action starts the domain again.
fn restarts(action: LifecycleAction) -> bool {
    matches!(
        action,
        LifecycleAction::Restart
            | LifecycleAction::RenameRestart
            | LifecycleAction::CoredumpRestart
    )
}

/// The monitor's state besides its I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Policy {
    intent: Intent,
    kill_armed: bool,
    on_exit: OnExit,
}

impl Policy {
    /// The rules for `d` (its `on_*` elements do not change while it runs).
    pub(super) fn for_domain(d: &Domain) -> Policy {
        Policy::new(OnExit::of(d))
    }

    pub(super) fn new(on_exit: OnExit) -> Policy {
        Policy {
            intent: Intent::None,
            kill_armed: false,
            on_exit,
        }
    }

    pub(super) fn on(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::ShutdownRequested { timeout } => {
                self.intent = Intent::Shutdown;
                vec![Action::AskShutdown, Action::HoldRequester(Some(timeout))]
            }
            Event::DestroyRequested => {
                self.intent = Intent::Destroy;
                vec![Action::Kill, Action::HoldRequester(None)]
            }
            Event::RebootRequested => vec![Action::ResetInPlace, Action::AnswerOk],
            Event::ResetFailed => {
                self.intent = Intent::Reboot;
                self.kill_armed = true;
                vec![Action::AskShutdown, Action::ArmKill(REBOOT_GRACE)]
            }
            Event::StopSignal => {
                self.intent = Intent::Shutdown;
                let mut out = vec![Action::AskShutdown];
                // A deadline already armed is not pushed back.
                if !self.kill_armed {
                    self.kill_armed = true;
                    out.push(Action::ArmKill(HOST_STOP_GRACE));
                }
                out
            }
            Event::KillDeadline => {
                self.kill_armed = false;
                vec![Action::Kill]
            }
            Event::Exited(reason) => {
                let action = decide(self.intent, reason, &self.on_exit);
                self.intent = Intent::None;
                self.kill_armed = false;
                let mut out = vec![
                    Action::DisarmKill,
                    Action::ReleaseGuest,
                    Action::Log { reason, action },
                ];
                if restarts(action) {
                    out.push(Action::Restart);
                } else {
                    out.extend([Action::AnswerHeld, Action::Exit(0)]);
                }
                out
            }
            Event::RestartFailed => vec![Action::AnswerHeld, Action::Exit(1)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTENTS: [Intent; 4] = [
        Intent::None,
        Intent::Shutdown,
        Intent::Destroy,
        Intent::Reboot,
    ];

    const REASONS: [ExitReason; 3] = [ExitReason::Poweroff, ExitReason::Reboot, ExitReason::Crash];

    /// Every `on_*` value a domain can hold: unset, or any action.
    fn policies() -> Vec<Option<LifecycleAction>> {
        std::iter::once(None)
            .chain(LifecycleAction::ALL.iter().copied().map(Some))
            .collect()
    }

    /// The expected action, written as a table independent of `decide`.
    fn expected(
        intent: Intent,
        reason: ExitReason,
        on: [Option<LifecycleAction>; 3],
    ) -> LifecycleAction {
        use LifecycleAction::{Destroy, Restart};
        let [poweroff, reboot, crash] = on;
        match intent {
            Intent::Shutdown | Intent::Destroy => Destroy,
            Intent::Reboot => Restart,
            Intent::None => match reason {
                ExitReason::Poweroff => poweroff.unwrap_or(Destroy),
                ExitReason::Reboot => reboot.unwrap_or(Restart),
                ExitReason::Crash => crash.unwrap_or(Destroy),
            },
        }
    }

    /// A policy whose pending intent is `intent`, reached through the
    /// events that set it.
    fn with_intent(on: OnExit, intent: Intent) -> Policy {
        let mut p = Policy::new(on);
        match intent {
            Intent::None => {}
            Intent::Shutdown => {
                p.on(Event::ShutdownRequested {
                    timeout: Duration::from_secs(5),
                });
            }
            Intent::Destroy => {
                p.on(Event::DestroyRequested);
            }
            Intent::Reboot => {
                p.on(Event::RebootRequested);
                p.on(Event::ResetFailed);
            }
        }
        assert_eq!(p.intent, intent);
        p
    }

    #[test]
    fn every_intent_reason_and_on_policy_gives_the_table_action() {
        let mut combinations = 0;
        for intent in INTENTS {
            for reason in REASONS {
                for poweroff in policies() {
                    for reboot in policies() {
                        for crash in policies() {
                            let on = OnExit {
                                poweroff,
                                reboot,
                                crash,
                            };
                            let want = expected(intent, reason, [poweroff, reboot, crash]);
                            assert_eq!(decide(intent, reason, &on), want, "{intent:?} {reason:?}");

                            let actions = with_intent(on, intent).on(Event::Exited(reason));
                            let mut tail = vec![
                                Action::DisarmKill,
                                Action::ReleaseGuest,
                                Action::Log {
                                    reason,
                                    action: want,
                                },
                            ];
                            if restarts(want) {
                                tail.push(Action::Restart);
                            } else {
                                tail.extend([Action::AnswerHeld, Action::Exit(0)]);
                            }
                            assert_eq!(actions, tail, "{intent:?} {reason:?} {on:?}");
                            combinations += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(combinations, 4 * 3 * 7 * 7 * 7);
    }

    #[test]
    fn restart_actions_are_exactly_the_restarting_ones() {
        for action in LifecycleAction::ALL.iter().copied() {
            let want = action.as_str().ends_with("restart");
            assert_eq!(restarts(action), want, "{action}");
        }
    }

    #[test]
    fn an_end_clears_the_intent_so_the_next_one_follows_the_domain() {
        let on = OnExit {
            poweroff: Some(LifecycleAction::Restart),
            ..OnExit::default()
        };
        let mut p = with_intent(on, Intent::Reboot);
        assert!(
            p.on(Event::Exited(ExitReason::Poweroff))
                .contains(&Action::Restart)
        );
        assert_eq!(p.intent, Intent::None);
        assert!(!p.kill_armed);
        assert!(
            p.on(Event::Exited(ExitReason::Poweroff))
                .contains(&Action::Restart)
        );
        let mut p = with_intent(on, Intent::Shutdown);
        assert_eq!(
            p.on(Event::Exited(ExitReason::Poweroff)).last(),
            Some(&Action::Exit(0))
        );
    }

    #[test]
    fn requests_stop_the_guest_and_hold_or_answer_the_requester() {
        let mut p = Policy::new(OnExit::default());
        let timeout = Duration::from_secs(7);
        assert_eq!(
            p.on(Event::ShutdownRequested { timeout }),
            [Action::AskShutdown, Action::HoldRequester(Some(timeout))]
        );
        assert_eq!(
            p.on(Event::DestroyRequested),
            [Action::Kill, Action::HoldRequester(None)]
        );
        assert_eq!(
            p.on(Event::RebootRequested),
            [Action::ResetInPlace, Action::AnswerOk]
        );
        // A reset in place leaves the intent alone.
        assert_eq!(p.intent, Intent::Destroy);
        assert_eq!(
            p.on(Event::ResetFailed),
            [Action::AskShutdown, Action::ArmKill(REBOOT_GRACE)]
        );
        assert_eq!(p.intent, Intent::Reboot);
    }

    #[test]
    fn a_stop_signal_shuts_down_and_arms_the_kill_once() {
        let mut p = Policy::new(OnExit::default());
        assert_eq!(
            p.on(Event::StopSignal),
            [Action::AskShutdown, Action::ArmKill(HOST_STOP_GRACE)]
        );
        // A second signal does not push the deadline back.
        assert_eq!(p.on(Event::StopSignal), [Action::AskShutdown]);
        assert_eq!(p.on(Event::KillDeadline), [Action::Kill]);
        // Once the kill fired, a new signal arms a new deadline.
        assert_eq!(
            p.on(Event::StopSignal),
            [Action::AskShutdown, Action::ArmKill(HOST_STOP_GRACE)]
        );
        assert_eq!(
            p.on(Event::Exited(ExitReason::Crash)).last(),
            Some(&Action::Exit(0))
        );
    }

    #[test]
    fn a_failed_restart_answers_and_exits_with_failure() {
        let mut p = Policy::new(OnExit::default());
        assert_eq!(
            p.on(Event::RestartFailed),
            [Action::AnswerHeld, Action::Exit(1)]
        );
    }
}
