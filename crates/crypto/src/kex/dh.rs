//! Finite-field Diffie-Hellman: the fixed MODP groups (RFC 4253, RFC 8268)
//! and group exchange (RFC 4419).
//!
//! The modular exponentiation is crypto-bigint's `BoxedMontyForm`: a
//! Montgomery-form, fixed-window exponentiation whose table lookups and
//! multiplications do not depend on the exponent's bits, only on its
//! declared width, which is the same for every key. The secret exponent
//! never meets a variable-time path; the modulus and the client's value are
//! public, so their handling may be variable-time.

use std::fmt;
use std::sync::Arc;

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Odd};
use zeroize::Zeroizing;

use super::{mpint_content_parts, KexError, KexReply, SharedSecret};

/// Width of the server's private exponent, in bits (capped at the group
/// size minus one for the 1024-bit group).
///
/// OpenSSH (dh.c dh_gen_key) uses twice the bits the negotiated ciphers
/// need, at least 512; with chacha20-poly1305 or hmac-sha2-512 that is
/// 1024. This module does not see the ciphers, so it takes 1024 always:
/// at least twice the 256-bit strength of any cipher SSH negotiates, so
/// the exponent is never the weak link (Pollard's lambda costs 2^512), and
/// an 8192-bit exchange stays at two 1024-bit-exponent powerings.
const EXPONENT_BITS: u32 = 1024;

/// How many fresh exponents to try if our own public value f happened to
/// fail the validity check (probability about 2^-1000 per try; the bound
/// only keeps the loop finite).
const KEYGEN_ATTEMPTS: usize = 4;

/// A Diffie-Hellman group: a prime modulus p and a generator g.
#[derive(Clone)]
pub struct DhGroup {
    bits: u32,
    p: Odd<BoxedUint>,
    g: BoxedUint,
    /// p - 1 as minimal unsigned big-endian bytes, for range checks.
    p_minus_1: Vec<u8>,
    p_mpint: Vec<u8>,
    g_mpint: Vec<u8>,
}

impl DhGroup {
    /// Size of p in bits (e.g. 2048 for group 14).
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// p as mpint content (with the 0x00 pad its top bit requires), ready
    /// for SSH_MSG_KEX_DH_GEX_GROUP and the exchange hash.
    pub fn p_mpint(&self) -> &[u8] {
        &self.p_mpint
    }

    /// g as mpint content.
    pub fn g_mpint(&self) -> &[u8] {
        &self.g_mpint
    }

    /// Builds a group from unsigned big-endian p and g. Checks what the
    /// arithmetic relies on (p odd and at least 5, 1 < g < p-1); primality
    /// is the caller's business (the built-in primes are tested, moduli
    /// files are trusted configuration, as in OpenSSH).
    pub(super) fn from_be_bytes(p: &[u8], g: &[u8]) -> Result<Self, &'static str> {
        let p_content = mpint_content_parts(p);
        let p_mag = p_content.magnitude;
        let bits = bit_length(p_mag);
        if bits < 3 {
            return Err("modulus is too small");
        }
        let p_int = BoxedUint::from_be_slice(p_mag, bits).map_err(|_| "modulus does not decode")?;
        let precision = p_int.bits_precision();
        let p_odd = Option::<Odd<BoxedUint>>::from(Odd::new(p_int)).ok_or("modulus is even")?;
        // p is odd, so p - 1 only clears the lowest bit of the last byte.
        let mut p_minus_1 = p_mag.to_vec();
        if let Some(last) = p_minus_1.last_mut() {
            *last &= 0xfe;
        }
        let g_content = mpint_content_parts(g);
        if !(is_greater_than_one(g_content.magnitude) && less_than(g_content.magnitude, &p_minus_1))
        {
            return Err("generator is not in 1 < g < p-1");
        }
        let g_int = BoxedUint::from_be_slice(g_content.magnitude, precision)
            .map_err(|_| "generator does not decode")?;
        Ok(DhGroup {
            bits,
            p: p_odd,
            g: g_int,
            p_minus_1,
            p_mpint: p_content.to_vec(),
            g_mpint: g_content.to_vec(),
        })
    }

    fn params(&self) -> Arc<BoxedMontyParams> {
        // The modulus is public, so the variable-time setup is fine; it costs
        // a few divisions, negligible next to the two exponentiations.
        Arc::new(BoxedMontyParams::new_vartime(self.p.clone()))
    }

    fn exponent_bits(&self) -> u32 {
        EXPONENT_BITS.min(self.bits - 1)
    }
}

