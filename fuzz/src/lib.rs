//! What every fuzz target does with its input, shared by the fuzz targets
//! (`fuzz/fuzz_targets/*.rs`, one line each) and by the regression tests
//! (`tests/fuzz_regressions.rs`, which includes this file as a module), so
//! that a stored crash input goes through exactly the code path that found
//! it. docs/FUZZING.md describes the targets.
//!
//! Each function takes untrusted bytes, hands them to kluis through its
//! public API, and panics only on a bug: a panic inside kluis, or a broken
//! property checked here (a parse that does not round-trip, a restore that
//! wrote outside its target folder, an allocation out of proportion).

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use kluis::format::seektable::{self, FOOTER_LEN, FrameEntry};
use kluis::keys::Identities;

/// Every target, by name (the names of `fuzz/fuzz_targets/*.rs` and of the
/// folders in `tests/fuzz_regressions/`).
pub const TARGETS: &[&str] = &[
    "seektable",
    "manifest_line",
    "meta_json",
    "medium_index",
    "catalog",
    "vault_config",
    "identity_file",
    "archive_plain",
    "archive_tar",
    "salvage",
];

/// The test identity of `tests/vectors/test-key.txt` (published on
/// purpose): archives built from fuzz input are encrypted to it.
pub const TEST_IDENTITY: &str =
    "AGE-SECRET-KEY-1P5FYT9PV907AVP4EW2HQXJT2FFK29W96YTEDRRNTT2CNVL00Q8RQVNVRT7";

