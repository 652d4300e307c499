//! AES-GCM (NIST SP 800-38D) with 256-bit VAES and VPCLMULQDQ: two blocks
//! per ymm register, for aes128-gcm@openssh.com and aes256-gcm@openssh.com.
//!
//! aws-lc 0.47 has a VAES path only for AVX-512; on CPUs with VAES but no
//! AVX-512 (AMD Zen 3, Intel client cores from Alder Lake on) it runs its
//! 128-bit AES-NI + PCLMULQDQ code, which was a third of the server's CPU in
//! an SFTP transfer. This module is the wider loop; `gcm.rs` uses it when
//! [`available`] and aws-lc otherwise.
//!
//! Speed (Zen 3, 32 KiB packet): 1.75× (AES-256) to 1.95× (AES-128)
//! aws-lc's. Measured alone, the CTR part runs at two `vaesenc` per cycle
//! and the GHASH part at one 256-bit `vpclmulqdq` every other cycle, but
//! stitched they overlap only in part (they appear to share a port), so
//! the loop runs at about 80% of what separate ports would allow.
//!
//! Why unsafe: `#[target_feature]` functions may only be called from
//! unsafe code (the caller promises the CPU has the features), and
//! `core::arch` loads and stores take raw pointers. The first obligation is
//! met by [`Key::new`], the only constructor of a [`Key`]: it returns
//! `None` unless [`available`] says the CPU has every feature used here, so
//! each call on a `Key` may enter the feature functions. The second by
//! loading and storing only through `&[u8; 16]` / `&[u8; 32]` references
//! ([`ld128`], [`st128`], [`ld256`], [`st256`]), unaligned, whole.
//!
//! Layout. A 16-byte block is loaded little-endian into a lane; GHASH works
//! on the byte-reversed block (`vpshufb`), in which bit 127 is the
//! coefficient of x^0 (GCM's bit-reflected convention). Read as a
//! polynomial in y (bit k = y^k), that is the reciprocal polynomial, and a
//! carry-less product of two reflected values followed by a Montgomery
//! reduction by y^128 modulo P*(y) = y^128 + y^127 + y^126 + y^121 + 1 (the
//! reciprocal of x^128 + x^7 + x^2 + x + 1) multiplies in GF(2^128) up to a
//! factor y; the hash key is stored premultiplied by y (`H' = y·H`), so
//! `mont(X · H'^k) = X · H^k` exactly. The reduction is two 64-bit
//! Montgomery steps, each a `pclmulqdq` by 0xc2000000_00000000
//! (y^63 + y^62 + y^57, the middle terms of P*).
//!
//! Main loop: [`W`] ymm registers (2·W blocks) per iteration. Sealing runs
//! the AES-CTR rounds of chunk i with the GHASH of chunk i−1's ciphertext
//! interleaved between the rounds; opening hashes chunk i's ciphertext while
//! it decrypts it. The hash of a chunk is `Σ (X_b [⊕ acc]) · H^(2W−b)` with
//! Karatsuba products summed unreduced and one reduction per chunk. The
//! tail (fewer than 2W blocks, the last one possibly partial) is one block
//! at a time with AES-NI and one aggregated reduction.
//!
//! The counter block is `nonce || be32(ctr)`, ctr = 1 for the tag mask
//! E(K, J0) and 2, 3, ... for data. Counters are kept byte-reversed so that
//! `vpaddd` steps the 32-bit field; bodies of more than 2^32 − 2 blocks
//! (the SP 800-38D limit, where the field would wrap) are refused.

