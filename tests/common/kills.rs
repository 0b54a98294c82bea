//! Killing the binary (SIGKILL) at moments spread from its start-up to past
//! its end, or at one of its pause points, and judging what it left: only
//! the names kluis writes, archives that verify on their own, leftovers
//! that `verify` names.
//!
//! `KLUIS_RELIABILITY_DEBUG=1` makes the tests print every kill.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::path::Path;
use std::time::Duration;

use super::{
    Cmd, Ended, Env, INDEX, Key, README, SUMS, catalogued, names, parse_json, parse_sums,
    remove_temps, temp_names,
};

/// Where a kill is aimed.
#[derive(Clone, Copy, Debug)]
pub enum Kill {
    /// This long after the process started.
    After(Duration),
    /// At one of the binary's pause points (`KLUIS_TEST_PAUSE_AT`).
    AtPause(&'static str),
    /// This fraction of an uninterrupted run (resolved by [`Schedule`]).
    Fraction(f64),
}

/// When to kill: a few fixed early moments (start-up, the vault and
/// medium checks), then fractions of the time an uninterrupted run takes,
/// from `from` to 25% past it. The machine's speed varies (other builds
/// share it), so the run time is re-estimated from every run that finished
/// before its kill, and kills are added until `want` of them landed and at
/// least one came only after the end.
pub struct Schedule {
    queue: VecDeque<Kill>,
    estimate: Duration,
    want: usize,
    cap: usize,
    tried: usize,
    landed: usize,
    finished_first: usize,
}

impl Schedule {
    pub fn new(early_ms: &[f64], from: f64, n: usize, estimate: Duration, want: usize) -> Schedule {
        let mut queue: VecDeque<Kill> = early_ms
            .iter()
            .map(|&ms| Kill::After(Duration::from_secs_f64(ms / 1000.0)))
            .collect();
        for k in 0..n {
            let f = from + (1.25 - from) * k as f64 / (n - 1) as f64;
            queue.push_back(Kill::Fraction(f));
        }
        Schedule {
            queue,
            estimate,
            want,
            cap: want * 2,
            tried: 0,
            landed: 0,
            finished_first: 0,
        }
    }

    pub fn next(&mut self) -> Option<Kill> {
        if self.queue.is_empty() && self.tried < self.cap {
            if self.landed < self.want {
                self.queue.extend([0.4, 0.6, 0.8, 0.9].map(Kill::Fraction));
            } else if self.finished_first == 0 {
                self.queue.extend([1.5, 2.5].map(Kill::Fraction));
            }
        }
        let kill = self.queue.pop_front()?;
        Some(match kill {
            Kill::Fraction(f) => Kill::After(self.estimate.mul_f64(f)),
            k => k,
        })
    }

    pub fn record(&mut self, ended: &Ended) {
        self.tried += 1;
        if ended.killed {
            self.landed += 1;
        } else {
            self.finished_first += 1;
            self.estimate = (self.estimate + ended.ran_for) / 2;
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "{}/{} timed kills landed before exit ({} came after the end)",
            self.landed, self.tried, self.finished_first
        )
    }

    #[track_caller]
    pub fn assert_enough(&self) {
        assert!(
            self.landed >= self.want.min(20) && self.finished_first >= 1,
            "{}",
            self.summary()
        );
    }
}

impl Env {
    /// Runs `cmd`, killed as `kill` says (a pause point is marked by the
    /// file `paused` in the test folder). The run must either be killed or
    /// succeed.
    #[track_caller]
    pub fn run_killed(&self, cmd: Cmd, kill: Kill) -> Ended {
        let ended = match kill {
            Kill::After(d) => cmd.spawn().kill_after(d),
            Kill::Fraction(_) => unreachable!("resolved by the schedule"),
            Kill::AtPause(point) => cmd.spawn_paused(point, &self.p("paused"), 60).kill(),
        };
        assert!(
            ended.killed || ended.code == Some(0),
            "kill {kill:?}: kluis failed on its own{ended}"
        );
        ended
    }

