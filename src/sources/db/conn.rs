//! One connection to a live database server, PostgreSQL or MariaDB/MySQL,
//! with the few operations the export and the purge need: statements,
//! rows streamed as text (every value as the server prints it, NULL kept
//! apart), and the affected-row count of a delete. Values are inlined as
//! quoted literals (both sessions are set so that only `'` needs doubling),
//! never as anything the server could read as SQL.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// The server's dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Postgres,
    Mysql,
}

/// Where the rows are: a URL without a password, and where the password
/// comes from.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Target {
    pub kind: Kind,
    /// As given (it holds no password: one in the URL is refused).
    pub url: String,
    /// The database's name, from the URL.
    pub database: String,
    /// `--db-password-file`; else the environment (`PGPASSWORD`,
    /// `MYSQL_PWD`), else none.
    pub password_file: Option<PathBuf>,
    /// TLS, as the URL's `sslmode` or `--db-tls` says (PostgreSQL; libpq's
    /// default `prefer`).
    #[serde(default)]
    pub tls: Tls,
    /// `sslrootcert=FILE`: the certificate authority to trust (PEM), besides
    /// the system's.
    #[serde(default)]
    pub root_cert: Option<PathBuf>,
}

/// libpq's `sslmode`s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tls {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, without checking its certificate.
    #[default]
    Prefer,
    /// TLS or no connection, without checking the certificate.
    Require,
    /// TLS with a certificate signed by a trusted authority.
    VerifyCa,
    /// The same, for the host name in the URL.
    VerifyFull,
}

impl FromStr for Tls {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Tls, String> {
        Ok(match s {
            "disable" => Tls::Disable,
            "allow" | "prefer" => Tls::Prefer,
            "require" => Tls::Require,
            "verify-ca" => Tls::VerifyCa,
            "verify-full" => Tls::VerifyFull,
            _ => {
                return Err(format!(
                    "{s:?} is not a TLS mode: give disable, prefer, require, verify-ca or verify-full"
                ));
            }
        })
    }
}

impl Target {
    /// Reads `url` (`postgres://`, `postgresql://`, `mysql://`,
    /// `mariadb://`). A password in it is refused: it would be on the
    /// command line, in the shell's history and in `ps`.
    pub fn parse(url: &str, password_file: Option<&Path>) -> Result<Target> {
        Target::parse_with(url, password_file, None)
    }