/// Runs `data` through target `name`.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "seektable" => fuzz_seektable(data),
        "manifest_line" => fuzz_manifest_line(data),
        "meta_json" => fuzz_meta_json(data),
        "medium_index" => fuzz_medium_index(data),
        "catalog" => fuzz_catalog(data),
        "vault_config" => fuzz_vault_config(data),
        "identity_file" => fuzz_identity_file(data),
        "archive_plain" => fuzz_archive_plain(data),
        "archive_tar" => fuzz_archive_tar(data),
        "salvage" => fuzz_salvage(data),
        other => panic!("no fuzz target {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Allocation accounting

/// A global allocator that counts live heap bytes and their peak, so that
/// the archive targets can check that memory stays in proportion to the
/// frames (decompression bombs). Install it with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
pub struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only
// counters are updated beside it.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

fn grew(size: usize) {
    INSTALLED.store(1, Ordering::Relaxed);
    let now = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

/// Starts measuring: returns the live bytes now.
fn peak_reset() -> usize {
    let now = LIVE.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

/// Bytes allocated at the peak since `peak_reset` returned `base`, when
/// [`CountingAlloc`] is the global allocator.
fn peak_since(base: usize) -> Option<usize> {
    (INSTALLED.load(Ordering::Relaxed) == 1)
        .then(|| PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

// ---------------------------------------------------------------------------
// Small parsers

/// `kluis::format::seektable`: the footer and the whole table.
pub fn fuzz_seektable(data: &[u8]) {
    let _ = seektable::table_len_from_footer(data);
    let Some(footer) = data.len().checked_sub(FOOTER_LEN).map(|at| &data[at..]) else {
        return;
    };
    let claimed = seektable::table_len_from_footer(footer);
    let Ok(frames) = seektable::decode(data) else {
        return;
    };
    assert_eq!(
        claimed,
        Ok(data.len() as u64),
        "decode accepted a table its footer does not size"
    );
    let (mut c, mut d) = (0u64, 0u64);
    for f in &frames {
        assert_eq!(
            (f.c_offset, f.d_offset),
            (c, d),
            "offsets are the running sums"
        );
        assert!(f.entry.compressed > 0);
        (c, d) = (f.c_end(), f.d_end());
    }
    if !frames.is_empty() {
        let entries: Vec<FrameEntry> = frames.iter().map(|f| f.entry).collect();
        assert_eq!(
            seektable::encode(&entries),
            data,
            "decode/encode round trip"
        );
    }
    for probe in [0, 1, d / 2, d.saturating_sub(1), d, u64::MAX] {
        if let Some(i) = seektable::frame_at(&frames, probe) {
            assert!(frames[i].d_offset <= probe && probe < frames[i].d_end());
        }
    }
}

/// `kluis::format::manifest::Entry::from_json_line`, and the restore path checks
/// on whatever names it lets through.
pub fn fuzz_manifest_line(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(entry) = kluis::format::manifest::Entry::from_json_line(text) else {
        return;
    };
    let again = kluis::format::manifest::Entry::from_json_line(&entry.to_json_line());
    assert_eq!(again.as_ref(), Ok(&entry), "manifest line round trip");
    let _ = entry.display_path();
    let _ = entry.sha256sum_line();
    let root = Path::new("/nonexistent-kluis-fuzz/target");
    if let Ok(dest) = kluis::read::restore::safe_target(root, &entry.path) {
        let rel = dest
            .strip_prefix(root)
            .expect("safe_target stays below the target");
        assert!(
            rel.components().all(|c| matches!(c, Component::Normal(_))),
            "safe_target let through {dest:?}"
        );
    }
    if let Some(link) = &entry.target {
        let _ = kluis::read::restore::safe_link(&entry.path, link);
    }
    let selection =
        kluis::read::restore::Selection::new(&["invoices/*.pdf".into()]).expect("pattern");
    let _ = selection.matches(&entry.path);
}

/// `kluis/metadata.json` and `kluis/footer.json` (`kluis::format::meta`).
pub fn fuzz_meta_json(data: &[u8]) {
    use kluis::format::meta::{Footer, Metadata};
    if let Ok(meta) = serde_json::from_slice::<Metadata>(data) {
        let _ = meta.file_name();
        let json = serde_json::to_vec(&meta).expect("metadata serialises");
        let again: Metadata = serde_json::from_slice(&json).expect("metadata reads back");
        assert_eq!(again, meta, "metadata round trip");
    }
    if let Ok(footer) = serde_json::from_slice::<Footer>(data) {
        let json = serde_json::to_vec(&footer).expect("footer serialises");
        let again: Footer = serde_json::from_slice(&json).expect("footer reads back");
        assert_eq!(again, footer, "footer round trip");
    }
}

/// `kluis-medium.json` and `SHA256SUMS` of a medium folder, through
/// `kluis::vault::media::Medium::open` and `read_sums`.
pub fn fuzz_medium_index(data: &[u8]) {
    if let Ok(index) = serde_json::from_slice::<kluis::vault::media::MediumIndex>(data) {
        let json = serde_json::to_vec(&index).expect("index serialises");
        let again: kluis::vault::media::MediumIndex =
            serde_json::from_slice(&json).expect("index reads back");
        assert_eq!(again.archives, index.archives, "medium index round trip");
        assert_eq!(again.destroyed, index.destroyed, "medium index round trip");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join(kluis::vault::media::INDEX_FILE), data).expect("write index");
    fs::write(dir.path().join(kluis::vault::media::SUMS_FILE), data).expect("write sums");
    if let Ok(medium) = kluis::vault::media::Medium::open(dir.path(), None) {
        let _ = medium.label();
        for a in &medium.index.archives {
            let _ = medium.find(&a.file);
        }
        let _ = medium.holds("2019-financial.kluis");
        let _ = medium.read_sums();
        let _ = medium.leftovers();
        let _ = medium.archive_files();
    }
}

/// `catalog.json` (`kluis::vault::catalog::Catalog`), parsed, searched and
/// written back.
pub fn fuzz_catalog(data: &[u8]) {
    let Ok(catalog) = serde_json::from_slice::<kluis::vault::catalog::Catalog>(data) else {
        return;
    };
    for a in &catalog.archives {
        let _ = catalog.find(&a.name());
        let _ = catalog.find(&a.archive_id);
        let _ = catalog.by_id(&a.archive_id);
        let _ = a.live_copies().count();
    }
    for name in ["2019-financial", "2019-financial-2", "abcdef", "", "2019"] {
        let _ = catalog.find(name);
    }
    let json = serde_json::to_vec_pretty(&catalog).expect("catalog serialises");
    let again: kluis::vault::catalog::Catalog =
        serde_json::from_slice(&json).expect("a catalog kluis writes reads back");
    assert_eq!(
        serde_json::to_vec_pretty(&again).expect("catalog serialises"),
        json,
        "catalog round trip"
    );
}

/// `config.toml`: `toml::from_str::<kluis::vault::Config>`, and the whole
/// vault opening (`kluis::vault::Vault::open`, retention policy, tables)
/// with the same bytes as `config.toml` and as `catalog.json`.
pub fn fuzz_vault_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = toml::from_str::<kluis::vault::Config>(text);
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join(kluis::vault::CONFIG_FILE), data).expect("write config");
    fs::write(dir.path().join(kluis::vault::CATALOG_FILE), data).expect("write catalog");
    if let Ok(vault) = kluis::vault::Vault::open(dir.path()) {
        let _ = vault.catalog();
    }
}

/// An identity file (`kluis::keys::Identities::add_file`): age identities
/// or an OpenSSH private key, from a private (0600) file.
pub fn fuzz_identity_file(data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("key.txt");
    private_file(&path, data);
    let mut ids = Identities::default();
    if ids.add_file(&path).is_ok() {
        assert!(!ids.is_empty(), "add_file succeeded without an identity");
    }
}

fn private_file(path: &Path, data: &[u8]) {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create private file");
    f.write_all(data).expect("write private file");
}

// ---------------------------------------------------------------------------
// Whole archives

/// The test identity, loaded once through kluis's own identity file reader.
pub fn identities() -> &'static Identities {
    static IDS: OnceLock<Identities> = OnceLock::new();
    IDS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key.txt");
        private_file(&path, format!("{TEST_IDENTITY}\n").as_bytes());
        let mut ids = Identities::default();
        ids.add_file(&path).expect("the test identity loads");
        ids
    })
}

