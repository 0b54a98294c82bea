//! PAR2 parity (issue 11): recovery sets made by kluis's streaming creator
//! are accepted and repaired byte for byte by the stock `par2` program
//! (par2cmdline) and by kluis's own repair, across damage cases; damage
//! beyond the budget is refused with the file untouched.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Rng;
use kluis::parity::create::Creator;
use kluis::parity::{self, RecoverySet, Settings, repair};

/// `par2` must be installed (scripts/test.sh installs it): fail, never skip.
fn par2() -> Command {
    assert!(
        common::have_tool("par2"),
        "the stock par2 program is missing: install the Debian package par2 (scripts/test.sh does)"
    );
    Command::new("par2")
}

/// Writes `data` as `dir/name` with its parity files made by the streaming
/// creator, fed in uneven writes; returns the set.
fn protect(dir: &Path, name: &str, data: &[u8], settings: &Settings, slice: u64) -> RecoverySet {
    fs::write(dir.join(name), data).unwrap();
    let slices = (data.len() as u64).div_ceil(slice);
    let blocks = parity::recovery_count(slices, settings.percent, settings.spare);
    let mut creator = Creator::new(name, settings, slice, blocks, None);
    let mut rng = Rng::new(data.len() as u64 + 1);
    let mut rest = data;
    while !rest.is_empty() {
        let n = (rng.below(70_000) as usize + 1).min(rest.len());
        creator.write_all(&rest[..n]).unwrap();
        rest = &rest[n..];
    }
    let set = RecoverySet::new(creator.finish().unwrap(), "kluis test");
    let mut f = fs::File::create(dir.join(parity::index_name(name))).unwrap();
    set.write_index(&mut f).unwrap();
    if !set.blocks.is_empty() {
        let names = set.file_names(name);
        let mut f = fs::File::create(dir.join(&names[1])).unwrap();
        set.write_volume(&mut f).unwrap();
    }
    set
}

fn stock(dir: &Path, verb: &str, name: &str) -> bool {
    par2()
        .arg(verb)
        .arg("-q")
        .arg(parity::index_name(name))
        .current_dir(dir)
        .output()
        .unwrap()
        .status
        .success()
}

/// kluis's own repair into `out`; Err when refused.
fn kluis_repair(dir: &Path, name: &str, out: &Path) -> kluis::Result<()> {
    kluis_repair_within(dir, name, out, parity::DEFAULT_BUDGET)
}

/// The same holding at most `budget` bytes of rebuilt data (in stripes,
/// one pass over the file each, when the damage needs more).
fn kluis_repair_within(dir: &Path, name: &str, out: &Path, budget: u64) -> kluis::Result<()> {
    let loaded = repair::load(dir, name)?.expect("parity files load");
    let damage = repair::scan(&dir.join(name), &loaded, &repair::never)?;
    repair::rebuild(
        &dir.join(name),
        &loaded,
        &damage,
        out,
        budget,
        &repair::never,
    )
    .map(|_| ())
}

#[test]
fn stock_par2_verifies_an_intact_set() {
    let tmp = tempfile::tempdir().unwrap();
    let data = Rng::new(1).bytes(300_001);
    let set = protect(
        tmp.path(),
        "2019-financial.kluis",
        &data,
        &Settings::default(),
        4096,
    );
    assert_eq!(set.slices, 74);
    assert_eq!(set.blocks.len(), 4 + 2);
    assert!(stock(tmp.path(), "verify", "2019-financial.kluis"));
}

#[test]
fn both_repair_a_flipped_byte_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "2019-financial.kluis";
    let data = Rng::new(2).bytes(200_000);
    protect(tmp.path(), name, &data, &Settings::default(), 4096);
    let path = tmp.path().join(name);
    let mut bad = data.clone();
    bad[12345] ^= 0x10;
    fs::write(&path, &bad).unwrap();
    assert!(!stock(tmp.path(), "verify", name));
    let out = tmp.path().join("repaired");
    kluis_repair(tmp.path(), name, &out).unwrap();
    assert_eq!(fs::read(&out).unwrap(), data);
    assert!(stock(tmp.path(), "repair", name));
    assert_eq!(fs::read(&path).unwrap(), data);
}

