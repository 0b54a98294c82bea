//! A streaming decoder's place in an archive's zstd stream: what
//! [`super::StreamCursor`] keeps between reads, and between one cursor and
//! the next (a record's headers, then its content). It decodes through
//! small buffers, as far as the caller reads: a record alone in a 2 MiB
//! frame costs, on average, half the frame, and no 2 MiB buffer.

use std::io;

/// Compressed bytes read per step: an age chunk.
const STEP: usize = 64 << 10;

/// Why a step failed, with the zstd-stream offset it failed at.
pub(super) enum Failed {
    /// Reading the plaintext (damage, truncation, I/O).
    Read(u64, io::Error),
    /// The bytes read do not decompress.
    Decode(u64, io::Error),
}

pub(super) struct StreamState {
    decoder: Option<zstd::stream::raw::Decoder<'static>>,
    /// Compressed bytes read and not yet decoded: `input[in_pos..]`.
    input: Vec<u8>,
    in_pos: usize,
    /// Offset (in the zstd stream) of the next byte to decode, and of the
    /// next to read.
    c_pos: u64,
    c_read: u64,
    /// Offset (in the tar stream) of the next byte decoded.
    pub(super) d_pos: u64,
}

impl StreamState {
    /// At the start of the frame at zstd offset `c_offset`, whose content
    /// starts at tar offset `d_offset`.
    pub(super) fn at(c_offset: u64, d_offset: u64) -> StreamState {
        StreamState {
            decoder: None,
            input: Vec::new(),
            in_pos: 0,
            c_pos: c_offset,
            c_read: c_offset,
            d_pos: d_offset,
        }
    }

    /// Decodes into `out`, reading compressed bytes below `c_end` with
    /// `read(offset, buf)`; the bytes written, 0 only at `c_end`.
    pub(super) fn decode(
        &mut self,
        out: &mut [u8],
        c_end: u64,
        read: &mut dyn FnMut(u64, &mut [u8]) -> io::Result<()>,
    ) -> Result<usize, Failed> {
        if self.decoder.is_none() {
            let d = zstd::stream::raw::Decoder::new().map_err(|e| Failed::Decode(self.c_pos, e))?;
            self.decoder = Some(d);
        }
        loop {
            if self.in_pos == self.input.len() {
                let want = c_end.saturating_sub(self.c_read).min(STEP as u64) as usize;
                if want == 0 {
                    return Ok(0);
                }
                self.input.resize(want, 0);
                self.in_pos = 0;
                read(self.c_read, &mut self.input).map_err(|e| Failed::Read(self.c_read, e))?;
                self.c_read += want as u64;
            }
            let decoder = self.decoder.as_mut().expect("made above");
            let done = zstd::stream::raw::Operation::run_on_buffers(
                decoder,
                &self.input[self.in_pos..],
                out,
            )
            .map_err(|e| Failed::Decode(self.c_pos, e))?;
            self.in_pos += done.bytes_read;
            self.c_pos += done.bytes_read as u64;
            self.d_pos += done.bytes_written as u64;
            if done.bytes_written > 0 {
                return Ok(done.bytes_written);
            }
        }
    }
}
