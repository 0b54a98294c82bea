//! The vault: the local configuration (`config.toml`) and the catalog
//! (`catalog.json`) of every archive and copy, kept where the media are not,
//! and the organisation's signing key (`signing.key`, the vault's one
//! secret). Every write is atomic, and a lock keeps two kluis processes
//! apart.

pub mod catalog;
pub mod media;
pub mod parity;
pub mod readback;
pub mod subjects;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::keys::signing::{PublicKey, SigningKey};
use crate::retention::{Policy, RetentionConfig};
use crate::sources::table::TableConfig;
use crate::vault::catalog::{Catalog, SigningKeyRecord};
use crate::vault::media::{Lock, atomic_write, lock_folder};

pub const CONFIG_FILE: &str = "config.toml";
pub const CATALOG_FILE: &str = "catalog.json";
/// The organisation's secret signing key (minisign format, mode 0600).
pub const SIGNING_KEY_FILE: &str = "signing.key";
const LOCK_FILE: &str = "lock";
/// Environment variable naming the vault folder.
pub const VAULT_ENV: &str = "KLUIS_VAULT";

/// `config.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The organisation whose records these are.
    pub organisation: String,
    /// Recipients every archive is encrypted to (`age1…` or ssh keys).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Who performs destructions, for the proof (e.g. a name and role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Months after which a copy counts as overdue for verification.
    #[serde(default = "default_verify_every")]
    pub verify_every_months: u32,
    #[serde(default)]
    pub retention: RetentionConfig,
    /// `[parity]`: PAR2 recovery files written beside every archive.
    #[serde(default)]
    pub parity: ParityConfig,
    /// `[subjects]`: how identifiers of data subjects are read.
    #[serde(default)]
    pub subjects: SubjectsConfig,
}

/// `[subjects]` in `config.toml` (docs/SUBJECTS.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectsConfig {
    /// The country of phone numbers written without their country code
    /// (ISO code: NL, BE, DE, …).
    #[serde(default = "default_country")]
    pub country: String,
    /// Columns whose values are customer or relation numbers.
    #[serde(default)]
    pub id_columns: Vec<String>,
}

fn default_country() -> String {
    "NL".into()
}

impl Default for SubjectsConfig {
    fn default() -> Self {
        SubjectsConfig {
            country: default_country(),
            id_columns: Vec::new(),
        }
    }
}

/// `[parity]` in `config.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParityConfig {
    /// Recovery blocks as a percentage of the archive's slices; 0: none.
    #[serde(default = "default_parity_percent")]
    pub percent: u32,
    /// Recovery blocks beyond the percentage.
    #[serde(default = "default_parity_spare")]
    pub spare: u32,
    /// Memory for the recovery blocks held while writing (and the input
    /// slices being multiplied into them), in MiB; more
    /// blocks are made in further passes over the written copy. A repair
    /// holds its rebuilt data within it too (in stripes beyond it).
    #[serde(default = "default_parity_memory")]
    pub memory_mib: u64,
}

fn default_parity_percent() -> u32 {
    crate::parity::DEFAULT_PERCENT
}
fn default_parity_spare() -> u32 {
    crate::parity::DEFAULT_SPARE
}
fn default_parity_memory() -> u64 {
    crate::parity::DEFAULT_BUDGET >> 20
}

impl Default for ParityConfig {
    fn default() -> Self {
        ParityConfig {
            percent: default_parity_percent(),
            spare: default_parity_spare(),
            memory_mib: default_parity_memory(),
        }
    }
}

impl ParityConfig {
    pub fn settings(&self) -> crate::parity::Settings {
        crate::parity::Settings {
            percent: self.percent,
            spare: self.spare,
            budget: self.memory_mib.max(1) << 20,
        }
    }
}

fn default_verify_every() -> u32 {
    12
}

/// `config.toml` as read: [`Config`] plus the optional `[tables.NAME]`
/// sections (per table: `date_column`, `date_format`, `delimiter`, `drop`,
/// `keep`; see docs/TABLES.md).
///
/// The sections are kept in [`Vault::tables`] rather than in `Config`, so
/// that code building a `Config` need not know about tables. This struct
/// repeats `Config`'s fields with the same attributes, so that unknown keys
/// are still refused and errors still name their line; [`ConfigFile::split`]
/// builds a `Config` field by field, so a field added there and not here
/// does not compile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    organisation: String,
    #[serde(default)]
    recipients: Vec<String>,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default = "default_verify_every")]
    verify_every_months: u32,
    #[serde(default)]
    retention: RetentionConfig,
    #[serde(default)]
    parity: ParityConfig,
    #[serde(default)]
    subjects: SubjectsConfig,
    #[serde(default)]
    tables: BTreeMap<String, TableConfig>,
    #[serde(default)]
    db: BTreeMap<String, DbConfig>,
}

pub use crate::sources::db::DbConfig;

