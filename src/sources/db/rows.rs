//! A database source's rows: the `SELECT`s of a year's rows and of their
//! related rows, each row as an RFC 4180 CSV record, and the keyed hash of
//! a whole row that the purge checks before it deletes.

use std::io::Write;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::DbTable;
use super::conn::{self, Conn, Kind};
use crate::sources::table::Window;

/// The `SELECT` of table `i`'s rows of the year, every column, key order.
pub(super) fn select_rows(
    conn: &Conn,
    tables: &[DbTable],
    i: usize,
    window: &Window,
    columns: Columns,
) -> String {
    let t = &tables[i];
    let exprs = select_list_of(conn, t, columns);
    let table = conn.ident(&t.name);
    let key = conn.ident(&t.columns[t.key].name);
    let filter = match (&t.date_column, &t.relation) {
        (Some(_), _) => in_year(conn, t, window),
        (None, Some(r)) => {
            let p = &tables[r.parent];
            format!(
                "{} IN (SELECT {} FROM {} WHERE {})",
                conn.ident(&r.column),
                conn.ident(&p.columns[p.key].name),
                conn.ident(&p.name),
                in_year(conn, p, window)
            )
        }
        (None, None) => "FALSE".into(),
    };
    format!("SELECT {exprs} FROM {table} WHERE {filter} ORDER BY {key}")
}

/// The half-open fiscal-year range on a root table's date column.
pub(crate) fn in_year(conn: &Conn, t: &DbTable, window: &Window) -> String {
    let d = conn.ident(t.date_column.as_deref().expect("a root table"));
    let next = window.last.succ_opt().unwrap_or(window.last);
    format!(
        "{d} >= '{}' AND {d} < '{}'",
        window.first.format("%Y-%m-%d"),
        next.format("%Y-%m-%d")
    )
}

/// Which of a table's columns a query reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Columns {
    /// Every column, dropped ones too: the purge journal's keyed hash is
    /// of the whole row.
    All,
    /// Only those the archive keeps (an export without a purge).
    Kept,
}

/// Every column, binary ones as hex.
pub(crate) fn select_list(conn: &Conn, t: &DbTable) -> String {
    select_list_of(conn, t, Columns::All)
}