use core::arch::x86_64::{
    __m128i, __m256i, _mm256_add_epi32, _mm256_aesenc_epi128, _mm256_aesenclast_epi128,
    _mm256_broadcastsi128_si256, _mm256_castsi256_si128, _mm256_clmulepi64_epi128,
    _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_set_epi32, _mm256_set_m128i,
    _mm256_setzero_si256, _mm256_shuffle_epi32, _mm256_shuffle_epi8, _mm256_storeu_si256,
    _mm256_xor_si256, _mm256_zextsi128_si256, _mm_add_epi32, _mm_aesenc_si128,
    _mm_aesenclast_si128, _mm_aeskeygenassist_si128, _mm_clmulepi64_si128, _mm_loadu_si128,
    _mm_set_epi32, _mm_set_epi64x, _mm_setzero_si128, _mm_shuffle_epi32, _mm_shuffle_epi8,
    _mm_slli_si128, _mm_srli_si128, _mm_storeu_si128, _mm_xor_si128,
};

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Bytes of the tag.
pub(crate) const TAG_LEN: usize = 16;

/// ymm registers of blocks per main-loop iteration (2·W blocks). 8 needs
/// H^1..H^16; the tables hold 16 powers, so W may be 1..=8.
const W: usize = 8;
/// Bytes per main-loop iteration.
const CHUNK: usize = 32 * W;
/// Powers of H kept: enough for a chunk, and for the tail (< 2W blocks).
const POWERS: usize = 16;
const _: () = assert!(2 * W <= POWERS && W >= 1);

/// SP 800-38D §5.2.1.1: at most 2^39 − 256 bits of plaintext, i.e.
/// 2^32 − 2 blocks; beyond that the 32-bit counter would wrap onto J0.
const MAX_BLOCKS: usize = (1 << 32) - 2;

/// Why an operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GcmError {
    /// The body exceeds 2^32 − 2 blocks or the AAD 2^61 − 1 bytes.
    TooLong,
    /// The tag did not match (the body has been wiped).
    AuthFailed,
}

/// Whether the CPU has every feature this module uses. std caches CPUID,
/// so after the first call this is a few relaxed loads.
pub(crate) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("aes")
        && std::arch::is_x86_feature_detected!("pclmulqdq")
        && std::arch::is_x86_feature_detected!("vaes")
        && std::arch::is_x86_feature_detected!("vpclmulqdq")
}

/// An AES-128 or AES-256 key expanded for GCM: round keys and powers of the
/// hash key, wiped on drop. Exists only on CPUs where [`available`] holds.
#[repr(C, align(32))]
pub(crate) struct Key {
    /// Round keys 0..=rounds, each repeated in both 128-bit halves.
    rk: [[u8; 32]; 15],
    /// ymm j = [H'^(16−2j) (low lane) | H'^(15−2j) (high lane)], reflected.
    hpow: [[u8; 32]; POWERS / 2],
    /// Karatsuba middle keys of `hpow`: each lane holds hi ⊕ lo of its
    /// power in both 64-bit halves.
    hmid: [[u8; 32]; POWERS / 2],
    /// `hpow1[k − 1]` = H'^k for the one-block paths.
    hpow1: [[u8; 16]; POWERS],
    /// Middle keys of `hpow1`.
    hmid1: [[u8; 16]; POWERS],
    /// 10 (AES-128) or 14 (AES-256).
    rounds: usize,
}

impl Key {
    /// Expands a 16- or 32-byte key; `None` for other lengths or when the
    /// CPU lacks VAES/VPCLMULQDQ/AVX2/AES-NI/PCLMULQDQ.
    pub(crate) fn new(key: &[u8]) -> Option<Box<Key>> {
        let rounds = match key.len() {
            16 => 10,
            32 => 14,
            _ => return None,
        };
        if !available() {
            return None;
        }
        // Boxed so that the key material is never moved (no stale copies).
        let mut k = Box::new(Key {
            rk: [[0; 32]; 15],
            hpow: [[0; 32]; POWERS / 2],
            hmid: [[0; 32]; POWERS / 2],
            hpow1: [[0; 16]; POWERS],
            hmid1: [[0; 16]; POWERS],
            rounds,
        });
        // SAFETY: `available()` has just confirmed every feature `expand`
        // enables.
        unsafe { expand(&mut k, key) };
        Some(k)
    }

