//! The one system call the crate needs that `rustix` does not wrap:
//! `sync_file_range(2)`, which lets a copy's read-back wait for the
//! stretch it is about to read rather than for the whole file, and lets
//! the writer start the medium writing each stretch as soon as it is
//! written (the kernel would otherwise hold it back for up to 30 s). Where
//! the call is missing or refused, the callers fall back to `fdatasync`.

use std::fs::File;
use std::io;

/// Starts writing `len` bytes of `file` from `offset` to the device,
/// without waiting for them.
pub fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    sync_range(file, offset, len, WRITE)
}

/// Writes `len` bytes of `file` from `offset` to the device and waits
/// until they are there (the data only: the file's size and block map are
/// left to the final `fsync`).
pub fn wait_written(file: &File, offset: u64, len: u64) -> io::Result<()> {
    sync_range(file, offset, len, WAIT_BEFORE | WRITE | WAIT_AFTER)
}

#[cfg(target_os = "linux")]
const WAIT_BEFORE: u32 = libc::SYNC_FILE_RANGE_WAIT_BEFORE;
#[cfg(target_os = "linux")]
const WRITE: u32 = libc::SYNC_FILE_RANGE_WRITE;
#[cfg(target_os = "linux")]
const WAIT_AFTER: u32 = libc::SYNC_FILE_RANGE_WAIT_AFTER;

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn sync_range(file: &File, offset: u64, len: u64, flags: u32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    // SAFETY: plain integers; the descriptor is owned by `file`, which
    // outlives the call.
    let rc = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, flags) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
const WAIT_BEFORE: u32 = 0;
#[cfg(not(target_os = "linux"))]
const WRITE: u32 = 0;
#[cfg(not(target_os = "linux"))]
const WAIT_AFTER: u32 = 0;

#[cfg(not(target_os = "linux"))]
fn sync_range(_file: &File, _offset: u64, _len: u64, _flags: u32) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn ranges_sync_on_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = File::create(dir.path().join("f")).unwrap();
        f.write_all(&[7u8; 1 << 16]).unwrap();
        start_writeback(&f, 0, 1 << 15).unwrap();
        wait_written(&f, 0, 1 << 16).unwrap();
        assert!(wait_written(&f, u64::MAX, 1).is_err());
    }
}
