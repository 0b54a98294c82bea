//! The hot loop of parity: `dst ^= factor · src` over GF(2^16), both
//! buffers of 16-bit words in the split layout ([`CHUNK`]), and the moves
//! between that layout and little-endian words. A scalar version, and
//! SSSE3/AVX2 versions (split-table shuffles: a product is the XOR of the
//! products of its four nibbles, each looked up with one byte shuffle)
//! and GFNI on AVX2 or AVX-512 registers (the product as four 8×8 bit
//! matrices, one `gf2p8affineqb` each; on AVX-512 the products of eight
//! slices are added in registers before a block is stored), chosen at
//! run time; the tests compare them with a scalar reference in
//! little-endian words. The only `unsafe` code in kluis lives here: the
//! intrinsics, behind a CPU feature check.

use super::gf16;

/// The tables of one factor: for the scalar path the products of every
/// low and high byte, for the shuffles the products of every nibble, split
/// into their low and high bytes, for GFNI four bit matrices. Built for one
/// kernel ([`Kernel::multiplier`]), only that kernel's tables are made (the
/// medium set's parity needs about 200,000 multipliers); a kernel given a
/// multiplier without its tables panics, it never multiplies by zeros.
pub struct Multiplier {
    pub factor: u16,
    /// The tables built: `None` for all of them.
    only: Option<Tables>,
    /// The products of every low and of every high byte (apart: only the
    /// scalar kernel reads them).
    bytes: Option<Box<[[u16; 256]; 2]>>,
    /// `nib_lo[k][n]`: low byte of `factor · (n << 4k)`.
    nib_lo: [[u8; 16]; 4],
    nib_hi: [[u8; 16]; 4],
    /// For GFNI's affine transform, the product as four 8×8 bit matrices:
    /// low byte from the low byte, low from high, high from low, high from
    /// high ([`affine`]).
    affine: [u64; 4],
}

/// Which of a [`Multiplier`]'s tables a kernel reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tables {
    Bytes,
    Nibbles,
    Affine,
}

/// The 8×8 bit matrix, as `gf2p8affineqb` takes it, of the part of the
/// map `x ↦ factor · x` (linear over GF(2); `bits[k]` is the product of
/// bit `k`) that takes byte `from` of `x` (0 low, 1 high) to byte `to` of
/// the product: output bit `i` is the parity of the matrix's byte `7 - i`
/// ANDed with the input byte.
fn affine(bits: &[u16; 16], to: usize, from: usize) -> u64 {
    let mut a = 0u64;
    for i in 0..8 {
        let mut row = 0u64;
        for j in 0..8 {
            row |= u64::from((bits[j + 8 * from] >> (i + 8 * to)) & 1) << j;
        }
        a |= row << (8 * (7 - i));
    }
    a
}

impl Multiplier {
    /// Every kernel's tables (the tests give one multiplier to each).
    pub fn new(factor: u16) -> Self {
        Multiplier::build(factor, None)
    }

    fn build(factor: u16, only: Option<Tables>) -> Self {
        let wants = |t| only.is_none_or(|o| o == t);
        let mut bits = [0u16; 16];
        for (i, b) in bits.iter_mut().enumerate() {
            *b = gf16::mul(factor, 1 << i);
        }
        let mut m = Multiplier {
            factor,
            only,
            bytes: None,
            nib_lo: [[0; 16]; 4],
            nib_hi: [[0; 16]; 4],
            affine: [0; 4],
        };
        if wants(Tables::Bytes) {
            let mut t = Box::new([[0u16; 256]; 2]);
            let [low, high] = &mut *t;
            for x in 1..256usize {
                let bit = x.trailing_zeros() as usize;
                low[x] = low[x & (x - 1)] ^ bits[bit];
                high[x] = high[x & (x - 1)] ^ bits[bit + 8];
            }
            m.bytes = Some(t);
        }
        if wants(Tables::Nibbles) {
            for k in 0..4 {
                for n in 1..16usize {
                    // The product of `n << 4k`: its bits' products added.
                    let bit = n.trailing_zeros() as usize;
                    let p =
                        u16::from_le_bytes([m.nib_lo[k][n & (n - 1)], m.nib_hi[k][n & (n - 1)]])
                            ^ bits[4 * k + bit];
                    [m.nib_lo[k][n], m.nib_hi[k][n]] = p.to_le_bytes();
                }
            }
        }
        if wants(Tables::Affine) {
            m.affine = [
                affine(&bits, 0, 0),
                affine(&bits, 0, 1),
                affine(&bits, 1, 0),
                affine(&bits, 1, 1),
            ];
        }
        m
    }