    /// Encrypts `body` in place and returns the tag over `aad` and the
    /// ciphertext. Any lengths up to the GCM limits.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        body: &mut [u8],
    ) -> Result<[u8; TAG_LEN], GcmError> {
        check_lengths(aad.len(), body.len())?;
        // SAFETY: a `Key` exists only where `available()` held (see
        // `Key::new`, its only constructor).
        Ok(unsafe {
            match self.rounds {
                10 => seal_impl::<10>(self, nonce, aad, body),
                _ => seal_impl::<14>(self, nonce, aad, body),
            }
        })
    }

    /// Decrypts `body` in place if `tag` (compared in constant time) is
    /// right. On any failure the body is wiped: it may already hold
    /// unauthenticated plaintext.
    pub(crate) fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        body: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), GcmError> {
        if let Err(e) = check_lengths(aad.len(), body.len()) {
            body.zeroize();
            return Err(e);
        }
        // SAFETY: as in `seal`.
        let mut computed = unsafe {
            match self.rounds {
                10 => open_impl::<10>(self, nonce, aad, body),
                _ => open_impl::<14>(self, nonce, aad, body),
            }
        };
        let ok: bool = computed.ct_eq(tag).into();
        computed.zeroize();
        if ok {
            Ok(())
        } else {
            body.zeroize();
            Err(GcmError::AuthFailed)
        }
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        self.rk.zeroize();
        self.hpow.zeroize();
        self.hmid.zeroize();
        self.hpow1.zeroize();
        self.hmid1.zeroize();
    }
}

fn check_lengths(aad_len: usize, body_len: usize) -> Result<(), GcmError> {
    if body_len.div_ceil(16) > MAX_BLOCKS || aad_len as u64 > u64::MAX / 8 {
        return Err(GcmError::TooLong);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Loads and stores: the only pointer accesses, each of one whole array.

#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn ld128(b: &[u8; 16]) -> __m128i {
    // SAFETY: reads exactly the 16 bytes of `b`; no alignment needed.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}

#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn st128(b: &mut [u8; 16], v: __m128i) {
    // SAFETY: writes exactly the 16 bytes of `b`; no alignment needed.
    unsafe { _mm_storeu_si128(b.as_mut_ptr().cast(), v) }
}

#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn ld256(b: &[u8; 32]) -> __m256i {
    // SAFETY: reads exactly the 32 bytes of `b`; no alignment needed.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn st256(b: &mut [u8; 32], v: __m256i) {
    // SAFETY: writes exactly the 32 bytes of `b`; no alignment needed.
    unsafe { _mm256_storeu_si256(b.as_mut_ptr().cast(), v) }
}

// ---------------------------------------------------------------------------
// Constants and small helpers.

/// `vpshufb` mask reversing the 16 bytes of a lane.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn bswap128() -> __m128i {
    _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0a0b_0c0d_0e0f)
}

#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn bswap256() -> __m256i {
    _mm256_broadcastsi128_si256(bswap128())
}

/// y^63 + y^62 + y^57 in the low 64 bits (see the module comment).
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn poly() -> __m128i {
    _mm_set_epi64x(0, 0xc200_0000_0000_0000_u64 as i64)
}

/// Swaps the two 64-bit halves of each lane.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn swap64(x: __m128i) -> __m128i {
    _mm_shuffle_epi32::<0x4e>(x)
}

/// Round key `r` as one lane.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn rk128(k: &Key, r: usize) -> __m128i {
    _mm256_castsi256_si128(ld256(&k.rk[r]))
}

// ---------------------------------------------------------------------------
// GHASH arithmetic.