    /// [`Target::parse`] with `--db-tls MODE`, which overrides the URL's
    /// `sslmode`.
    pub fn parse_with(
        url: &str,
        password_file: Option<&Path>,
        tls: Option<&str>,
    ) -> Result<Target> {
        let refused = |detail: String| Error::DatabaseRefused {
            source_url: redact(url),
            detail,
        };
        let (kind, rest) = if let Some(r) = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
        {
            (Kind::Postgres, r)
        } else if let Some(r) = url
            .strip_prefix("mysql://")
            .or_else(|| url.strip_prefix("mariadb://"))
        {
            (Kind::Mysql, r)
        } else {
            return Err(refused(
                "not a database URL: give postgres://USER@HOST[:PORT]/DATABASE or mysql://USER@HOST[:PORT]/DATABASE (mariadb:// too)".into(),
            ));
        };
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && userinfo.contains(':')
        {
            return Err(refused(
                "the URL holds a password, which would be on the command line and in the shell's history: remove it, and give it in PGPASSWORD or MYSQL_PWD, or with --db-password-file FILE".into(),
            ));
        }
        let query = rest.split_once('?').map_or("", |(_, q)| q);
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .map(percent_decode)
        };
        let mut mode = match param("sslmode") {
            Some(m) => m.parse::<Tls>().map_err(&refused)?,
            None => Tls::Prefer,
        };
        if let Some(t) = tls {
            mode = t
                .parse::<Tls>()
                .map_err(|e| Error::Usage(format!("--db-tls: {e}")))?;
        }
        let mysql_tls = query.split('&').any(|kv| {
            matches!(
                kv,
                "require_ssl=true"
                    | "ssl-mode=REQUIRED"
                    | "ssl-mode=VERIFY_CA"
                    | "ssl-mode=VERIFY_IDENTITY"
            )
        });
        if kind == Kind::Mysql && (mysql_tls || !matches!(mode, Tls::Disable | Tls::Prefer)) {
            return Err(refused(
                "TLS to MariaDB/MySQL is not supported yet (PostgreSQL's is): connect to a server on this machine or through an SSH tunnel (ssh -L 3306:localhost:3306 HOST) instead".into(),
            ));
        }
        if kind == Kind::Mysql {
            mode = Tls::Disable;
        }
        let database = rest
            .split_once('/')
            .map(|(_, d)| d.split('?').next().unwrap_or(""))
            .unwrap_or("");
        if database.is_empty() {
            return Err(refused(
                "the URL names no database: end it with /DATABASE".into(),
            ));
        }
        Ok(Target {
            kind,
            url: url.to_owned(),
            database: percent_decode(database),
            password_file: password_file.map(Path::to_path_buf),
            tls: mode,
            root_cert: param("sslrootcert").map(PathBuf::from),
        })
    }

    fn password(&self) -> Result<Option<String>> {
        if let Some(file) = &self.password_file {
            let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
            let line = text.lines().next().unwrap_or("").to_owned();
            return Ok(Some(line));
        }
        let var = match self.kind {
            Kind::Postgres => "PGPASSWORD",
            Kind::Mysql => "MYSQL_PWD",
        };
        Ok(std::env::var(var).ok())
    }

    pub fn connect(&self) -> Result<Conn> {
        let failed = |detail: String| Error::LiveDatabase {
            source_url: self.url.clone(),
            detail,
        };
        let password = self.password()?;
        let inner = match self.kind {
            Kind::Postgres => {
                // kluis reads sslmode and sslrootcert itself.
                let url = self.url.replacen("postgresql://", "postgres://", 1);
                let url = match url.split_once('?') {
                    Some((base, query)) => {
                        let rest: Vec<&str> = query
                            .split('&')
                            .filter(|kv| {
                                !kv.starts_with("sslmode=") && !kv.starts_with("sslrootcert=")
                            })
                            .collect();
                        match rest.is_empty() {
                            true => base.to_owned(),
                            false => format!("{base}?{}", rest.join("&")),
                        }
                    }
                    None => url,
                };
                let mut config = postgres::Config::from_str(&url)
                    .map_err(|e| failed(format!("cannot read the URL ({e})")))?;
                if let Some(p) = &password {
                    config.password(p);
                }
                config.application_name("kluis");
                let client = match self.tls {
                    Tls::Disable => {
                        config.ssl_mode(postgres::config::SslMode::Disable);
                        config.connect(postgres::NoTls)
                    }
                    mode => {
                        let mut b = native_tls::TlsConnector::builder();
                        if let Some(ca) = &self.root_cert {
                            let pem = std::fs::read(ca).map_err(|e| Error::io(ca, e))?;
                            let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| {
                                failed(format!(
                                    "sslrootcert {}: not a PEM certificate ({e})",
                                    ca.display()
                                ))
                            })?;
                            b.add_root_certificate(cert);
                        }
                        match mode {
                            Tls::Prefer | Tls::Require => {
                                b.danger_accept_invalid_certs(true);
                                b.danger_accept_invalid_hostnames(true);
                            }
                            Tls::VerifyCa => {
                                b.danger_accept_invalid_hostnames(true);
                            }
                            Tls::VerifyFull | Tls::Disable => {}
                        }
                        let connector = b
                            .build()
                            .map_err(|e| failed(format!("cannot set up TLS ({e})")))?;
                        config.ssl_mode(match mode {
                            Tls::Prefer => postgres::config::SslMode::Prefer,
                            _ => postgres::config::SslMode::Require,
                        });
                        config.connect(postgres_native_tls::MakeTlsConnector::new(connector))
                    }
                }
                .map_err(|e| failed(format!("cannot connect ({})", pg_detail(&e))))?;
                Inner::Pg(Box::new(client))
            }
            Kind::Mysql => {
                let url = self.url.replacen("mariadb://", "mysql://", 1);
                let opts = mysql::Opts::from_url(&url)
                    .map_err(|e| failed(format!("cannot read the URL ({e})")))?;
                let opts = mysql::OptsBuilder::from_opts(opts)
                    .pass(password)
                    .prefer_socket(false);
                let conn =
                    mysql::Conn::new(opts).map_err(|e| failed(format!("cannot connect ({e})")))?;
                Inner::My(Box::new(conn))
            }
        };
        let mut conn = Conn {
            kind: self.kind,
            url: self.url.clone(),
            inner,
        };
        // UTC, ISO dates, and literals in which only `'` is special. On
        // PostgreSQL, cursors planned for reading every row (not the first
        // tenth, which picks nested loops over whole child tables) and no
        // JIT: the export of a 1,000,000-order year went from 33.8 s to
        // 17.7 s (scripts/bench.sh --db).
        match self.kind {
            Kind::Postgres => conn.batch(
                "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET standard_conforming_strings = on; SET bytea_output = 'hex'; SET extra_float_digits = 1; SET cursor_tuple_fraction = 1; SET jit = off",
            )?,
            Kind::Mysql => {
                conn.batch("SET time_zone = '+00:00'")?;
                conn.batch("SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'NO_BACKSLASH_ESCAPES', 'ANSI_QUOTES')")?;
                conn.batch("SET NAMES utf8mb4")?;
            }
        }
        Ok(conn)
    }
}