enum Case {
    Flips(usize),
    Burst(usize),
    Sectors(usize),
    Truncate(usize),
}

fn damage(rng: &mut Rng, data: &mut Vec<u8>, case: &Case) {
    let len = data.len() as u64;
    match *case {
        Case::Flips(n) => {
            for _ in 0..n {
                let at = rng.below(len) as usize;
                data[at] ^= 1 << rng.below(8);
            }
        }
        Case::Burst(n) => {
            let at = rng.below(len - n as u64) as usize;
            for b in &mut data[at..at + n] {
                *b = rng.next_u64() as u8;
            }
        }
        Case::Sectors(n) => {
            for _ in 0..n {
                let at = rng.below(len / 4096) as usize * 4096;
                data[at..at + 4096].fill(0);
            }
        }
        Case::Truncate(n) => data.truncate(data.len() - n),
    }
}

/// The slices `damaged` spoils, counted as PAR2 sees them.
fn spoiled(orig: &[u8], damaged: &[u8], slice: usize) -> usize {
    orig.chunks(slice)
        .enumerate()
        .filter(|(i, c)| damaged.get(i * slice..i * slice + c.len()) != Some(*c))
        .count()
}

/// Random damage: within the budget both kluis and stock par2 repair it
/// byte for byte; beyond it, kluis refuses and leaves the file alone.
#[test]
fn random_damage_is_repaired_by_both_or_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "2020-payroll.kluis";
    let slice = 4096usize;
    let mut rng = Rng::new(0x5eed);
    let cases = std::env::var("KLUIS_PARITY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let (mut repaired, mut refused, mut striped) = (0, 0, 0);
    for round in 0..cases {
        let dir = tmp.path().join(format!("r{round}"));
        fs::create_dir(&dir).unwrap();
        let len = 40_000 + rng.below(200_000) as usize;
        let data = rng.bytes(len);
        let settings = Settings {
            percent: 5 + rng.below(10) as u32,
            ..Settings::default()
        };
        let set = protect(&dir, name, &data, &settings, slice as u64);
        let budget = set.blocks.len();
        let case = match round % 4 {
            0 => Case::Flips(1 + rng.below(budget as u64 + 2) as usize),
            1 => Case::Burst(1 + rng.below((budget + 1) as u64 * slice as u64) as usize),
            2 => Case::Sectors(1 + rng.below(budget as u64 + 1) as usize),
            _ => Case::Truncate(1 + rng.below((budget as u64 + 1) * slice as u64) as usize),
        };
        let mut bad = data.clone();
        damage(&mut rng, &mut bad, &case);
        let path = dir.join(name);
        fs::write(&path, &bad).unwrap();
        let n = spoiled(&data, &bad, slice);
        let out = dir.join("repaired");
        // Every other round, a memory budget of a few slices at most: the
        // sums are made in stripes, in several passes.
        let memory = match round % 2 {
            1 => 64 + rng.below(3 * slice as u64),
            _ => parity::DEFAULT_BUDGET,
        };
        if (n as u64) * (slice as u64) > memory {
            striped += 1;
        }
        let ours = kluis_repair_within(&dir, name, &out, memory);
        if n <= budget {
            ours.unwrap_or_else(|e| panic!("round {round}: {n} of {budget} damaged: {e}"));
            assert_eq!(fs::read(&out).unwrap(), data, "round {round}");
            assert!(
                stock(&dir, "repair", name),
                "round {round}: stock par2 repair failed"
            );
            assert_eq!(fs::read(&path).unwrap(), data, "round {round}: par2");
            repaired += 1;
        } else {
            assert!(
                matches!(ours, Err(kluis::Error::BeyondRepair { .. })),
                "round {round}: {n} of {budget} damaged must be refused"
            );
            assert!(!out.exists());
            assert_eq!(
                fs::read(&path).unwrap(),
                bad,
                "refused: the file is untouched"
            );
            refused += 1;
        }
    }
    eprintln!(
        "parity damage cases: {repaired} repaired by kluis and par2 ({striped} in stripes), {refused} refused"
    );
    assert!(striped > 0, "no case needed more than its memory budget");
}

