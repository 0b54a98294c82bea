//! How a member is named and padded in tar: the pax extended header
//! (`PaxHeaders/<name>`, so that strict ustar readers such as busybox read
//! it), the exact ustar name/prefix fallback, and block padding (FORMAT.md §4).

use std::io::{self, Write};

use super::Mtime;

/// The pax extended header (type `x`) of a member and its records
/// (`"<len> <key>=<value>\n"`, FORMAT.md §4). Its ustar fields are those a
/// strict ustar reader checks (busybox takes an empty name for the end of
/// the archive): name `PaxHeaders/<basename>` as GNU tar and bsdtar write
/// it, mode 0644, uid/gid 0, the member's whole-second mtime, a checksum.
pub(super) fn pax_header(
    path: &[u8],
    mtime: Mtime,
    records: &[(&str, &[u8])],
) -> (Vec<u8>, tar::Header) {
    let mut data = Vec::new();
    for (key, value) in records {
        // The length counts its own digits.
        let rest = 3 + key.len() + value.len();
        let mut digits = 1;
        while rest + digits >= 10usize.pow(digits as u32) {
            digits += 1;
        }
        data.extend_from_slice(format!("{} {key}=", rest + digits).as_bytes());
        data.extend_from_slice(value);
        data.push(b'\n');
    }
    let mut header = tar::Header::new_ustar();
    let base = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let mut name = b"PaxHeaders/".to_vec();
    let room = header.as_old().name.len() - name.len();
    name.extend_from_slice(&base[..cut_at_char(base, room)]);
    header.as_old_mut().name[..name.len()].copy_from_slice(&name);
    header.set_entry_type(tar::EntryType::XHeader);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime.secs.max(0) as u64);
    header.set_cksum();
    (data, header)
}

/// The longest prefix of `bytes` of at most `max` bytes that does not end
/// inside a UTF-8 character (any byte is a character in a name that is not
/// UTF-8).
fn cut_at_char(bytes: &[u8], max: usize) -> usize {
    if bytes.len() <= max {
        return bytes.len();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (0..=max)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0),
        Err(_) => max,
    }
}

/// Fills the ustar `name` and `prefix` fields, for readers that ignore the
/// pax `path` (FORMAT.md §4): the exact path when it fits (name ≤ 100
/// bytes, or prefix ≤ 155 and name ≤ 100 split at a `/`); otherwise the
/// longest leading folders that fit the prefix and the member's own name,
/// cut to 100 bytes: a plain relative path in the right top folder, and
/// files of one folder keep names of their own.
pub(super) fn set_ustar_name(header: &mut tar::Header, path: &[u8]) {
    let (prefix, name) = ustar_name(path);
    let ustar = header.as_ustar_mut().expect("a ustar header");
    ustar.prefix[..prefix.len()].copy_from_slice(prefix);
    ustar.name[..name.len()].copy_from_slice(name);
}

/// `(prefix, name)` for [`set_ustar_name`].
fn ustar_name(path: &[u8]) -> (&[u8], &[u8]) {
    const NAME: usize = 100;
    const PREFIX: usize = 155;
    if path.len() <= NAME {
        return (b"", path);
    }
    // A folder's trailing `/` stays with its name.
    let body = path.strip_suffix(b"/").unwrap_or(path);
    let Some(split) = body[..body.len().min(PREFIX + 1)]
        .iter()
        .rposition(|&b| b == b'/')
    else {
        return (b"", &path[..cut_at_char(path, NAME)]);
    };
    if path.len() - split - 1 <= NAME {
        return (&path[..split], &path[split + 1..]);
    }
    let base = body.rsplit(|&b| b == b'/').next().unwrap_or(body);
    (&path[..split], &base[..cut_at_char(base, NAME)])
}

/// Zero-pads file content to the next 512-byte block.
pub(super) fn pad(w: &mut impl Write, size: u64) -> io::Result<()> {
    let rem = (size % 512) as usize;
    if rem != 0 {
        w.write_all(&[0u8; 512][..512 - rem])?;
    }
    Ok(())
}
