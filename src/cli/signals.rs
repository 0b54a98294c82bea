//! SIGINT and SIGTERM: the first asks the running command to stop at its
//! next safe point (the library polls [`kluis::progress::Progress::interrupted`]
//! there, which the progress bar answers from here); a second one within
//! [`GRACE`] is ignored, so that the cleanup it interrupts is not lost;
//! one after it ends the process at once.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// How long a second signal is ignored while the command stops and cleans up.
pub const GRACE: Duration = Duration::from_secs(10);

/// The first signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Installs the handlers, for the commands that stop cleanly at safe
/// points. Other commands keep the default: a signal ends them at once.
pub fn install() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        return; // then the default stays: the process ends at once
    };
    std::thread::spawn(move || {
        let mut first: Option<Instant> = None;
        for signal in signals.forever() {
            match on_signal(first, Instant::now()) {
                Action::Stop => {
                    first = Some(Instant::now());
                    RECEIVED.store(signal, Ordering::SeqCst);
                    kluis::util::testpoint::wake();
                }
                Action::Ignore => {}
                Action::Exit => {
                    eprintln!(
                        "interrupted again: stopped at once, without finishing the cleanup; the next run on the medium removes what was left (`kluis verify` names it)"
                    );
                    std::process::exit(exit_code(signal).into());
                }
            }
        }
    });
}

/// What a signal does.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    /// The first: stop at the next safe point.
    Stop,
    /// Another within [`GRACE`] of the first: the cleanup goes on.
    Ignore,
    /// Another after it: end at once.
    Exit,
}

/// What a signal arriving at `now` does, the first having come at `first`.
fn on_signal(first: Option<Instant>, now: Instant) -> Action {
    match first {
        None => Action::Stop,
        Some(at) if now.saturating_duration_since(at) < GRACE => Action::Ignore,
        Some(_) => Action::Exit,
    }
}

/// The first signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// 130 for SIGINT, 143 for SIGTERM (128 + the signal's number).
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(130)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_signal_is_ignored_for_the_grace_period_then_ends_kluis() {
        let t = Instant::now();
        assert_eq!(on_signal(None, t), Action::Stop);
        assert_eq!(on_signal(Some(t), t), Action::Ignore);
        assert_eq!(
            on_signal(Some(t), t + GRACE - Duration::from_millis(1)),
            Action::Ignore
        );
        assert_eq!(on_signal(Some(t), t + GRACE), Action::Exit);
        assert_eq!(on_signal(Some(t), t + GRACE * 3), Action::Exit);
    }
}
