//! Files that are not kluis archives at all (issue 2): random bytes, an
//! empty file, an ordinary age file. Every reading command says "not a kluis
//! archive" naming the file and restores nothing; a full verify reports it.
//! (Hostile tars wrapped by the stock tools: `hostile_archives.rs`.)

use std::fs;

use crate::common::*;

#[test]
fn random_bytes_are_not_a_kluis_archive() {
    let (env, key) = Env::ready();
    fs::create_dir(env.p("files")).unwrap();
    let junk = env.p("files/junk.kluis");
    fs::write(&junk, Rng::new(1).bytes(10_000)).unwrap();
    env.refused_everywhere(&key, &junk, "not a kluis archive");
    let empty = env.p("files/empty.kluis");
    fs::write(&empty, b"").unwrap();
    env.refused_everywhere(&key, &empty, "not a kluis archive");
    env.key_check(&key, &junk)
        .run()
        .error(2, &["junk.kluis", "not a kluis archive"]);
}

#[test]
fn age_file_of_random_plaintext_is_not_a_kluis_archive() {
    if !stock_tools() {
        return;
    }
    let (env, key) = Env::ready();
    fs::create_dir(env.p("files")).unwrap();
    fs::write(env.p("plain.bin"), Rng::new(2).bytes(200_000)).unwrap();
    bash(
        env.root(),
        &format!("age -r {} -o files/age-junk.kluis plain.bin", key.recipient),
    )
    .ok();
    let archive = env.p("files/age-junk.kluis");
    env.refused_everywhere(&key, &archive, "not a kluis archive");
    // The key does open the age layer: key check says so.
    env.key_check(&key, &archive).run().ok();
}
