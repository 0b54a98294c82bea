//! Walks source folders in a fixed order (bytewise by name, directories
//! before their contents) and names each record `records/…`. Symlinks are
//! recorded as links and never followed.

use std::ffi::OsStr;
use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::format::RECORDS_PREFIX;

/// One thing found in a source folder.
#[derive(Debug)]
pub struct Item {
    /// Member path inside the archive, e.g. `records/invoices/INV-1.pdf`.
    pub member: Vec<u8>,
    /// Where it is on disk.
    pub source: PathBuf,
    pub kind: ItemKind,
    pub meta: Metadata,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ItemKind {
    File,
    Dir,
    Symlink(Vec<u8>),
    /// A device, FIFO or socket: not a record; reported and skipped.
    Special,
}

/// The source folders of one archive, with the prefix each gets.
#[derive(Debug)]
pub struct Sources {
    roots: Vec<(PathBuf, Vec<u8>)>,
}

impl Sources {
    /// Checks that every folder exists and gives each its member prefix:
    /// `records/` alone, or `records/<folder name>/` with several.
    pub fn new(folders: &[PathBuf]) -> Result<Self> {
        let mut roots = Vec::with_capacity(folders.len());
        let mut names = std::collections::BTreeSet::new();
        for folder in folders {
            let meta = fs::metadata(folder).at(folder)?;
            if !meta.is_dir() {
                return Err(Error::BadSource {
                    path: folder.clone(),
                    detail: "is not a folder; give the folder that holds the records".into(),
                });
            }
            let mut prefix = RECORDS_PREFIX.as_bytes().to_vec();
            if folders.len() > 1 {
                let canonical = folder.canonicalize().at(folder)?;
                let name = canonical
                    .file_name()
                    .map(OsStr::as_bytes)
                    .unwrap_or(b"root")
                    .to_vec();
                if !names.insert(name.clone()) {
                    return Err(Error::BadSource {
                        path: folder.clone(),
                        detail: "two source folders have the same name; their records would collide in the archive".into(),
                    });
                }
                prefix.extend_from_slice(&name);
                prefix.push(b'/');
            }
            roots.push((folder.clone(), prefix));
        }
        Ok(Sources { roots })
    }

    /// Calls `visit` for every item, in archive order.
    pub fn walk(&self, visit: &mut dyn FnMut(Item) -> Result<()>) -> Result<()> {
        for (root, prefix) in &self.roots {
            if self.roots.len() > 1 {
                let meta = fs::metadata(root).at(root)?;
                let member = prefix[..prefix.len() - 1].to_vec();
                visit(Item {
                    member,
                    source: root.clone(),
                    kind: ItemKind::Dir,
                    meta,
                })?;
            }
            walk_dir(root, prefix, visit)?;
        }
        Ok(())
    }
}

fn walk_dir(dir: &Path, prefix: &[u8], visit: &mut dyn FnMut(Item) -> Result<()>) -> Result<()> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).at(dir)? {
        names.push(entry.at(dir)?.file_name());
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        let source = dir.join(&name);
        let meta = fs::symlink_metadata(&source).at(&source)?;
        let mut member = prefix.to_vec();
        member.extend_from_slice(name.as_bytes());
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            ItemKind::Dir
        } else if ft.is_file() {
            ItemKind::File
        } else if ft.is_symlink() {
            ItemKind::Symlink(
                fs::read_link(&source)
                    .at(&source)?
                    .into_os_string()
                    .into_vec(),
            )
        } else {
            // Devices, FIFOs and sockets are not records.
            ItemKind::Special
        };
        let is_dir = kind == ItemKind::Dir;
        visit(Item {
            member: member.clone(),
            source: source.clone(),
            kind,
            meta,
        })?;
        if is_dir {
            member.push(b'/');
            walk_dir(&source, &member, visit)?;
        }
    }
    Ok(())
}

/// Totals of a pre-scan.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub special: u64,
    pub bytes: u64,
    /// Files named `*.xaf` or `*.xml` (source, member): possibly tax audit
    /// files, which are checked before anything is written.
    pub xml_files: Vec<(PathBuf, Vec<u8>)>,
}

impl Sources {
    /// Counts what a walk would archive (for progress and space checks).
    pub fn scan(&self) -> Result<Scan> {
        let mut scan = Scan::default();
        self.walk(&mut |item| {
            match item.kind {
                ItemKind::File => {
                    scan.files += 1;
                    scan.bytes += item.meta.size();
                    let name = item.member.to_ascii_lowercase();
                    if name.ends_with(b".xaf") || name.ends_with(b".xml") {
                        scan.xml_files.push((item.source, item.member));
                    }
                }
                ItemKind::Dir => scan.dirs += 1,
                ItemKind::Symlink(_) => scan.symlinks += 1,
                ItemKind::Special => scan.special += 1,
            }
            Ok(())
        })?;
        Ok(scan)
    }
}

use std::os::unix::ffi::OsStringExt;

#[cfg(test)]
mod tests {
    use super::*;

    fn members(sources: &Sources) -> Vec<String> {
        let mut out = Vec::new();
        sources
            .walk(&mut |i| {
                out.push(String::from_utf8(i.member).unwrap());
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn order_prefixes_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::create_dir_all(a.join("sub/empty")).unwrap();
        fs::write(a.join("z.txt"), "z").unwrap();
        fs::write(a.join("sub/b.txt"), "b").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", a.join("link")).unwrap();
        let one = Sources::new(std::slice::from_ref(&a)).unwrap();
        assert_eq!(
            members(&one),
            [
                "records/link",
                "records/sub",
                "records/sub/b.txt",
                "records/sub/empty",
                "records/z.txt"
            ]
        );
        let b = dir.path().join("b");
        fs::create_dir(&b).unwrap();
        let two = Sources::new(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(members(&two)[0], "records/a");
        assert_eq!(members(&two).last().unwrap(), "records/b");
        let scan = one.scan().unwrap();
        assert_eq!(
            (scan.files, scan.dirs, scan.symlinks, scan.bytes),
            (2, 2, 1, 2)
        );
    }

    #[test]
    fn missing_and_non_folder_sources() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Sources::new(&[dir.path().join("nope")]).is_err());
        let f = dir.path().join("f");
        fs::write(&f, "").unwrap();
        assert!(
            Sources::new(&[f])
                .unwrap_err()
                .to_string()
                .contains("not a folder")
        );
    }
}