/// Encrypts `plaintext` to the test identity (binary age).
pub fn encrypt(plaintext: &[u8], out: &Path) {
    let identity = age::x25519::Identity::from_str(TEST_IDENTITY).expect("test identity");
    let recipient = identity.to_public();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .expect("encryptor");
    let file = fs::File::create(out).expect("create archive");
    let mut w = encryptor
        .wrap_output(std::io::BufWriter::new(file))
        .expect("age header");
    w.write_all(plaintext).expect("encrypt");
    w.finish()
        .and_then(|mut b| b.flush())
        .expect("finish encryption");
}

/// The fuzz input is the age plaintext of an archive (zstd frames and a
/// seek table, as `age -d` would print them).
pub fn fuzz_archive_plain(data: &[u8]) {
    // Memory is checked against the largest frame the seek table claims
    // (readers refuse frames over 64 MiB); without a seek table the archive
    // is refused before any frame is read.
    let biggest = data
        .len()
        .checked_sub(FOOTER_LEN)
        .and_then(|at| seektable::table_len_from_footer(&data[at..]).ok())
        .and_then(|len| data.len().checked_sub(usize::try_from(len).ok()?))
        .and_then(|at| seektable::decode(&data[at..]).ok())
        .and_then(|frames| frames.iter().map(|f| f.entry.decompressed).max())
        .map_or(0, |d| (d as usize).min(kluis::format::MAX_FRAME as usize));
    check_archive(data, biggest);
}

/// Most tar bytes (from which `archive_tar` builds frames) a fuzz input
/// can add as zero padding, in total: enough for frames of many MiB, not
/// so much that one run takes seconds.
const PADDING_BUDGET: usize = 96 << 20;
/// Zero padding comes in units of this many bytes.
const PADDING_UNIT: usize = 64 << 10;

