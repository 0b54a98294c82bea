//! An archive's signatures (docs/FORMAT.md §4.5): minisign signatures by
//! the organisation's key of `kluis/metadata.json`, `kluis/manifest.jsonl`
//! and `kluis/SHA256SUMS`, kept inside the encryption as the located
//! members `kluis/<member>.minisig`, so that with the archive extracted
//! `minisign -Vm kluis/SHA256SUMS -P KEY` finds its signature by name.
//! Writing them, and checking them against the public keys a vault knows.

use std::io::{self, Read};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::reader::ArchiveReader;
use super::writer::{ArchiveWriter, Framing};
use super::{MANIFEST_MEMBER, METADATA_MEMBER, SHA256SUMS_MEMBER};
use crate::error::{Error, Result};
use crate::format::meta::Metadata;
use crate::keys::signing::{PublicKey, Signature, SigningKey, Verdict, comment_value};

/// (footer key, signature member, the member it signs), in the order they
/// are written.
pub const SIGNATURE_MEMBERS: [(&str, &str, &str); 3] = [
    (
        "metadata_sig",
        "kluis/metadata.json.minisig",
        METADATA_MEMBER,
    ),
    (
        "manifest_sig",
        "kluis/manifest.jsonl.minisig",
        MANIFEST_MEMBER,
    ),
    (
        "sha256sums_sig",
        "kluis/SHA256SUMS.minisig",
        SHA256SUMS_MEMBER,
    ),
];

/// A signature file is a few hundred bytes; anything much larger is not one.
const MAX_SIGNATURE: u64 = 64 << 10;

/// The trusted comment of the signature of `member`: minisign's
/// `timestamp:` and `file:` fields, then the archive id and organisation,
/// so that a signature cannot be moved to another archive unnoticed.
pub fn trusted_comment(member: &str, metadata: &Metadata, when: DateTime<Utc>) -> String {
    format!(
        "timestamp:{}\tfile:{member}\tarchive:{}\torganisation:{}",
        when.timestamp(),
        metadata.archive_id,
        comment_value(&metadata.organisation)
    )
}

/// Signs the metadata, the manifest and `SHA256SUMS` of the archive being
/// written (ending its records) and adds the three signature members.
pub fn sign<O: io::Write + Send + 'static>(
    writer: &mut ArchiveWriter<O>,
    key: &SigningKey,
    metadata: &Metadata,
) -> Result<()> {
    writer.end_records()?;
    let now = Utc::now();
    let failed = |member: &str, e: io::Error| {
        Error::io(
            member,
            io::Error::new(e.kind(), format!("signing it failed: {e}")),
        )
    };
    let signatures = vec![
        key.sign(
            writer.written_metadata(),
            &trusted_comment(METADATA_MEMBER, metadata, now),
        ),
        key.sign_stream(
            || writer.written_manifest().map_err(io::Error::other),
            &trusted_comment(MANIFEST_MEMBER, metadata, now),
        )
        .map_err(|e| failed(MANIFEST_MEMBER, e))?,
        key.sign_stream(
            || writer.written_sha256sums().map_err(io::Error::other),
            &trusted_comment(SHA256SUMS_MEMBER, metadata, now),
        )
        .map_err(|e| failed(SHA256SUMS_MEMBER, e))?,
    ];
    for ((footer_key, name, _), signature) in SIGNATURE_MEMBERS.iter().zip(signatures) {
        let text = signature.to_text();
        writer.add_located(
            footer_key,
            name,
            text.len() as u64,
            &mut text.as_bytes(),
            Framing::Packed,
        )?;
    }
    Ok(())
}

/// What checking a set of signatures found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SignatureState {
    /// Every signature checks, with a key the vault knows (its id).
    Good { key_id: String },
    /// No signature: written before kluis signed, or with `--unsigned`.
    /// Says nothing about who wrote it.
    Unsigned,
    /// Signed with a key this vault does not know (its id): not the
    /// organisation's, or the vault lacks its public key.
    UnknownKey { key_id: String },
    /// Signed (key id), but no public key is known here to check it with
    /// (no vault, no `--signing-key`): proves nothing either way.
    Unchecked { key_id: String },
    /// A signature does not match what it signs, or is damaged or missing
    /// beside the others: altered, or forged.
    Bad { what: String, detail: String },
}