impl ConfigFile {
    fn split(
        self,
    ) -> (
        Config,
        BTreeMap<String, TableConfig>,
        BTreeMap<String, DbConfig>,
    ) {
        let ConfigFile {
            organisation,
            recipients,
            operator,
            verify_every_months,
            retention,
            parity,
            subjects,
            tables,
            db,
        } = self;
        (
            Config {
                organisation,
                recipients,
                operator,
                verify_every_months,
                retention,
                parity,
                subjects,
            },
            tables,
            db,
        )
    }
}

/// `config.toml` as written.
#[derive(Serialize)]
struct ConfigFileRef<'a> {
    #[serde(flatten)]
    config: &'a Config,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tables: &'a BTreeMap<String, TableConfig>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    db: &'a BTreeMap<String, DbConfig>,
}

/// Where the vault is: `--vault DIR`, else `$KLUIS_VAULT`, else the user's
/// config folder (`~/.config/kluis` on Linux).
pub fn locate(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os(VAULT_ENV).filter(|v| !v.is_empty()) {
        return dir.into();
    }
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("kluis")
}

/// An open vault.
#[derive(Debug)]
pub struct Vault {
    pub dir: PathBuf,
    pub config: Config,
    pub policy: Policy,
    /// The `[tables.NAME]` sections: decisions per tabular source.
    pub tables: BTreeMap<String, TableConfig>,
    /// The `[db.NAME]` sections: named live database sources.
    pub databases: BTreeMap<String, DbConfig>,
}

impl Vault {
    /// Creates a vault in `dir` (created if missing), with a new signing
    /// key for the organisation.
    pub fn init(dir: &Path, config: Config) -> Result<Vault> {
        if dir.join(CONFIG_FILE).exists() {
            return Err(Error::VaultExists { path: dir.into() });
        }
        let policy = Policy::from_config(&config.retention)?;
        fs::create_dir_all(dir).at(dir)?;
        let vault = Vault {
            dir: dir.into(),
            config,
            policy,
            tables: BTreeMap::new(),
            databases: BTreeMap::new(),
        };
        let _lock = vault.lock()?;
        vault.save_config()?;
        if !dir.join(CATALOG_FILE).exists() {
            vault.save_catalog(&Catalog::default())?;
        }
        if !dir.join(SIGNING_KEY_FILE).exists() {
            vault.create_signing_key_locked()?;
        }
        Ok(vault)
    }

    /// The organisation's signing key, `None` when the vault has none
    /// (vaults made before kluis signed).
    ///
    /// # Errors
    /// An unreadable, damaged or not private key file.
    pub fn signing_key(&self) -> Result<Option<SigningKey>> {
        let path = self.dir.join(SIGNING_KEY_FILE);
        if !path.exists() {
            return Ok(None);
        }
        SigningKey::read(&path).map(Some)
    }

    /// The public keys the organisation signed with (the catalog's, which
    /// keeps retired ones), and the current key's even if the catalog
    /// lacks it.
    pub fn signing_public_keys(&self) -> Result<Vec<PublicKey>> {
        let mut keys = Vec::new();
        for record in &self.catalog()?.signing_keys {
            let key = PublicKey::parse(&record.public_key).map_err(|detail| Error::BadConfig {
                path: self.dir.join(CATALOG_FILE),
                detail: format!("signing key {}: {detail}", record.key_id),
            })?;
            keys.push(key);
        }
        if let Some(current) = self.signing_key()?.map(|k| k.public())
            && !keys.contains(&current)
        {
            keys.push(current);
        }
        Ok(keys)
    }

    /// Creates the signing key of a vault that has none and records its
    /// public half in the catalog.
    ///
    /// # Errors
    /// [`Error::WouldOverwrite`] when the vault has a key already.
    pub fn create_signing_key(&self) -> Result<PublicKey> {
        let _lock = self.lock()?;
        self.create_signing_key_locked()
    }

    fn create_signing_key_locked(&self) -> Result<PublicKey> {
        let key = SigningKey::generate();
        key.write_new(&self.dir.join(SIGNING_KEY_FILE))?;
        media::sync_dir(&self.dir)?;
        let public = key.public();
        let mut catalog = self.catalog()?;
        catalog.signing_keys.push(SigningKeyRecord {
            key_id: public.id(),
            public_key: public.to_base64(),
            created: chrono::Utc::now(),
        });
        self.save_catalog(&catalog)?;
        Ok(public)
    }