    /// Panics unless the tables `t` are built.
    fn check(&self, t: Tables) {
        assert!(
            self.only.is_none_or(|o| o == t),
            "a multiplier built for another kernel ({:?}, not {t:?})",
            self.only
        );
    }

    /// `factor · x` (the scalar tables).
    pub fn mul(&self, x: u16) -> u16 {
        let [low, high] = &**self.bytes.as_ref().expect("the scalar tables are built");
        low[(x & 0xFF) as usize] ^ high[(x >> 8) as usize]
    }
}

/// The accumulator's layout: each chunk of 64 words holds their low bytes,
/// then their high bytes (64 bytes each: one AVX-512 register), so that one vector load gives the low (or high)
/// bytes of consecutive words with no shuffling, and products come out in
/// the same order. Inputs are split once and multiplied into every block;
/// blocks are joined back once, when they are finished.
pub const CHUNK: usize = 128;

/// `len` zero bytes for the kernels to add into, their pages written (not
/// only mapped) before the kernels touch them. A zeroed allocation that
/// large comes from the system as unmapped pages; read first (an
/// accumulator is loaded before it is stored) each would be mapped to the
/// shared zero page and then copied on the first write, which also makes
/// the kernel interrupt every other core to flush its TLB: about 6 % of
/// the CPU time of parity creation on a 2-vCPU VM.
#[allow(
    clippy::slow_vector_initialization,
    reason = "the zeros must be written: vec![0; len] only maps them"
)]
pub fn accumulator(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    v.resize(len, 0);
    v
}

/// Which implementation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Scalar,
    Ssse3,
    Avx2,
    /// AVX2 with GFNI's affine transform (Intel since Ice Lake, AMD since
    /// Zen 4): four `gf2p8affineqb` per 64 bytes instead of eight shuffles
    /// and their nibble masks. Splitting and joining are AVX2's.
    Gfni,
    /// GFNI on AVX-512 registers (Intel since Ice Lake, AMD since Zen 4):
    /// a whole chunk's low (or high) bytes in one register, and with
    /// [`Kernel::mul_acc_many`] the products of several slices added in
    /// registers before the block is stored.
    Gfni512,
}

impl Kernel {
    /// A multiplier by `factor` with this kernel's tables only.
    pub fn multiplier(self, factor: u16) -> Multiplier {
        Multiplier::build(factor, Some(self.tables()))
    }

    fn tables(self) -> Tables {
        match self {
            Kernel::Scalar => Tables::Bytes,
            Kernel::Ssse3 | Kernel::Avx2 => Tables::Nibbles,
            Kernel::Gfni | Kernel::Gfni512 => Tables::Affine,
        }
    }

