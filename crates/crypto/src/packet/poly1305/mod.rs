//! Poly1305 (RFC 8439 §2.5) over a whole message in one call, for the
//! chacha20-poly1305@openssh.com construct.
//!
//! aws-lc's Poly1305 on x86_64 is SSE2 C code and was the largest single
//! cost of a chacha20-poly1305 transfer; [`avx2`] runs four interleaved
//! block streams per 256-bit register instead. This file is the portable
//! scalar code (26-bit limbs with 64-bit products, as poly1305-donna-32),
//! which is the reference, the fallback, and the short-message and tail
//! path of the AVX2 code, which shares its limb arithmetic.
//!
//! Representation: a number below 2^130 (plus slack) is five 26-bit limbs,
//! `x = l0 + l1·2^26 + l2·2^52 + l3·2^78 + l4·2^104`. Because
//! 2^130 ≡ 5 (mod p = 2^130 − 5), a partial product that lands at 2^130·2^k
//! folds back as 5·2^k; that is why `5·r` limbs appear in [`mul`].

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2;

use zeroize::Zeroize;

/// Bytes of a Poly1305 one-time key (`r || s`).
pub(crate) const KEY_LEN: usize = 32;
/// Bytes of a Poly1305 tag.
pub(crate) const TAG_LEN: usize = 16;

const MASK26: u64 = 0x3ff_ffff;
/// The pad bit 2^128 of a full 16-byte block, seen from limb 4 (2^104).
const HIBIT: u64 = 1 << 24;

/// Below this many bytes the AVX2 code's set-up (three scalar
/// multiplications for r^2..r^4, the horizontal sum) costs what its one
/// 64-byte chunk saves; from two chunks on it wins (measured on Zen 3: 96
/// vs 96 ns at 68 bytes, 106 vs 144 ns at 132, 127 vs 239 ns at 260).
const AVX2_MIN_LEN: usize = 128;

/// Five 26-bit limbs; see the module comment.
pub(crate) type Limbs = [u64; 5];

/// Poly1305 of `msg` under the one-time `key`, with the fastest code the
/// CPU supports.
pub(crate) fn poly1305(key: &[u8; KEY_LEN], msg: &[u8]) -> [u8; TAG_LEN] {
    #[cfg(target_arch = "x86_64")]
    if msg.len() >= AVX2_MIN_LEN {
        if let Some(tag) = avx2::poly1305(key, msg) {
            return tag;
        }
    }
    poly1305_scalar(key, msg)
}

/// Whether [`poly1305`] has a vectorised path on this CPU (the result of
/// the detection is cached by std, so this is one relaxed atomic load).
#[cfg(test)]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        avx2::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The portable path alone (tests, fuzzing, CPUs without AVX2).
pub(crate) fn poly1305_scalar(key: &[u8; KEY_LEN], msg: &[u8]) -> [u8; TAG_LEN] {
    let mut r = clamp_r(key);
    let h = tail([0; 5], &r, msg);
    let tag = finish(h, key);
    r.zeroize();
    tag
}

/// The AVX2 path alone, whatever the length; `None` without AVX2 (or off
/// x86_64). For tests and fuzzing, which must reach both paths.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn poly1305_avx2(key: &[u8; KEY_LEN], msg: &[u8]) -> Option<[u8; TAG_LEN]> {
    #[cfg(target_arch = "x86_64")]
    {
        avx2::poly1305(key, msg)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (key, msg);
        None
    }
}

/// RFC 8439 §2.5 read literally, with crypto-bigint's general modular
/// arithmetic: an oracle sharing no code or representation with ours. (The
/// obvious oracle, aws-lc's Poly1305, is wrong on rare inputs on x86_64;
/// see the `aws_lc_combine_carry_regression` test.)
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn poly1305_bignum(key: &[u8; KEY_LEN], msg: &[u8]) -> [u8; TAG_LEN] {
    use crypto_bigint::{Encoding, NonZero, U192};
    let le = |bytes: &[u8]| {
        let mut b = [0u8; 24];
        b[..bytes.len()].copy_from_slice(bytes);
        U192::from_le_bytes(b)
    };
    // p = 2^130 - 5, little-endian.
    let mut p = [0xffu8; 17];
    p[0] = 0xfb;
    p[16] = 0x03;
    let p = NonZero::new(le(&p)).expect("p is not zero");
    let clamp = le(&0x0fff_fffc_0fff_fffc_0fff_fffc_0fff_ffffu128.to_le_bytes());
    let r = le(&key[..16]) & clamp;
    let mut acc = U192::ZERO;
    for chunk in msg.chunks(16) {
        let mut block = chunk.to_vec();
        block.push(1);
        acc = acc.wrapping_add(&le(&block)).rem(&p);
        acc = acc.mul_mod_vartime(&r, &p);
    }
    let out = acc.wrapping_add(&le(&key[16..])).to_le_bytes();
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&out[..TAG_LEN]);
    tag
}

/// `r` from the first half of the key, clamped as RFC 8439 §2.5 requires
/// (top four bits of bytes 3, 7, 11, 15 and bottom two of 4, 8, 12 clear),
/// split into limbs.
pub(crate) fn clamp_r(key: &[u8; KEY_LEN]) -> Limbs {
    let mut half = [0u8; 16];
    half.copy_from_slice(&key[..16]);
    let r = u128::from_le_bytes(half) & 0x0fff_fffc_0fff_fffc_0fff_fffc_0fff_ffff;
    half.zeroize();
    split(r, 0)
}

