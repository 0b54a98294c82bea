//! The hot loop of parity: `dst ^= factor · src` over GF(2^16), where both
//! buffers hold 16-bit little-endian words. A scalar reference, and
//! SSSE3/AVX2 versions (split-table shuffles: a product is the XOR of the
//! products of its four nibbles, each looked up with one byte shuffle)
//! chosen at run time. The only `unsafe` code in kluis lives here: the
//! intrinsics, behind a CPU feature check.

use super::gf16;

/// The tables of one factor: for the scalar path the products of every
/// low and high byte, for the shuffles the products of every nibble, split
/// into their low and high bytes.
pub struct Multiplier {
    pub factor: u16,
    low: [u16; 256],
    high: [u16; 256],
    /// `nib_lo[k][n]`: low byte of `factor · (n << 4k)`.
    nib_lo: [[u8; 16]; 4],
    nib_hi: [[u8; 16]; 4],
}

impl Multiplier {
    pub fn new(factor: u16) -> Self {
        let mut bits = [0u16; 16];
        for (i, b) in bits.iter_mut().enumerate() {
            *b = gf16::mul(factor, 1 << i);
        }
        let mut low = [0u16; 256];
        let mut high = [0u16; 256];
        for x in 1..256usize {
            let bit = x.trailing_zeros() as usize;
            low[x] = low[x & (x - 1)] ^ bits[bit];
            high[x] = high[x & (x - 1)] ^ bits[bit + 8];
        }
        let mut nib_lo = [[0u8; 16]; 4];
        let mut nib_hi = [[0u8; 16]; 4];
        for k in 0..4 {
            for n in 0..16usize {
                let x = n << (4 * k);
                let p = low[x & 0xFF] ^ high[x >> 8];
                nib_lo[k][n] = p as u8;
                nib_hi[k][n] = (p >> 8) as u8;
            }
        }
        Multiplier {
            factor,
            low,
            high,
            nib_lo,
            nib_hi,
        }
    }

    /// `factor · x`.
    pub fn mul(&self, x: u16) -> u16 {
        self.low[(x & 0xFF) as usize] ^ self.high[(x >> 8) as usize]
    }
}

/// Which implementation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Scalar,
    Ssse3,
    Avx2,
}

