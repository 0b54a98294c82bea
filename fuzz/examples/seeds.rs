//! Writes the seed corpora of every fuzz target into `DIR/<target>/`:
//! real archives (the committed test vectors and one made here with
//! `kluis::format::writer::ArchiveWriter`, decrypted to their age
//! plaintext), crafted hostile archives (`..`, absolute paths, symlinks
//! and hard links out, devices, duplicate entries, a decompression bomb,
//! seek tables claiming huge frames), and sample JSON, TOML and key files.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds -- fuzz/corpus`
//! (scripts/fuzz.sh runs it when a corpus folder is missing).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use kluis::format::meta::{Footer, MemberRef, Metadata, Totals};
use kluis::format::seektable::{self, FOOTER_LEN};
use kluis::format::manifest::{Entry, Kind};
use kluis_fuzz::{TEST_IDENTITY, plaintext_from_frames};

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut seeds = Seeds { out };

    // Real archives: the committed vectors and one written here.
    let mut plains: Vec<(String, Vec<u8>)> = Vec::new();
    for name in ["tiny", "fail_manifest_mismatch"] {
        let bytes = fs::read(vectors.join(format!("{name}.kluis"))).expect("test vector");
        plains.push((format!("vector_{name}"), decrypt(&bytes)));
    }
    plains.push(("written".into(), written_archive()));
    for (name, plain) in &plains {
        seeds.add("archive_plain", name, plain);
        let frames = frames_of(plain);
        seeds.add("archive_tar", name, &tar_input(&frames));
        seeds.add("salvage", name, &tar_input(&frames));
        let table_len = seektable::table_len_from_footer(&plain[plain.len() - FOOTER_LEN..])
            .expect("seek table") as usize;
        seeds.add("seektable", name, &plain[plain.len() - table_len..]);
        let tar: Vec<u8> = frames.concat();
        for (member, data) in members(&tar) {
            match member.as_str() {
                "kluis/metadata.json" | "kluis/footer.json" => {
                    seeds.add("meta_json", &format!("{name}_{}", &member[6..]), &data);
                }
                "kluis/manifest.jsonl" => {
                    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
                        if !line.is_empty() {
                            seeds.add("manifest_line", &format!("{name}_{i}"), line);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    // Crafted hostile archives, as tar input and as plaintext.
    for (name, frames) in crafted() {
        seeds.add("archive_tar", &name, &tar_input(&frames));
        seeds.add("salvage", &name, &tar_input(&frames));
        seeds.add("archive_plain", &name, &plaintext_from_frames(&frames));
    }
    seeds.add("archive_plain", "bomb_pax", &pax_bomb());
    // A pax header claiming 1 TiB among the records (finding O2): the walks
    // of the full check and of salvage must bound what they read.
    let bomb = crafted_archive(
        &[
            (b"records/a", b'0', b"", b"before\n"),
            (b"records/PaxHeaders/b", b'x', b"", b""),
            (b"records/b", b'0', b"", b"after\n"),
        ],
        11,
    );
    seeds.add(
        "archive_plain",
        "bomb_pax_in_records",
        &plaintext_from_frames(&bomb),
    );
    for (name, plain) in huge_frame_claims(&plains[0].1) {
        seeds.add("archive_plain", &name, &plain);
        let len = seektable::table_len_from_footer(&plain[plain.len() - FOOTER_LEN..])
            .map_or(FOOTER_LEN, |l| (l as usize).min(plain.len()));
        seeds.add("seektable", &name, &plain[plain.len() - len..]);
    }

    // Manifest lines naming hostile paths.
    for (i, line) in [
        r#"{"path":"records/../x","type":"file","size":0,"mode":420,"mtime":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","offset":0,"data_offset":512}"#,
        r#"{"path_hex":"2f6574632f706173737764","type":"dir","size":0,"mode":493,"mtime":-1,"offset":0,"data_offset":0}"#,
        r#"{"path":"records/l","type":"symlink","size":0,"mode":511,"mtime":1546300800,"mtime_nsec":999999999,"target":"../../etc","offset":1024,"data_offset":2048}"#,
        r#"{"path":"records/s2","type":"symlink","size":0,"mode":511,"mtime":0,"target_hex":"732f2e2e2f2e2e","offset":0,"data_offset":0}"#,
        r#"{"path":"tables/t.csv","type":"file","size":18446744073709551615,"mode":4294967295,"mtime":-9223372036854775808,"sha256":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855","offset":18446744073709551615,"data_offset":18446744073709551615}"#,
    ]
    .iter()
    .enumerate()
    {
        seeds.add("manifest_line", &format!("crafted_{i}"), line.as_bytes());
    }

    // The medium index, the catalog, the vault config.
    let archive = r#"{"archive_id":"0123456789abcdef0123456789abcdef","file":"2019-financial.kluis","fiscal_year":2019,"class":"financial","supplement":1,"retention_end":"2026-12-31","size":123456,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","created":"2027-01-05T10:00:00Z"}"#;
    let destruction = r#"{"archive_id":"0123456789abcdef0123456789abcdef","fiscal_year":2018,"class":"financial","file":"2018-financial.kluis","size":1,"sha256":"00","retention_end":"2025-12-31","medium":"stick-a","destroyed_at":"2026-01-02T03:04:05Z","method":"overwrite","tool_version":"kluis 0.1.0","operator":"A. Admin"}"#;
    seeds.add(
        "medium_index",
        "index",
        format!(r#"{{"format":"kluis-medium","version":1,"label":"stick-a","archives":[{archive}],"destroyed":[{destruction}]}}"#).as_bytes(),
    );
    seeds.add(
        "medium_index",
        "sums",
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  2019-financial.kluis\n\\0000  a\\nb.kluis\n",
    );
    seeds.add(
        "catalog",
        "catalog",
        format!(
            r#"{{"version":1,"archives":[{{"archive_id":"0123456789abcdef0123456789abcdef","organisation":"Org","fiscal_year":2019,"class":"financial","supplement":2,"file":"2019-financial-2.kluis","retention_end":"2026-12-31","created":"2027-01-05T10:00:00Z","size":1,"sha256":"00","records":3,"copies":[{{"medium":"stick-a","path":"/media/a/2019-financial-2.kluis","written":"2027-01-05T10:00:00Z","last_verified":"2028-01-05T10:00:00+01:00","last_result":"ok"}},{{"medium":"b","path":"x","written":"2027-01-05T10:00:00Z","destroyed":"2030-01-01T00:00:00Z"}}],"hold":{{"reason":"audit","since":"2028-02-03"}},"released_holds":[{{"reason":"x","since":"2027-02-03","released":"2027-03-04"}}],"destructions":[{destruction}]}}]}}"#
        )
        .as_bytes(),
    );
    seeds.add("catalog", "empty", b"{}");
    seeds.add(
        "vault_config",
        "config",
        br#"# kluis vault configuration
organisation = "Voorbeeld B.V."
recipients = ["age1uhf0jd7dnaza835rpfyv2vt655r3cx48hm7kate7vzkt8yl2w4ssxv5yv5"]
operator = "A. Admin, office manager"
verify_every_months = 12

[retention]
preset = "nl"
fiscal_year_start = "07-01"

[retention.classes]
correspondence = "6 months"
financial = "8 years"

[tables.orders]
date_column = "order_date"
date_format = "%Y-%m-%d"
delimiter = ";"
drop = ["password_hash", "birth_date"]
keep = ["email"]
"#,
    );
    seeds.add("vault_config", "minimal", b"organisation = \"X\"\n");

    // Identity files.
    let key = fs::read(vectors.join("test-key.txt")).expect("test key");
    seeds.add("identity_file", "age_key", &key);
    seeds.add(
        "identity_file",
        "bare_key",
        format!("{TEST_IDENTITY}\n").as_bytes(),
    );
    seeds.add(
        "identity_file",
        "two_keys",
        &[
            &key[..],
            b"\n",
            &fs::read(vectors.join("test-key-2.txt")).expect("test key 2"),
        ]
        .concat(),
    );
    seeds.add("identity_file", "ssh_ed25519", SSH_ED25519.as_bytes());
    seeds.add("identity_file", "ssh_rsa_header", b"-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n");
    println!("seeds written to {}", seeds.out.display());
}

/// A throwaway unencrypted OpenSSH ed25519 key (made for these seeds).
const SSH_ED25519: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBOZtfg6s5GbaxGdl3ZwmB4kNJGIUWMb6vsaJJ6JFS2MgAAAJDfnYjt352I
7QAAAAtzc2gtZWQyNTUxOQAAACBOZtfg6s5GbaxGdl3ZwmB4kNJGIUWMb6vsaJJ6JFS2Mg
AAAEB5e1oU4yDh6Pa7mZEyxrL+1uhmSJbKGcd2eOJqfhLIwk5m1+DqzkZtrEZ2XdnCYHiQ
0kYhRYxvq+xoknokVLYyAAAACmZ1enpAa2x1aXMBAgM=
-----END OPENSSH PRIVATE KEY-----
";

struct Seeds {
    out: PathBuf,
}

impl Seeds {
    fn add(&mut self, target: &str, name: &str, data: &[u8]) {
        let dir = self.out.join(target);
        fs::create_dir_all(&dir).expect("corpus dir");
        fs::write(dir.join(format!("seed_{name}")), data).expect("write seed");
    }
}

fn decrypt(ciphertext: &[u8]) -> Vec<u8> {
    let identity = age::x25519::Identity::from_str(TEST_IDENTITY).expect("identity");
    let d = age::Decryptor::new(ciphertext).expect("age header");
    let mut r = d
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .expect("decrypt");
    let mut out = Vec::new();
    r.read_to_end(&mut out).expect("read plaintext");
    out
}

/// An archive written by kluis's own writer: folders, files (one of them
/// spanning frames is too big for a seed; these are small), a symlink.
fn written_archive() -> Vec<u8> {
    use kluis::format::writer::{ArchiveWriter, Mtime, WriteOptions};
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("a.kluis");
    let identity = age::x25519::Identity::from_str(TEST_IDENTITY).expect("identity");
    let recipients: Vec<Box<dyn age::Recipient + Send>> = vec![Box::new(identity.to_public())];
    let file = fs::File::create(&path).expect("create");
    let mut w = ArchiveWriter::new(
        vec![(path.clone(), file)],
        &recipients,
        &metadata(),
        &WriteOptions {
            level: 3,
            workers: 1,
        },
    )
    .expect("writer");
    let t = Mtime {
        secs: 1_546_300_800,
        nsec: 250_000_000,
    };
    w.add_dir(b"records/invoices", 0o755, t).expect("dir");
    w.add_dir(b"records/empty", 0o700, t).expect("dir");
    for (name, data) in [
        (&b"records/invoices/INV-1.txt"[..], &b"invoice one\n"[..]),
        (b"records/invoices/\xffnot-utf8.txt", b"bytes"),
        (b"records/ledger.csv", b"date;amount\n2019-01-01;12.50\n"),
        (b"records/empty.txt", b""),
        (b"tables/orders.csv", b"id,date\n1,2019-02-03\n"),
    ] {
        w.add_file(
            name,
            data.len() as u64,
            0o644,
            t,
            &mut &data[..],
            Path::new("seed"),
        )
        .expect("file");
    }
    w.add_symlink(b"records/latest", b"invoices/INV-1.txt", 0o777, t)
        .expect("symlink");
    w.finish().expect("finish");
    decrypt(&fs::read(&path).expect("read archive"))
}

fn metadata() -> Metadata {
    let day = |s: &str| chrono::NaiveDate::from_str(s).expect("date");
    Metadata {
        format: "kluis".into(),
        format_version: 1,
        archive_id: "0123456789abcdef0123456789abcdef".into(),
        organisation: "Fuzz B.V.".into(),
        fiscal_year: 2019,
        fiscal_year_start: day("2019-01-01"),
        fiscal_year_end: day("2019-12-31"),
        class: "financial".into(),
        supplement: 1,
        retention_end: day("2026-12-31"),
        created: chrono::DateTime::UNIX_EPOCH,
        tool_version: "kluis 0.1.0".into(),
        minimisation: Vec::new(),
    }
}

/// The decompressed content of every data frame of a plaintext.
fn frames_of(plain: &[u8]) -> Vec<Vec<u8>> {
    let len = seektable::table_len_from_footer(&plain[plain.len() - FOOTER_LEN..])
        .expect("seek table") as usize;
    let frames = seektable::decode(&plain[plain.len() - len..]).expect("seek table");
    frames
        .iter()
        .map(|f| {
            zstd::bulk::decompress(
                &plain[f.c_offset as usize..f.c_end() as usize],
                f.entry.decompressed as usize,
            )
            .expect("frame")
        })
        .collect()
}

/// The `archive_tar` input that makes these frames (see
/// `kluis_fuzz::fuzz_archive_tar`).
fn tar_input(frames: &[Vec<u8>]) -> Vec<u8> {
    assert!((1..=16).contains(&frames.len()) && frames.iter().all(|f| f.len() < 1 << 24));
    let mut out = vec![(frames.len() - 1) as u8];
    for f in &frames[..frames.len() - 1] {
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
    }
    for f in frames {
        out.extend_from_slice(f);
    }
    out
}

/// (name, content) of every member of a tar stream.
fn members(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(tar);
    let mut out = Vec::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("member");
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("member data");
        out.push((name, data));
    }
    out
}

/// A raw ustar header: any name bytes (up to 100), any type.
fn header(name: &[u8], kind: u8, link: &[u8], size: u64, mode: u32) -> [u8; 512] {
    let mut h = tar::Header::new_ustar();
    {
        let u = h.as_ustar_mut().expect("ustar");
        u.name[..name.len()].copy_from_slice(name);
        u.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(1_546_300_800);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_cksum();
    *h.as_bytes()
}

fn push_member(tar: &mut Vec<u8>, name: &[u8], kind: u8, link: &[u8], data: &[u8]) -> u64 {
    let at = tar.len() as u64;
    let mode = match kind {
        b'5' => 0o755,
        b'2' => 0o777,
        _ => 0o644,
    };
    tar.extend_from_slice(&header(name, kind, link, data.len() as u64, mode));
    tar.extend_from_slice(data);
    tar.resize(tar.len().next_multiple_of(512), 0);
    at
}

/// A tar member as crafted: name, type byte, link name, content.
type Raw = (&'static [u8], u8, &'static [u8], &'static [u8]);

/// A kluis archive's frames around the given record members, with a
/// manifest that lists each of them (as a file, folder or symlink, by the
/// type the manifest can express), at its true offsets.
///
/// A member of type `x` is written as a pax extended header claiming
/// 1 TiB instead, and left out of the manifest; `zero_frames` frames of
/// 64 MiB of zeros follow the records (a decompression bomb with them).
fn crafted_archive(records: &[Raw], zero_frames: usize) -> Vec<Vec<u8>> {
    crafted_with(records, zero_frames, &|_| {})
}

/// As `crafted_archive`, with each manifest entry changed by `tweak` before
/// it is written.
fn crafted_with(records: &[Raw], zero_frames: usize, tweak: &dyn Fn(&mut Entry)) -> Vec<Vec<u8>> {
    let meta = serde_json::to_vec(&metadata()).expect("metadata");
    let mut tar = Vec::new();
    push_member(&mut tar, b"kluis/metadata.json", b'0', b"", &meta);
    let meta_ref = MemberRef {
        offset: 0,
        size: meta.len() as u64,
    };
    let first = tar.len();
    let mut manifest = Vec::new();
    let mut sums = Vec::new();
    let mut totals = Totals::default();
    for &(name, kind, link, data) in records {
        if kind == b'x' {
            tar.extend_from_slice(&header(name, kind, link, 1 << 40, 0o644));
            continue;
        }
        let offset = push_member(&mut tar, name, kind, link, data);
        let (kind, sha, target) = match kind {
            b'5' => (Kind::Dir, None, None),
            b'2' => (Kind::Symlink, None, Some(link.to_vec())),
            _ => (Kind::File, Some(sha256(data)), None),
        };
        match kind {
            Kind::Dir => totals.dirs += 1,
            Kind::Symlink => totals.symlinks += 1,
            Kind::File => totals.files += 1,
        }
        let mut entry = Entry {
            path: name.to_vec(),
            kind,
            size: if kind == Kind::File {
                data.len() as u64
            } else {
                0
            },
            mode: if kind == Kind::Dir { 0o755 } else { 0o644 },
            mtime: 1_546_300_800,
            mtime_nsec: 0,
            sha256: sha,
            target,
            offset,
            data_offset: offset + 512,
        };
        tweak(&mut entry);
        if let Some(line) = entry.sha256sum_line() {
            sums.extend_from_slice(&line);
        }
        manifest.extend_from_slice(entry.to_json_line().as_bytes());
        manifest.push(b'\n');
    }
    let mut cuts = vec![first];
    for _ in 0..zero_frames {
        cuts.push(tar.len());
        tar.resize(tar.len() + (64 << 20), 0);
    }
    let second = tar.len();
    cuts.push(second);
    let manifest_ref = MemberRef {
        offset: push_member(&mut tar, b"kluis/manifest.jsonl", b'0', b"", &manifest),
        size: manifest.len() as u64,
    };
    let sums_ref = MemberRef {
        offset: push_member(&mut tar, b"kluis/SHA256SUMS", b'0', b"", &sums),
        size: sums.len() as u64,
    };
    let third = tar.len();
    let footer = Footer {
        metadata: meta_ref,
        manifest: manifest_ref,
        sha256sums: sums_ref,
        records: totals,
        ..Footer::new("0123456789abcdef0123456789abcdef")
    };
    push_member(
        &mut tar,
        b"kluis/footer.json",
        b'0',
        b"",
        &serde_json::to_vec(&footer).expect("footer"),
    );
    tar.resize(tar.len() + 1024, 0);
    cuts.push(third);
    let mut frames = vec![tar[..first].to_vec()];
    for pair in cuts.windows(2) {
        frames.push(tar[pair[0]..pair[1]].to_vec());
    }
    frames.push(tar[third..].to_vec());
    frames
}


fn crafted() -> Vec<(String, Vec<Vec<u8>>)> {
    let cases: Vec<(&str, Vec<Raw>)> = vec![
        (
            "dotdot",
            vec![
                (b"records/../x", b'0', b"", b"escaped\n"),
                (b"../y", b'0', b"", b"escaped\n"),
            ],
        ),
        (
            "absolute",
            vec![(b"/tmp/kluis-fuzz-absolute", b'0', b"", b"escaped\n")],
        ),
        (
            "symlink_out",
            vec![
                (b"records/l", b'2', b"../../outside", b""),
                (b"records/l/x", b'0', b"", b"through the link\n"),
            ],
        ),
        (
            "symlink_chain",
            vec![
                (b"records/s", b'2', b".", b""),
                (b"records/s2", b'2', b"s/../..", b""),
                (b"records/s3", b'2', b"s2/escaped", b""),
            ],
        ),
        (
            "symlink_then_file",
            vec![
                (b"records/d", b'2', b"..", b""),
                (b"records/d", b'0', b"", b"replaces the link?\n"),
            ],
        ),
        (
            "hardlink",
            vec![
                (b"records/h", b'1', b"/etc/passwd", b""),
                (b"records/h2", b'1', b"../../x", b""),
            ],
        ),
        (
            "devices",
            vec![
                (b"records/dev", b'3', b"", b""),
                (b"records/blk", b'4', b"", b""),
                (b"records/fifo", b'6', b"", b""),
            ],
        ),
        (
            "duplicates",
            vec![
                (b"records/d", b'5', b"", b""),
                (b"records/d", b'0', b"", b"file over folder\n"),
                (b"records/f", b'0', b"", b"one\n"),
                (b"records/f", b'0', b"", b"two\n"),
                (b"records/f", b'2', b"elsewhere", b""),
                (b"records/d/x", b'0', b"", b"inside\n"),
            ],
        ),
        (
            "not_records",
            vec![
                (b"kluis/evil", b'0', b"", b"x"),
                (b"other/x", b'0', b"", b"x"),
            ],
        ),
    ];
    let mut out: Vec<(String, Vec<Vec<u8>>)> = cases
        .into_iter()
        .map(|(name, records)| (format!("crafted_{name}"), crafted_archive(&records, 0)))
        .collect();
    // Manifest numbers at the top of their range: sizes and offsets that
    // overflow when added.
    let two: &[Raw] = &[
        (b"records/a", b'0', b"", b"aaaa\n"),
        (b"records/b", b'0', b"", b"bbbb\n"),
    ];
    out.push((
        "crafted_huge_sizes".into(),
        crafted_with(two, 0, &|e| e.size = u64::MAX),
    ));
    out.push((
        "crafted_huge_offsets".into(),
        crafted_with(two, 0, &|e| {
            e.offset = u64::MAX - 1;
            e.data_offset = u64::MAX - 1;
        }),
    ));
    out
}

/// A decompression bomb: the first member is a pax extended header that
/// claims 1 TiB, followed by twelve frames of 64 MiB of zeros (a few KiB
/// each compressed, 768 MiB decompressed). A reader that reads pax headers
/// whole allocates it all.
fn pax_bomb() -> Vec<u8> {
    let mut first = header(b"kluis/PaxHeaders/metadata.json", b'x', b"", 1 << 40, 0o644).to_vec();
    first.resize(64 << 20, 0);
    let zeros = vec![0u8; 64 << 20];
    let mut frames = vec![first];
    for _ in 0..11 {
        frames.push(zeros.clone());
    }
    let footer = Footer {
        metadata: MemberRef {
            offset: 0,
            size: 100,
        },
        manifest: MemberRef {
            offset: 0,
            size: 100,
        },
        sha256sums: MemberRef {
            offset: 0,
            size: 100,
        },
        ..Footer::new("0123456789abcdef0123456789abcdef")
    };
    let mut last = Vec::new();
    push_member(
        &mut last,
        b"kluis/footer.json",
        b'0',
        b"",
        &serde_json::to_vec(&footer).expect("footer"),
    );
    last.resize(last.len() + 1024, 0);
    frames.push(last);
    plaintext_from_frames(&frames)
}

/// Seek tables whose entries claim frames far larger than the archive:
/// 4 GiB decompressed, 4 GiB compressed, 2^27 frames.
fn huge_frame_claims(real: &[u8]) -> Vec<(String, Vec<u8>)> {
    let len =
        seektable::table_len_from_footer(&real[real.len() - FOOTER_LEN..]).expect("table") as usize;
    let data = &real[..real.len() - len];
    let entries: Vec<_> = seektable::decode(&real[real.len() - len..])
        .expect("table")
        .iter()
        .map(|f| f.entry)
        .collect();
    let mut out = Vec::new();
    let mut big_d = entries.clone();
    big_d.last_mut().expect("a frame").decompressed = u32::MAX;
    out.push((
        "huge_decompressed".into(),
        [data, &seektable::encode(&big_d)].concat(),
    ));
    let mut big_c = entries.clone();
    big_c[0].compressed = u32::MAX;
    out.push((
        "huge_compressed".into(),
        [data, &seektable::encode(&big_c)].concat(),
    ));
    let mut table = seektable::encode(&entries);
    let n = table.len();
    table[n - 9..n - 5].copy_from_slice(&(1u32 << 27).to_le_bytes());
    out.push(("huge_count".into(), [data, &table].concat()));
    out
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}