/// The fuzz input is a tar stream and how to cut it into frames:
///
/// ```text
/// u8      n: the archive has n % 16 + 1 data frames
/// n % 16  descriptors, u32 little-endian each, one per frame but the last:
///           bits 0-23   how many tar bytes from the input the frame takes
///           bits 24-31  zero bytes appended after them, in 64 KiB units
/// ...     the tar bytes; the last frame takes what is left
/// ```
///
/// The target compresses each frame (zstd, checksummed), appends the seek
/// table, encrypts the result and reads it as `archive_plain` does. The
/// fuzzer thus works on the tar layer and kluis's members directly instead
/// of through compressed bytes.
pub fn fuzz_archive_tar(data: &[u8]) {
    let Some((plain, biggest)) = plaintext_from_tar_input(data) else {
        return;
    };
    check_archive(&plain, biggest);
}

/// `kluis::read::salvage::run` (`kluis restore --salvage`) on an archive built
/// from an `archive_tar` input: salvage finds frames by their magic number
/// and walks the tar stream itself, restoring members by their tar names.
pub fn fuzz_salvage(data: &[u8]) {
    let Some((plain, biggest)) = plaintext_from_tar_input(data) else {
        return;
    };
    salvage_plaintext(&plain, biggest);
}

/// Salvages the archive whose age plaintext is `plain` and checks it as
/// `fuzz_salvage` does (`biggest`: the largest frame's size).
pub fn salvage_plaintext(plain: &[u8], biggest: usize) {
    let work = tempfile::tempdir().expect("temp dir");
    let archive = work.path().join("fuzz.kluis");
    encrypt(plain, &archive);
    let base = peak_reset();
    let all = kluis::read::restore::Selection::new(&[]).expect("empty selection");
    let root = tempfile::tempdir().expect("temp dir");
    let target = root.path().join("target");
    let req = kluis::read::restore::Request {
        archive: &archive,
        identities: identities(),
        target: &target,
        selection: &all,
        existing: kluis::read::restore::Existing::Refuse,
    };
    let _ = kluis::read::salvage::run(&req, &kluis::progress::Silent);
    stays_inside(root.path(), &target, "salvage");
    check_peak(base, biggest);
}

/// Builds the age plaintext for an `archive_tar` input; also returns the
/// largest frame's decompressed size.
pub fn plaintext_from_tar_input(data: &[u8]) -> Option<(Vec<u8>, usize)> {
    let (&n, mut rest) = data.split_first()?;
    let cuts = usize::from(n % 16);
    let mut descriptors = Vec::with_capacity(cuts);
    for _ in 0..cuts {
        let (d, r) = rest.split_first_chunk::<4>()?;
        descriptors.push(u32::from_le_bytes(*d));
        rest = r;
    }
    let mut budget = PADDING_BUDGET;
    let mut contents: Vec<Vec<u8>> = Vec::with_capacity(cuts + 1);
    for d in descriptors {
        let take = ((d & 0x00ff_ffff) as usize).min(rest.len());
        let pad = ((d >> 24) as usize * PADDING_UNIT).min(budget);
        budget -= pad;
        let mut frame = Vec::with_capacity(take + pad);
        frame.extend_from_slice(&rest[..take]);
        frame.resize(take + pad, 0);
        rest = &rest[take..];
        contents.push(frame);
    }
    contents.push(rest.to_vec());
    let biggest = contents.iter().map(Vec::len).max().unwrap_or(0);
    Some((plaintext_from_frames(&contents), biggest))
}

/// Compresses each frame's content into an independent, checksummed zstd
/// frame and appends the seek table: a kluis archive's age plaintext.
pub fn plaintext_from_frames(contents: &[Vec<u8>]) -> Vec<u8> {
    let mut z = zstd::bulk::Compressor::new(1).expect("zstd");
    z.include_checksum(true).expect("zstd checksum");
    z.include_contentsize(true).expect("zstd content size");
    let mut plain = Vec::new();
    let mut entries = Vec::with_capacity(contents.len());
    for content in contents {
        let frame = z.compress(content).expect("compress");
        let sum = frame[frame.len() - 4..].try_into().expect("4 bytes");
        entries.push(FrameEntry {
            compressed: frame.len() as u32,
            decompressed: content.len() as u32,
            checksum: Some(u32::from_le_bytes(sum)),
        });
        plain.extend_from_slice(&frame);
    }
    plain.extend_from_slice(&seektable::encode(&entries));
    plain
}