    /// `kluis verify -i KEY FILE` on a hard link of the archive in a folder
    /// of its own and without a vault: the archive alone must be complete.
    #[track_caller]
    pub fn full_verify_alone(&self, key: &Key, archive: &Path) {
        let dir = self.p("alone");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        let link = dir.join(archive.file_name().unwrap());
        fs::hard_link(archive, &link).unwrap();
        let run = self
            .kluis()
            .vault(&self.p("no-vault"))
            .verify(key, &link)
            .run();
        assert_eq!(
            run.code,
            Some(0),
            "{} is on the medium under an archive's name but does not verify fully{run}",
            archive.display()
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The vault may hold its own files and kluis's temporary files.
    #[track_caller]
    pub fn vault_names_ok(&self) {
        // `subjects/`: the keyed hashes of archives' identifiers, written
        // before the catalog records the archive (docs/SUBJECTS.md).
        only_known_names(
            &self.vault(),
            &["config.toml", "catalog.json", "lock", "subjects"],
        );
    }

    /// `verify MEDIUM` (no key) names every leftover and exits 1 while
    /// there are any; with them deleted, it exits `after`. Returns how many
    /// there were.
    #[track_caller]
    pub fn verify_names_leftovers(&self, medium: &Path, after: i32) -> usize {
        let leftovers = temp_names(medium);
        let run = self.verify_without_key(medium).run();
        if leftovers.is_empty() {
            run.code(after);
            return 0;
        }
        run.code(1);
        for l in &leftovers {
            run.stdout_has(l);
        }
        let n = remove_temps(medium);
        self.verify_without_key(medium).run().code(after);
        n
    }
}

/// The names a kluis folder may hold after a kill: `allowed`, plus
/// kluis's temporary files.
#[track_caller]
pub fn only_known_names(dir: &Path, allowed: &[&str]) {
    for n in names(dir) {
        // The organisation's signatures (issue 12) and its vault key.
        let signed = n == "SHA256SUMS.minisig"
            || n == "signing.key"
            || n.ends_with(".destroyed.json")
            || n.ends_with(".destroyed.json.minisig")
            // Parity files beside an archive (issue 11).
            || n.ends_with(".par2");
        let temp = signed || n.starts_with('.') && n.contains(".tmp-");
        assert!(
            temp || allowed.contains(&n.as_str()),
            "{}: unexpected file {n:?} after a kill",
            dir.display()
        );
    }
}

/// Whether `KLUIS_RELIABILITY_DEBUG` asks for every kill to be printed.
pub fn debug_kills() -> bool {
    std::env::var_os("KLUIS_RELIABILITY_DEBUG").is_some()
}

/// The small files a medium-writing command (`archive`, `destroy`)
/// rewrites after its big work, in the order it rewrites them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rewrite {
    /// The medium's `kluis-medium.json`.
    Index,
    /// The medium's `SHA256SUMS`.
    Sums,
    /// The medium's `README.txt`.
    Readme,
    /// The vault's `catalog.json`.
    Catalog,
}

/// Those files as a killed run left them, each parsed, next to their
/// versions before the run.
pub struct Rewritten {
    pub index: serde_json::Value,
    pub old_index: serde_json::Value,
    pub sums: Vec<(String, String)>,
    pub old_sums: Vec<(String, String)>,
    pub readme: String,
    pub catalog: BTreeMap<String, serde_json::Value>,
    pub old_catalog: BTreeMap<String, serde_json::Value>,
    /// The last of them that is new (none: all are as before).
    pub last: Option<Rewrite>,
}

impl Rewritten {
    /// Whether `file` is the new version.
    pub fn changed(&self, file: Rewrite) -> bool {
        self.last.is_some_and(|last| last >= file)
    }
}

impl Env {
    /// Reads what a killed run left on medium `m` (whose files were
    /// `before`) and in the vault (whose catalog was `cat_before`), and
    /// checks that every file parses and that they were rewritten in their
    /// order: none is new unless the one before it is.
    #[track_caller]
    pub fn rewritten(
        &self,
        m: &Path,
        before: &BTreeMap<String, Vec<u8>>,
        cat_before: &[u8],
    ) -> Rewritten {
        let read = |name: &str| fs::read(m.join(name)).unwrap();
        let new = [
            (Rewrite::Index, read(INDEX) != before[INDEX]),
            (Rewrite::Sums, read(SUMS) != before[SUMS]),
            (Rewrite::Readme, read(README) != before[README]),
            (Rewrite::Catalog, self.catalog_bytes() != cat_before),
        ];
        for pair in new.windows(2) {
            assert!(
                pair[0].1 || !pair[1].1,
                "{:?} changed before {:?}",
                pair[1].0,
                pair[0].0
            );
        }
        let catalog_then: serde_json::Value = serde_json::from_slice(cat_before).unwrap();
        Rewritten {
            index: parse_json(&m.join(INDEX)),
            old_index: serde_json::from_slice(&before[INDEX]).unwrap(),
            sums: parse_sums(&read(SUMS)),
            old_sums: parse_sums(&before[SUMS]),
            readme: String::from_utf8_lossy(&read(README)).into_owned(),
            catalog: catalogued(&self.catalog()),
            old_catalog: catalogued(&catalog_then),
            last: new.iter().rev().find(|(_, n)| *n).map(|(f, _)| *f),
        }
    }
}
