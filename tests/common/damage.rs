//! Damaged archives: copies cut short or with a byte flipped at a chosen
//! place (the age header, a chunk boundary, the frame holding one record),
//! and the check that every reading command refuses a file that is not a
//! good archive.

use std::fs;
use std::path::{Path, PathBuf};

use kluis::format::manifest::Entry;
use kluis::format::reader::ArchiveReader;
use kluis::format::seektable::Frame;

use super::{Env, Key, exists};

/// The size of an age payload chunk on disk: 64 KiB and its tag.
pub const AGE_CHUNK: usize = 65536 + 16;

/// Where the age payload starts: after the header's `--- MAC` line.
pub fn payload_start(bytes: &[u8]) -> usize {
    let mac = bytes
        .windows(5)
        .position(|w| w == b"\n--- ")
        .expect("an age header");
    mac + 1 + bytes[mac + 1..].iter().position(|&b| b == b'\n').unwrap() + 1
}

impl Env {
    /// Copies `archive` to `files/NAME` (a folder that is not a medium, so
    /// that only the archive itself is judged), changed by `change`.
    pub fn damaged_copy(
        &self,
        archive: &Path,
        name: &str,
        change: impl FnOnce(&mut Vec<u8>),
    ) -> PathBuf {
        let mut bytes = fs::read(archive).unwrap();
        change(&mut bytes);
        fs::create_dir_all(self.p("files")).unwrap();
        let path = self.p("files").join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    /// `list`, `restore` and `verify` with `key` on a file that is not a
    /// good archive: list and restore fail (exit 2) naming it and saying
    /// `why`, nothing is restored, and a full verify reports it (exit 1).
    /// Returns verify's stdout.
    #[track_caller]
    pub fn refused_everywhere(&self, key: &Key, archive: &Path, why: &str) -> String {
        let name = archive.file_name().unwrap().to_str().unwrap();
        self.list(key, archive).run().error(2, &[name, why]);
        let target = self.p(format!("restore-{name}"));
        self.restore(key, archive, &target)
            .run()
            .error(2, &[name, why]);
        assert!(!exists(&target), "nothing restored from {name}");
        let verify = self.verify(key, archive).run();
        verify.code(1).stdout_has(name).stdout_has(why);
        verify.stdout_text()
    }
}

/// Flips one bit in the ciphertext of the data frame holding the middle of
/// `record`, in place; returns the archive's manifest and that frame.
pub fn flip_byte_in_frame_of(archive: &Path, key: &Key, record: &[u8]) -> (Vec<Entry>, Frame) {
    let mut reader = ArchiveReader::open(archive, &key.identities()).unwrap();
    let entries: Vec<Entry> = reader.manifest().unwrap().map(Result::unwrap).collect();
    let middle = entries
        .iter()
        .find(|e| e.path == record)
        .map(|e| e.data_offset + e.size / 2)
        .unwrap();
    drop(reader);
    (entries, flip_byte_in_frame_at(archive, key, middle))
}

/// Flips one bit in the ciphertext of the data frame holding tar offset
/// `at`, in place; returns that frame.
pub fn flip_byte_in_frame_at(archive: &Path, key: &Key, at: u64) -> Frame {
    let reader = ArchiveReader::open(archive, &key.identities()).unwrap();
    let frame = *reader
        .frames()
        .iter()
        .find(|f| f.d_offset <= at && at < f.d_end())
        .unwrap();
    drop(reader);
    let plain_pos = frame.c_offset + u64::from(frame.entry.compressed) / 2;
    let mut bytes = fs::read(archive).unwrap();
    let start = payload_start(&bytes) as u64 + 16;
    let chunk = AGE_CHUNK as u64;
    let at = start + (plain_pos / 65536) * chunk + plain_pos % 65536;
    bytes[at as usize] ^= 0x20;
    fs::write(archive, &bytes).unwrap();
    frame
}
