//! Media: labelled folders (a mounted stick or disk) holding archives, a
//! `README.txt`, a `SHA256SUMS` and a cleartext index. Owns atomic writes
//! and fsync of a medium's files; a copy written and read back from the
//! medium is [`super::readback`]'s.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{hex, sha256sum_line, unhex};
use crate::keys::signing::{SigningKey, comment_value};
use crate::progress::Progress;

pub const INDEX_FILE: &str = "kluis-medium.json";
pub const SUMS_FILE: &str = "SHA256SUMS";
pub const README_FILE: &str = "README.txt";
/// The detached minisign signature of `SHA256SUMS`.
pub const SUMS_SIGNATURE_FILE: &str = "SHA256SUMS.minisig";
pub const ARCHIVE_EXTENSION: &str = ".kluis";
const LOCK_FILE: &str = ".kluis.lock";

/// Holds an advisory lock (a medium's, the vault's) until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Takes an exclusive advisory lock (`flock`) on `dir/name`, without
/// waiting.
///
/// # Errors
/// [`Error::Locked`] naming `dir` when another kluis process holds it.
pub fn lock_folder(dir: &Path, name: &str) -> Result<Lock> {
    let path = dir.join(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .at(&path)?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Lock { _file: file }),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(Error::Locked { path: dir.into() }),
        Err(e) => Err(Error::io(path, e.into())),
    }
}

/// One archive as the medium index lists it: nothing personal, no record
/// names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedArchive {
    pub archive_id: String,
    pub file: String,
    pub fiscal_year: i32,
    pub class: String,
    pub supplement: u32,
    pub retention_end: NaiveDate,
    pub size: u64,
    pub sha256: String,
    pub created: DateTime<Utc>,
    /// The archive's PAR2 parity files beside it (absent: none, or an index
    /// written before parity existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parity: Vec<IndexedFile>,
}

/// A file kept beside an archive (its parity), as `SHA256SUMS` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedFile {
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

/// `kluis-medium.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MediumIndex {
    pub format: String,
    pub version: u32,
    pub label: String,
    #[serde(default)]
    pub archives: Vec<IndexedArchive>,
    /// Proofs of destruction of archives that were on this medium.
    #[serde(default)]
    pub destroyed: Vec<crate::vault::catalog::Destruction>,
}

/// An open medium folder.
#[derive(Debug)]
pub struct Medium {
    pub dir: PathBuf,
    pub index: MediumIndex,
    /// When set, [`Medium::save`] signs `SHA256SUMS` and names the key in
    /// `README.txt`; see [`Medium::signed_by`].
    pub signing: Option<std::sync::Arc<SigningKey>>,
}