/// Unreduced Karatsuba pieces (lo, mid, hi) of `a · h`; `hm` is h's middle
/// key (hi ⊕ lo in the low half).
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn mul_parts(a: __m128i, h: __m128i, hm: __m128i) -> [__m128i; 3] {
    let lo = _mm_clmulepi64_si128::<0x00>(a, h);
    let hi = _mm_clmulepi64_si128::<0x11>(a, h);
    let mid = _mm_clmulepi64_si128::<0x00>(_mm_xor_si128(a, swap64(a)), hm);
    [lo, mid, hi]
}

/// The 256-bit product from Karatsuba pieces, reduced: `(lo ⊕ mid·y^64 ⊕
/// hi·y^128) · y^−128 mod P*`.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn reduce([lo, mid, hi]: [__m128i; 3]) -> __m128i {
    let mid = _mm_xor_si128(mid, _mm_xor_si128(lo, hi));
    let t_lo = _mm_xor_si128(lo, _mm_slli_si128::<8>(mid));
    let t_hi = _mm_xor_si128(hi, _mm_srli_si128::<8>(mid));
    // Step 1: m = t_lo.q0; add m·P*, divide by y^64.
    let v = _mm_xor_si128(swap64(t_lo), _mm_clmulepi64_si128::<0x00>(t_lo, poly()));
    // Step 2: m = v.q0; likewise; the high half was waiting in t_hi.
    let r = _mm_xor_si128(swap64(v), _mm_clmulepi64_si128::<0x00>(v, poly()));
    _mm_xor_si128(r, t_hi)
}

/// `a · h` in the premultiplied representation.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn gmul(a: __m128i, h: __m128i, hm: __m128i) -> __m128i {
    reduce(mul_parts(a, h, hm))
}

/// Folds the two lanes of each Karatsuba piece.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn fold(p: [__m256i; 3]) -> [__m128i; 3] {
    p.map(|x| _mm_xor_si128(_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x)))
}

/// Adds `(X ⊕ acc?) · H^k` (two blocks, two powers) for ymm `j` of a chunk
/// into the Karatsuba sums `p`. `data` is the raw (unreflected) pair.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn ghash_pair(k: &Key, j: usize, data: &[u8; 32], acc: __m128i, p: &mut [__m256i; 3]) {
    let mut x = _mm256_shuffle_epi8(ld256(data), bswap256());
    if j == 0 {
        x = _mm256_xor_si256(x, _mm256_zextsi128_si256(acc));
    }
    let t = POWERS / 2 - W + j;
    let h = ld256(&k.hpow[t]);
    let hm = ld256(&k.hmid[t]);
    let xm = _mm256_xor_si256(x, _mm256_shuffle_epi32::<0x4e>(x));
    p[0] = _mm256_xor_si256(p[0], _mm256_clmulepi64_epi128::<0x00>(x, h));
    p[2] = _mm256_xor_si256(p[2], _mm256_clmulepi64_epi128::<0x11>(x, h));
    p[1] = _mm256_xor_si256(p[1], _mm256_clmulepi64_epi128::<0x00>(xm, hm));
}

/// GHASH of one chunk on its own (the last chunk when sealing).
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn ghash_chunk(k: &Key, acc: __m128i, chunk: &[u8; CHUNK]) -> __m128i {
    let (pairs, _) = chunk.as_chunks::<32>();
    let mut p = [_mm256_setzero_si256(); 3];
    // Pair 0, which needs `acc`, last (see `stitched`).
    for j in 1..=W {
        ghash_pair(k, j % W, &pairs[j % W], acc, &mut p);
    }
    reduce(fold(p))
}

/// GHASH of up to 16 blocks (`blocks`, then `extra` if given, already
/// zero-padded) with one reduction.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn ghash_few(k: &Key, acc: __m128i, blocks: &[[u8; 16]], extra: Option<&[u8; 16]>) -> __m128i {
    let n = blocks.len() + usize::from(extra.is_some());
    debug_assert!(n <= POWERS);
    if n == 0 {
        return acc;
    }
    let mut p = [_mm_setzero_si128(); 3];
    for (i, b) in blocks.iter().chain(extra).enumerate() {
        let mut x = _mm_shuffle_epi8(ld128(b), bswap128());
        if i == 0 {
            x = _mm_xor_si128(x, acc);
        }
        // Block i of n takes H^(n−i).
        let e = n - 1 - i;
        let q = mul_parts(x, ld128(&k.hpow1[e]), ld128(&k.hmid1[e]));
        for (s, t) in p.iter_mut().zip(q) {
            *s = _mm_xor_si128(*s, t);
        }
    }
    reduce(p)
}