/// The URL without a password, for messages about a URL that was refused.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split(':').next().unwrap_or("");
                    format!("{scheme}://{user}:***@{host}{tail}")
                }
                None => url.to_owned(),
            }
        }
        None => "the database URL".to_owned(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One row of PostgreSQL's `COPY … TO STDOUT` text format, without its
/// newline, into `out`: `spans` gets each field's bytes in `out`, or `None`
/// for NULL (`\N`). Fields are split at tabs (a tab in a value is written
/// `\t`), and backslash escapes are undone: `\b \f \n \r \t \v`, one to
/// three octal digits, `\x` and one or two hex digits, and a backslash
/// before any other byte stands for that byte (`\\` for a backslash).
pub(crate) fn copy_text_row(
    line: &[u8],
    out: &mut Vec<u8>,
    spans: &mut Vec<Option<(usize, usize)>>,
) {
    out.clear();
    spans.clear();
    for field in line.split(|&b| b == b'\t') {
        if field == b"\\N" {
            spans.push(None);
            continue;
        }
        let start = out.len();
        let mut rest = field;
        while let Some(at) = memchr::memchr(b'\\', rest) {
            out.extend_from_slice(&rest[..at]);
            let Some(&c) = rest.get(at + 1) else {
                // A lone backslash at the end: kept as it is.
                out.push(b'\\');
                rest = &[];
                break;
            };
            rest = &rest[at + 2..];
            let digits = |rest: &mut &[u8], radix: u32, max: usize, first: u32| {
                let mut v = first;
                let mut n = 0;
                while n < max {
                    match rest.first().and_then(|&d| char::from(d).to_digit(radix)) {
                        Some(d) => {
                            v = v * radix + d;
                            *rest = &rest[1..];
                            n += 1;
                        }
                        None => break,
                    }
                }
                (v, n)
            };
            match c {
                b'b' => out.push(0x08),
                b'f' => out.push(0x0C),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'v' => out.push(0x0B),
                b'0'..=b'7' => out.push(digits(&mut rest, 8, 2, u32::from(c - b'0')).0 as u8),
                b'x' => match digits(&mut rest, 16, 2, 0) {
                    (v, 1..) => out.push(v as u8),
                    (_, 0) => out.push(b'x'),
                },
                other => out.push(other),
            }
        }
        out.extend_from_slice(rest);
        spans.push(Some((start, out.len())));
    }
}

/// The server's own words, without the crate's prefix.
fn pg_detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            // With its causes: a TLS failure says why (an unknown
            // certificate authority, a wrong host name).
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text.push_str(": ");
                text.push_str(&c.to_string());
                cause = c.source();
            }
            text
        }
    }
}

enum Inner {
    Pg(Box<postgres::Client>),
    My(Box<mysql::Conn>),
}

/// An open connection.
pub struct Conn {
    pub kind: Kind,
    url: String,
    inner: Inner,
}

