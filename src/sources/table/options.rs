//! What the user asked for about tables: `--table`, `--drop`, `--keep`,
//! `--delimiter`, `--date-format` and the vault's `[tables.NAME]` sections,
//! combined into one [`TableSpec`] per table (command line over config).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::csv::parse_delimiter;
use super::dates::DateFormat;
use super::spec::{Origin, TablePlan, TableSpec};
use crate::error::{Error, Result};

/// A `[tables.NAME]` section of the vault config: this table's decisions,
/// so that next year is one command.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// The date column, when `--table` gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_column: Option<String>,
    /// A chrono strftime format, or `unix`; `--date-format` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    /// CSV delimiter (`,` `;` `tab` `|` …); `--delimiter` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Columns left out of the archive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
    /// Sensitive-looking columns kept on purpose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<String>,
}

/// One `--table` as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableArg {
    pub origin: Origin,
    pub date_column: Option<String>,
}

impl TableArg {
    /// Parses `FILE[:DATECOLUMN]`, split at the last `:` (a value that names
    /// an existing file as a whole has no date column). With `sqlite`, a
    /// `NAME[:DATECOLUMN]` whose NAME is not an existing file is a table of
    /// that database. `.jsonl` and `.ndjson` files are JSON Lines; every
    /// other file is CSV.
    pub fn parse(spec: &str, sqlite: Option<&Path>) -> TableArg {
        let (target, date_column) = if Path::new(spec).is_file() {
            (spec, None)
        } else {
            match spec.rsplit_once(':') {
                Some((t, c)) if !t.is_empty() && !c.is_empty() => (t, Some(c.to_owned())),
                _ => (spec, None),
            }
        };
        let path = PathBuf::from(target);
        let origin = match sqlite {
            Some(db) if !path.exists() => Origin::Sqlite {
                db: db.to_path_buf(),
                table: target.to_owned(),
            },
            _ => {
                let ext = path
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase())
                    .unwrap_or_default();
                if ext == "jsonl" || ext == "ndjson" {
                    Origin::Jsonl(path)
                } else {
                    Origin::Csv(path)
                }
            }
        };
        TableArg {
            origin,
            date_column,
        }
    }
}

/// A `--drop` or `--keep`: a column of every table, or (`TABLE:COLUMN`,
/// split at the last `:`) of one table, named by its name or its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnRule {
    pub table: Option<String>,
    pub column: String,
}

impl ColumnRule {
    pub fn parse(text: &str) -> ColumnRule {
        match text.rsplit_once(':') {
            Some((t, c)) if !t.is_empty() && !c.is_empty() => ColumnRule {
                table: Some(t.to_owned()),
                column: c.to_owned(),
            },
            _ => ColumnRule {
                table: None,
                column: text.to_owned(),
            },
        }
    }

    fn flag(&self, kind: &str) -> String {
        match &self.table {
            Some(t) => format!("--{kind} {t}:{}", self.column),
            None => format!("--{kind} {}", self.column),
        }
    }
}

/// The tables of one archive and the decisions that apply to them.
#[derive(Clone, Debug, Default)]
pub struct TableOptions {
    pub tables: Vec<TableArg>,
    pub drop: Vec<ColumnRule>,
    pub keep: Vec<ColumnRule>,
    /// Tables of live databases, which rules may name too.
    pub other_tables: Vec<String>,
    /// `--delimiter`: for every CSV table (else each table's config, else
    /// detected from its header line).
    pub delimiter: Option<u8>,
    /// `--date-format`: for every table (else each table's config, else the
    /// automatic formats).
    pub date_format: Option<String>,
}