impl PartialEq for DhGroup {
    fn eq(&self, other: &Self) -> bool {
        self.p_mpint == other.p_mpint && self.g_mpint == other.g_mpint
    }
}

impl Eq for DhGroup {}

impl fmt::Debug for DhGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DhGroup")
            .field("bits", &self.bits)
            .field("g", &self.g_mpint)
            .finish_non_exhaustive()
    }
}

/// Server side of group exchange (RFC 4419 §3) in the group sent to the
/// client. `client_e` is the content of the client's e mpint.
pub fn gex_server_exchange(group: &DhGroup, client_e: &[u8]) -> Result<KexReply, KexError> {
    exchange(group, "diffie-hellman-group-exchange", client_e)
}

/// The DH exchange of RFC 4253 §8 from the server's side: check e, pick y,
/// f = g^y mod p, K = e^y mod p.
pub(super) fn exchange(
    group: &DhGroup,
    alg: &'static str,
    client_e: &[u8],
) -> Result<KexReply, KexError> {
    let e = parse_client_value(group, alg, client_e)?;
    let params = group.params();
    for _ in 0..KEYGEN_ATTEMPTS {
        let y = random_exponent(group.exponent_bits());
        if let Some(reply) = exchange_with_exponent(group, &params, &e, &y, group.exponent_bits()) {
            return Ok(reply);
        }
    }
    Err(KexError::Internal {
        alg,
        op: "DH key generation",
    })
}

/// One exchange with a given exponent `y` of declared width `y_bits`.
/// Returns None if our own f fails the public-value check (the caller then
/// draws a new y, as OpenSSH's dh_gen_key refuses such keys). `e` must
/// already be validated and have the modulus' precision.
pub(super) fn exchange_with_exponent(
    group: &DhGroup,
    params: &Arc<BoxedMontyParams>,
    e: &BoxedUint,
    y: &BoxedUint,
    y_bits: u32,
) -> Option<KexReply> {
    let g = BoxedMontyForm::new_with_arc(group.g.clone(), params.clone());
    let f = g.pow_bounded_exp(y, y_bits).retrieve();
    let f_bytes = f.to_be_bytes();
    let f_content = mpint_content_parts(&f_bytes);
    if check_range(f_content.magnitude, &group.p_minus_1).is_err() {
        return None;
    }

    let base = BoxedMontyForm::new_with_arc(e.clone(), params.clone());
    let k_form = Zeroizing::new(base.pow_bounded_exp(y, y_bits));
    let k = Zeroizing::new(k_form.retrieve());
    let k_bytes = Zeroizing::new(k.to_be_bytes());
    // 1 < e < p-1 in a safe-prime group means e has order q or 2q, so K is
    // never 0 or 1; no further check on K is needed (nor does OpenSSH make
    // one). For a moduli-file group that is not a safe prime this rests on
    // the administrator's file, as it does in OpenSSH.
    Some(KexReply {
        server_public: f_content.to_vec(),
        shared_secret: SharedSecret::from_unsigned_be(&k_bytes),
    })
}

/// Parses and validates the content of the client's e mpint.
pub(super) fn parse_client_value(
    group: &DhGroup,
    alg: &'static str,
    content: &[u8],
) -> Result<BoxedUint, KexError> {
    let invalid = |reason| KexError::InvalidDhValue { alg, reason };
    // RFC 4251 §5: an mpint is two's complement with no superfluous leading
    // byte. A set top bit means negative; a leading 0x00 is allowed only
    // in front of a set top bit. The core hashes e as received, so only a
    // canonical encoding gives both sides the same exchange hash.
    let magnitude = match content {
        [] => return Err(invalid("e is zero")),
        [first, ..] if first & 0x80 != 0 => return Err(invalid("e is negative")),
        [0, rest @ ..] => match rest.first() {
            Some(next) if next & 0x80 != 0 => rest,
            _ => return Err(invalid("e is not minimally encoded")),
        },
        _ => content,
    };
    check_range(magnitude, &group.p_minus_1).map_err(invalid)?;
    BoxedUint::from_be_slice(magnitude, group.p.bits_precision())
        .map_err(|_| invalid("e is not below p"))
}