/// Damaged parity files: repair uses what is intact.
#[test]
fn a_damaged_volume_still_repairs_with_what_is_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "2021-sales.kluis";
    let data = Rng::new(3).bytes(400_000);
    let set = protect(tmp.path(), name, &data, &Settings::default(), 4096);
    let volume = tmp.path().join(&set.file_names(name)[1]);
    let mut v = fs::read(&volume).unwrap();
    v[100] ^= 1; // the first recovery packet
    fs::write(&volume, &v).unwrap();
    fs::remove_file(tmp.path().join(parity::index_name(name))).unwrap();
    let mut bad = data.clone();
    bad[5000] ^= 1;
    bad[90_000] ^= 1;
    fs::write(tmp.path().join(name), &bad).unwrap();
    let out: PathBuf = tmp.path().join("repaired");
    kluis_repair(tmp.path(), name, &out).unwrap();
    assert_eq!(fs::read(&out).unwrap(), data);
}

/// `records/ledger.bin` of `size` random bytes in the test folder: the
/// source the archives here are written from.
fn records(env: &common::Env, size: usize) -> PathBuf {
    let src = env.p("records");
    fs::create_dir_all(&src).unwrap();
    common::random_file(&src.join("ledger.bin"), size);
    src
}

/// The whole path: `kluis archive` writes parity beside each copy; after
/// damage, `kluis repair` restores the archive byte for byte, and so does
/// stock `par2 repair` on the medium; the archive then verifies.
#[test]
fn archive_writes_parity_that_kluis_and_stock_par2_repair() {
    use common::*;
    let (env, key) = Env::ready();
    let src = records(&env, 600_000);
    fs::write(src.join("notes.txt"), "jaarrekening 2019\n".repeat(1000)).unwrap();
    env.archive(2019, &["stick-a", "stick-b"], &[], &["records"])
        .ok()
        .stdout_has("parity:");
    let archive = env.p("stick-a/2019-financial.kluis");
    let good = fs::read(&archive).unwrap();
    for medium in ["stick-a", "stick-b"] {
        assert!(
            stock(&env.p(medium), "verify", "2019-financial.kluis"),
            "{medium}"
        );
    }
    // The medium's SHA256SUMS covers the parity files, and stock
    // sha256sum agrees; README.txt names the stock par2 commands.
    for medium in ["stick-a", "stick-b"] {
        let sums = env.medium_sums(medium);
        assert!(sums.contains("  2019-financial.kluis.par2\n"), "{sums}");
        assert!(sums.contains("  2019-financial.kluis.vol000+"), "{sums}");
        sha256sum_checks(&env.p(medium));
        let readme = fs::read_to_string(env.p(medium).join(README)).unwrap();
        assert!(readme.contains("par2 verify 2019-financial.kluis.par2"));
        assert!(readme.contains("par2 repair 2019-financial.kluis.par2"));
    }
    // A zeroed sector and a flipped byte, on both copies: no intact copy
    // to copy from, so the parity repairs it.
    let mut bad = good.clone();
    bad[8192..12288].fill(0);
    let last = bad.len() - 100;
    bad[last] ^= 0x40;
    fs::write(&archive, &bad).unwrap();
    let other = env.p("stick-b/2019-financial.kluis");
    fs::write(&other, &bad).unwrap();
    env.kluis()
        .arg("repair")
        .arg(&archive)
        .run()
        .ok()
        .stdout_has("repaired 2 damaged");
    assert_eq!(fs::read(&archive).unwrap(), good);
    env.verify(&key, &archive).run().ok();
    env.kluis()
        .arg("repair")
        .arg(env.p("stick-a"))
        .run()
        .ok()
        .stdout_has("intact");
    sha256sum_checks(&env.p("stick-a"));

    // Stock par2 on the second medium.
    assert!(stock(&env.p("stick-b"), "repair", "2019-financial.kluis"));
    assert_eq!(fs::read(&other).unwrap(), good);
    // par2 keeps the damaged original as FILE.1: no stray files for kluis.
    let _ = fs::remove_file(env.p("stick-b/2019-financial.kluis.1"));

    // Status shows parity; destroy-less check: --parity 0 writes none.
    env.kluis().arg("status").run().ok().stdout_has("PARITY");
    fs::create_dir_all(env.p("records-2020")).unwrap();
    fs::write(env.p("records-2020/a.txt"), "x").unwrap();
    env.archive(2020, &["stick-c"], &["--parity", "0"], &["records-2020"])
        .ok();
    assert!(!env.p("stick-c/2020-financial.kluis.par2").exists());
    // A damaged archive gets no parity (it would protect the damage): the
    // SHA-256 taken in the pass that makes the parity does not match.
    let late = env.p("stick-c/2020-financial.kluis");
    let intact = fs::read(&late).unwrap();
    let mut flipped = intact.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 4;
    fs::write(&late, &flipped).unwrap();
    env.kluis()
        .args(["repair", "--add-parity"])
        .arg(env.p("stick-c"))
        .run()
        .code(2)
        .stderr_has("does not match the medium index's SHA-256");
    let names: Vec<String> = fs::read_dir(env.p("stick-c"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("par2")), "{names:?}");
    fs::write(&late, &intact).unwrap();
    // ... and --add-parity adds it later, which stock par2 accepts.
    env.kluis()
        .args(["repair", "--add-parity"])
        .arg(env.p("stick-c"))
        .run()
        .ok()
        .stdout_has("parity added");
    assert!(stock(&env.p("stick-c"), "verify", "2020-financial.kluis"));
    let sums = env.medium_sums("stick-c");
    assert!(sums.contains("  2020-financial.kluis.par2\n"), "{sums}");
    sha256sum_checks(&env.p("stick-c"));
}