    /// Opens the vault in `dir`.
    ///
    /// # Errors
    /// [`Error::NoVault`] when there is none (run `kluis init`);
    /// [`Error::BadConfig`] naming the key and line of a malformed config.
    pub fn open(dir: &Path) -> Result<Vault> {
        let path = dir.join(CONFIG_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NoVault { path: dir.into() });
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let file: ConfigFile = toml::from_str(&text).map_err(|e| Error::BadConfig {
            path: path.clone(),
            detail: toml_error(&text, &e),
        })?;
        let (config, tables, databases) = file.split();
        let policy = Policy::from_config(&config.retention).map_err(|e| Error::BadConfig {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        Ok(Vault {
            dir: dir.into(),
            config,
            policy,
            tables,
            databases,
        })
    }

    pub fn save_config(&self) -> Result<()> {
        let text = toml::to_string_pretty(&ConfigFileRef {
            config: &self.config,
            tables: &self.tables,
            db: &self.databases,
        })
        .expect("config serialises");
        let text = format!(
            "# kluis vault configuration. Edit with care; `kluis status` checks it.\n{text}"
        );
        atomic_write(&self.dir.join(CONFIG_FILE), text.as_bytes())
    }

    /// Reads the catalog.
    pub fn catalog(&self) -> Result<Catalog> {
        let path = self.dir.join(CATALOG_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::BadConfig {
                path,
                detail: format!("the catalog is not valid: {e}"),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Catalog::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Writes the catalog atomically. Hold the lock around read-modify-write.
    pub fn save_catalog(&self, catalog: &Catalog) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(catalog).expect("catalog serialises");
        json.push(b'\n');
        atomic_write(&self.dir.join(CATALOG_FILE), &json)
    }

    /// Takes the vault's exclusive lock; released when the guard drops.
    ///
    /// # Errors
    /// [`Error::Locked`] when another kluis process holds it.
    pub fn lock(&self) -> Result<Lock> {
        lock_folder(&self.dir, LOCK_FILE)
    }

    /// Applies `change` to the catalog under the lock, atomically.
    pub fn update_catalog<T>(&self, change: impl FnOnce(&mut Catalog) -> Result<T>) -> Result<T> {
        let _lock = self.lock()?;
        let mut catalog = self.catalog()?;
        let out = change(&mut catalog)?;
        self.save_catalog(&catalog)?;
        Ok(out)
    }
}

/// toml's message, reduced to one line naming the line and the key.
fn toml_error(_text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().to_owned();
    match e.span() {
        Some(span) => {
            let line = _text[..span.start.min(_text.len())].matches('\n').count() + 1;
            let key = _text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.split('=').next())
                .map(str::trim)
                .unwrap_or("");
            format!("line {line} ({key}): {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            organisation: "Het Blauwe Huis B.V.".into(),
            recipients: vec![],
            operator: None,
            verify_every_months: 12,
            retention: RetentionConfig::default(),
            parity: Default::default(),
            subjects: Default::default(),
        }
    }

    #[test]
    fn init_open_and_refuse_twice() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::init(dir.path(), config()).unwrap();
        assert!(matches!(
            Vault::init(dir.path(), config()),
            Err(Error::VaultExists { .. })
        ));
        let again = Vault::open(&v.dir).unwrap();
        assert_eq!(again.config.organisation, "Het Blauwe Huis B.V.");
        assert!(again.catalog().unwrap().archives.is_empty());
        assert!(matches!(
            Vault::open(&dir.path().join("nope")),
            Err(Error::NoVault { .. })
        ));
    }

    #[test]
    fn malformed_config_names_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let err = refusal(
            dir.path(),
            "organisation = \"x\"\nverify_every_months = \"often\"\n",
        );
        assert!(
            err.contains("line 2") && err.contains("verify_every_months"),
            "{err}"
        );
        let err = refusal(
            dir.path(),
            "organisation = \"x\"\n[retention]\npreset = \"xx\"\n",
        );
        assert!(err.contains("xx"), "{err}");
    }

    #[test]
    fn table_sections_are_read_checked_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = Vault::init(dir.path(), config()).unwrap();
        assert!(v.tables.is_empty());
        let text = fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert!(!text.contains("tables"), "{text}");
        fs::write(
            dir.path().join(CONFIG_FILE),
            format!(
                "{text}\n[tables.orders]\ndate_column = \"order_date\"\ndrop = [\"password_hash\", \"birth_date\"]\nkeep = [\"email_hash\"]\n"
            ),
        )
        .unwrap();
        v = Vault::open(dir.path()).unwrap();
        let t = &v.tables["orders"];
        assert_eq!(t.date_column.as_deref(), Some("order_date"));
        assert_eq!(t.drop, ["password_hash", "birth_date"]);
        assert_eq!(t.keep, ["email_hash"]);
        v.save_config().unwrap();
        let again = Vault::open(dir.path()).unwrap();
        assert_eq!(again.tables, v.tables);
        assert_eq!(again.config.organisation, v.config.organisation);

        let err = refusal(
            dir.path(),
            "organisation = \"x\"\n[tables.orders]\ndrop = [\"a\"]\ndrpo = [\"b\"]\n",
        );
        assert!(err.contains("line 4") && err.contains("drpo"), "{err}");
        let err = refusal(dir.path(), "organisation = \"x\"\ncolour = 1\n");
        assert!(err.contains("colour"), "{err}");
    }

    /// Why `Vault::open` refuses a vault whose config is `text`.
    fn refusal(dir: &Path, text: &str) -> String {
        fs::write(dir.join(CONFIG_FILE), text).unwrap();
        Vault::open(dir).unwrap_err().to_string()
    }

    #[test]
    fn second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::init(dir.path(), config()).unwrap();
        let held = v.lock().unwrap();
        assert!(matches!(v.lock(), Err(Error::Locked { .. })));
        drop(held);
        v.lock().unwrap();
    }
}
