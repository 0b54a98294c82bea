//! "What do you keep about me?" (docs/SUBJECTS.md): a data subject's
//! identifiers looked up across every archive of the vault. The vault's
//! keyed hashes answer which years hold something, with no medium; each
//! archive whose copy is plugged in is then searched for the exact records
//! and rows, and what was found can be exported and reported. Requests
//! are recorded in the catalog, so that `kluis due` reminds before the
//! month the law allows is over.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::status::{State, state};
use crate::error::{Error, Result};
use crate::format::subjectindex::Coverage;
use crate::keys::{Identities, parse_recipient};
use crate::progress::Progress;
use crate::read::subjects::{self as found, Hit, How};
use crate::retention::destruction_allowed_from;
use crate::subjects::identify::{Country, Identifier};
use crate::subjects::scan::Settings;
use crate::vault::Vault;
use crate::vault::catalog::{CatalogArchive, SubjectRequest};
use crate::vault::subjects::Lookup;

/// What to look for, and what to do with it.
pub struct Query<'a> {
    pub identities: &'a Identities,
    pub ids: Vec<Identifier>,
    /// Search the copies that are plugged in for the exact records and
    /// rows (else the vault's answer only).
    pub media: bool,
    /// Write copies of what was found here, one folder per archive.
    pub export: Option<PathBuf>,
    pub today: NaiveDate,
}

/// The answer across every archive of the vault.
#[derive(Debug, Serialize)]
pub struct Answer {
    pub organisation: String,
    pub asked: Vec<Asked>,
    pub date: NaiveDate,
    pub archives: Vec<ArchiveAnswer>,
}

/// An identifier asked about, as normalised.
#[derive(Debug, Serialize)]
pub struct Asked {
    pub kind: String,
    pub value: String,
    pub key: String,
}

/// One archive's part of the answer.
#[derive(Debug, Serialize)]
pub struct ArchiveAnswer {
    pub file: String,
    pub archive_id: String,
    pub fiscal_year: i32,
    pub class: String,
    pub state: State,
    pub retention_end: NaiveDate,
    pub destroy_from: NaiveDate,
    /// Why it is kept: the retention rule's legal basis.
    pub basis: String,
    pub copies: Vec<CopyAnswer>,
    /// What the vault's keyed hashes say, no medium needed.
    pub vault: VaultSays,
    /// What a search of a copy found, when one was searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Records>,
    /// What the archive's index covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
    /// Why no copy could be searched, when none could.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_searched: Option<String>,
}