/// `kluis verify` (no key) says what the parity can do about damage:
/// repairable, or beyond repair with the counts; exit 1 either way.
#[test]
fn verify_says_whether_parity_can_repair_the_damage() {
    use common::*;
    let (env, _key) = Env::ready();
    records(&env, 400_000);
    env.archive(2019, &["stick"], &[], &["records"]).ok();
    let archive = env.p("stick/2019-financial.kluis");
    let good = fs::read(&archive).unwrap();
    let verify = || env.kluis().arg("verify").arg(env.p("stick"));

    let mut bad = good.clone();
    bad[5000] ^= 1;
    fs::write(&archive, &bad).unwrap();
    verify()
        .run()
        .code(1)
        .stdout_has("DAMAGED")
        .stdout_has("repairable with kluis repair: 1 of ");
    let json = verify().arg("--json").run().json();
    let parity = &json["archives"][0]["parity"];
    assert_eq!(parity["damaged"], 1, "{json}");
    assert_eq!(parity["repairable"], true, "{json}");

    let n = bad.len();
    bad[n / 4..n / 2].fill(0xAA);
    fs::write(&archive, &bad).unwrap();
    let json = verify().arg("--json").run().json();
    let parity = &json["archives"][0]["parity"];
    assert_eq!(parity["repairable"], false, "{json}");
    let (damaged, blocks) = (
        parity["damaged"].as_u64().unwrap(),
        parity["recovery_blocks"].as_u64().unwrap(),
    );
    assert!(damaged > blocks, "{json}");
    verify().run().code(1).stdout_has(&format!(
        "beyond repair: {damaged} slices damaged, {blocks} recovery blocks"
    ));
    assert_eq!(fs::read(&archive).unwrap(), bad, "verify changes nothing");
}

/// A damaged copy is replaced by the intact copy on another plugged-in
/// medium, checked against the catalog's SHA-256, before parity is used.
#[test]
fn repair_copies_an_intact_copy_from_another_medium_first() {
    use common::*;
    let (env, _key) = Env::ready();
    records(&env, 300_000);
    env.archive(
        2019,
        &["stick-a", "stick-b"],
        &["--parity", "0"],
        &["records"],
    )
    .ok();
    let archive = env.p("stick-a/2019-financial.kluis");
    let good = fs::read(&archive).unwrap();
    let mut bad = good.clone();
    bad[100_000..104_096].fill(0);
    fs::write(&archive, &bad).unwrap();
    env.kluis()
        .arg("repair")
        .arg(env.p("stick-a"))
        .run()
        .ok()
        .stdout_has("replaced by the intact copy on medium stick-b");
    assert_eq!(fs::read(&archive).unwrap(), good);
    assert!(temp_names(&env.p("stick-a")).is_empty());
    sha256sum_checks(&env.p("stick-a"));

    // Both damaged and no parity: nothing to repair from, nothing changed.
    fs::write(&archive, &bad).unwrap();
    fs::write(env.p("stick-b/2019-financial.kluis"), &bad).unwrap();
    env.kluis()
        .arg("repair")
        .arg(&archive)
        .run()
        .code(2)
        .stderr_has("without parity");
    assert_eq!(fs::read(&archive).unwrap(), bad);
}

