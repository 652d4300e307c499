//! Poly1305's block loop four blocks at a time with AVX2 (the Goll–Gueron
//! scheme that OpenSSL's `poly1305_blocks_avx2` also uses).
//!
//! Why unsafe: the loop is written with `core::arch` intrinsics, which are
//! `unsafe fn`s on our minimum Rust (and only usable where the CPU has
//! AVX2), `#[target_feature]` functions must be `unsafe fn` there too, and
//! the multiply is one `vpmuludq` asm statement (see [`mul32`] for why).
//! The whole obligation is "AVX2 is present"; [`poly1305`] checks it at
//! run time before the one call into this code. Memory is only read through
//! unaligned loads from `&[u8; 64]` chunks, so no load can leave its chunk.
//!
//! The scheme. A message of 4n blocks m_1..m_4n has
//! `h = Σ m_i · r^(4n−i+1)`. Lane j of each 256-bit register accumulates
//! the blocks at positions ≡ j (mod 4) by Horner's rule with r^4:
//! `H = (H + M) · r^4` per 64-byte chunk, except the last chunk, whose lanes
//! are multiplied by r^4, r^3, r^2, r^1 by block position so that every
//! block ends up with its own power; the four lanes then sum to `h`.
//! Each of the five 26-bit limbs of the four lanes lives in one register
//! (one 64-bit lane per block, the limb in its low 32 bits, which is all
//! `vpmuludq` multiplies), and a full 130×130-bit product mod 2^130 − 5 is
//! 25 `vpmuludq` (5·r limbs precomputed) plus one lazy carry pass.
//! Whole 64-byte chunks go through here; the remaining < 64 bytes (and the
//! final partial block) through the scalar code in the parent module.

use core::arch::asm;
use core::arch::x86_64::{
    __m256i, _mm256_add_epi64, _mm256_and_si256, _mm256_castsi256_si128, _mm256_extracti128_si256,
    _mm256_loadu_si256, _mm256_or_si256, _mm256_set1_epi64x, _mm256_set_epi64x,
    _mm256_setzero_si256, _mm256_slli_epi64, _mm256_srli_epi64, _mm256_unpackhi_epi64,
    _mm256_unpacklo_epi64, _mm_add_epi64, _mm_cvtsi128_si64, _mm_unpackhi_epi64,
};

use zeroize::Zeroize;

use super::{clamp_r, finish, mul, tail, Limbs, KEY_LEN, TAG_LEN};

/// Whether the CPU has AVX2. std caches the CPUID result in a static, so
/// this is a relaxed atomic load after the first call.
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// Poly1305 of `msg` with the AVX2 loop; `None` if the CPU lacks AVX2.
pub(super) fn poly1305(key: &[u8; KEY_LEN], msg: &[u8]) -> Option<[u8; TAG_LEN]> {
    if !available() {
        return None;
    }
    // SAFETY: `poly1305_avx2`'s only requirement is that the CPU supports
    // AVX2, which `available()` has just confirmed.
    Some(unsafe { poly1305_avx2(key, msg) })
}

/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
unsafe fn poly1305_avx2(key: &[u8; KEY_LEN], msg: &[u8]) -> [u8; TAG_LEN] {
    let mut r = clamp_r(key);
    let (body, rest) = msg.split_at(msg.len() - msg.len() % 64);
    let h = blocks(&r, body);
    let h = tail(h, &r, rest);
    r.zeroize();
    finish(h, key)
}

/// One multiplier per lane: its five limbs and 5× limbs 1..4, each limb in
/// its own register (lane j holds lane j's multiplier).
struct Multiplier {
    r: [__m256i; 5],
    s: [__m256i; 4],
}

/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn multiplier(lanes: [&Limbs; 4]) -> Multiplier {
    // Limbs are below 2^27 (`mul`'s output bound), so they and their 5×
    // multiples fit the low 32 bits `vpmuludq` reads; the i64 casts are
    // lossless.
    let limb = |k: usize| {
        _mm256_set_epi64x(
            lanes[3][k] as i64,
            lanes[2][k] as i64,
            lanes[1][k] as i64,
            lanes[0][k] as i64,
        )
    };
    let r = [limb(0), limb(1), limb(2), limb(3), limb(4)];
    let times5 = |v: __m256i| _mm256_add_epi64(v, _mm256_slli_epi64::<2>(v));
    let s = [times5(r[1]), times5(r[2]), times5(r[3]), times5(r[4])];
    Multiplier { r, s }
}