impl Kernel {
    /// The fastest the CPU supports.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
            if std::is_x86_feature_detected!("ssse3") {
                return Kernel::Ssse3;
            }
        }
        Kernel::Scalar
    }

    /// Whether this CPU can run it.
    pub fn available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Ssse3 => std::is_x86_feature_detected!("ssse3"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// `dst ^= m.factor · src`, word by word. Both must have the same even
    /// length.
    pub fn mul_acc(self, dst: &mut [u8], src: &[u8], m: &Multiplier) {
        assert_eq!(dst.len(), src.len(), "buffers of one length");
        assert!(dst.len().is_multiple_of(2), "whole 16-bit words");
        let done = match self {
            Kernel::Scalar => 0,
            #[cfg(target_arch = "x86_64")]
            Kernel::Ssse3 => {
                assert!(self.available(), "SSSE3 not available");
                // SAFETY: the CPU supports SSSE3 (checked just above).
                unsafe { x86::mul_acc_ssse3(dst, src, m) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                assert!(self.available(), "AVX2 not available");
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { x86::mul_acc_avx2(dst, src, m) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => 0,
        };
        scalar(&mut dst[done..], &src[done..], m);
    }
}

/// The reference: two table lookups per word.
pub fn scalar(dst: &mut [u8], src: &[u8], m: &Multiplier) {
    for (d, s) in dst.chunks_exact_mut(2).zip(src.chunks_exact(2)) {
        let p = m.mul(u16::from_le_bytes([s[0], s[1]]));
        let v = u16::from_le_bytes([d[0], d[1]]) ^ p;
        d.copy_from_slice(&v.to_le_bytes());
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Multiplier;
    use std::arch::x86_64::*;

    /// Processes whole 32-byte blocks; returns how many bytes it did.
    ///
    /// # Safety
    /// The CPU must support SSSE3.
    #[target_feature(enable = "ssse3")]
    pub unsafe fn mul_acc_ssse3(dst: &mut [u8], src: &[u8], m: &Multiplier) -> usize {
        let n = dst.len() / 32 * 32;
        // SAFETY: loads and stores stay inside `dst[..n]` and `src[..n]`
        // (unaligned forms), the tables are 16-byte arrays; SSSE3 is
        // enabled for this function and the caller checked the CPU.
        unsafe {
            let t = |a: &[u8; 16]| _mm_loadu_si128(a.as_ptr().cast());
            let (l0, l1, l2, l3) = (
                t(&m.nib_lo[0]),
                t(&m.nib_lo[1]),
                t(&m.nib_lo[2]),
                t(&m.nib_lo[3]),
            );
            let (h0, h1, h2, h3) = (
                t(&m.nib_hi[0]),
                t(&m.nib_hi[1]),
                t(&m.nib_hi[2]),
                t(&m.nib_hi[3]),
            );
            let mask = _mm_set1_epi8(0x0F);
            let bytes = _mm_set1_epi16(0x00FF);
            let mut i = 0;
            while i < n {
                let s = src.as_ptr().add(i);
                let d = dst.as_mut_ptr().add(i);
                let a = _mm_loadu_si128(s.cast());
                let b = _mm_loadu_si128(s.add(16).cast());
                // Low bytes of the 16 words, then high bytes.
                let lo = _mm_packus_epi16(_mm_and_si128(a, bytes), _mm_and_si128(b, bytes));
                let hi = _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8));
                let n0 = _mm_and_si128(lo, mask);
                let n1 = _mm_and_si128(_mm_srli_epi16(lo, 4), mask);
                let n2 = _mm_and_si128(hi, mask);
                let n3 = _mm_and_si128(_mm_srli_epi16(hi, 4), mask);
                let rl = _mm_xor_si128(
                    _mm_xor_si128(_mm_shuffle_epi8(l0, n0), _mm_shuffle_epi8(l1, n1)),
                    _mm_xor_si128(_mm_shuffle_epi8(l2, n2), _mm_shuffle_epi8(l3, n3)),
                );
                let rh = _mm_xor_si128(
                    _mm_xor_si128(_mm_shuffle_epi8(h0, n0), _mm_shuffle_epi8(h1, n1)),
                    _mm_xor_si128(_mm_shuffle_epi8(h2, n2), _mm_shuffle_epi8(h3, n3)),
                );
                let pa = _mm_unpacklo_epi8(rl, rh);
                let pb = _mm_unpackhi_epi8(rl, rh);
                let da = _mm_loadu_si128(d.cast());
                let db = _mm_loadu_si128(d.add(16).cast());
                _mm_storeu_si128(d.cast(), _mm_xor_si128(da, pa));
                _mm_storeu_si128(d.add(16).cast(), _mm_xor_si128(db, pb));
                i += 32;
            }
        }
        n
    }

    /// Processes whole 64-byte blocks; returns how many bytes it did.
    /// Packing and unpacking work within 128-bit lanes and undo each
    /// other, so the word order comes back as it went in.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn mul_acc_avx2(dst: &mut [u8], src: &[u8], m: &Multiplier) -> usize {
        let n = dst.len() / 64 * 64;
        // SAFETY: loads and stores stay inside `dst[..n]` and `src[..n]`
        // (unaligned forms), the tables are 16-byte arrays; AVX2 is
        // enabled for this function and the caller checked the CPU.
        unsafe {
            let t = |a: &[u8; 16]| _mm256_broadcastsi128_si256(_mm_loadu_si128(a.as_ptr().cast()));
            let (l0, l1, l2, l3) = (
                t(&m.nib_lo[0]),
                t(&m.nib_lo[1]),
                t(&m.nib_lo[2]),
                t(&m.nib_lo[3]),
            );
            let (h0, h1, h2, h3) = (
                t(&m.nib_hi[0]),
                t(&m.nib_hi[1]),
                t(&m.nib_hi[2]),
                t(&m.nib_hi[3]),
            );
            let mask = _mm256_set1_epi8(0x0F);
            let bytes = _mm256_set1_epi16(0x00FF);
            let mut i = 0;
            while i < n {
                let s = src.as_ptr().add(i);
                let d = dst.as_mut_ptr().add(i);
                let a = _mm256_loadu_si256(s.cast());
                let b = _mm256_loadu_si256(s.add(32).cast());
                let lo =
                    _mm256_packus_epi16(_mm256_and_si256(a, bytes), _mm256_and_si256(b, bytes));
                let hi = _mm256_packus_epi16(_mm256_srli_epi16(a, 8), _mm256_srli_epi16(b, 8));
                let n0 = _mm256_and_si256(lo, mask);
                let n1 = _mm256_and_si256(_mm256_srli_epi16(lo, 4), mask);
                let n2 = _mm256_and_si256(hi, mask);
                let n3 = _mm256_and_si256(_mm256_srli_epi16(hi, 4), mask);
                let rl = _mm256_xor_si256(
                    _mm256_xor_si256(_mm256_shuffle_epi8(l0, n0), _mm256_shuffle_epi8(l1, n1)),
                    _mm256_xor_si256(_mm256_shuffle_epi8(l2, n2), _mm256_shuffle_epi8(l3, n3)),
                );
                let rh = _mm256_xor_si256(
                    _mm256_xor_si256(_mm256_shuffle_epi8(h0, n0), _mm256_shuffle_epi8(h1, n1)),
                    _mm256_xor_si256(_mm256_shuffle_epi8(h2, n2), _mm256_shuffle_epi8(h3, n3)),
                );
                let pa = _mm256_unpacklo_epi8(rl, rh);
                let pb = _mm256_unpackhi_epi8(rl, rh);
                let da = _mm256_loadu_si256(d.cast());
                let db = _mm256_loadu_si256(d.add(32).cast());
                _mm256_storeu_si256(d.cast(), _mm256_xor_si256(da, pa));
                _mm256_storeu_si256(d.add(32).cast(), _mm256_xor_si256(db, pb));
                i += 64;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect()
    }

    #[test]
    fn multiplier_matches_field() {
        for f in [0u16, 1, 2, 0x8000, 0xBEEF] {
            let m = Multiplier::new(f);
            for x in [0u16, 1, 0x00FF, 0xFF00, 0x1234, 0xFFFF] {
                assert_eq!(m.mul(x), gf16::mul(f, x));
            }
        }
    }

    #[test]
    fn every_kernel_matches_the_scalar_reference() {
        for kernel in [Kernel::Ssse3, Kernel::Avx2] {
            if !kernel.available() {
                continue;
            }
            for len in [0usize, 2, 30, 32, 62, 64, 66, 1000, 4096 + 34] {
                for f in [1u16, 2, 0x100B, 0xFFFF, 0x8001] {
                    let m = Multiplier::new(f);
                    let src = data(len, f as u32);
                    let mut want = data(len, 99);
                    let mut got = want.clone();
                    scalar(&mut want, &src, &m);
                    kernel.mul_acc(&mut got, &src, &m);
                    assert_eq!(got, want, "{kernel:?} len {len} factor {f:#x}");
                }
            }
        }
    }
}
