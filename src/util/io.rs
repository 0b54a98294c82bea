//! Reading until a buffer is full: what `read_exact` does, except that the
//! end of the input is an answer (how much was read), not an error.

use std::io::{self, Read};

/// Reads until `buf` is full or the input ends; the bytes read.
pub fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