/// GHASH of arbitrary bytes, zero-padded to whole blocks.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn ghash_bytes(k: &Key, mut acc: __m128i, bytes: &[u8]) -> __m128i {
    let (blocks, part) = bytes.as_chunks::<16>();
    for group in blocks.chunks(POWERS) {
        acc = ghash_few(k, acc, group, None);
    }
    if !part.is_empty() {
        let mut last = [0u8; 16];
        last[..part.len()].copy_from_slice(part);
        acc = ghash_few(k, acc, &[], Some(&last));
    }
    acc
}

// ---------------------------------------------------------------------------
// AES.

/// One block, AES-NI.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn aes_block<const R: usize>(k: &Key, x: __m128i) -> __m128i {
    let mut s = _mm_xor_si128(x, rk128(k, 0));
    for r in 1..R {
        s = _mm_aesenc_si128(s, rk128(k, r));
    }
    _mm_aesenclast_si128(s, rk128(k, R))
}

/// The counter blocks of a chunk, whitened with round key 0. `ctr` holds
/// the byte-reversed counters of blocks 0 and 1 of the chunk.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn counters(k: &Key, ctr: __m256i) -> [__m256i; W] {
    let rk0 = ld256(&k.rk[0]);
    let mut s = [_mm256_setzero_si256(); W];
    for (j, s) in s.iter_mut().enumerate() {
        let step = 2 * j as i32;
        let c = _mm256_add_epi32(ctr, _mm256_set_epi32(0, 0, 0, step, 0, 0, 0, step));
        *s = _mm256_xor_si256(_mm256_shuffle_epi8(c, bswap256()), rk0);
    }
    s
}

/// The keystream of a chunk, no hashing (the first chunk when sealing).
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn keystream<const R: usize>(k: &Key, ctr: __m256i) -> [__m256i; W] {
    let mut s = counters(k, ctr);
    for r in 1..R {
        let rk = ld256(&k.rk[r]);
        for s in s.iter_mut() {
            *s = _mm256_aesenc_epi128(*s, rk);
        }
    }
    let rk = ld256(&k.rk[R]);
    s.map(|s| _mm256_aesenclast_epi128(s, rk))
}

/// The keystream of the chunk at `ctr` and, interleaved with its rounds,
/// the GHASH of `hashed` into `acc`. (`SEAL` only makes the sealing and
/// opening loops call separate copies: with one call site each, LLVM
/// inlines them, keeping the keystream in registers.)
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn stitched<const R: usize, const SEAL: bool>(
    k: &Key,
    acc: __m128i,
    hashed: &[u8; CHUNK],
    ctr: __m256i,
) -> (__m128i, [__m256i; W]) {
    let (pairs, _) = hashed.as_chunks::<32>();
    let mut p = [_mm256_setzero_si256(); 3];
    let mut s = counters(k, ctr);
    for r in 1..R {
        let rk = ld256(&k.rk[r]);
        for s in s.iter_mut() {
            *s = _mm256_aesenc_epi128(*s, rk);
        }
        // Pairs 1..W first and pair 0, the only one that needs `acc`,
        // last: the previous chunk's reduction is then off the critical
        // path for all but three of the chunk's multiplications.
        if r <= W {
            let j = r % W;
            ghash_pair(k, j, &pairs[j], acc, &mut p);
        }
    }
    // Fewer rounds than pairs cannot happen for W <= 8 (R − 1 >= 9), but
    // stay correct if W grows.
    for j in R..=W {
        ghash_pair(k, j % W, &pairs[j % W], acc, &mut p);
    }
    let rk = ld256(&k.rk[R]);
    let s = s.map(|s| _mm256_aesenclast_epi128(s, rk));
    (reduce(fold(p)), s)
}

