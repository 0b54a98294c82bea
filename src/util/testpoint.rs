//! Test-only pause points: named places in long operations where a test can
//! make kluis stop (and be killed, interrupted or have its sources changed
//! under it). A leaf module that every layer may use; it does nothing unless
//! `KLUIS_TEST_PAUSE_AT` names the point.

use std::fs;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The environment variable naming a test pause point; see [`pause_point`].
pub const PAUSE_ENV: &str = "KLUIS_TEST_PAUSE_AT";
/// The file created when the pause point is reached.
pub const PAUSE_MARKER_ENV: &str = "KLUIS_TEST_PAUSE_MARKER";
/// How long to pause, in seconds (default 60).
pub const PAUSE_SECS_ENV: &str = "KLUIS_TEST_PAUSE_SECS";

/// The pause point named in the environment, read once.
fn armed() -> Option<&'static str> {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED
        .get_or_init(|| std::env::var(PAUSE_ENV).ok())
        .as_deref()
}

/// A pause point stops the process once at most.
static FIRED: AtomicBool = AtomicBool::new(false);

/// Set by [`wake`].
static WOKEN: AtomicBool = AtomicBool::new(false);

/// Ends a pause early: the CLI calls it once it has taken note of a
/// SIGINT or SIGTERM, so that a test that sent one sees kluis go on to its
/// next safe point knowing it (nothing else reads this).
pub fn wake() {
    WOKEN.store(true, Ordering::SeqCst);
}

/// A test-only hook: when `KLUIS_TEST_PAUSE_AT` equals `point`, kluis
/// creates the file `KLUIS_TEST_PAUSE_MARKER` names (if set) and sleeps
/// (`KLUIS_TEST_PAUSE_SECS`, default a minute), so that a test can kill it
/// exactly there and check what a crash at that point leaves, or change a
/// source while it waits. The test ends the pause early by removing the
/// marker file, or by sending SIGINT or SIGTERM (see [`wake`]). A process
/// pauses once at most. The points are listed in
/// docs/TABLES.md.
pub fn pause_point(point: &str) {
    if armed() == Some(point) {
        pause(point);
    }
}

/// [`pause_point`] at the `n`th time through a loop: `KLUIS_TEST_PAUSE_AT`
/// is `POINT-N` (`archive-record-7`, `restore-record-3`), counting from 1.
pub fn pause_point_n(point: &str, n: u64) {
    let Some(armed) = armed() else {
        return;
    };
    let hit = armed
        .strip_prefix(point)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.parse::<u64>().ok())
        == Some(n);
    if hit {
        pause(armed);
    }
}

fn pause(point: &str) {
    if FIRED.swap(true, Ordering::SeqCst) {
        return;
    }
    let marker = std::env::var_os(PAUSE_MARKER_ENV);
    if let Some(marker) = &marker {
        let _ = fs::write(marker, point);
    }
    let secs = std::env::var(PAUSE_SECS_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if WOKEN.load(Ordering::SeqCst) || marker.as_ref().is_some_and(|m| fs::metadata(m).is_err())
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