/// A 16-byte little-endian block plus `hibit` (the 2^128 pad bit, or 0 for
/// the already padded final partial block) as limbs below 2^26.
fn split(v: u128, hibit: u64) -> Limbs {
    // Each shift leaves at most 26 significant bits after the mask; the
    // casts only drop bits the masks clear.
    [
        (v as u64) & MASK26,
        ((v >> 26) as u64) & MASK26,
        ((v >> 52) as u64) & MASK26,
        ((v >> 78) as u64) & MASK26,
        ((v >> 104) as u64) | hibit,
    ]
}

/// `h · r mod p`, partly reduced: limbs 0, 2, 3, 4 below 2^26 and limb 1
/// below 2^26 + 2^12.
///
/// Bounds: every `h` limb must be below 2^29 and every `r` limb below
/// 2^27, so each of the five partial products is below 2^29 · 5·2^27 <
/// 2^58.4 and their sum below 2^61: no u64 overflows.
pub(crate) fn mul(h: &Limbs, r: &Limbs) -> Limbs {
    let [h0, h1, h2, h3, h4] = *h;
    let [r0, r1, r2, r3, r4] = *r;
    let (s1, s2, s3, s4) = (r1 * 5, r2 * 5, r3 * 5, r4 * 5);

    let d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
    let mut d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
    let mut d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
    let mut d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
    let mut d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;

    // One carry pass; the carry out of limb 4 is worth 2^130 ≡ 5.
    d1 += d0 >> 26;
    let mut h0 = d0 & MASK26;
    d2 += d1 >> 26;
    let h1 = d1 & MASK26;
    d3 += d2 >> 26;
    let h2 = d2 & MASK26;
    d4 += d3 >> 26;
    let h3 = d3 & MASK26;
    h0 += (d4 >> 26) * 5;
    let h4 = d4 & MASK26;
    // (d4 >> 26) < 2^35, so h0 < 2^38 here and the carry into h1 < 2^12.
    let h1 = h1 + (h0 >> 26);
    h0 &= MASK26;
    [h0, h1, h2, h3, h4]
}

/// Absorbs one 16-byte block: `h = (h + m) · r`.
fn block(h: &Limbs, r: &Limbs, m: &[u8; 16], hibit: u64) -> Limbs {
    let m = split(u128::from_le_bytes(*m), hibit);
    let sum = [
        h[0] + m[0],
        h[1] + m[1],
        h[2] + m[2],
        h[3] + m[3],
        h[4] + m[4],
    ];
    mul(&sum, r)
}

/// Absorbs `msg` block by block: whole 16-byte blocks with the pad bit,
/// then a final partial block with a 1 byte appended and zeros after it
/// (RFC 8439 §2.5.1). `h` limbs must be below 7·2^26 on entry, so that
/// `h + m` stays below 2^29 as [`mul`] requires.
pub(crate) fn tail(mut h: Limbs, r: &Limbs, msg: &[u8]) -> Limbs {
    let mut blocks = msg.chunks_exact(16);
    for m in &mut blocks {
        let mut b = [0u8; 16];
        b.copy_from_slice(m);
        h = block(&h, r, &b, HIBIT);
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 16];
        b[..rest.len()].copy_from_slice(rest);
        b[rest.len()] = 1;
        h = block(&h, r, &b, 0);
        b.zeroize();
    }
    h
}

/// The tag: `h` fully reduced mod p, plus `s` (the second half of the
/// key), mod 2^128. Constant time: the conditional subtraction of p is a
/// mask, not a branch. `h` limbs must be below 2^32.
pub(crate) fn finish(h: Limbs, key: &[u8; KEY_LEN]) -> [u8; TAG_LEN] {
    // Two full carry passes leave every limb below 2^26, i.e. h < 2^130:
    // after the first only limb 1 may exceed 2^26 (by the carry from
    // limb 0), and the second can only carry out of limb 4 if limbs 2..4
    // were all ones, in which case limb 1 ends tiny.
    let mut h = h;
    for _ in 0..2 {
        h[1] += h[0] >> 26;
        h[0] &= MASK26;
        h[2] += h[1] >> 26;
        h[1] &= MASK26;
        h[3] += h[2] >> 26;
        h[2] &= MASK26;
        h[4] += h[3] >> 26;
        h[3] &= MASK26;
        h[0] += (h[4] >> 26) * 5;
        h[4] &= MASK26;
    }
    h[1] += h[0] >> 26;
    h[0] &= MASK26;

    // g = h + 5 = h − p + 2^130; it reaches 2^130 exactly when h ≥ p, and
    // h < 2^130 < 2p, so one subtraction (taking g mod 2^130) suffices.
    let mut g = [0u64; 5];
    let mut c = 5;
    for (gi, hi) in g.iter_mut().zip(h.iter()) {
        let t = hi + c;
        *gi = t & MASK26;
        c = t >> 26;
    }
    // c is 1 when h ≥ p: select g; 0: keep h.
    let take_g = 0u64.wrapping_sub(c);
    for (hi, gi) in h.iter_mut().zip(g.iter()) {
        *hi = (*hi & !take_g) | (gi & take_g);
    }

    let acc = u128::from(h[0])
        | (u128::from(h[1]) << 26)
        | (u128::from(h[2]) << 52)
        | (u128::from(h[3]) << 78)
        | (u128::from(h[4]) << 104);
    let mut s = [0u8; 16];
    s.copy_from_slice(&key[16..]);
    let tag = acc.wrapping_add(u128::from_le_bytes(s)).to_le_bytes();
    s.zeroize();
    h.zeroize();
    g.zeroize();
    tag
}

#[cfg(test)]
mod tests;
