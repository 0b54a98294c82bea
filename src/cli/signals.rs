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
            match first {
                None => {
                    first = Some(Instant::now());
                    RECEIVED.store(signal, Ordering::SeqCst);
                    kluis::util::testpoint::wake();
                }
                Some(at) if at.elapsed() < GRACE => {}
                Some(_) => {
                    eprintln!(
                        "interrupted again: stopped at once, without finishing the cleanup; the next run on the medium removes what was left (`kluis verify` names it)"
                    );
                    std::process::exit(exit_code(signal).into());
                }
            }
        }
    });
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