/// Damage beyond the parity: refused, the archive untouched.
#[test]
fn damage_beyond_parity_is_refused_and_the_archive_untouched() {
    use common::*;
    let (env, _key) = Env::ready();
    records(&env, 300_000);
    env.archive(2019, &["stick"], &[], &["records"]).ok();
    let archive = env.p("stick/2019-financial.kluis");
    let mut bad = fs::read(&archive).unwrap();
    let n = bad.len();
    bad[n / 4..n / 2].fill(0xAA);
    fs::write(&archive, &bad).unwrap();
    env.kluis()
        .arg("repair")
        .arg(&archive)
        .run()
        .code(1)
        .stderr_has("beyond repair");
    assert_eq!(fs::read(&archive).unwrap(), bad);
    assert!(
        visible_names(&env.p("stick"))
            .iter()
            .all(|n| !n.contains(".tmp-"))
    );
}

/// A memory budget smaller than the parity: the blocks that do not fit
/// are made in further passes over the written copy. Damage that needs
/// blocks of the later pass is repaired by stock par2 and by kluis alike.
#[test]
fn parity_beyond_the_memory_budget_is_made_in_more_passes_and_repairs() {
    use common::*;
    let (env, _key) = Env::ready();
    let config = env.vault().join("config.toml");
    let text = fs::read_to_string(&config).unwrap();
    assert!(text.contains("memory_mib = 256"), "{text}");
    fs::write(&config, text.replace("memory_mib = 256", "memory_mib = 1")).unwrap();
    records(&env, 2_000_000);
    let run = env.archive(
        2019,
        &["stick-a", "stick-b"],
        &["--parity", "60", "--json"],
        &["records"],
    );
    let written = &run.ok().json()["parity"];
    let (slice, blocks) = (
        written["slice_size"].as_u64().unwrap(),
        written["blocks"].as_u64().unwrap(),
    );
    // The budget holds the blocks and the slices being multiplied into
    // them (kluis::parity::create::SLICES_HELD).
    let fit = (1 << 20) / slice - kluis::parity::create::SLICES_HELD;
    assert!(
        blocks > fit + 20,
        "the parity must exceed the budget: {written}"
    );
    assert_eq!(
        written["passes"].as_u64().unwrap(),
        blocks.div_ceil(fit),
        "{written}"
    );

    // Each budget's worth of blocks went out as its own volume before more
    // were made: no volume holds more than that, together they are
    // exponents 0.., and the medium index lists each one.
    for medium in ["stick-a", "stick-b"] {
        let mut volumes: Vec<(u64, u64)> = visible_names(&env.p(medium))
            .iter()
            .filter_map(|n| {
                let rest = n.strip_prefix("2019-financial.kluis.vol")?;
                let (first, count) = rest.strip_suffix(".par2")?.split_once('+')?;
                Some((first.parse().unwrap(), count.parse().unwrap()))
            })
            .collect();
        volumes.sort();
        assert_eq!(volumes.len() as u64, blocks.div_ceil(fit), "{volumes:?}");
        let mut next = 0;
        for &(first, count) in &volumes {
            assert!(first == next && count <= fit, "{volumes:?}");
            next += count;
        }
        assert_eq!(next, blocks);
        let sums = env.medium_sums(medium);
        assert_eq!(sums.matches(".vol").count(), volumes.len(), "{sums}");
        assert!(stock(&env.p(medium), "verify", "2019-financial.kluis"));
    }

    // More damaged slices than one pass's blocks: the later pass's blocks
    // are needed.
    let archive = env.p("stick-a/2019-financial.kluis");
    let good = fs::read(&archive).unwrap();
    let mut bad = good.clone();
    let damaged = fit as usize + 10;
    let at = slice as usize * 3;
    bad[at..at + damaged * slice as usize].fill(0x55);
    for medium in ["stick-a", "stick-b"] {
        fs::write(env.p(medium).join("2019-financial.kluis"), &bad).unwrap();
    }
    assert!(stock(&env.p("stick-b"), "repair", "2019-financial.kluis"));
    assert_eq!(
        fs::read(env.p("stick-b/2019-financial.kluis")).unwrap(),
        good
    );
    let _ = fs::remove_file(env.p("stick-b/2019-financial.kluis.1"));
    fs::write(env.p("stick-b/2019-financial.kluis"), &bad).unwrap();
    env.kluis()
        .arg("repair")
        .arg(&archive)
        .run()
        .ok()
        .stdout_has(&format!("repaired {damaged} damaged"));
    assert_eq!(fs::read(&archive).unwrap(), good);
}

