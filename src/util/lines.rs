//! Reading untrusted text one line at a time, with a bound on its length.

use std::io::{self, BufRead};

/// Reads one line, its `\n` included (none at the end of the input), into
/// `line`; `false` when the input is at its end. Refuses a line of more
/// than `max` bytes, `\n` included (an `InvalidData` error), without
/// holding more than `max + 1` of it.
pub(crate) fn read_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> io::Result<bool> {
    line.clear();
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(!line.is_empty());
        }
        let room = buf.len().min(max + 1 - line.len());
        let (take, end) = match memchr::memchr(b'\n', &buf[..room]) {
            Some(i) => (i + 1, true),
            None => (room, false),
        };
        line.extend_from_slice(&buf[..take]);
        input.consume(take);
        if line.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a line longer than {} MiB", max >> 20),
            ));
        }
        if end {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, String>> {
        let mut input = io::BufReader::with_capacity(4, input);
        let mut line = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line(&mut input, &mut line, max) {
                Ok(true) => out.push(Ok(line.clone())),
                Ok(false) => return out,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn lines_with_and_without_a_last_newline() {
        assert_eq!(
            lines(b"ab\n\ncdefgh\nij", 1 << 20),
            [
                Ok(b"ab\n".to_vec()),
                Ok(b"\n".to_vec()),
                Ok(b"cdefgh\n".to_vec()),
                Ok(b"ij".to_vec())
            ]
        );
        assert!(lines(b"", 1 << 20).is_empty());
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused() {
        let max = 1 << 20;
        let exact = [vec![b'x'; max - 1], b"\n".to_vec()].concat();
        assert_eq!(lines(&exact, max), [Ok(exact.clone())]);
        let long = [vec![b'x'; max], b"\n".to_vec()].concat();
        assert_eq!(
            lines(&long, max),
            [Err("a line longer than 1 MiB".to_string())]
        );
        let endless = vec![b'x'; 3 * max];
        assert_eq!(
            lines(&endless, max),
            [Err("a line longer than 1 MiB".to_string())]
        );
    }
}