impl Medium {
    /// Opens a medium folder, reading its index when it has one. A folder
    /// without an index is a new medium labelled `label` (default: the
    /// folder's name).
    pub fn open(dir: &Path, label: Option<&str>) -> Result<Self> {
        let meta = fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
        if !meta.is_dir() {
            return Err(Error::io(
                dir,
                io::Error::new(io::ErrorKind::NotADirectory, "not a folder"),
            ));
        }
        let path = dir.join(INDEX_FILE);
        let index = match fs::read(&path) {
            Ok(bytes) => parse_index(&bytes).map_err(|detail| Error::BadConfig {
                path: path.clone(),
                detail,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let name = dir
                    .canonicalize()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
                MediumIndex {
                    format: "kluis-medium".into(),
                    version: 1,
                    label: label
                        .map(str::to_owned)
                        .or(name)
                        .unwrap_or_else(|| "medium".into()),
                    archives: Vec::new(),
                    destroyed: Vec::new(),
                }
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        Ok(Medium {
            dir: dir.into(),
            index,
            signing: None,
        })
    }

    /// Signs what [`Medium::save`] writes with the organisation's key.
    pub fn signed_by(mut self, key: Option<std::sync::Arc<SigningKey>>) -> Self {
        self.signing = key;
        self
    }

    /// Takes the medium's advisory lock (a hidden `.kluis.lock` file), so
    /// that two kluis processes never write the same medium at once.
    pub fn lock(&self) -> Result<Lock> {
        lock_folder(&self.dir, LOCK_FILE)
    }

    pub fn label(&self) -> &str {
        &self.index.label
    }

    pub fn find(&self, file: &str) -> Option<&IndexedArchive> {
        self.index.archives.iter().find(|a| a.file == file)
    }

    /// Whether a file of that name, indexed or not, is on the medium.
    pub fn holds(&self, file: &str) -> bool {
        self.find(file).is_some() || self.dir.join(file).symlink_metadata().is_ok()
    }

    /// Creates the hidden temporary file an archive is written to.
    pub fn create_temp(&self, final_name: &str) -> Result<(PathBuf, File)> {
        let path = self.dir.join(temp_name(final_name));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .at(&path)?;
        Ok((path, file))
    }

    /// Renames a verified temporary file into place (never replacing a file)
    /// and syncs the folder.
    pub fn install(&self, temp: &Path, final_name: &str) -> Result<PathBuf> {
        let target = self.dir.join(final_name);
        let cwd = rustix::fs::CWD;
        rustix::fs::renameat_with(cwd, temp, cwd, &target, rustix::fs::RenameFlags::NOREPLACE)
            .map_err(|e| {
                if e == rustix::io::Errno::EXIST {
                    Error::AlreadyOnMedium {
                        medium: self.dir.clone(),
                        file: final_name.into(),
                    }
                } else {
                    Error::io(&target, e.into())
                }
            })?;
        sync_dir(&self.dir)?;
        Ok(target)
    }

    /// Adds an archive to the index and rewrites the index, `SHA256SUMS`
    /// and `README.txt`, each atomically.
    pub fn add(&mut self, entry: IndexedArchive) -> Result<()> {
        self.index.archives.retain(|a| a.file != entry.file);
        self.index.archives.push(entry);
        self.index.archives.sort_by(|a, b| a.file.cmp(&b.file));
        self.save()
    }

    /// Writes the index, then `SHA256SUMS` derived from it, then the README.
    pub fn save(&self) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(&self.index).expect("index serialises");
        json.push(b'\n');
        atomic_write(&self.dir.join(INDEX_FILE), &json)?;
        let mut sums = Vec::new();
        for a in &self.index.archives {
            let listed = std::iter::once((&a.sha256, &a.file))
                .chain(a.parity.iter().map(|p| (&p.sha256, &p.file)));
            for (sha256, file) in listed {
                let hash: [u8; 32] = unhex(sha256)
                    .and_then(|v| v.try_into().ok())
                    .unwrap_or([0; 32]);
                sums.extend(sha256sum_line(&hash, file.as_bytes()));
            }
        }
        let sums_path = self.dir.join(SUMS_FILE);
        let sig_path = self.dir.join(SUMS_SIGNATURE_FILE);
        // The old signature goes before the list changes, so that a crash
        // in between leaves an unsigned list, never a wrongly signed one.
        if !fs::read(&sums_path).is_ok_and(|old| old == sums) {
            match fs::remove_file(&sig_path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(Error::io(sig_path, e));
                }
                _ => sync_dir(&self.dir)?,
            }
        }
        atomic_write(&sums_path, &sums)?;
        if let Some(key) = &self.signing {
            let comment = format!(
                "timestamp:{}\tfile:{SUMS_FILE}\tmedium:{}",
                Utc::now().timestamp(),
                comment_value(&self.index.label)
            );
            let signature = key.sign(&sums, &comment);
            atomic_write(&sig_path, signature.to_text().as_bytes())?;
        }
        atomic_write(&self.dir.join(README_FILE), readme(self).as_bytes())
    }

    /// The names in the folder that `keep` accepts, sorted.
    fn names(&self, keep: impl Fn(&str) -> bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).at(&self.dir)? {
            let name = entry
                .at(&self.dir)?
                .file_name()
                .to_string_lossy()
                .into_owned();
            if keep(&name) {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Leftovers of interrupted runs: hidden `*.tmp-*` files.
    pub fn leftovers(&self) -> Result<Vec<String>> {
        self.names(is_temp_name)
    }

    /// Removes the leftovers of interrupted runs that are of kluis's own
    /// naming (`.NAME.tmp-XXXXXXXX`, regular files only; see
    /// [`is_own_temp_name`]) and returns their names. Call it only while
    /// holding the medium's lock ([`Medium::lock`]): the lock proves that no
    /// other kluis process is writing one of them right now.
    pub fn clean_leftovers(&self, _lock: &Lock) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for name in self.leftovers()? {
            if !is_own_temp_name(&name) {
                continue;
            }
            let path = self.dir.join(&name);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_file() => {}
                _ => continue,
            }
            match fs::remove_file(&path) {
                Ok(()) => removed.push(name),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        if !removed.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }

    /// Archive files (`*.kluis`) present in the folder.
    pub fn archive_files(&self) -> Result<Vec<String>> {
        self.names(|name| name.ends_with(ARCHIVE_EXTENSION) && !name.starts_with('.'))
    }

    /// Bytes available to this user on the medium's filesystem.
    pub fn free_space(&self) -> Option<u64> {
        let s = rustix::fs::statvfs(&self.dir).ok()?;
        Some(s.f_bavail.saturating_mul(s.f_frsize))
    }

    /// Parses the medium's `SHA256SUMS` into (file, hash) pairs; missing file
    /// gives an empty list.
    pub fn read_sums(&self) -> Result<Vec<(String, String)>> {
        let path = self.dir.join(SUMS_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&path, e)),
        };
        Ok(text
            .lines()
            .filter_map(|l| {
                l.split_once("  ")
                    .map(|(h, f)| (f.to_owned(), h.to_ascii_lowercase()))
            })
            .collect())
    }
}

fn parse_index(bytes: &[u8]) -> std::result::Result<MediumIndex, String> {
    let index: MediumIndex =
        serde_json::from_slice(bytes).map_err(|e| format!("not a valid medium index: {e}"))?;
    if index.format != "kluis-medium" || index.version != 1 {
        return Err(format!(
            "unsupported medium index (format {:?}, version {})",
            index.format, index.version
        ));
    }
    Ok(index)
}

/// The folder a file is in (`.` for a bare name) and the file's name: a
/// command given one archive works on it in its medium folder.
pub fn folder_and_name(path: &Path) -> (PathBuf, String) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

/// `.NAME.tmp-XXXXXXXX`: hidden, and never ending in `.kluis`.
pub fn temp_name(final_name: &str) -> String {
    let mut rnd = [0u8; 4];
    getrandom::fill(&mut rnd).expect("random source");
    format!(".{final_name}.tmp-{}", hex(&rnd))
}

pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Exactly what [`temp_name`] makes: `.` + a name + `.tmp-` + 8 lowercase
/// hex digits. Only such files are ever removed as leftovers.
pub fn is_own_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((base, random)) = rest.rsplit_once(".tmp-") else {
        return false;
    };
    !base.is_empty()
        && !base.contains('/')
        && random.len() == 8
        && random
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Writes a file so that it is either the old or the new version after a
/// crash at any point: temporary file, fsync, rename, fsync of the folder.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write_with(path, &mut |f| f.write_all(bytes))
}