impl TableOptions {
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Combines the command line with the vault's `[tables.NAME]` sections
    /// into one [`TableSpec`] per table. The command line wins over the
    /// config; a column both dropped and kept at the same level is refused.
    pub fn resolve(&self, config: &BTreeMap<String, TableConfig>) -> Result<Vec<TableSpec>> {
        let mut specs: Vec<TableSpec> = Vec::new();
        for arg in &self.tables {
            let name = table_name(&arg.origin)?;
            if let Some(other) = specs.iter().find(|s| s.name == name) {
                return Err(Error::Usage(format!(
                    "{} and {} would both be archived as table {name}; rename one of the files",
                    other.origin, arg.origin
                )));
            }
            let cfg = config.get(&name).cloned().unwrap_or_default();
            let date_column = arg
                .date_column
                .clone()
                .or_else(|| cfg.date_column.clone())
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "no date column for {}: give --table {}:COLUMN, or set date_column under [tables.{name}] in the vault config",
                        arg.origin,
                        arg.origin.path().display()
                    ))
                })?;
            let dates = match (&self.date_format, &cfg.date_format) {
                (Some(f), _) | (None, Some(f)) => DateFormat::parse(f)?,
                (None, None) => DateFormat::Auto,
            };
            let delimiter = match (self.delimiter, &cfg.delimiter) {
                (Some(d), _) => Some(d),
                (None, Some(text)) => Some(parse_delimiter(text).map_err(|e| {
                    Error::Usage(format!(
                        "[tables.{name}] delimiter in the vault config: {e}"
                    ))
                })?),
                (None, None) => None,
            };
            let conflict =
                |drop: &BTreeSet<String>, keep: &BTreeSet<String>, where_: &str| match drop
                    .intersection(keep)
                    .next()
                {
                    Some(c) => Err(Error::Usage(format!(
                        "column {c:?} of table {name} is both dropped and kept {where_}; decide one"
                    ))),
                    None => Ok(()),
                };
            let mut drop: BTreeSet<String> = cfg.drop.iter().cloned().collect();
            let mut keep: BTreeSet<String> = cfg.keep.iter().cloned().collect();
            conflict(&drop, &keep, "in the vault config")?;
            let applies = |r: &ColumnRule| match &r.table {
                None => true,
                Some(t) => names_table(t, &name, &arg.origin),
            };
            let cli_drop: BTreeSet<String> = self
                .drop
                .iter()
                .filter(|r| applies(r))
                .map(|r| r.column.clone())
                .collect();
            let cli_keep: BTreeSet<String> = self
                .keep
                .iter()
                .filter(|r| applies(r))
                .map(|r| r.column.clone())
                .collect();
            conflict(&cli_drop, &cli_keep, "on the command line")?;
            for c in &cli_drop {
                keep.remove(c);
                drop.insert(c.clone());
            }
            for c in &cli_keep {
                drop.remove(c);
                keep.insert(c.clone());
            }
            let required = self
                .drop
                .iter()
                .chain(&self.keep)
                .filter(|r| r.table.is_some() && applies(r))
                .map(|r| r.column.clone())
                .collect();
            specs.push(TableSpec {
                name,
                origin: arg.origin.clone(),
                date_column,
                dates,
                delimiter,
                drop,
                keep,
                required,
            });
        }
        for rule in self.drop.iter().chain(&self.keep) {
            if let Some(t) = &rule.table
                && !specs.iter().any(|s| names_table(t, &s.name, &s.origin))
                && !self.other_tables.contains(t)
            {
                let kind = if self.drop.contains(rule) {
                    "drop"
                } else {
                    "keep"
                };
                return Err(Error::Usage(format!(
                    "{}: no table {t:?} is being archived (tables: {})",
                    rule.flag(kind),
                    specs
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(specs)
    }

    /// After the check: a rule for every table that names a column no table
    /// has is almost certainly a typo.
    /// `others`: the columns of tables not given as files (live databases).
    pub fn check_unused(&self, plans: &[TablePlan], others: &[String]) -> Result<()> {
        for (rules, kind) in [(&self.drop, "drop"), (&self.keep, "keep")] {
            for rule in rules.iter().filter(|r| r.table.is_none()) {
                if !plans
                    .iter()
                    .any(|p| p.filtered.columns.contains(&rule.column))
                    && !others.contains(&rule.column)
                {
                    return Err(Error::Usage(format!(
                        "{}: no table has a column {:?} ({})",
                        rule.flag(kind),
                        rule.column,
                        plans
                            .iter()
                            .map(|p| format!("{}: {}", p.spec.name, p.filtered.columns.join(", ")))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Whether a rule's `TABLE` part names this table: its name, or its file.
fn names_table(rule_table: &str, name: &str, origin: &Origin) -> bool {
    if rule_table == name {
        return true;
    }
    match origin {
        Origin::Csv(p) | Origin::Jsonl(p) => {
            let given = Path::new(rule_table);
            given == p
                || matches!((given.canonicalize(), p.canonicalize()), (Ok(a), Ok(b)) if a == b)
        }
        Origin::Sqlite { .. } => false,
    }
}

/// A table's name: the file name without its extension, or the SQLite
/// table's name. It names the member (`tables/NAME.csv`) and the config
/// section (`[tables.NAME]`).
fn table_name(origin: &Origin) -> Result<String> {
    let name = match origin {
        Origin::Csv(p) | Origin::Jsonl(p) => p
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_owned)
            .ok_or_else(|| Error::BadSource {
                path: p.clone(),
                detail:
                    "a table's file name must be valid UTF-8 (it names the table in the archive)"
                        .into(),
            })?,
        Origin::Sqlite { table, .. } => table.clone(),
    };
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control);
    if !ok {
        return Err(Error::BadSource {
            path: origin.path().to_path_buf(),
            detail: format!(
                "{name:?} cannot name a table in the archive: use a name without /, control characters or a leading dot"
            ),
        });
    }
    Ok(name)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_resolve_with_the_command_line_winning() {
        let config = BTreeMap::from([(
            "orders".to_string(),
            TableConfig {
                date_column: Some("order_date".into()),
                drop: vec!["birth_date".into(), "notes".into()],
                keep: vec!["password_hash".into()],
                ..TableConfig::default()
            },
        )]);
        let opts = TableOptions {
            tables: vec![TableArg::parse("export/orders.csv", None)],
            drop: vec![ColumnRule::parse("password_hash")],
            keep: vec![ColumnRule::parse("orders:notes")],
            ..TableOptions::default()
        };
        let specs = opts.resolve(&config).unwrap();
        let s = &specs[0];
        assert_eq!(s.date_column, "order_date");
        assert_eq!(s.member(), "tables/orders.csv");
        assert_eq!(
            s.drop,
            BTreeSet::from(["birth_date".into(), "password_hash".into()])
        );
        assert_eq!(s.keep, BTreeSet::from(["notes".to_string()]));
        assert_eq!(s.required, BTreeSet::from(["notes".to_string()]));

        let both = TableOptions {
            drop: vec![ColumnRule::parse("x")],
            keep: vec![ColumnRule::parse("x")],
            ..opts.clone()
        };
        assert!(
            both.resolve(&config)
                .unwrap_err()
                .to_string()
                .contains("both dropped and kept")
        );
        let unknown = TableOptions {
            drop: vec![ColumnRule::parse("customers:x")],
            ..opts.clone()
        };
        assert!(
            unknown
                .resolve(&config)
                .unwrap_err()
                .to_string()
                .contains("no table \"customers\"")
        );
        let no_column = TableOptions {
            tables: vec![TableArg::parse("other.csv", None)],
            ..TableOptions::default()
        };
        assert!(
            no_column
                .resolve(&config)
                .unwrap_err()
                .to_string()
                .contains("no date column")
        );
    }

    #[test]
    fn table_args() {
        assert_eq!(
            TableArg::parse("a/orders.csv:order_date", None),
            TableArg {
                origin: Origin::Csv("a/orders.csv".into()),
                date_column: Some("order_date".into())
            }
        );
        assert_eq!(
            TableArg::parse("x.JSONL:d", None).origin,
            Origin::Jsonl("x.JSONL".into())
        );
        assert_eq!(
            TableArg::parse("orders:created_at", Some(Path::new("shop.db"))),
            TableArg {
                origin: Origin::Sqlite {
                    db: "shop.db".into(),
                    table: "orders".into()
                },
                date_column: Some("created_at".into())
            }
        );
        assert_eq!(ColumnRule::parse("a:b:c").table.as_deref(), Some("a:b"));
        assert_eq!(ColumnRule::parse("c").table, None);
    }
}