/// `k`, through an optimisation barrier. Without it LLVM hoists the round
/// keys and powers of H out of the main loop and, short of registers,
/// copies them to the stack (where nothing would wipe them) to reload them
/// from there; with it they stay memory operands read from the `Key`.
#[inline(always)]
fn opaque(k: &Key) -> &Key {
    core::hint::black_box(k)
}

/// XORs a chunk's keystream into it.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn xor_chunk(chunk: &mut [u8; CHUNK], ks: [__m256i; W]) {
    let (pairs, _) = chunk.as_chunks_mut::<32>();
    for (pair, ks) in pairs.iter_mut().zip(ks) {
        let v = _mm256_xor_si256(ld256(pair), ks);
        st256(pair, v);
    }
}

/// CTR over the tail (< 2W blocks, the last possibly partial), one block
/// at a time from the byte-reversed counter `ctr`. Returns the last,
/// partial block's output zero-padded (for GHASH when sealing).
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn ctr_tail<const R: usize>(k: &Key, ctr: __m128i, tail: &mut [u8]) -> Option<[u8; 16]> {
    let (blocks, part) = tail.as_chunks_mut::<16>();
    let ks = |i: usize| {
        let c = _mm_add_epi32(ctr, _mm_set_epi32(0, 0, 0, i as i32));
        aes_block::<R>(k, _mm_shuffle_epi8(c, bswap128()))
    };
    let n = blocks.len();
    for (i, b) in blocks.iter_mut().enumerate() {
        let v = _mm_xor_si128(ld128(b), ks(i));
        st128(b, v);
    }
    if part.is_empty() {
        return None;
    }
    let mut last = [0u8; 16];
    last[..part.len()].copy_from_slice(part);
    let v = _mm_xor_si128(ld128(&last), ks(n));
    st128(&mut last, v);
    part.copy_from_slice(&last[..part.len()]);
    last[part.len()..].fill(0);
    Some(last)
}

/// The tag: GHASH the lengths block, unreflect, mask with E(K, J0).
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn finish(k: &Key, acc: __m128i, aad_len: usize, body_len: usize, ekj0: __m128i) -> [u8; 16] {
    // The lengths block be64(aad bits) || be64(body bits), reflected.
    let lens = _mm_set_epi64x((aad_len as u64 * 8) as i64, (body_len as u64 * 8) as i64);
    let acc = gmul(
        _mm_xor_si128(acc, lens),
        ld128(&k.hpow1[0]),
        ld128(&k.hmid1[0]),
    );
    let mut tag = [0u8; 16];
    st128(
        &mut tag,
        _mm_xor_si128(_mm_shuffle_epi8(acc, bswap128()), ekj0),
    );
    tag
}

/// E(K, J0) and the byte-reversed counters of data blocks 0 and 1.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn start<const R: usize>(k: &Key, nonce: &[u8; 12]) -> (__m128i, __m256i) {
    let mut j0 = [0u8; 16];
    j0[..12].copy_from_slice(nonce);
    j0[15] = 1;
    let j0 = ld128(&j0);
    let ekj0 = aes_block::<R>(k, j0);
    let c1 = _mm256_broadcastsi128_si256(_mm_shuffle_epi8(j0, bswap128()));
    let ctr = _mm256_add_epi32(c1, _mm256_set_epi32(0, 0, 0, 2, 0, 0, 0, 1));
    (ekj0, ctr)
}

/// Advances the counter pair past one chunk.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn next_chunk(ctr: __m256i) -> __m256i {
    let n = 2 * W as i32;
    _mm256_add_epi32(ctr, _mm256_set_epi32(0, 0, 0, n, 0, 0, 0, n))
}