/// Absorbs `body` (a whole number of 64-byte chunks) into a fresh state and
/// returns it as scalar limbs, each below 5·2^26.
///
/// (Taking two chunks per step, `(H + M1)·r^8 + M2·r^4` with one carry
/// pass, measured no faster on Zen 3: the loop is throughput-bound, not
/// latency-bound, so the simpler loop stays.)
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
unsafe fn blocks(r: &Limbs, body: &[u8]) -> Limbs {
    debug_assert_eq!(body.len() % 64, 0, "blocks takes whole chunks");
    if body.len() < 64 {
        return [0; 5];
    }
    let mut r2 = mul(r, r);
    let mut r3 = mul(&r2, r);
    let mut r4 = mul(&r3, r);
    let step = multiplier([&r4, &r4, &r4, &r4]);
    // The last chunk's blocks 0..3 need r^4..r^1; `message` puts blocks
    // 0, 2, 1, 3 in lanes 0..3, so the powers go in that order.
    let last = multiplier([&r4, &r2, &r3, r]);
    r2.zeroize();
    r3.zeroize();
    r4.zeroize();

    let mut h = [_mm256_setzero_si256(); 5];
    let mut rest = body;
    while let Some((chunk, more)) = rest.split_first_chunk::<64>() {
        // One call site with the multiplier chosen here, so that `absorb`
        // is inlined into the loop.
        let k = if more.is_empty() { &last } else { &step };
        h = absorb(h, chunk, k);
        rest = more;
    }

    // Lanes are below 2^26 + 2^10 after a carry pass; four of them sum
    // below 5·2^26, within what `tail` and `finish` accept.
    [hsum(h[0]), hsum(h[1]), hsum(h[2]), hsum(h[3]), hsum(h[4])]
}

/// `H = (H + M) · k` for the four blocks of `chunk`, then a carry pass.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn absorb(h: [__m256i; 5], chunk: &[u8; 64], k: &Multiplier) -> [__m256i; 5] {
    // SAFETY: `chunk` is 64 readable bytes; the loads read bytes 0..32 and
    // 32..64 of it, and `loadu` has no alignment requirement.
    let m = message(
        _mm256_loadu_si256(chunk.as_ptr().cast::<__m256i>()),
        _mm256_loadu_si256(chunk.as_ptr().add(32).cast::<__m256i>()),
    );
    carry_pass(product(add5(h, m), k))
}

/// The 26-bit limbs (pad bit included) of four 16-byte blocks loaded as
/// `a` = blocks 0, 1 and `b` = blocks 2, 3. `unpack` works within 128-bit
/// halves, so the lanes come out in block order 0, 2, 1, 3.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn message(a: __m256i, b: __m256i) -> [__m256i; 5] {
    let mask = _mm256_set1_epi64x(0x3ff_ffff);
    let hibit = _mm256_set1_epi64x(1 << 24);
    let lo = _mm256_unpacklo_epi64(a, b);
    let hi = _mm256_unpackhi_epi64(a, b);
    [
        _mm256_and_si256(lo, mask),
        _mm256_and_si256(_mm256_srli_epi64::<26>(lo), mask),
        _mm256_and_si256(
            _mm256_or_si256(_mm256_srli_epi64::<52>(lo), _mm256_slli_epi64::<12>(hi)),
            mask,
        ),
        _mm256_and_si256(_mm256_srli_epi64::<14>(hi), mask),
        _mm256_or_si256(_mm256_srli_epi64::<40>(hi), hibit),
    ]
}

/// Limb-wise sum.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn add5(a: [__m256i; 5], b: [__m256i; 5]) -> [__m256i; 5] {
    [
        _mm256_add_epi64(a[0], b[0]),
        _mm256_add_epi64(a[1], b[1]),
        _mm256_add_epi64(a[2], b[2]),
        _mm256_add_epi64(a[3], b[3]),
        _mm256_add_epi64(a[4], b[4]),
    ]
}