/// Writes `plaintext` as an archive and puts it through the readers of
/// archives: open, metadata, manifest, full check and restore (into
/// `target/` of a folder of its own). Then checks that nothing was written
/// beside `target/`, that no symlink written resolves outside it, and that
/// memory stayed in proportion to the largest frame.
fn check_archive(plaintext: &[u8], biggest_frame: usize) {
    let ids = identities();
    let work = tempfile::tempdir().expect("temp dir");
    let archive = work.path().join("fuzz.kluis");
    encrypt(plaintext, &archive);

    let base = peak_reset();
    if let Ok(mut reader) = kluis::format::reader::ArchiveReader::open(&archive, ids) {
        let _ = reader.metadata().file_name();
        let _ = reader.footer();
        if let Ok(lines) = reader.manifest() {
            for entry in lines {
                if entry.is_err() {
                    break;
                }
            }
        }
    }
    let _ = kluis::read::verify::full_check(&archive, ids, &kluis::progress::Silent);

    let all = kluis::read::restore::Selection::new(&[]).expect("empty selection");
    let root = tempfile::tempdir().expect("temp dir");
    let target = root.path().join("target");
    let req = kluis::read::restore::Request {
        archive: &archive,
        identities: ids,
        target: &target,
        selection: &all,
        existing: kluis::read::restore::Existing::Refuse,
    };
    let _ = kluis::read::restore::run(&req, &kluis::progress::Silent);
    stays_inside(root.path(), &target, "restore");
    check_peak(base, biggest_frame);
}

/// Asserts that the heap peak since `base` stays in proportion to the
/// largest frame: two readers at once (restore, full check), each with a
/// frame's compressed and decompressed bytes, plus buffers of a few MiB.
/// A reader that allocates in proportion to the whole archive (a
/// decompression bomb) fails this once the archive is a few frames long.
fn check_peak(base: usize, biggest_frame: usize) {
    if let Some(peak) = peak_since(base) {
        let allowed = 8 * biggest_frame.max(1 << 20) + (32 << 20);
        assert!(
            peak <= allowed,
            "reading the archive allocated {} MiB at its peak; its largest frame holds {} MiB",
            peak >> 20,
            biggest_frame >> 20
        );
    }
}

/// Asserts that `root` holds nothing but `target` (if even that), and that
/// every symlink below `target` that resolves, resolves inside it.
fn stays_inside(root: &Path, target: &Path, what: &str) {
    let beside: Vec<PathBuf> = fs::read_dir(root)
        .expect("read restore root")
        .map(|e| e.expect("entry").path())
        .filter(|p| p != target)
        .collect();
    assert!(
        beside.is_empty(),
        "{what} wrote outside its target: {beside:?}"
    );
    let Ok(real_target) = target.canonicalize() else {
        return;
    };
    let mut todo = vec![target.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(list) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in list {
            let path = entry.expect("entry").path();
            let meta = fs::symlink_metadata(&path).expect("lstat");
            if meta.is_dir() {
                // Restored folders may lack the owner's x bit; give it
                // back so that the walk (and the clean-up) can go on.
                let mode = meta.permissions().mode();
                let _ = fs::set_permissions(&path, fs::Permissions::from_mode(mode | 0o700));
                todo.push(path);
            } else if meta.file_type().is_symlink()
                && let Ok(real) = path.canonicalize()
            {
                assert!(
                    real.starts_with(&real_target),
                    "{what} wrote a symlink {path:?} that resolves outside its target, to {real:?}"
                );
            }
        }
    }
}