impl SignatureState {
    /// Good or unsigned: nothing that points at tampering.
    pub fn is_acceptable(&self) -> bool {
        matches!(
            self,
            SignatureState::Good { .. }
                | SignatureState::Unsigned
                | SignatureState::Unchecked { .. }
        )
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            SignatureState::Good { key_id } => {
                format!("signed by the organisation's key {key_id}")
            }
            SignatureState::Unsigned => "not signed (proves nothing about who wrote it)".into(),
            SignatureState::Unchecked { key_id } => format!(
                "signed with key {key_id}, not checked: no signing key is known here (use the vault, or give --signing-key)"
            ),
            SignatureState::UnknownKey { key_id } => format!(
                "signed with key {key_id}, which this vault does not know: NOT signed by the organisation"
            ),
            SignatureState::Bad { what, detail } => {
                format!("BAD SIGNATURE of {what}: {detail}")
            }
        }
    }
}

/// Checks one detached signature of `message` against `keys`.
pub fn check_detached(
    what: &str,
    signature_text: &str,
    message: &mut dyn Read,
    keys: &[PublicKey],
) -> (SignatureState, Option<Signature>) {
    let bad = |detail: String| SignatureState::Bad {
        what: what.into(),
        detail,
    };
    let signature = match Signature::parse(signature_text) {
        Ok(s) => s,
        Err(e) => return (bad(format!("the signature file {e}")), None),
    };
    let Some(key) = keys.iter().find(|k| k.id() == signature.key_id()) else {
        let key_id = signature.key_id();
        let state = match keys.is_empty() {
            true => SignatureState::Unchecked { key_id },
            false => SignatureState::UnknownKey { key_id },
        };
        return (state, Some(signature));
    };
    let state = match key.verify(&signature, message) {
        Verdict::Good => SignatureState::Good {
            key_id: signature.key_id(),
        },
        Verdict::Bad => bad("it does not match (altered or forged)".into()),
        Verdict::Unreadable(e) => bad(format!("what it signs cannot be read ({e})")),
        Verdict::OtherKey(id) => SignatureState::UnknownKey { key_id: id },
    };
    (state, Some(signature))
}

/// Checks the archive's signatures against `keys`.
///
/// # Errors
/// Only errors opening the members; a signature that does not check is
/// in the result.
pub fn check(reader: &mut ArchiveReader, keys: &[PublicKey]) -> Result<SignatureState> {
    let mut found = Vec::new();
    for (footer_key, name, signed) in SIGNATURE_MEMBERS {
        let located = match reader.located(footer_key) {
            Ok(l) => l,
            Err(e) => {
                return Ok(SignatureState::Bad {
                    what: name.into(),
                    detail: e.to_string(),
                });
            }
        };
        found.push((name, signed, located));
    }
    if found.iter().all(|(_, _, l)| l.is_none()) {
        return Ok(SignatureState::Unsigned);
    }
    let archive_id = reader.metadata().archive_id.clone();
    let mut key_id = None;
    let mut unchecked = false;
    for (name, signed, located) in found {
        let Some(located) = located else {
            return Ok(SignatureState::Bad {
                what: signed.into(),
                detail: format!("{name} is missing while the other signatures are there"),
            });
        };
        if located.size > MAX_SIGNATURE {
            return Ok(SignatureState::Bad {
                what: signed.into(),
                detail: format!("{name} is too large to be a signature"),
            });
        }
        let mut text = Vec::new();
        if let Err(e) = reader.located_content(&located, 0).read_to_end(&mut text) {
            return Ok(SignatureState::Bad {
                what: signed.into(),
                detail: format!("{name} cannot be read ({e})"),
            });
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        let at = match signed {
            METADATA_MEMBER => reader.footer().metadata,
            MANIFEST_MEMBER => reader.footer().manifest,
            _ => reader.footer().sha256sums,
        };
        let (path, _, data) = reader.member_at(at.offset)?;
        if path != signed.as_bytes() {
            return Err(Error::NotAnArchive {
                path: reader.path().into(),
                reason: format!("{signed} is not where the footer says"),
            });
        }
        let (state, signature) = {
            let mut content = reader.tar_from(data).take(at.size);
            check_detached(signed, &text, &mut content, keys)
        };
        if let Some(s) = &signature {
            // A signature of another member or archive, moved here.
            if s.field("file") != Some(signed) || s.field("archive") != Some(archive_id.as_str()) {
                return Ok(SignatureState::Bad {
                    what: signed.into(),
                    detail: format!(
                        "its trusted comment is not about {signed} of this archive ({:?})",
                        s.trusted_comment
                    ),
                });
            }
            if key_id.get_or_insert_with(|| s.key_id()) != &s.key_id() {
                return Ok(SignatureState::Bad {
                    what: signed.into(),
                    detail: "the archive's signatures were made with different keys".into(),
                });
            }
        }
        match state {
            SignatureState::Good { .. } => {}
            SignatureState::Unchecked { .. } => unchecked = true,
            other => return Ok(other),
        }
    }
    let key_id = key_id.unwrap_or_default();
    Ok(match unchecked {
        true => SignatureState::Unchecked { key_id },
        false => SignatureState::Good { key_id },
    })
}