impl ArchiveAnswer {
    /// Whether the archive holds something about the person (as far as
    /// is known: a search overrules the vault's hashes).
    pub fn holds(&self) -> Option<bool> {
        match (&self.records, &self.vault) {
            (Some(r), _) => Some(!r.hits.is_empty()),
            (None, VaultSays::Holds { .. }) => Some(true),
            (None, VaultSays::Nothing) | (None, VaultSays::Destroyed) => Some(false),
            (None, VaultSays::NotIndexed) => None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CopyAnswer {
    pub medium: String,
    pub path: PathBuf,
    /// Whether the copy's file is there now.
    pub present: bool,
}

/// The vault's answer for one archive.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "says")]
pub enum VaultSays {
    /// It holds these identifiers (keys).
    Holds { ids: Vec<String> },
    /// It holds none of them.
    Nothing,
    /// Written before kluis indexed subjects: only a search of a copy can
    /// tell.
    NotIndexed,
    /// Every copy is destroyed.
    Destroyed,
}

/// What a search of one copy found.
#[derive(Debug, Serialize)]
pub struct Records {
    pub copy: PathBuf,
    /// `index`, or `scan` (with why).
    pub how: String,
    pub hits: Vec<HitAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported: Option<ExportAnswer>,
}

#[derive(Debug, Serialize)]
pub struct HitAnswer {
    pub id: String,
    pub path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<u64>,
}

#[derive(Debug, Serialize)]
pub struct ExportAnswer {
    pub dir: PathBuf,
    pub records: u64,
    pub rows: u64,
}

/// Looks the query's identifiers up in every archive of the vault.
///
/// # Errors
/// A wrong key (for the vault's hashes or an archive), a vault that
/// cannot be read. A copy that cannot be searched (damaged, say) is
/// reported in the answer, and the next copy is tried.
pub fn find(vault: &Vault, q: &Query, progress: &dyn Progress) -> Result<Answer> {
    let catalog = vault.catalog()?;
    let settings = settings(vault)?;
    let keys: Vec<String> = q.ids.iter().map(Identifier::key).collect();
    let mut archives = Vec::new();
    let mut in_order: Vec<&CatalogArchive> = catalog.archives.iter().collect();
    in_order.sort_by(|a, b| (a.fiscal_year, &a.file).cmp(&(b.fiscal_year, &b.file)));
    // A key that opens no archive's hashes is the wrong key; one that
    // opens some, not others, meets archives sealed to other recipients.
    let mut sealed_elsewhere = Vec::new();
    let mut opened = 0;
    for a in in_order {
        if progress.interrupted() {
            return Err(Error::Interrupted {
                done: "the search was stopped; nothing was recorded".into(),
            });
        }
        let st = state(a, q.today);
        let vault_says = if st == State::Destroyed {
            VaultSays::Destroyed
        } else {
            let mut sealed = false;
            let lookup = match Lookup::open(vault, &a.archive_id, q.identities) {
                Err(e @ (Error::WrongKey { .. } | Error::NeedsPassphrase { .. })) => {
                    sealed_elsewhere.push((a.file.clone(), e));
                    sealed = true;
                    Ok(None)
                }
                Ok(Some(l)) => {
                    opened += 1;
                    Ok(Some(l))
                }
                other => other,
            }?;
            match lookup {
                None => {
                    if a.subjects.is_some() && !sealed {
                        let (key, hashes) = crate::vault::subjects::files(vault, &a.archive_id);
                        progress.note(&format!(
                            "{}: the catalog says it was indexed, but the vault's keyed hashes of it are missing ({} or {}): the vault is damaged; a search of a copy still answers",
                            a.file,
                            key.display(),
                            hashes.display()
                        ));
                    }
                    VaultSays::NotIndexed
                }
                Some(l) => {
                    let mut ids = Vec::new();
                    for k in &keys {
                        if l.contains(k)? {
                            ids.push(k.clone());
                        }
                    }
                    if ids.is_empty() {
                        VaultSays::Nothing
                    } else {
                        VaultSays::Holds { ids }
                    }
                }
            }
        };
        let copies: Vec<CopyAnswer> = a
            .live_copies()
            .map(|c| {
                let path = c.path.join(&a.file);
                CopyAnswer {
                    medium: c.medium.clone(),
                    present: path.is_file(),
                    path,
                }
            })
            .collect();
        let mut answer = ArchiveAnswer {
            file: a.file.clone(),
            archive_id: a.archive_id.clone(),
            fiscal_year: a.fiscal_year,
            class: a.class.clone(),
            state: st,
            retention_end: a.retention_end,
            destroy_from: destruction_allowed_from(a.retention_end),
            basis: basis(vault, &a.class),
            copies,
            vault: vault_says,
            records: None,
            coverage: a.subjects.clone(),
            not_searched: None,
        };
        let worth = matches!(
            answer.vault,
            VaultSays::Holds { .. } | VaultSays::NotIndexed
        );
        if q.media && worth {
            search_copies(&mut answer, q, &settings, progress)?;
        }
        archives.push(answer);
    }
    // The key file is sealed to the archive's recipients: not opening it
    // is not opening the archive.
    if opened == 0
        && let Some((file, e)) = sealed_elsewhere.pop()
    {
        let path = PathBuf::from(file);
        return Err(match e {
            Error::NeedsPassphrase { .. } => Error::NeedsPassphrase { path },
            _ => Error::WrongKey { path },
        });
    }
    for (file, _) in &sealed_elsewhere {
        progress.note(&format!(
            "{file}: the key given does not open the vault's hashes of it (they are sealed to its recipients): it counts as not indexed; a search of a copy still answers"
        ));
    }
    Ok(Answer {
        organisation: vault.config.organisation.clone(),
        asked: asked(&q.ids),
        date: q.today,
        archives,
    })
}

/// Looks the query's identifiers up in archive files given by path
/// (copies from another vault, or archives the catalog does not know):
/// each is searched; what the catalog would say comes from its metadata.
///
/// # Errors
/// A wrong key, or a file that is not an archive.
pub fn find_in_files(
    vault: Option<&Vault>,
    files: &[PathBuf],
    q: &Query,
    progress: &dyn Progress,
) -> Result<Answer> {
    let settings = match vault {
        Some(v) => settings(v)?,
        None => Settings {
            country: Country::default(),
            id_columns: Vec::new(),
        },
    };
    let mut archives = Vec::new();
    let mut organisation = String::new();
    for path in files {
        let meta = crate::format::reader::ArchiveReader::open(path, q.identities)?
            .metadata()
            .clone();
        organisation.clone_from(&meta.organisation);
        let mut answer = ArchiveAnswer {
            file: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            archive_id: meta.archive_id.clone(),
            fiscal_year: meta.fiscal_year,
            class: meta.class.clone(),
            state: if crate::retention::is_due(meta.retention_end, q.today) {
                State::Due
            } else {
                State::Retained
            },
            retention_end: meta.retention_end,
            destroy_from: destruction_allowed_from(meta.retention_end),
            basis: match vault {
                Some(v) => basis(v, &meta.class),
                None => "the retention period recorded in the archive".into(),
            },
            copies: vec![CopyAnswer {
                medium: "given".into(),
                path: path.clone(),
                present: true,
            }],
            vault: VaultSays::NotIndexed,
            records: None,
            coverage: None,
            not_searched: None,
        };
        search_copies(&mut answer, q, &settings, progress)?;
        archives.push(answer);
    }
    Ok(Answer {
        organisation: vault.map_or(organisation, |v| v.config.organisation.clone()),
        asked: asked(&q.ids),
        date: q.today,
        archives,
    })
}

fn asked(ids: &[Identifier]) -> Vec<Asked> {
    ids.iter()
        .map(|i| Asked {
            kind: i.kind_label(),
            value: i.display(),
            key: i.key(),
        })
        .collect()
}

fn search_copies(
    answer: &mut ArchiveAnswer,
    q: &Query,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<()> {
    let mut problems = Vec::new();
    let present: Vec<PathBuf> = answer
        .copies
        .iter()
        .filter(|c| c.present)
        .map(|c| c.path.clone())
        .collect();
    for path in present {
        progress.phase(&format!("searching {}", answer.file), 0);
        let search = match found::search(&path, q.identities, &q.ids, settings, progress) {
            Ok(s) => s,
            Err(e @ Error::Interrupted { .. }) => return Err(e),
            // A copy the key does not open (one not re-encrypted yet, say)
            // or a damaged one: the next copy may answer.
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        let how = match &search.how {
            How::Index => "index".to_owned(),
            How::Scan { why: None } => {
                "scan (written before kluis indexed subjects: every record was read)".to_owned()
            }
            How::Scan { why: Some(why) } => {
                progress.note(&format!(
                    "{}: the subject index could not be used, so every record was read: {why}",
                    path.display()
                ));
                format!("scan (the subject index could not be used: {why})")
            }
        };
        let exported = match (&q.export, search.hits.is_empty()) {
            (Some(dir), false) => {
                let dir = dir.join(answer.file.trim_end_matches(".kluis"));
                let e = found::export(&path, q.identities, &search.hits, &dir, progress)?;
                Some(ExportAnswer {
                    dir,
                    records: e.records,
                    rows: e.tables.iter().map(|(_, n)| n).sum(),
                })
            }
            _ => None,
        };
        if search.coverage.is_some() {
            answer.coverage = search.coverage.clone();
        }
        answer.records = Some(Records {
            copy: path,
            how,
            hits: search.hits.iter().map(hit_answer).collect(),
            exported,
        });
        return Ok(());
    }
    answer.not_searched = Some(if problems.is_empty() {
        let media: Vec<&str> = answer.copies.iter().map(|c| c.medium.as_str()).collect();
        format!(
            "no copy is plugged in (copies on {}): plug one in and ask again for the exact records",
            if media.is_empty() {
                "no medium".into()
            } else {
                media.join(", ")
            }
        )
    } else {
        format!("no copy could be searched: {}", problems.join("; "))
    });
    Ok(())
}

fn hit_answer(h: &Hit) -> HitAnswer {
    HitAnswer {
        id: h.id.clone(),
        path: h.display_path(),
        rows: h.rows.clone(),
    }
}

/// How identifiers are read, from the vault's `[subjects]`.
///
/// # Errors
/// An unknown country in the config.
pub fn settings(vault: &Vault) -> Result<Settings> {
    Ok(Settings {
        country: country(vault)?,
        id_columns: vault.config.subjects.id_columns.clone(),
    })
}

/// The vault's default country for phone numbers.
///
/// # Errors
/// An unknown country in the config.
pub fn country(vault: &Vault) -> Result<Country> {
    Country::parse(&vault.config.subjects.country).map_err(|e| Error::BadConfig {
        path: vault.dir.join(crate::vault::CONFIG_FILE),
        detail: format!("[subjects] country: {e}"),
    })
}

fn basis(vault: &Vault, class: &str) -> String {
    vault
        .policy
        .classes()
        .into_iter()
        .find(|c| c.name == class)
        .map(|c| format!("{} ({})", c.basis, c.period))
        .unwrap_or_else(|| "the vault's retention policy".into())
}

// --- requests ----------------------------------------------------------------

/// What a request's sealed part holds.
#[derive(Serialize, Deserialize)]
struct Sealed {
    by: String,
    ids: Vec<String>,
}

/// `access` (article 15) or `erasure` (article 17).
pub fn request_kind(erasure: bool) -> &'static str {
    if erasure { "erasure" } else { "access" }
}

/// Records a request in the catalog, who asked and the identifiers sealed
/// to the vault's recipients; gives its number.
///
/// # Errors
/// A vault without recipients to seal to; a catalog that cannot be
/// written.
pub fn record_request(
    vault: &Vault,
    erasure: bool,
    by: &str,
    ids: &[Identifier],
    received: NaiveDate,
) -> Result<u32> {
    let by = by.trim();
    if by.is_empty() {
        return Err(Error::Usage(
            "a request needs who asked (--by \"J. Jansen, by e-mail of 3 March\")".into(),
        ));
    }
    if ids.is_empty() {
        return Err(Error::Usage(
            "a request needs at least one identifier (--email, --phone, --iban or --id)".into(),
        ));
    }
    let sealed = seal(
        vault,
        &Sealed {
            by: by.to_owned(),
            ids: ids.iter().map(Identifier::key).collect(),
        },
    )?;
    vault.update_catalog(|c| {
        let number = c.requests.iter().map(|r| r.number).max().unwrap_or(0) + 1;
        c.requests.push(SubjectRequest {
            number,
            kind: request_kind(erasure).into(),
            received,
            answered: None,
            sealed,
            archives: Vec::new(),
        });
        Ok(number)
    })
}

/// A recorded request, opened with the key: its kind, who asked and the
/// identifiers.
///
/// # Errors
/// An unknown number, or a key that does not open it.
pub fn open_request(
    vault: &Vault,
    number: u32,
    identities: &Identities,
) -> Result<(SubjectRequest, String, Vec<Identifier>)> {
    let catalog = vault.catalog()?;
    let Some(r) = catalog.requests.iter().find(|r| r.number == number) else {
        return Err(Error::Usage(format!(
            "there is no request {number}: `kluis subject requests` lists them"
        )));
    };
    let sealed: Sealed = unseal(vault, &r.sealed, identities)?;
    let ids = sealed
        .ids
        .iter()
        .map(|k| Identifier::from_key(k))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::BadConfig {
            path: vault.dir.join(crate::vault::CATALOG_FILE),
            detail: format!("request {number}: {e}"),
        })?;
    Ok((r.clone(), sealed.by, ids))
}

/// Marks a request answered on `today`, with the archives found to hold
/// something about the person (an erasure request is then named in the
/// proof of destruction of each).
///
/// # Errors
/// A catalog that cannot be written.
pub fn answered(vault: &Vault, number: u32, answer: &Answer, today: NaiveDate) -> Result<()> {
    let holding: Vec<String> = answer
        .archives
        .iter()
        .filter(|a| a.holds() == Some(true))
        .map(|a| a.archive_id.clone())
        .collect();
    vault.update_catalog(|c| {
        if let Some(r) = c.requests.iter_mut().find(|r| r.number == number) {
            r.answered = Some(today);
            for id in holding {
                if !r.archives.contains(&id) {
                    r.archives.push(id);
                }
            }
        }
        Ok(())
    })
}

fn seal<T: Serialize>(vault: &Vault, value: &T) -> Result<String> {
    if vault.config.recipients.is_empty() {
        return Err(Error::Usage(
            "the vault has no recipients to seal the request to: add one (recipients in config.toml)"
                .into(),
        ));
    }
    let recipients = vault
        .config
        .recipients
        .iter()
        .map(|r| parse_recipient(r))
        .collect::<Result<Vec<_>>>()?;
    let json = serde_json::to_vec(value).expect("a request serialises");
    let mut out = Vec::new();
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .map_err(|e| Error::io("request", e))?;
    let mut w = age::Encryptor::with_recipients(
        recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .map_err(|e| Error::Usage(format!("no recipient to seal to: {e}")))?
    .wrap_output(armor)
    .map_err(|e| Error::io("request", e))?;
    w.write_all(&json).map_err(|e| Error::io("request", e))?;
    w.finish()
        .and_then(|a| a.finish())
        .map_err(|e| Error::io("request", e))?;
    Ok(String::from_utf8(out).expect("armor is ASCII"))
}

fn unseal<T: for<'de> Deserialize<'de>>(
    vault: &Vault,
    text: &str,
    identities: &Identities,
) -> Result<T> {
    let catalog = vault.dir.join(crate::vault::CATALOG_FILE);
    let decryptor =
        age::Decryptor::new(age::armor::ArmoredReader::new(text.as_bytes())).map_err(|e| {
            Error::BadConfig {
                path: catalog.clone(),
                detail: format!("a request's sealed part is damaged: {e}"),
            }
        })?;
    let mut reader = decryptor
        .decrypt(identities.as_slice().iter().map(|i| i.as_ref() as _))
        .map_err(|_| Error::WrongKey {
            path: catalog.clone(),
        })?;
    let mut json = Vec::new();
    reader
        .read_to_end(&mut json)
        .map_err(|e| Error::io(&catalog, e))?;
    serde_json::from_slice(&json).map_err(|e| Error::BadConfig {
        path: catalog,
        detail: format!("a request's sealed part does not parse: {e}"),
    })
}

// --- the report --------------------------------------------------------------

/// The answer as a ready reply in Markdown: what is kept, why, until
/// when, and what was not searched.
pub fn report_markdown(answer: &Answer, request: Option<(&SubjectRequest, &str)>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# What {} keeps about you", answer.organisation);
    let _ = writeln!(out);
    if let Some((r, by)) = request {
        let article = if r.kind == "erasure" {
            "17 (erasure)"
        } else {
            "15 (access)"
        };
        let _ = writeln!(
            out,
            "Request {} of {by}, received {}, under article {article} of the GDPR. Answered on {}.",
            r.number, r.received, answer.date
        );
    } else {
        let _ = writeln!(out, "Answered on {}.", answer.date);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "We searched our archives for:");
    let _ = writeln!(out);
    for a in &answer.asked {
        let _ = writeln!(out, "- {}: {}", a.kind, a.value);
    }
    let _ = writeln!(out);
    let holding: Vec<&ArchiveAnswer> = answer
        .archives
        .iter()
        .filter(|a| a.holds() == Some(true))
        .collect();
    let unknown: Vec<&ArchiveAnswer> = answer
        .archives
        .iter()
        .filter(|a| a.holds().is_none())
        .collect();
    if holding.is_empty() && unknown.is_empty() {
        let _ = writeln!(
            out,
            "None of our {} yearly archives holds anything about you under these identifiers.",
            answer.archives.len()
        );
    }
    if !holding.is_empty() {
        let _ = writeln!(out, "## What we keep, why, and until when");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| Year | Records | Data | Why we keep it | Kept until | Destroyed from |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for a in &holding {
            let (records, categories) = describe(a, &answer.asked);
            let _ = writeln!(
                out,
                "| {} ({}) | {records} | {categories} | {} | {} | {} |",
                a.fiscal_year, a.class, a.basis, a.retention_end, a.destroy_from
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "These records are kept offline, encrypted, because the law requires us to keep them for the period above. They are not used for anything else. Until then, the retention duty overrides a request to erase them (GDPR article 17(3)(b)); each year is destroyed when its period ends, and we keep a proof of that destruction."
        );
        let _ = writeln!(out);
    }
    let gone: Vec<&ArchiveAnswer> = answer
        .archives
        .iter()
        .filter(|a| a.state == State::Destroyed)
        .collect();
    if !gone.is_empty() {
        let years: Vec<String> = gone.iter().map(|a| a.fiscal_year.to_string()).collect();
        let _ = writeln!(
            out,
            "The archives of {} have been destroyed; nothing of them is kept.",
            years.join(", ")
        );
        let _ = writeln!(out);
    }
    // What was not searched.
    let mut limits = Vec::new();
    for a in &answer.archives {
        if let Some(why) = &a.not_searched {
            limits.push(format!("{}: {why}", a.file));
        } else if a.holds().is_none() {
            limits.push(format!("{}: not searched", a.file));
        }
        if let Some(c) = &a.coverage
            && !c.not_searched.is_empty()
            && a.state != State::Destroyed
        {
            let kinds: Vec<String> = c
                .not_searched
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            limits.push(format!(
                "{}: {} not searched by content ({}); they may mention you by name",
                a.file,
                match c.not_searched.values().sum::<u64>() {
                    1 => "1 record was".to_owned(),
                    n => format!("{n} records were"),
                },
                kinds.join(", ")
            ));
        }
    }
    if !unknown.is_empty() || !limits.is_empty() {
        let _ = writeln!(out, "## What was not searched");
        let _ = writeln!(out);
        for l in limits {
            let _ = writeln!(out, "- {l}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "Searched are e-mail addresses, phone numbers, IBANs and customer numbers in mail, text and table records; names alone are not searched."
    );
    out
}

/// The records and data categories an archive's answer found.
fn describe(a: &ArchiveAnswer, asked: &[Asked]) -> (String, String) {
    let Some(r) = &a.records else {
        let kinds: Vec<String> = match &a.vault {
            VaultSays::Holds { ids } => ids
                .iter()
                .filter_map(|k| asked.iter().find(|x| &x.key == k))
                .map(|x| x.kind.clone())
                .collect(),
            _ => Vec::new(),
        };
        return (
            "(copy not plugged in: the exact records follow when it is)".into(),
            kinds.join(", "),
        );
    };
    let mut files = std::collections::BTreeSet::new();
    let mut tables: BTreeMap<String, std::collections::BTreeSet<u64>> = BTreeMap::new();
    let mut kinds: Vec<String> = Vec::new();
    let mut folders: Vec<String> = Vec::new();
    for h in &r.hits {
        if let Some(x) = asked.iter().find(|x| x.key == h.id)
            && !kinds.contains(&x.kind)
        {
            kinds.push(x.kind.clone());
        }
        if h.rows.is_empty() {
            files.insert(h.path.as_str());
            let folder = h
                .path
                .strip_prefix("records/")
                .and_then(|p| p.split('/').next())
                .unwrap_or("records")
                .to_owned();
            if !folders.contains(&folder) {
                folders.push(folder);
            }
        } else {
            tables
                .entry(h.path.trim_start_matches("tables/").to_owned())
                .or_default()
                .extend(&h.rows);
        }
    }
    let files = files.len();
    let mut parts = Vec::new();
    if files > 0 {
        let noun = if files == 1 { "document" } else { "documents" };
        parts.push(format!("{files} {noun} ({})", folders.join(", ")));
    }
    for (t, rows) in tables {
        let noun = if rows.len() == 1 { "row" } else { "rows" };
        parts.push(format!("{} {noun} of {t}", rows.len()));
    }
    (parts.join("; "), kinds.join(", "))
}

/// Writes `text` to `path` atomically.
///
/// # Errors
/// A file that cannot be written.
pub fn write_report(path: &Path, text: &str) -> Result<()> {
    crate::vault::media::atomic_write(path, text.as_bytes())
}
