//! Annual documents (a ~300 KB scanned annual report spanning several 64 KiB
//! chunks) and the deliberately awkward entries: NFC and NFD names, emoji, a
//! leading dash, a path over 255 bytes, an empty file and folder, modes 0600/0755.

use std::io;

use super::formats::{pdf_doc, random_jpeg};
use super::tree::{Rng, Tree, Year};
use super::vocab::SHOP;

/// Annual documents and the deliberately awkward entries.
pub(super) fn gen_awkward(t: &mut Tree, yr: &Year, rng: &mut Rng) -> io::Result<()> {
    let y = yr.y;
    let end = yr.last();
    let at = |day: u32, h: u32| yr.at(day, h * 3600);

    // ~300 KB PDF: spans several 64 KiB chunks (scanned signed page + text).
    let scan_len = 290_000 + rng.below(20_000) as usize;
    let scan = random_jpeg(rng, scan_len);
    let lines: Vec<String> = (1..=40)
        .map(|i| format!("Jaarrekening {y} {SHOP} - toelichting regel {i}"))
        .collect();
    let jr = pdf_doc(
        &format!("Jaarrekening {y}"),
        at(end, 15),
        &lines,
        Some(&scan),
    );
    t.put(
        &format!("jaarstukken/Jaarrekening {y} definitief (v2).pdf"),
        &jr,
        at(end, 15),
        0o644,
    )?;
    let vpb = pdf_doc(
        "Aangifte vennootschapsbelasting",
        at(end, 14),
        &[format!("Aangifte Vpb {y} - concept - {SHOP}")],
        None,
    );
    t.put(
        &format!("jaarstukken/Aangifte Vpb {y} \u{2013} concept.pdf"),
        &vpb,
        at(end, 14),
        0o644,
    )?;

    // "Café" precomposed (NFC) and decomposed (NFD), same visible name, different folders.
    let huur = pdf_doc(
        "Huurcontract",
        at(2, 11),
        &["Huurcontract bedrijfsruimte".to_string()],
        None,
    );
    t.put(
        "contracten/Huurcontract Caf\u{e9} 't Hoekje.pdf",
        &huur,
        at(2, 11),
        0o644,
    )?;
    let kopie = pdf_doc(
        "Huurcontract (kopie per mail)",
        at(3, 10),
        &["Kopie huurcontract; bestandsnaam in NFD (e + U+0301)".to_string()],
        None,
    );
    t.put(
        "correspondence/Huurcontract Cafe\u{301} 't Hoekje.pdf",
        &kopie,
        at(3, 10),
        0o644,
    )?;
    t.put(
        "correspondence/\u{1F4E6} verzendlabels #1; lees mij!.txt",
        b"PostNL labels: zie de map scans.\n",
        at(40, 10),
        0o644,
    )?;
    t.put(
        "-begint-met-streepje.txt",
        b"Leading dash: a classic CLI foot-gun.\n",
        at(end, 10),
        0o644,
    )?;
    t.put("notities/leeg bestand.txt", b"", at(end, 9), 0o644)?;
    t.put(
        "notities/vraag: wat nu? *dringend*.txt",
        b"colon, question mark, asterisk: legal on Linux, not on exFAT/NTFS\n",
        at(end, 11),
        0o644,
    )?;
    t.put(
        "notities/ruimte  dubbel  en einde .txt",
        b"double spaces and a trailing space before the dot\n",
        at(end, 12),
        0o644,
    )?;
    let brief = pdf_doc(
        "Naheffingsaanslag",
        at(200, 10),
        &["Naheffingsaanslag omzetbelasting".to_string()],
        None,
    );
    t.put(
        &format!(
            "administratie/{y}/Belastingdienst/Brief van de Belastingdienst over naheffingsaanslag \
             omzetbelasting vierde kwartaal {} kenmerk 123456789B01.pdf",
            y - 1
        ),
        &brief,
        at(200, 10),
        0o644,
    )?;
    let deep: Vec<String> = (1..=8)
        .map(|i| format!("submap-niveau-{i:02}-met-een-lange-naam"))
        .collect();
    t.put(
        &format!("administratie/{}/diep.txt", deep.join("/")),
        b"path longer than 255 bytes, 9 directories deep\n",
        at(100, 10),
        0o644,
    )?;

    // Exactly one 64 KiB chunk: a little-endian TIFF scan.
    let mut tif = vec![0u8; 65_536];
    rng.fill(&mut tif);
    tif[..8].copy_from_slice(b"II*\x00\x08\x00\x00\x00");
    t.put("scans/scan-0001.tif", &tif, at(end - 1, 10), 0o644)?;
    t.mkdir("scans/nog te verwerken", at(1, 9))?;

    t.put(
        "scripts/export-naar-accountant.sh",
        format!(
            "#!/bin/sh\nset -eu\ncp \"ledger/grootboek-{y}.csv\" \"bank/ING-{y}.csv\" \"$1\"\n"
        )
        .as_bytes(),
        at(end, 8),
        0o755,
    )?;
    let token: String = (0..30)
        .map(|_| {
            *rng.pick(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") as char
        })
        .collect();
    t.put(
        "scripts/api-token-mollie.txt",
        format!("live_{token}\n").as_bytes(),
        at(end, 8),
        0o600,
    )
}