    /// The fastest the CPU supports.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if Kernel::Gfni512.available() {
                return Kernel::Gfni512;
            }
            if Kernel::Gfni.available() {
                return Kernel::Gfni;
            }
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
            #[cfg(target_arch = "x86_64")]
            Kernel::Gfni => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("gfni")
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Gfni512 => {
                Kernel::Gfni.available()
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Natural little-endian words to the split layout, in place. The
    /// length must be a whole number of chunks.
    pub fn split(self, buf: &mut [u8]) {
        assert!(buf.len().is_multiple_of(CHUNK), "whole chunks");
        let done = match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 | Kernel::Gfni | Kernel::Gfni512 => {
                assert!(self.available(), "AVX2 not available");
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { x86::split_avx2(buf) }
            }
            _ => 0,
        };
        for chunk in buf[done..].chunks_exact_mut(CHUNK) {
            let words: [u8; CHUNK] = chunk.try_into().expect("a chunk");
            for (j, w) in words.chunks_exact(2).enumerate() {
                chunk[j] = w[0];
                chunk[CHUNK / 2 + j] = w[1];
            }
        }
    }

    /// The split layout back to natural words, in place.
    pub fn join(self, buf: &mut [u8]) {
        assert!(buf.len().is_multiple_of(CHUNK), "whole chunks");
        let done = match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 | Kernel::Gfni | Kernel::Gfni512 => {
                assert!(self.available(), "AVX2 not available");
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { x86::join_avx2(buf) }
            }
            _ => 0,
        };
        for chunk in buf[done..].chunks_exact_mut(CHUNK) {
            let halves: [u8; CHUNK] = chunk.try_into().expect("a chunk");
            for (j, w) in chunk.chunks_exact_mut(2).enumerate() {
                w[0] = halves[j];
                w[1] = halves[CHUNK / 2 + j];
            }
        }
    }

    /// `dst ^= m.factor · src`, both in the split layout and of the same
    /// length, a whole number of chunks.
    pub fn mul_acc_split(self, dst: &mut [u8], src: &[u8], m: &Multiplier) {
        assert_eq!(dst.len(), src.len(), "buffers of one length");
        assert!(dst.len().is_multiple_of(CHUNK), "whole chunks");
        m.check(self.tables());
        let done = match self {
            Kernel::Scalar => 0,
            #[cfg(target_arch = "x86_64")]
            Kernel::Ssse3 => {
                assert!(self.available(), "SSSE3 not available");
                // SAFETY: the CPU supports SSSE3 (checked just above).
                unsafe { x86::mul_acc_split_ssse3(dst, src, m) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                assert!(self.available(), "AVX2 not available");
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { x86::mul_acc_split_avx2(dst, src, m) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Gfni => {
                assert!(self.available(), "GFNI not available");
                // SAFETY: the CPU supports AVX2 and GFNI (checked just above).
                unsafe { x86::mul_acc_split_gfni(dst, src, m) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Gfni512 => {
                assert!(self.available(), "AVX-512 GFNI not available");
                // SAFETY: the CPU supports AVX-512 and GFNI (checked just
                // above).
                unsafe { x86::mul_acc_gfni512::<1>(dst, [src], [m]) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => 0,
        };
        scalar_split(&mut dst[done..], &src[done..], m);
    }

    /// `dst ^= Σ ms[k].factor · srcs[k]`, all in the split layout and of
    /// one length, a whole number of chunks. With AVX-512 the products of
    /// eight slices at a time are added in registers, so that the block is
    /// loaded and stored once for eight slices rather than for each.
    pub fn mul_acc_many(self, dst: &mut [u8], srcs: &[&[u8]], ms: &[Multiplier]) {
        assert_eq!(srcs.len(), ms.len(), "a multiplier for each slice");
        ms.iter().for_each(|m| m.check(self.tables()));
        // Slices done eight at a time; the rest one at a time.
        let done = match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Gfni512 => {
                assert!(self.available(), "AVX-512 GFNI not available");
                assert!(dst.len().is_multiple_of(CHUNK), "whole chunks");
                const AT_ONCE: usize = 8;
                let whole = srcs.len() / AT_ONCE * AT_ONCE;
                for (s, m) in srcs[..whole]
                    .chunks_exact(AT_ONCE)
                    .zip(ms.chunks_exact(AT_ONCE))
                {
                    let s: [&[u8]; AT_ONCE] = s.try_into().expect("eight");
                    let m: [&Multiplier; AT_ONCE] = std::array::from_fn(|k| &m[k]);
                    assert!(s.iter().all(|s| s.len() == dst.len()), "one length");
                    // SAFETY: the CPU supports AVX-512 and GFNI (checked
                    // above); the lengths are checked.
                    unsafe { x86::mul_acc_gfni512::<AT_ONCE>(dst, s, m) };
                }
                whole
            }
            _ => 0,
        };
        for (src, m) in srcs[done..].iter().zip(&ms[done..]) {
            self.mul_acc_split(dst, src, m);
        }
    }
}

/// The reference in the split layout.
pub fn scalar_split(dst: &mut [u8], src: &[u8], m: &Multiplier) {
    const HALF: usize = CHUNK / 2;
    if !dst.is_empty() {
        m.check(Tables::Bytes);
    }
    for (d, s) in dst.chunks_exact_mut(CHUNK).zip(src.chunks_exact(CHUNK)) {
        for j in 0..HALF {
            let p = m.mul(u16::from_le_bytes([s[j], s[HALF + j]]));
            d[j] ^= p as u8;
            d[HALF + j] ^= (p >> 8) as u8;
        }
    }
}

/// The SSSE3 and AVX2 kernels are one algorithm at two vector widths: this
/// macro writes it once, and each use names its width's intrinsics. In the
/// split layout the low and high bytes of the words come from two loads,
/// with no packing or unpacking, and the products are added where they
/// belong. Each chunk is done as `CHUNK / 2 / W` pairs of vectors.
#[cfg(target_arch = "x86_64")]
macro_rules! split_layout_kernel {
    (
        $(#[$doc:meta])*
        fn $name:ident, feature $feature:literal, $w:literal bytes,
        table $table:expr, splat8 $splat8:ident,
        load $load:ident, store $store:ident, and $and:ident, xor $xor:ident,
        shuffle $shuffle:ident, shift16 $shift16:ident
    ) => {
        $(#[$doc])*
        ///
        /// # Safety
        #[doc = concat!("The CPU must support ", $feature, ".")]
        #[target_feature(enable = $feature)]
        pub unsafe fn $name(dst: &mut [u8], src: &[u8], m: &Multiplier) -> usize {
            const W: usize = $w;
            const HALF: usize = super::CHUNK / 2;
            let n = dst.len().min(src.len()) / super::CHUNK * super::CHUNK;
            // SAFETY: loads and stores stay inside `dst[..n]` and `src[..n]`
            // (unaligned forms), the tables are 16-byte arrays; the feature
            // is enabled for this function and the caller checked the CPU.
            unsafe {
                let lo_t = m.nib_lo.map(|a| $table(&a));
                let hi_t = m.nib_hi.map(|a| $table(&a));
                let mask = $splat8(0x0F);
                let mut i = 0;
                while i < n {
                    let mut h = 0;
                    while h < HALF {
                        let s = src.as_ptr().add(i + h);
                        let d = dst.as_mut_ptr().add(i + h);
                        let lo = $load(s.cast());
                        let hi = $load(s.add(HALF).cast());
                        let nib = [
                            $and(lo, mask),
                            $and($shift16::<4>(lo), mask),
                            $and(hi, mask),
                            $and($shift16::<4>(hi), mask),
                        ];
                        let product = |t: &[_; 4]| {
                            $xor(
                                $xor($shuffle(t[0], nib[0]), $shuffle(t[1], nib[1])),
                                $xor($shuffle(t[2], nib[2]), $shuffle(t[3], nib[3])),
                            )
                        };
                        let (rl, rh) = (product(&lo_t), product(&hi_t));
                        $store(d.cast(), $xor($load(d.cast()), rl));
                        $store(d.add(HALF).cast(), $xor($load(d.add(HALF).cast()), rh));
                        h += W;
                    }
                    i += super::CHUNK;
                }
            }
            n
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Multiplier;
    use std::arch::x86_64::*;

    split_layout_kernel! {
        /// Whole chunks in the split layout; returns how many bytes it did.
        fn mul_acc_split_ssse3, feature "ssse3", 16 bytes,
        table (|a: &[u8; 16]| _mm_loadu_si128(a.as_ptr().cast())),
        splat8 _mm_set1_epi8,
        load _mm_loadu_si128, store _mm_storeu_si128, and _mm_and_si128, xor _mm_xor_si128,
        shuffle _mm_shuffle_epi8, shift16 _mm_srli_epi16
    }

    split_layout_kernel! {
        /// Whole chunks in the split layout; returns how many bytes it did.
        fn mul_acc_split_avx2, feature "avx2", 32 bytes,
        table (|a: &[u8; 16]| _mm256_broadcastsi128_si256(_mm_loadu_si128(a.as_ptr().cast()))),
        splat8 _mm256_set1_epi8,
        load _mm256_loadu_si256, store _mm256_storeu_si256, and _mm256_and_si256,
        xor _mm256_xor_si256, shuffle _mm256_shuffle_epi8, shift16 _mm256_srli_epi16
    }

    /// Whole chunks in the split layout; returns how many bytes it did.
    ///
    /// # Safety
    /// The CPU must support AVX2 and GFNI.
    #[target_feature(enable = "avx2,gfni")]
    pub unsafe fn mul_acc_split_gfni(dst: &mut [u8], src: &[u8], m: &Multiplier) -> usize {
        const HALF: usize = super::CHUNK / 2;
        let n = dst.len().min(src.len()) / super::CHUNK * super::CHUNK;
        // SAFETY: loads and stores stay inside `dst[..n]` and `src[..n]`
        // (unaligned forms); the features are enabled for this function and
        // the caller checked the CPU.
        unsafe {
            let [ll, lh, hl, hh] = m.affine.map(|a| _mm256_set1_epi64x(a as i64));
            let mut i = 0;
            while i < n {
                for h in [0, 32] {
                    let s = src.as_ptr().add(i + h);
                    let d = dst.as_mut_ptr().add(i + h);
                    let lo = _mm256_loadu_si256(s.cast());
                    let hi = _mm256_loadu_si256(s.add(HALF).cast());
                    let rl = _mm256_xor_si256(
                        _mm256_gf2p8affine_epi64_epi8::<0>(lo, ll),
                        _mm256_gf2p8affine_epi64_epi8::<0>(hi, lh),
                    );
                    let rh = _mm256_xor_si256(
                        _mm256_gf2p8affine_epi64_epi8::<0>(lo, hl),
                        _mm256_gf2p8affine_epi64_epi8::<0>(hi, hh),
                    );
                    let dl = _mm256_xor_si256(_mm256_loadu_si256(d.cast()), rl);
                    _mm256_storeu_si256(d.cast(), dl);
                    let dh = _mm256_xor_si256(_mm256_loadu_si256(d.add(HALF).cast()), rh);
                    _mm256_storeu_si256(d.add(HALF).cast(), dh);
                }
                i += super::CHUNK;
            }
        }
        n
    }

    /// `dst ^= Σ ms[k] · srcs[k]` for `N` slices, whole chunks in the split
    /// layout; returns how many bytes it did. Each chunk's low and high
    /// bytes are one register each; the products of the `N` slices are
    /// added to them in registers (three-way XORs) and stored once.
    ///
    /// # Safety
    /// The CPU must support AVX-512 (F, BW) and GFNI.
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub unsafe fn mul_acc_gfni512<const N: usize>(
        dst: &mut [u8],
        srcs: [&[u8]; N],
        ms: [&Multiplier; N],
    ) -> usize {
        const HALF: usize = super::CHUNK / 2;
        // XOR of three: the truth table of a ^ b ^ c.
        const XOR3: i32 = 0x96;
        let n = srcs.iter().fold(dst.len(), |n, s| n.min(s.len())) / super::CHUNK * super::CHUNK;
        // SAFETY: loads and stores stay inside `dst[..n]` and each
        // `srcs[k][..n]` (unaligned forms); the features are enabled for
        // this function and the caller checked the CPU.
        unsafe {
            // Built in a loop: `array::map` here went through memcpy.
            let mut mats = [[_mm512_setzero_si512(); 4]; N];
            for (mat, m) in mats.iter_mut().zip(ms) {
                for (v, a) in mat.iter_mut().zip(m.affine) {
                    *v = _mm512_set1_epi64(a as i64);
                }
            }
            let mut i = 0;
            while i < n {
                let d = dst.as_mut_ptr().add(i);
                let mut rl = _mm512_loadu_si512(d.cast());
                let mut rh = _mm512_loadu_si512(d.add(HALF).cast());
                for k in 0..N {
                    let s = srcs[k].as_ptr().add(i);
                    let lo = _mm512_loadu_si512(s.cast());
                    let hi = _mm512_loadu_si512(s.add(HALF).cast());
                    let [ll, lh, hl, hh] = mats[k];
                    rl = _mm512_ternarylogic_epi64::<XOR3>(
                        rl,
                        _mm512_gf2p8affine_epi64_epi8::<0>(lo, ll),
                        _mm512_gf2p8affine_epi64_epi8::<0>(hi, lh),
                    );
                    rh = _mm512_ternarylogic_epi64::<XOR3>(
                        rh,
                        _mm512_gf2p8affine_epi64_epi8::<0>(lo, hl),
                        _mm512_gf2p8affine_epi64_epi8::<0>(hi, hh),
                    );
                }
                _mm512_storeu_si512(d.cast(), rl);
                _mm512_storeu_si512(d.add(HALF).cast(), rh);
                i += super::CHUNK;
            }
        }
        n
    }

    /// Natural words to the split layout, whole chunks in place; returns how
    /// many bytes it did.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn split_avx2(buf: &mut [u8]) -> usize {
        let n = buf.len() / super::CHUNK * super::CHUNK;
        // SAFETY: loads and stores stay inside `buf[..n]` (unaligned forms);
        // both halves of a chunk are loaded before either is stored.
        unsafe {
            let bytes = _mm256_set1_epi16(0x00FF);
            let mut i = 0;
            while i < n {
                let p = buf.as_mut_ptr().add(i);
                // Words 0-31 and 32-63, each two vectors of 16 words.
                let [a, b, c, d] = [0, 32, 64, 96].map(|o| _mm256_loadu_si256(p.add(o).cast()));
                // Packing works within 128-bit lanes: the quarters come out
                // as a0 b0 a1 b1 and are put back in order, a0 a1 b0 b1.
                let low = |a, b| {
                    let v =
                        _mm256_packus_epi16(_mm256_and_si256(a, bytes), _mm256_and_si256(b, bytes));
                    _mm256_permute4x64_epi64::<0xD8>(v)
                };
                let high = |a, b| {
                    let v =
                        _mm256_packus_epi16(_mm256_srli_epi16::<8>(a), _mm256_srli_epi16::<8>(b));
                    _mm256_permute4x64_epi64::<0xD8>(v)
                };
                let out = [low(a, b), low(c, d), high(a, b), high(c, d)];
                for (o, v) in [0, 32, 64, 96].into_iter().zip(out) {
                    _mm256_storeu_si256(p.add(o).cast(), v);
                }
                i += super::CHUNK;
            }
        }
        n
    }

    /// The split layout back to natural words, whole chunks in place;
    /// returns how many bytes it did.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn join_avx2(buf: &mut [u8]) -> usize {
        let n = buf.len() / super::CHUNK * super::CHUNK;
        // SAFETY: as in `split_avx2`.
        unsafe {
            let mut i = 0;
            while i < n {
                let p = buf.as_mut_ptr().add(i);
                // Low bytes of words 0-31 and 32-63, then their high bytes.
                let [lo_a, lo_b, hi_a, hi_b] =
                    [0, 32, 64, 96].map(|o| _mm256_loadu_si256(p.add(o).cast()));
                // Interleaving works within lanes: words 0-7 and 16-23,
                // then 8-15 and 24-31; the lanes are put back in order.
                let words = |lo, hi| {
                    let a = _mm256_unpacklo_epi8(lo, hi);
                    let b = _mm256_unpackhi_epi8(lo, hi);
                    [
                        _mm256_permute2x128_si256::<0x20>(a, b),
                        _mm256_permute2x128_si256::<0x31>(a, b),
                    ]
                };
                let [w0, w1] = words(lo_a, hi_a);
                let [w2, w3] = words(lo_b, hi_b);
                for (o, v) in [0, 32, 64, 96].into_iter().zip([w0, w1, w2, w3]) {
                    _mm256_storeu_si256(p.add(o).cast(), v);
                }
                i += super::CHUNK;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: two table lookups per word.
    pub fn scalar(dst: &mut [u8], src: &[u8], m: &Multiplier) {
        for (d, s) in dst.chunks_exact_mut(2).zip(src.chunks_exact(2)) {
            let p = m.mul(u16::from_le_bytes([s[0], s[1]]));
            let v = u16::from_le_bytes([d[0], d[1]]) ^ p;
            d.copy_from_slice(&v.to_le_bytes());
        }
    }

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
    fn split_kernels_match_the_scalar_reference_and_the_layout_round_trips() {
        for kernel in [
            Kernel::Scalar,
            Kernel::Ssse3,
            Kernel::Avx2,
            Kernel::Gfni,
            Kernel::Gfni512,
        ] {
            if !kernel.available() {
                continue;
            }
            for len in [0usize, 128, 256, 4096 + 128 * 3] {
                let natural = data(len, 7);
                let mut split = natural.clone();
                kernel.split(&mut split);
                let mut reference = natural.clone();
                Kernel::Scalar.split(&mut reference);
                assert_eq!(split, reference, "{kernel:?} split, len {len}");
                for f in [1u16, 2, 0x100B, 0xFFFF, 0x8001] {
                    let m = Multiplier::new(f);
                    // In natural words, with the first reference.
                    let mut want = data(len, 99);
                    scalar(&mut want, &natural, &m);
                    let mut got = data(len, 99);
                    kernel.split(&mut got);
                    kernel.mul_acc_split(&mut got, &split, &m);
                    kernel.join(&mut got);
                    assert_eq!(got, want, "{kernel:?} len {len} factor {f:#x}");
                }
                let mut back = split.clone();
                kernel.join(&mut back);
                assert_eq!(back, natural, "{kernel:?} join, len {len}");
            }
        }
    }

    #[test]
    fn many_slices_at_once_match_one_at_a_time() {
        for kernel in [Kernel::Scalar, Kernel::Avx2, Kernel::Gfni, Kernel::Gfni512] {
            if !kernel.available() {
                continue;
            }
            let len = 4096 + 128 * 3;
            for n in [0usize, 1, 3, 4, 5, 9, 16] {
                let srcs: Vec<Vec<u8>> = (0..n).map(|k| data(len, 11 + k as u32)).collect();
                let ms: Vec<Multiplier> = (0..n)
                    .map(|k| Multiplier::new(0x9E37u16.wrapping_mul(k as u16 + 1)))
                    .collect();
                let mut want = data(len, 5);
                for (src, m) in srcs.iter().zip(&ms) {
                    scalar_split(&mut want, src, m);
                }
                let mut got = data(len, 5);
                let refs: Vec<&[u8]> = srcs.iter().map(Vec::as_slice).collect();
                kernel.mul_acc_many(&mut got, &refs, &ms);
                assert_eq!(got, want, "{kernel:?}, {n} slices");
            }
        }
    }

    /// `gf2p8affineqb` on one byte, as Intel's manual gives it.
    fn affine_byte(x: u8, a: u64) -> u8 {
        (0..8).fold(0u8, |r, i| {
            let row = (a >> (8 * (7 - i))) as u8;
            r | (((row & x).count_ones() & 1) as u8) << i
        })
    }

    /// The GFNI kernel's matrices, checked on every CPU (the kernel itself
    /// only where the CPU has GFNI).
    #[test]
    fn affine_matrices_multiply_like_the_field() {
        for f in [0u16, 1, 2, 0x100B, 0x8000, 0xBEEF, 0xFFFF] {
            let m = Multiplier::new(f);
            let [ll, lh, hl, hh] = m.affine;
            for x in (0..=u16::MAX).step_by(97).chain([0xFF, 0xFF00, 0xFFFF]) {
                let (lo, hi) = (x as u8, (x >> 8) as u8);
                let p_lo = affine_byte(lo, ll) ^ affine_byte(hi, lh);
                let p_hi = affine_byte(lo, hl) ^ affine_byte(hi, hh);
                assert_eq!(
                    u16::from_le_bytes([p_lo, p_hi]),
                    gf16::mul(f, x),
                    "factor {f:#x}, x {x:#x}"
                );
            }
        }
    }

    /// A kernel's own multipliers (only its tables built) give what the
    /// full ones give; a multiplier built for another kernel is refused.
    #[test]
    fn a_kernels_own_multipliers_match_the_full_ones() {
        let kernels = [
            Kernel::Scalar,
            Kernel::Ssse3,
            Kernel::Avx2,
            Kernel::Gfni,
            Kernel::Gfni512,
        ];
        let len = 4096 + 128 * 3;
        let src = data(len, 3);
        for kernel in kernels.into_iter().filter(|k| k.available()) {
            for f in [0u16, 1, 2, 0x100B, 0x8000, 0xBEEF, 0xFFFF] {
                let (mut want, mut got) = (data(len, 4), data(len, 4));
                kernel.mul_acc_split(&mut want, &src, &Multiplier::new(f));
                kernel.mul_acc_split(&mut got, &src, &kernel.multiplier(f));
                assert_eq!(got, want, "{kernel:?}, factor {f:#x}");
            }
            for other in kernels
                .into_iter()
                .filter(|o| o.tables() != kernel.tables())
            {
                let m = other.multiplier(0xBEEF);
                let mut dst = vec![0u8; CHUNK];
                let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    kernel.mul_acc_split(&mut dst, &src[..CHUNK], &m)
                }));
                assert!(refused.is_err(), "{kernel:?} took {other:?}'s multiplier");
            }
        }
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
}
