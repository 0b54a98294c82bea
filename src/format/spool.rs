//! Spools: anonymous temporary files that hold what an archive writes
//! after its records (the manifest, the checksums, sorted runs of the path
//! index) until then, encrypted to a key that exists only in memory.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use crate::error::{Error, IoContext, Result};

/// An anonymous temporary file holding manifest lines until the records are
/// written, encrypted to a key that exists only in memory: memory stays
/// flat, and no plaintext touches the disk.
pub(crate) struct Spool {
    identity: age::x25519::Identity,
    /// Small writes (index entries, JSON lines) gathered before they reach
    /// the encryption's stream.
    writer: Option<BufWriter<age::stream::StreamWriter<BufWriter<File>>>>,
    file: Option<File>,
    pub(crate) len: u64,
}

impl Spool {
    pub(crate) fn new() -> Result<Self> {
        let identity = age::x25519::Identity::generate();
        let file = tempfile::tempfile().at(std::env::temp_dir())?;
        let recipient = identity.to_public();
        let writer =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .expect("one x25519 recipient is always valid")
                .wrap_output(BufWriter::new(file))
                .at(std::env::temp_dir())?;
        Ok(Spool {
            identity,
            writer: Some(BufWriter::with_capacity(64 << 10, writer)),
            file: None,
            len: 0,
        })
    }

    pub(crate) fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.len += data.len() as u64;
        self.writer.as_mut().expect("spool is open").write_all(data)
    }

    pub(crate) fn finish(&mut self) -> Result<()> {
        let buffered = self
            .writer
            .take()
            .expect("spool finishes once")
            .into_inner()
            .map_err(|e| Error::io(std::env::temp_dir(), e.into_error()))?
            .finish()
            .at(std::env::temp_dir())?;
        let file = buffered
            .into_inner()
            .map_err(|e| Error::io(std::env::temp_dir(), e.into_error()))?;
        self.file = Some(file);
        Ok(())
    }

    pub(crate) fn reader(&mut self) -> Result<impl Read + use<>> {
        let tmp = std::env::temp_dir();
        let mut file = self
            .file
            .as_ref()
            .expect("spool finished")
            .try_clone()
            .at(&tmp)?;
        file.seek(SeekFrom::Start(0)).at(&tmp)?;
        let decryptor = age::Decryptor::new_buffered(BufReader::new(file))
            .map_err(|e| Error::io(&tmp, io::Error::other(e)))?;
        decryptor
            .decrypt(std::iter::once(&self.identity as &dyn age::Identity))
            .map_err(|e| Error::io(&tmp, io::Error::other(e)))
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