/// A year whose first records compress far better than the rest (mail
/// before scans) still gets all its parity in the writing pass: blocks
/// are dropped only once the archive is sure not to need them, never on a
/// guess from the ratio so far, which would cost a second read of the
/// whole copy from the medium.
#[test]
fn parity_is_made_in_one_pass_when_the_year_compresses_unevenly() {
    use common::*;
    let (env, _key) = Env::ready();
    let src = env.p("records");
    fs::create_dir_all(src.join("a-mail")).unwrap();
    fs::create_dir_all(src.join("z-scans")).unwrap();
    for i in 0..40 {
        let text = format!("Dear customer {i}, thank you for your order.\n").repeat(4000);
        fs::write(src.join(format!("a-mail/{i:03}.txt")), text).unwrap();
    }
    for i in 0..4 {
        random_file(&src.join(format!("z-scans/{i}.pdf")), 3 << 20);
    }
    let run = env.archive(2019, &["stick"], &["--json"], &["records"]);
    let written = &run.ok().json()["parity"];
    assert_eq!(written["passes"].as_u64(), Some(1), "{written}");
    assert!(stock(&env.p("stick"), "verify", "2019-financial.kluis"));
}

/// Bytes deleted or inserted mid-file shift every later slice: the slid
/// window finds them where they moved, so only the slice hit needs a
/// recovery block. kluis and stock par2 both restore the exact file.
#[test]
fn shifted_data_after_a_deletion_or_insertion_is_found_and_repaired() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "2022-payroll.kluis";
    let data = Rng::new(4).bytes(300_001);
    type Change = fn(&mut Vec<u8>);
    let cases: [(&str, Change); 3] = [
        ("delete", |d| drop(d.drain(100_000..100_005))),
        ("insert", |d| drop(d.splice(150_001..150_001, [7u8; 9]))),
        ("both", |d| {
            d.drain(50_000..50_003);
            d.splice(250_000..250_000, [1u8, 2]);
        }),
    ];
    for (what, change) in cases {
        let dir = tmp.path().join(what);
        fs::create_dir(&dir).unwrap();
        let set = protect(&dir, name, &data, &Settings::default(), 4096);
        let mut bad = data.clone();
        change(&mut bad);
        let path = dir.join(name);
        fs::write(&path, &bad).unwrap();
        let loaded = repair::load(&dir, name).unwrap().unwrap();
        let damage = repair::scan(&path, &loaded, &repair::never).unwrap();
        assert!(
            damage.damaged.len() <= 2 && !damage.moved.is_empty(),
            "{what}: {:?} damaged, {} moved, {} blocks",
            damage.damaged,
            damage.moved.len(),
            set.blocks.len()
        );
        let out = dir.join("repaired");
        kluis_repair(&dir, name, &out).unwrap();
        assert_eq!(fs::read(&out).unwrap(), data, "{what}: kluis");
        assert!(stock(&dir, "repair", name), "{what}: stock par2 repair");
        assert_eq!(fs::read(&path).unwrap(), data, "{what}: par2");
    }
}