/// # Safety
///
/// The CPU must have the features [`available`] checks; `body` within
/// [`MAX_BLOCKS`].
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
fn seal_impl<const R: usize>(k: &Key, nonce: &[u8; 12], aad: &[u8], body: &mut [u8]) -> [u8; 16] {
    let (ekj0, mut ctr) = start::<R>(k, nonce);
    let mut acc = ghash_bytes(k, _mm_setzero_si128(), aad);
    let body_len = body.len();
    let (chunks, tail) = body.as_chunks_mut::<CHUNK>();
    if let Some(first) = chunks.first_mut() {
        xor_chunk(first, keystream::<R>(k, ctr));
        ctr = next_chunk(ctr);
        // Chunk i is encrypted while chunk i − 1's ciphertext is hashed.
        for i in 1..chunks.len() {
            let (a, ks) = stitched::<R, true>(opaque(k), acc, &chunks[i - 1], ctr);
            acc = a;
            xor_chunk(&mut chunks[i], ks);
            ctr = next_chunk(ctr);
        }
        if let Some(last) = chunks.last() {
            acc = ghash_chunk(k, acc, last);
        }
    }
    let part = ctr_tail::<R>(k, _mm256_castsi256_si128(ctr), tail);
    let whole = tail.as_chunks::<16>().0;
    acc = ghash_few(k, acc, whole, part.as_ref());
    finish(k, acc, aad.len(), body_len, ekj0)
}

/// Decrypts in place and returns the tag computed over the ciphertext.
///
/// # Safety
///
/// As [`seal_impl`].
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
fn open_impl<const R: usize>(k: &Key, nonce: &[u8; 12], aad: &[u8], body: &mut [u8]) -> [u8; 16] {
    let (ekj0, mut ctr) = start::<R>(k, nonce);
    let mut acc = ghash_bytes(k, _mm_setzero_si128(), aad);
    let body_len = body.len();
    let (chunks, tail) = body.as_chunks_mut::<CHUNK>();
    for chunk in chunks.iter_mut() {
        let (a, ks) = stitched::<R, false>(opaque(k), acc, chunk, ctr);
        acc = a;
        xor_chunk(chunk, ks);
        ctr = next_chunk(ctr);
    }
    // The tail's ciphertext is hashed before it is decrypted.
    acc = ghash_bytes(k, acc, tail);
    let _ = ctr_tail::<R>(k, _mm256_castsi256_si128(ctr), tail);
    finish(k, acc, aad.len(), body_len, ekj0)
}

// ---------------------------------------------------------------------------
// Key set-up.

/// Round key i of AES-128 (FIPS 197 §5.2) from round key i − 1:
/// `prefix_xor(prev) ⊕ (RotWord(SubWord(w3)) ⊕ rcon)` in every word.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn next128<const RCON: i32>(prev: __m128i) -> __m128i {
    let t = _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<RCON>(prev));
    _mm_xor_si128(prefix_xor(prev), t)
}

/// AES-256's round key i from keys i − 2 (`prev2`) and i − 1 (`prev`):
/// even i as AES-128's step with w3 of `prev`, odd i with SubWord(w3) only
/// (aeskeygenassist's word 2, no rotation, no rcon).
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn next256_even<const RCON: i32>(prev2: __m128i, prev: __m128i) -> __m128i {
    let t = _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<RCON>(prev));
    _mm_xor_si128(prefix_xor(prev2), t)
}

#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn next256_odd(prev2: __m128i, prev: __m128i) -> __m128i {
    let t = _mm_shuffle_epi32::<0xaa>(_mm_aeskeygenassist_si128::<0>(prev));
    _mm_xor_si128(prefix_xor(prev2), t)
}