/// `x · k` mod 2^130 − 5, unreduced: the five limb sums of products.
///
/// Bounds: `x` limbs must be below 2^27.01 (a carried limb, below
/// 2^26 + 2^10, plus a message limb, below 2^26), which fits the 32 bits
/// `vpmuludq` reads; the multiplier's limbs are below 2^27 and its 5×
/// limbs below 2^29.4, so each product is below 2^56.5 and a sum of five
/// below 2^59: no 64-bit lane overflows.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn product(x: [__m256i; 5], k: &Multiplier) -> [__m256i; 5] {
    let [h0, h1, h2, h3, h4] = x;
    let [r0, r1, r2, r3, r4] = k.r;
    let [s1, s2, s3, s4] = k.s;
    let mul = |a, b| mul32(a, b);
    let add = |a, b| _mm256_add_epi64(a, b);
    [
        add(
            add(mul(h0, r0), mul(h1, s4)),
            add(add(mul(h2, s3), mul(h3, s2)), mul(h4, s1)),
        ),
        add(
            add(mul(h0, r1), mul(h1, r0)),
            add(add(mul(h2, s4), mul(h3, s3)), mul(h4, s2)),
        ),
        add(
            add(mul(h0, r2), mul(h1, r1)),
            add(add(mul(h2, r0), mul(h3, s4)), mul(h4, s3)),
        ),
        add(
            add(mul(h0, r3), mul(h1, r2)),
            add(add(mul(h2, r1), mul(h3, r0)), mul(h4, s4)),
        ),
        add(
            add(mul(h0, r4), mul(h1, r3)),
            add(add(mul(h2, r2), mul(h3, r1)), mul(h4, r0)),
        ),
    ]
}

/// One lazy carry pass over limb sums below 2^59, in two interleaved
/// chains (3→4→0→1 and 0→1→2→3→4), as OpenSSL does, so the two overlap.
/// The carry out of limb 4 is worth 2^130 ≡ 5. Afterwards limbs 0, 2, 3
/// are below 2^26 and limbs 1, 4 below 2^26 + 2^10: d4 < 2^59 gives a
/// carry below 2^33 and 5× that below 2^35.4 into limb 0, whose own carry
/// into limb 1 is then below 2^9.5; limb 4 gets limb 3's second carry,
/// below 2^7.5.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn carry_pass(d: [__m256i; 5]) -> [__m256i; 5] {
    let mask = _mm256_set1_epi64x(0x3ff_ffff);
    let carry = |from: __m256i, to: __m256i| {
        (
            _mm256_and_si256(from, mask),
            _mm256_add_epi64(to, _mm256_srli_epi64::<26>(from)),
        )
    };
    let [d0, d1, d2, d3, d4] = d;
    let (d3, d4) = carry(d3, d4);
    let (d0, d1) = carry(d0, d1);
    let c = _mm256_srli_epi64::<26>(d4);
    let d4 = _mm256_and_si256(d4, mask);
    let d0 = _mm256_add_epi64(d0, _mm256_add_epi64(c, _mm256_slli_epi64::<2>(c)));
    let (d1, d2) = carry(d1, d2);
    let (d2, d3) = carry(d2, d3);
    let (d0, d1) = carry(d0, d1);
    let (d3, d4) = carry(d3, d4);
    [d0, d1, d2, d3, d4]
}

/// `vpmuludq`: the lane-wise 64-bit products of the low 32 bits of `a` and
/// `b`, i.e. `_mm256_mul_epu32`, as an asm statement.
///
/// Why not the intrinsic: LLVM models it as a 64-bit multiply of operands
/// masked to 32 bits, drops the masks where it can prove them redundant
/// (limbs carried round the loop, multipliers computed before it), and
/// then, selecting instructions one basic block at a time, can no longer
/// see that the high halves are zero and emits a full 64×64-bit multiply:
/// three `vpmuludq` plus shifts and adds for each of the 25 products,
/// which halved the loop's speed (measured: 2.9 vs 5.5 GiB/s at 32 KiB).
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn mul32(a: __m256i, b: __m256i) -> __m256i {
    let product;
    // SAFETY: one register-to-register AVX2 instruction: no memory, stack
    // or flags are touched, and the caller guarantees AVX2.
    asm!(
        "vpmuludq {p}, {a}, {b}",
        a = in(ymm_reg) a,
        b = in(ymm_reg) b,
        p = out(ymm_reg) product,
        options(pure, nomem, nostack, preserves_flags),
    );
    product
}

/// The sum of the four 64-bit lanes.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn hsum(v: __m256i) -> u64 {
    let s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi64(s, _mm_unpackhi_epi64(s, s));
    // Lanes are non-negative and far below 2^63; the cast is lossless.
    _mm_cvtsi128_si64(s) as u64
}