/// The public-value check of OpenSSH's dh_pub_is_valid (dh.c): 1 < v < p-1,
/// and at least 4 bits set (a value with very few bits set has a trivially
/// computable discrete logarithm to base 2). `v` is minimal big-endian.
fn check_range(v: &[u8], p_minus_1: &[u8]) -> Result<(), &'static str> {
    if !is_greater_than_one(v) {
        return Err("e is not greater than 1");
    }
    if !less_than(v, p_minus_1) {
        return Err("e is not less than p-1");
    }
    let bits_set: u32 = v.iter().map(|b| b.count_ones()).sum();
    if bits_set < 4 {
        return Err("e has fewer than 4 bits set");
    }
    Ok(())
}

/// `v` (minimal big-endian) > 1.
fn is_greater_than_one(v: &[u8]) -> bool {
    match v {
        [] => false,
        [only] => *only > 1,
        _ => true,
    }
}

/// a < b for minimal big-endian unsigned integers (no leading zeros).
fn less_than(a: &[u8], b: &[u8]) -> bool {
    a.len() < b.len() || (a.len() == b.len() && a < b)
}

/// Bit length of a minimal big-endian unsigned integer.
fn bit_length(v: &[u8]) -> u32 {
    match v.first() {
        None => 0,
        Some(&top) => {
            let bytes = u32::try_from(v.len()).unwrap_or(u32::MAX / 8);
            bytes.saturating_sub(1).saturating_mul(8) + (8 - top.leading_zeros())
        }
    }
}

/// A fresh exponent of exactly `bits` bits (top bit set, so every key has
/// the same width and the exponentiation the same running time).
fn random_exponent(bits: u32) -> Zeroizing<BoxedUint> {
    let nbytes = bits.div_ceil(8) as usize;
    let mut buf = Zeroizing::new(vec![0u8; nbytes]);
    crate::random::fill(&mut buf);
    let extra = nbytes as u32 * 8 - bits;
    if let Some(top) = buf.first_mut() {
        *top &= 0xff >> extra;
        *top |= 0x80 >> extra;
    }
    // `buf` holds exactly `bits` bits, so the conversion cannot fail; the
    // fallback keeps this free of a panic path.
    Zeroizing::new(
        BoxedUint::from_be_slice(&buf, bits)
            .unwrap_or_else(|_| BoxedUint::zero_with_precision(bits)),
    )
}

#[cfg(test)]
pub(super) mod test_support {
    //! Hooks for the tests: a fixed exponent, and the client's side.
    use super::*;

    pub(in crate::kex) fn exchange_fixed(
        group: &DhGroup,
        client_e: &[u8],
        y_be: &[u8],
    ) -> Result<Option<KexReply>, KexError> {
        let alg = "test";
        let e = parse_client_value(group, alg, client_e)?;
        let y_be = mpint_content_parts(y_be).magnitude;
        let y_bits = bit_length(y_be).max(1);
        let y = BoxedUint::from_be_slice(y_be, y_bits)
            .map_err(|_| KexError::Internal { alg, op: "y" })?;
        Ok(exchange_with_exponent(
            group,
            &group.params(),
            &e,
            &y,
            y_bits,
        ))
    }

    /// base^x mod p for the test client (x is a test value; this is the
    /// same constant-time routine as the server's).
    pub(in crate::kex) fn pow_mod(group: &DhGroup, base_be: &[u8], x_be: &[u8]) -> Vec<u8> {
        let params = group.params();
        let base_be = mpint_content_parts(base_be).magnitude;
        let base = BoxedUint::from_be_slice(base_be, group.p.bits_precision()).expect("base fits");
        let bits = bit_length(mpint_content_parts(x_be).magnitude).max(1);
        let x = BoxedUint::from_be_slice(mpint_content_parts(x_be).magnitude, bits)
            .expect("exponent fits");
        let r = BoxedMontyForm::new_with_arc(base, params)
            .pow_bounded_exp(&x, bits)
            .retrieve();
        r.to_be_bytes().to_vec()
    }

    pub(in crate::kex) fn p_be(group: &DhGroup) -> Vec<u8> {
        mpint_content_parts(group.p_mpint()).magnitude.to_vec()
    }
}