/// Words (w0, w0⊕w1, w0⊕w1⊕w2, w0⊕w1⊕w2⊕w3).
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
#[inline]
fn prefix_xor(k: __m128i) -> __m128i {
    let k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    let k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    _mm_xor_si128(k, _mm_slli_si128::<4>(k))
}

/// Fills `k` from the raw key (16 or 32 bytes, as `k.rounds` says).
///
/// # Safety
///
/// The CPU must have the features [`available`] checks.
#[target_feature(enable = "avx2,aes,pclmulqdq,vaes,vpclmulqdq")]
fn expand(k: &mut Key, key: &[u8]) {
    let put = |k: &mut Key, i: usize, v: __m128i| st256(&mut k.rk[i], _mm256_set_m128i(v, v));
    let Some(k0) = key.first_chunk::<16>() else {
        return;
    };
    let mut a = ld128(k0);
    put(k, 0, a);
    if k.rounds == 10 {
        macro_rules! step {
            ($i:expr, $rcon:expr) => {
                a = next128::<$rcon>(a);
                put(k, $i, a);
            };
        }
        step!(1, 0x01);
        step!(2, 0x02);
        step!(3, 0x04);
        step!(4, 0x08);
        step!(5, 0x10);
        step!(6, 0x20);
        step!(7, 0x40);
        step!(8, 0x80);
        step!(9, 0x1b);
        step!(10, 0x36);
    } else {
        let Some(k1) = key.get(16..).and_then(|r| r.first_chunk::<16>()) else {
            return;
        };
        let mut b = ld128(k1);
        put(k, 1, b);
        macro_rules! pair {
            ($i:expr, $rcon:expr) => {
                a = next256_even::<$rcon>(a, b);
                put(k, $i, a);
                if $i < 14 {
                    b = next256_odd(b, a);
                    put(k, $i + 1, b);
                }
            };
        }
        pair!(2, 0x01);
        pair!(4, 0x02);
        pair!(6, 0x04);
        pair!(8, 0x08);
        pair!(10, 0x10);
        pair!(12, 0x20);
        pair!(14, 0x40);
    }

    // H = E(K, 0^128), reflected, times y mod P*: shift left one bit and,
    // if bit 127 fell out, add P* (its low 128 bits: y^127+y^126+y^121+1).
    let mut hb = [0u8; 16];
    let rounds = k.rounds;
    let zero = _mm_setzero_si128();
    let h = if rounds == 10 {
        aes_block::<10>(k, zero)
    } else {
        aes_block::<14>(k, zero)
    };
    st128(&mut hb, h);
    let r = u128::from_be_bytes(hb);
    let carry = 0u128.wrapping_sub(r >> 127);
    let mut h1 = ((r << 1) ^ (carry & 0xc200_0000_0000_0000_0000_0000_0000_0001)).to_le_bytes();
    let h1v = ld128(&h1);
    hb.zeroize();
    h1.zeroize();

    // H'^1..H'^16 and their middle keys.
    let mid = |x: __m128i| _mm_xor_si128(x, swap64(x));
    let mut hk = h1v;
    let h1m = mid(h1v);
    for e in 0..POWERS {
        if e > 0 {
            hk = gmul(hk, h1v, h1m);
        }
        st128(&mut k.hpow1[e], hk);
        st128(&mut k.hmid1[e], mid(hk));
    }
    for j in 0..POWERS / 2 {
        // Lane 0: H^(16−2j) = hpow1[15−2j]; lane 1: H^(15−2j).
        let lo = ld128(&k.hpow1[POWERS - 1 - 2 * j]);
        let hi = ld128(&k.hpow1[POWERS - 2 - 2 * j]);
        st256(&mut k.hpow[j], _mm256_set_m128i(hi, lo));
        let lo = ld128(&k.hmid1[POWERS - 1 - 2 * j]);
        let hi = ld128(&k.hmid1[POWERS - 2 - 2 * j]);
        st256(&mut k.hmid[j], _mm256_set_m128i(hi, lo));
    }
}

#[cfg(test)]
mod tests;