fn select_list_of(conn: &Conn, t: &DbTable, columns: Columns) -> String {
    t.columns
        .iter()
        .zip(&t.kept)
        .filter(|(_, kept)| columns == Columns::All || **kept)
        .map(|(c, _)| {
            let id = conn.ident(&c.name);
            match (conn.kind, c.binary) {
                // BIT(n) is a number to HEX(): padded to whole bytes.
                (Kind::Mysql, true) => match bit_width(&c.sql_type) {
                    Some(bits) => format!("LOWER(LPAD(HEX({id}), {}, '0'))", bits.div_ceil(8) * 2),
                    None => format!("LOWER(HEX({id}))"),
                },
                _ => id,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `bit(n)`'s width.
pub(super) fn bit_width(sql_type: &str) -> Option<u32> {
    let t = sql_type.to_ascii_lowercase();
    let inner = t.strip_prefix("bit")?;
    match inner.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        Some(n) => n.trim().parse().ok(),
        None if inner.is_empty() => Some(1),
        None => None,
    }
}

pub(super) fn write_header(out: &mut dyn Write, t: &DbTable) -> std::io::Result<()> {
    let mut line = Vec::new();
    let mut first = true;
    for (c, kept) in t.columns.iter().zip(&t.kept) {
        if !kept {
            continue;
        }
        if !first {
            line.push(b',');
        }
        first = false;
        field(&mut line, Some(c.name.as_bytes()), false);
    }
    line.extend_from_slice(b"\r\n");
    out.write_all(&line)
}

/// One row as a CSV record: the kept columns, CRLF. `values` are those
/// of `columns`, in the table's order.
pub(super) fn encode_row(
    line: &mut Vec<u8>,
    t: &DbTable,
    values: conn::Values<'_>,
    columns: Columns,
) {
    let mut first = true;
    let mut values = values.iter();
    for (c, kept) in t.columns.iter().zip(&t.kept) {
        let v = match columns {
            Columns::All => values.next(),
            Columns::Kept if *kept => values.next(),
            Columns::Kept => continue,
        };
        let Some(v) = v else { break };
        if !kept {
            continue;
        }
        if !first {
            line.push(b',');
        }
        first = false;
        // MySQL's binary columns come as hex (selected so); PostgreSQL's
        // bytea prints as \x… already.
        let hex = c.binary && !v.is_some_and(|b| b.starts_with(b"\\x"));
        field(line, *v, hex);
    }
    line.extend_from_slice(b"\r\n");
}

/// One field: NULL empty, the empty string `""`, quoted when it holds a
/// comma, a quote, CR or LF (RFC 4180).
pub(super) fn field(line: &mut Vec<u8>, v: Option<&[u8]>, hex: bool) {
    let Some(v) = v else {
        return;
    };
    if hex {
        line.extend_from_slice(b"\\x");
        line.extend_from_slice(v);
        return;
    }
    if v.is_empty() {
        line.extend_from_slice(b"\"\"");
        return;
    }
    if v.iter().any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        line.push(b'"');
        for &b in v {
            if b == b'"' {
                line.push(b'"');
            }
            line.push(b);
        }
        line.push(b'"');
    } else {
        line.extend_from_slice(v);
    }
}

/// The keyed hash of a whole row (every column, dropped ones too): NULL
/// and each value's length are part of it, so no two rows share one.
pub(crate) fn row_hash(key: &[u8; 32], values: conn::Values<'_>) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    for v in values {
        match v {
            None => mac.update(&[0]),
            Some(b) => {
                mac.update(&[1]);
                mac.update(&(b.len() as u64).to_le_bytes());
                mac.update(b);
            }
        }
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::db::Column;

    fn table(binary: bool) -> DbTable {
        DbTable {
            name: "t".into(),
            columns: vec![
                Column {
                    name: "id".into(),
                    sql_type: "int".into(),
                    nullable: false,
                    binary: false,
                },
                Column {
                    name: "note".into(),
                    sql_type: "text".into(),
                    nullable: true,
                    binary,
                },
            ],
            key: 0,
            date_column: None,
            relation: None,
            kept: vec![true, true],
            dropped: vec![],
            kept_sensitive: vec![],
            ddl: String::new(),
            rows: 0,
            size: 0,
            sha256: [0; 32],
        }
    }

    #[test]
    fn a_row_of_every_column_and_one_of_the_kept_columns_make_the_same_record() {
        let mut t = table(true);
        t.columns.insert(
            1,
            Column {
                name: "ip_address".into(),
                sql_type: "varchar(45)".into(),
                nullable: true,
                binary: false,
            },
        );
        t.kept = vec![true, false, true];
        let (mut all, mut kept) = (Vec::new(), Vec::new());
        encode_row(
            &mut all,
            &t,
            &[Some(b"7"), Some(b"10.0.0.1"), Some(b"00ff")],
            Columns::All,
        );
        encode_row(&mut kept, &t, &[Some(b"7"), Some(b"00ff")], Columns::Kept);
        assert_eq!(all, b"7,\\x00ff\r\n");
        assert_eq!(kept, all);
    }

    #[test]
    fn rows_are_rfc_4180_with_null_apart_from_the_empty_string() {
        let t = table(false);
        let mut line = Vec::new();
        for values in [
            [Some(&b"1"[..]), None],
            [Some(b"2"), Some(b"")],
            [Some(b"3"), Some(b"a,\"b\"\r\nc")],
        ] {
            encode_row(&mut line, &t, &values, Columns::All);
        }
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "1,\r\n2,\"\"\r\n3,\"a,\"\"b\"\"\r\nc\"\r\n"
        );
        let mut line = Vec::new();
        encode_row(
            &mut line,
            &table(true),
            &[Some(b"4"), Some(b"00ff")],
            Columns::All,
        );
        encode_row(
            &mut line,
            &table(true),
            &[Some(b"5"), Some(b"\\x00ff")],
            Columns::All,
        );
        assert_eq!(line, b"4,\\x00ff\r\n5,\\x00ff\r\n");
    }

    #[test]
    fn row_hashes_tell_null_empty_and_shifted_values_apart() {
        let k = [7u8; 32];
        let h = |v: &[Option<&[u8]>]| row_hash(&k, v);
        assert_ne!(h(&[None]), h(&[Some(b"")]));
        assert_ne!(h(&[Some(b"ab"), Some(b"c")]), h(&[Some(b"a"), Some(b"bc")]));
        assert_ne!(
            row_hash(&[1; 32], &[Some(b"x")]),
            row_hash(&[2; 32], &[Some(b"x")])
        );
        assert_eq!(h(&[Some(b"x"), None]), h(&[Some(b"x"), None]));
    }
}
