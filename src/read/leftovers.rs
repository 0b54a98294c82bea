//! The temporary files of a restore: the name each file is written under
//! before its SHA-256 matched (`.NAME.tmp-XXXXXXXX` in its folder), and
//! the ones a restore killed outright left behind, which the next restore
//! into that folder removes (only kluis's own naming, for records it
//! writes there).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::progress::Progress;
use crate::vault::media::{is_own_temp_name, temp_name};

/// The temporary name a file is restored under, in its folder: kluis's
/// own `.NAME.tmp-XXXXXXXX`, NAME from [`temp_base`].
pub(super) fn restore_temp(dest: &Path) -> PathBuf {
    dest.with_file_name(temp_name(&temp_base(dest)))
}

/// The NAME in the temporary name of `dest`: its own name, or a fixed one
/// when that is long or not UTF-8 (which leaves room in the 255-byte
/// limit).
fn temp_base(dest: &Path) -> String {
    dest.file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.len() <= 200)
        .unwrap_or("kluis-restore")
        .to_owned()
}

/// Temporary files that a restore killed outright (`kill -9`, a power
/// cut: it had no chance to remove them) left in the folders this restore
/// writes into. Only kluis's own naming for a record this restore writes
/// in that folder (`.NAME.tmp-XXXXXXXX`, see [`restore_temp`]), and only
/// regular files in real folders (not reached through a symlink): nothing
/// else is ever removed.
#[derive(Default)]
pub(crate) struct StaleTemps {
    /// Folders looked into, and the last one.
    seen: HashSet<PathBuf>,
    last: PathBuf,
    /// Leftovers found, by the record they were for (`folder/NAME`).
    found: HashMap<PathBuf, Vec<PathBuf>>,
    /// Those of records this restore writes.
    claimed: Vec<PathBuf>,
    removed: Vec<String>,
}

impl StaleTemps {
    /// Notes a file record restored to `dest`: looks into its folder the
    /// first time, and claims the leftovers of its name there.
    pub(crate) fn record(&mut self, dest: &Path) {
        let Some(folder) = dest.parent() else {
            return;
        };
        if folder != self.last {
            self.last = folder.to_path_buf();
            if self.seen.insert(folder.to_path_buf()) {
                self.look(folder);
            }
        }
        if !self.found.is_empty()
            && let Some(temps) = self.found.remove(&dest.with_file_name(temp_base(dest)))
        {
            self.claimed.extend(temps);
        }
    }

    fn look(&mut self, folder: &Path) {
        // The restore folder is canonical: a path below it canonicalises
        // to itself unless a symlink is on the way.
        if folder.canonicalize().ok().as_deref() != Some(folder) {
            return;
        }
        let Ok(list) = fs::read_dir(folder) else {
            return;
        };
        for e in list.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str().filter(|n| is_own_temp_name(n)) else {
                continue;
            };
            if !e.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            // `.` NAME `.tmp-` 8 hex digits.
            let base = &name[1..name.len() - ".tmp-".len() - 8];
            self.found
                .entry(folder.join(base))
                .or_default()
                .push(e.path());
        }
    }

    /// Removes the leftovers claimed so far.
    pub(crate) fn remove(&mut self) {
        for path in self.claimed.drain(..) {
            if fs::remove_file(&path).is_ok() {
                self.removed.push(path.display().to_string());
            }
        }
    }

    /// Says in one note which were removed, if any.
    pub(crate) fn note(&self, progress: &dyn Progress) {
        if !self.removed.is_empty() {
            progress.note(&format!(
                "removed {} temporary file{} left by an interrupted restore ({})",
                self.removed.len(),
                if self.removed.len() == 1 { "" } else { "s" },
                self.removed.join(", ")
            ));
        }
    }
}