/// [`atomic_write`] of what `write` writes (through a buffer), for content
/// made as it is written.
pub fn atomic_write_with(
    path: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(temp_name(&name));
    let result = (|| {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .at(&temp)?;
        let mut out = std::io::BufWriter::with_capacity(64 << 10, f);
        write(&mut out).at(&temp)?;
        let f = out
            .into_inner()
            .map_err(|e| Error::io(&temp, e.into_error()))?;
        f.sync_all().at(&temp)?;
        fs::rename(&temp, path).at(path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

fn archive_list(medium: &Medium) -> String {
    let mut s = String::new();
    for a in &medium.index.archives {
        s.push_str(&format!(
            "  {:<28} fiscal year {}, class {}, keep until {}, {} bytes\n",
            a.file, a.fiscal_year, a.class, a.retention_end, a.size
        ));
    }
    if s.is_empty() {
        s.push_str("  (none)\n");
    }
    s
}

/// The README's part on checking the signature, when the medium is signed.
fn signature_section(medium: &Medium) -> String {
    let Some(key) = &medium.signing else {
        return String::new();
    };
    let public = key.public();
    format!(
        r#"
Authenticity: SHA256SUMS is signed by the organisation (SHA256SUMS.minisig,
minisign format). Its public key (key id {id}) is:

  {b64}

Compare it with the one the organisation gave you (a file, a letter, its
website): anyone can write a README. Then, in this folder, either of

  minisign -Vm SHA256SUMS -P {b64}
  signify -V -p org.pub -x SHA256SUMS.minisig -m SHA256SUMS

(signify, called signify-openbsd on Debian, needs the key as a file org.pub
holding these two lines:
  untrusted comment: minisign public key {id}
  {b64}
). Each archive holds signatures of its own lists too (kluis/*.minisig,
checked the same way after step 2 below).
"#,
        id = public.id(),
        b64 = public.to_base64()
    )
}

fn readme(medium: &Medium) -> String {
    format!(
        r#"KLUIS ARCHIVE MEDIUM "{label}"
==============================

This folder holds encrypted yearly archives of business records, written by
kluis. Each *.kluis file is one fiscal year of one record class. They are
kept because the law requires it (e.g. 7 years for the Dutch tax authority),
and should be destroyed after the date given below.

Archives on this medium:
{list}
Everything can be checked and recovered with standard tools, without kluis:
`sha256sum` (GNU coreutils), `age` (https://age-encryption.org), `zstd` and
GNU `tar`. The key (an age identity file, "AGE-SECRET-KEY-1...") or the
passphrase is NOT on this medium; the organisation keeps it.

1. Check that the files are intact (no key needed), in this folder:

     sha256sum -c SHA256SUMS
{signature}
2. Recover everything from one archive into a new, empty folder:

     mkdir restore && cd restore
     age -d -i /path/to/key.txt ../2019-financial.kluis | zstd -d | tar -x

   (with a passphrase: age -d ../2019-financial.kluis | zstd -d | tar -x)

   Where tar is busybox (Alpine, many NAS boxes, rescue systems):

     age -d -i /path/to/key.txt ../2019-financial.kluis | zstd -d | EXTRACT_UNSAFE_SYMLINKS=1 busybox tar -x

   bsdtar (macOS, the BSDs) reads it the same way: ... | zstd -d | bsdtar -x
   (in a UTF-8 locale it writes names with decomposed accents, NFD, composed)

   Harmless messages: for names that are not UTF-8, GNU tar (1.34, for one)
   prints, once per name (the names still come out exactly):

     tar: Ignoring unknown extended header keyword 'hdrcharset'

   and for times before 1970 "implausibly old time stamp" (the time is still
   set). Some busybox builds print "skipping unsafe symlink" and leave out
   the symlinks that point upwards (..) unless EXTRACT_UNSAFE_SYMLINKS=1 is
   set as above. busybox keeps times to the whole second (times before 1970
   become 1970-01-01) and sets no folder or symlink times; GNU tar and bsdtar
   keep them all.

3. Check every recovered record against the archive's own list:

     sha256sum -c kluis/SHA256SUMS

4. Repair damage (no key needed) with an archive's parity files, when
   FILE.par2 and FILE.vol*.par2 are beside it (par2cmdline, Debian package
   par2; or `kluis repair FILE`):

     par2 verify 2019-financial.kluis.par2
     par2 repair 2019-financial.kluis.par2

The records are in records/ (and tables/); kluis/metadata.json says which
organisation, fiscal year and class the archive is and until when it must be
kept; kluis/manifest.jsonl lists every record with its size, date and hash.
kluis-medium.json is the same list as above in machine-readable form.
The format is specified in docs/FORMAT.md of the kluis source code.
"#,
        label = medium.index.label,
        list = archive_list(medium),
        signature = signature_section(medium)
    )
}

/// Overwrites `path` once with random data (as `kluis destroy` and
/// `kluis rekey` do to a ciphertext they remove), fsyncs, truncates, fsyncs,
/// unlinks it and fsyncs `dir`. Never follows a symlink.
pub fn wipe(path: &Path, dir: &Path, progress: &dyn Progress) -> Result<()> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io(path, e.into()))?;
    let mut file = File::from(fd);
    let len = file.metadata().at(path)?.len();
    progress.phase("overwriting", len);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(1 << 20) as usize;
        getrandom::fill(&mut buf[..n])
            .map_err(|e| Error::io(path, io::Error::other(e.to_string())))?;
        file.write_all(&buf[..n]).at(path)?;
        left -= n as u64;
        progress.advance(n as u64);
    }
    file.sync_all().at(path)?;
    file.set_len(0).at(path)?;
    file.sync_all().at(path)?;
    drop(file);
    fs::remove_file(path).at(path)?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temp_names_never_look_like_archives() {
        let t = temp_name("2019-financial.kluis");
        assert!(is_temp_name(&t) && t.starts_with('.') && !t.ends_with(".kluis"));
        assert!(!is_temp_name("2019-financial.kluis"));
    }

    #[test]
    fn only_own_leftovers_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let m = Medium::open(dir.path(), None).unwrap();
        let ours = temp_name("2019-financial.kluis");
        assert!(is_own_temp_name(&ours));
        for name in [&ours, ".SHA256SUMS.tmp-0123abcd"] {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        // Not of kluis's naming, or not a file: kept.
        let others = [
            ".notes.tmp-keep",
            ".x.tmp-0123ABCD",
            ".tmp-0123abcd",
            "a.tmp-0123abcd",
            ".y.tmp-0123abcd0",
        ];
        for name in others {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        fs::create_dir(dir.path().join(".d.tmp-0123abcd")).unwrap();
        std::os::unix::fs::symlink("elsewhere", dir.path().join(".l.tmp-0123abcd")).unwrap();
        let lock = m.lock().unwrap();
        let mut removed = m.clean_leftovers(&lock).unwrap();
        removed.sort();
        let mut want = vec![ours.clone(), ".SHA256SUMS.tmp-0123abcd".to_owned()];
        want.sort();
        assert_eq!(removed, want);
        for name in others {
            assert!(dir.path().join(name).exists(), "{name}");
        }
        assert!(dir.path().join(".d.tmp-0123abcd").is_dir());
        assert!(
            dir.path()
                .join(".l.tmp-0123abcd")
                .symlink_metadata()
                .is_ok()
        );
    }

    #[test]
    fn index_and_sums_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Medium::open(dir.path(), Some("stick-a")).unwrap();
        m.add(IndexedArchive {
            archive_id: "ab".into(),
            file: "2019-financial.kluis".into(),
            fiscal_year: 2019,
            class: "financial".into(),
            supplement: 1,
            retention_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            size: 3,
            sha256: "00".repeat(32),
            created: Utc::now(),
            parity: Vec::new(),
        })
        .unwrap();
        let again = Medium::open(dir.path(), None).unwrap();
        assert_eq!(again.label(), "stick-a");
        assert_eq!(
            again.read_sums().unwrap(),
            vec![("2019-financial.kluis".into(), "00".repeat(32))]
        );
        assert!(
            fs::read_to_string(dir.path().join(README_FILE))
                .unwrap()
                .contains("sha256sum -c SHA256SUMS")
        );
        fs::write(dir.path().join(INDEX_FILE), "{").unwrap();
        assert!(Medium::open(dir.path(), None).is_err());
    }

    #[test]
    fn install_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let m = Medium::open(dir.path(), None).unwrap();
        fs::write(dir.path().join("a.kluis"), "old").unwrap();
        let (tmp, _) = m.create_temp("a.kluis").unwrap();
        assert!(matches!(
            m.install(&tmp, "a.kluis"),
            Err(Error::AlreadyOnMedium { .. })
        ));
        assert_eq!(fs::read(dir.path().join("a.kluis")).unwrap(), b"old");
    }
    #[test]
    fn wipe_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        fs::write(&target, b"keep me").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(wipe(&link, dir.path(), &crate::progress::Silent).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"keep me");
    }
}
