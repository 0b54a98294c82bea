//! Generator plumbing for the sample data: a splitmix64 random generator with
//! one stream per purpose, the calendar of one year, and the tree writer that
//! creates files with fixed modes and mtimes and counts what it wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

/// What `generate_records` created below the target directory (the directory itself not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleSummary {
    /// Regular files.
    pub files: u64,
    /// Directories, including the empty one.
    pub dirs: u64,
    /// Symbolic links (one on unix, none elsewhere).
    pub symlinks: u64,
    /// Sum of regular file sizes.
    pub bytes: u64,
}

/// splitmix64; one independent stream per purpose so adding records to one kind
/// does not shift every other kind.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64, stream: &str) -> Rng {
        let mut h = 0xCBF2_9CE4_8422_2325u64; // FNV-1a of the stream name
        for b in stream.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
        }
        let mut r = Rng(seed ^ h.rotate_left(29));
        r.next_u64();
        r
    }
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    pub(super) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    pub(super) fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

pub(super) struct Year {
    pub(super) y: i32,
    pub(super) start: NaiveDate,
    pub(super) days: u32,
}

impl Year {
    pub(super) fn new(y: i32) -> io::Result<Year> {
        if !(1000..=9999).contains(&y) {
            return Err(invalid("year must be in 1000..=9999"));
        }
        let start = NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(y + 1, 1, 1).unwrap();
        let days = (end - start).num_days() as u32;
        Ok(Year { y, start, days })
    }
    pub(super) fn last(&self) -> u32 {
        self.days - 1
    }
    /// Day `day` (0-based, clamped to the year).
    pub(super) fn date(&self, day: u32) -> NaiveDate {
        self.start + TimeDelta::days(day.min(self.last()) as i64)
    }
    pub(super) fn at(&self, day: u32, secs: u32) -> NaiveDateTime {
        self.date(day).and_hms_opt(0, 0, 0).unwrap() + TimeDelta::seconds(secs.min(86_399) as i64)
    }
    pub(super) fn rand_day(&self, rng: &mut Rng) -> u32 {
        rng.below(self.days as u64) as u32
    }
    /// A random moment between 08:00 and 18:00 on `day`.
    pub(super) fn office(&self, rng: &mut Rng, day: u32) -> NaiveDateTime {
        self.at(day, 8 * 3600 + rng.below(10 * 3600) as u32)
    }
}

pub(super) fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

pub(super) fn prepare_empty_dir(dir: &Path) -> io::Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} is not empty", dir.display()),
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(dir),
        Err(e) => Err(e),
    }
}

pub(super) fn systime(t: NaiveDateTime) -> SystemTime {
    SystemTime::from(t.and_utc())
}

fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(p, _)| p)
}

/// Writes entries below `root` (relative paths with `/`) and fixes directory mtimes at the end.
pub(super) struct Tree {
    root: PathBuf,
    dirs: BTreeSet<String>,
    fixed: BTreeMap<String, NaiveDateTime>,
    newest_child: BTreeMap<String, NaiveDateTime>,
    sum: SampleSummary,
}

impl Tree {
    pub(super) fn new(root: &Path) -> Tree {
        Tree {
            root: root.to_path_buf(),
            dirs: BTreeSet::new(),
            fixed: BTreeMap::new(),
            newest_child: BTreeMap::new(),
            sum: SampleSummary::default(),
        }
    }

    fn ensure_dir(&mut self, rel: &str) -> io::Result<()> {
        if rel.is_empty() || self.dirs.contains(rel) {
            return Ok(());
        }
        self.ensure_dir(parent_of(rel))?;
        fs::create_dir(self.root.join(rel))?;
        self.dirs.insert(rel.to_string());
        self.sum.dirs += 1;
        Ok(())
    }

    fn note_child(&mut self, rel: &str, when: NaiveDateTime) {
        let e = self
            .newest_child
            .entry(parent_of(rel).to_string())
            .or_insert(when);
        *e = (*e).max(when);
    }

    pub(super) fn put(
        &mut self,
        rel: &str,
        data: &[u8],
        when: NaiveDateTime,
        mode: u32,
    ) -> io::Result<()> {
        self.ensure_dir(parent_of(rel))?;
        let mut f = File::create_new(self.root.join(rel))?;
        f.write_all(data)?;
        f.set_modified(systime(when))?;
        set_mode(&f, mode)?;
        self.note_child(rel, when);
        self.sum.files += 1;
        self.sum.bytes += data.len() as u64;
        Ok(())
    }

    /// An (empty) directory with an explicit mtime.
    pub(super) fn mkdir(&mut self, rel: &str, when: NaiveDateTime) -> io::Result<()> {
        self.ensure_dir(rel)?;
        self.fixed.insert(rel.to_string(), when);
        self.note_child(rel, when);
        Ok(())
    }

    /// A symlink; its own mtime is left alone, `when` only counts for the parent directory.
    pub(super) fn symlink(
        &mut self,
        rel: &str,
        target: &str,
        when: NaiveDateTime,
    ) -> io::Result<()> {
        self.ensure_dir(parent_of(rel))?;
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(target, self.root.join(rel))?;
            self.note_child(rel, when);
            self.sum.symlinks += 1;
        }
        #[cfg(not(unix))]
        let _ = (target, when);
        Ok(())
    }

    /// Directory modes and mtimes, deepest first; a directory gets its newest child's time.
    pub(super) fn finish(mut self, yr: &Year) -> io::Result<SampleSummary> {
        let mut order: Vec<String> = self.dirs.iter().cloned().collect();
        order.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
        let fallback = yr.at(0, 9 * 3600);
        for d in order {
            let when = self
                .fixed
                .get(&d)
                .or_else(|| self.newest_child.get(&d))
                .copied()
                .unwrap_or(fallback);
            self.note_child(&d, when);
            let path = self.root.join(&d);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
            }
            File::open(&path)?.set_modified(systime(when))?;
        }
        let when = self.newest_child.get("").copied().unwrap_or(fallback);
        File::open(&self.root)?.set_modified(systime(when))?;
        Ok(self.sum)
    }
}

fn set_mode(f: &File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (f, mode);
        Ok(())
    }
}