/// One row: each value as text bytes, `None` for NULL.
pub type Values<'a> = &'a [Option<&'a [u8]>];

/// Rows fetched per round trip from a PostgreSQL cursor.
const FETCH: usize = 2000;

impl Conn {
    /// The URL it was opened with (it holds no password).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn error(&self, detail: String) -> Error {
        Error::LiveDatabase {
            source_url: self.url.clone(),
            detail,
        }
    }

    /// Runs statements that return no rows.
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        let r = match &mut self.inner {
            Inner::Pg(c) => c.batch_execute(sql).map_err(|e| pg_detail(&e)),
            Inner::My(c) => {
                mysql::prelude::Queryable::query_drop(&mut **c, sql).map_err(|e| e.to_string())
            }
        };
        r.map_err(|d| self.error(d))
    }

    /// Runs one statement; the rows it affected.
    pub fn execute(&mut self, sql: &str) -> Result<u64> {
        let r = match &mut self.inner {
            Inner::Pg(c) => c.execute(sql, &[]).map_err(|e| pg_detail(&e)),
            Inner::My(c) => mysql::prelude::Queryable::query_drop(&mut **c, sql)
                .map(|()| c.affected_rows())
                .map_err(|e| e.to_string()),
        };
        r.map_err(|d| self.error(d))
    }

    /// Streams the rows of `sql` to `each`, in flat memory: a server-side
    /// cursor on PostgreSQL (inside the caller's transaction), the text
    /// protocol's row by row reading on MySQL.
    pub fn each_row(
        &mut self,
        sql: &str,
        each: &mut dyn FnMut(Values<'_>) -> Result<()>,
    ) -> Result<()> {
        match &mut self.inner {
            Inner::Pg(c) => {
                c.batch_execute(&format!("DECLARE kluis_rows NO SCROLL CURSOR FOR {sql}"))
                    .map_err(|e| Error::LiveDatabase {
                        source_url: self.url.clone(),
                        detail: pg_detail(&e),
                    })?;
                let fetch = format!("FETCH {FETCH} FROM kluis_rows");
                loop {
                    let messages = c.simple_query(&fetch).map_err(|e| Error::LiveDatabase {
                        source_url: self.url.clone(),
                        detail: pg_detail(&e),
                    })?;
                    let mut rows = 0;
                    for m in &messages {
                        if let postgres::SimpleQueryMessage::Row(row) = m {
                            rows += 1;
                            let values: Vec<Option<&[u8]>> = (0..row.len())
                                .map(|i| row.get(i).map(str::as_bytes))
                                .collect();
                            each(&values)?;
                        }
                    }
                    if rows < FETCH {
                        break;
                    }
                }
                c.batch_execute("CLOSE kluis_rows")
                    .map_err(|e| Error::LiveDatabase {
                        source_url: self.url.clone(),
                        detail: pg_detail(&e),
                    })
            }
            Inner::My(c) => {
                use mysql::prelude::Queryable;
                let url = self.url.clone();
                let failed = |e: mysql::Error| Error::LiveDatabase {
                    source_url: url.clone(),
                    detail: e.to_string(),
                };
                let mut result = c.query_iter(sql).map_err(&failed)?;
                for row in result.by_ref() {
                    let row = row.map_err(&failed)?;
                    let values: Vec<Option<&[u8]>> = (0..row.len())
                        .map(|i| match row.as_ref(i) {
                            Some(mysql::Value::Bytes(b)) => Some(b.as_slice()),
                            _ => None,
                        })
                        .collect();
                    each(&values)?;
                }
                Ok(())
            }
        }
    }

    /// [`Conn::each_row`] for a plain `SELECT` read whole, as the export
    /// reads each table: on PostgreSQL through `COPY (…) TO STDOUT`, which
    /// streams rows as fast as the server makes them (a cursor's `FETCH`
    /// waits for each batch to be asked for), in its text format, decoded
    /// here into the very values a query gives ([`copy_text_row`]).
    pub fn each_exported_row(
        &mut self,
        sql: &str,
        each: &mut dyn FnMut(Values<'_>) -> Result<()>,
    ) -> Result<()> {
        let Inner::Pg(c) = &mut self.inner else {
            return self.each_row(sql, each);
        };
        let url = self.url.clone();
        let failed = |detail: String| Error::LiveDatabase {
            source_url: url.clone(),
            detail,
        };
        let mut reader = c
            .copy_out(&format!("COPY ({sql}) TO STDOUT"))
            .map_err(|e| failed(pg_detail(&e)))?;
        let (mut line, mut decoded, mut spans) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            line.clear();
            let read = std::io::BufRead::read_until(&mut reader, b'\n', &mut line);
            match read {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => {
                    return Err(failed(match e.get_ref().and_then(|e| e.downcast_ref()) {
                        Some(pg) => pg_detail(pg),
                        None => e.to_string(),
                    }));
                }
            }
            if line.pop() != Some(b'\n') {
                return Err(failed("the server's COPY output ended inside a row".into()));
            }
            copy_text_row(&line, &mut decoded, &mut spans);
            let values: Vec<Option<&[u8]>> = spans
                .iter()
                .map(|s| s.map(|(a, b)| &decoded[a..b]))
                .collect();
            each(&values)?;
        }
    }

    /// All rows of a small query, as text.
    pub fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        if let Inner::Pg(c) = &mut self.inner {
            // Small: no cursor (which needs a transaction).
            let messages = c.simple_query(sql).map_err(|e| Error::LiveDatabase {
                source_url: self.url.clone(),
                detail: pg_detail(&e),
            })?;
            return Ok(messages
                .iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_owned))
                            .collect(),
                    ),
                    _ => None,
                })
                .collect());
        }
        let mut out = Vec::new();
        self.each_row(sql, &mut |values| {
            out.push(
                values
                    .iter()
                    .map(|v| v.map(|b| String::from_utf8_lossy(b).into_owned()))
                    .collect(),
            );
            Ok(())
        })?;
        Ok(out)
    }

    /// An identifier, quoted for this server (both sessions read `"…"` as an
    /// identifier).
    pub fn ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    /// `BEGIN` a read-only transaction on one snapshot of every table.
    pub fn begin_snapshot(&mut self) -> Result<()> {
        match self.kind {
            Kind::Postgres => self.batch("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
            Kind::Mysql => {
                self.batch("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
                self.batch("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            }
        }
    }

    /// `BEGIN` a read-write transaction (the purge's chunks).
    pub fn begin(&mut self) -> Result<()> {
        match self.kind {
            Kind::Postgres => self.batch("BEGIN"),
            Kind::Mysql => self.batch("START TRANSACTION"),
        }
    }

    pub fn commit(&mut self) -> Result<()> {
        self.batch("COMMIT")
    }

    pub fn rollback(&mut self) -> Result<()> {
        self.batch("ROLLBACK")
    }
}

/// A string literal: `'` doubled (both sessions treat backslashes as
/// ordinary characters). A NUL byte cannot be in one; the callers refuse
/// such values first.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_row(line: &[u8]) -> Vec<Option<Vec<u8>>> {
        let (mut out, mut spans) = (Vec::new(), Vec::new());
        copy_text_row(line, &mut out, &mut spans);
        spans
            .iter()
            .map(|s| s.map(|(a, b)| out[a..b].to_vec()))
            .collect()
    }

    #[test]
    fn copy_text_rows_are_split_at_tabs_with_null_apart_from_empty() {
        let v = |s: &str| Some(s.as_bytes().to_vec());
        assert_eq!(copy_row(b"1\tabc\t\\N\t"), [v("1"), v("abc"), None, v("")]);
        assert_eq!(copy_row(b""), [v("")]);
        assert_eq!(copy_row(b"\\N"), [None]);
        // Not NULL: a backslash before N inside a value, or a doubled one.
        assert_eq!(copy_row(b"a\\Nb\t\\\\N"), [v("aNb"), v("\\N")]);
    }

    #[test]
    fn copy_text_escapes_are_undone() {
        let one = |line: &[u8]| copy_row(line).remove(0).unwrap();
        assert_eq!(
            one(b"a\\tb\\nc\\\\d\\re\\bf\\fg\\vh"),
            b"a\tb\nc\\d\re\x08f\x0cg\x0bh"
        );
        assert_eq!(one(b"\\101\\0\\7\\1011"), b"A\0\x07A1");
        assert_eq!(one(b"\\x41\\x4\\xg"), b"A\x04xg");
        // bytea as PostgreSQL prints it (hex), its backslash escaped.
        assert_eq!(one(b"\\\\x00ff"), b"\\x00ff");
        // UTF-8 passes through; a lone backslash at the end is kept.
        assert_eq!(
            one("caf\u{e9} \u{20ac}".as_bytes()),
            "caf\u{e9} \u{20ac}".as_bytes()
        );
        assert_eq!(one(b"ab\\"), b"ab\\");
    }

    #[test]
    fn urls_with_a_password_are_refused_and_never_echoed() {
        let err = Target::parse("postgres://shop:s3cret@db.example/shop", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds a password"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let t = Target::parse("mariadb://root@127.0.0.1:3306/web%20shop", None).unwrap();
        assert_eq!((t.kind, t.database.as_str()), (Kind::Mysql, "web shop"));
        let t = Target::parse("postgresql://root@localhost/test?sslmode=disable", None).unwrap();
        assert_eq!((t.kind, t.database.as_str()), (Kind::Postgres, "test"));
        let t = Target::parse(
            "postgres://root@h/db?sslmode=verify-full&sslrootcert=/ca.pem",
            None,
        )
        .unwrap();
        assert_eq!(
            (t.tls, t.root_cert.as_deref()),
            (Tls::VerifyFull, Some(Path::new("/ca.pem")))
        );
        let t = Target::parse_with(
            "postgres://root@h/db?sslmode=require",
            None,
            Some("disable"),
        )
        .unwrap();
        assert_eq!(t.tls, Tls::Disable);
        assert_eq!(
            Target::parse("postgres://root@h/db", None).unwrap().tls,
            Tls::Prefer
        );
        for bad in [
            "http://x/y",
            "postgres://root@localhost",
            "mysql://root@h/",
            "postgres://root@h/db?sslmode=sometimes",
            "mysql://root@h/db?ssl-mode=REQUIRED",
        ] {
            assert!(Target::parse(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn literals_double_quotes_only() {
        assert_eq!(literal("O'Brien \\ x"), "'O''Brien \\ x'");
    }
}
