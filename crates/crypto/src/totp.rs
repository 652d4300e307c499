//! Time-based one-time passwords (RFC 6238) over HOTP (RFC 4226): the
//! second factor of keyboard-interactive logins, as authenticator apps
//! compute it.
//!
//! Defaults are what every app understands: HMAC-SHA-1, 6 digits, a 30 s
//! step from the Unix epoch. SHA-256 and SHA-512 (RFC 6238 §1.2) are there
//! for the apps that take them. Verification accepts one step of clock
//! skew either way (RFC 6238 §5.2) and returns the step that matched, so
//! the caller can store it and refuse the same code twice (§5.2: "the
//! verifier MUST NOT accept the second attempt of the same OTP").

use aws_lc_rs::hmac;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::base32;

/// RFC 4226 §4 R6: shared secrets are at least 128 bits.
pub const MIN_SECRET_LEN: usize = 16;
/// Bytes of a generated secret: 160 bits, RFC 4226's recommendation and
/// HMAC-SHA-1's output size.
pub const GENERATED_SECRET_LEN: usize = 20;
/// Longest secret accepted (an HMAC-SHA-512 block).
const MAX_SECRET_LEN: usize = 128;
/// Steps of skew accepted either side of now.
const SKEW_STEPS: u64 = 1;
/// Widest code: 10^9 still fits the 31 bits dynamic truncation yields.
const MAX_DIGITS: u32 = 9;

/// The HMAC hash of a TOTP (RFC 6238 §1.2, the otpauth `algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpAlg {
    Sha1,
    Sha256,
    Sha512,
}

impl TotpAlg {
    /// The otpauth:// name.
    pub fn name(self) -> &'static str {
        match self {
            TotpAlg::Sha1 => "SHA1",
            TotpAlg::Sha256 => "SHA256",
            TotpAlg::Sha512 => "SHA512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [TotpAlg::Sha1, TotpAlg::Sha256, TotpAlg::Sha512]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            // HOTP is defined over HMAC-SHA-1, whose use here is not
            // affected by SHA-1's collisions (RFC 6238 §1.2, RFC 4226 App. A).
            TotpAlg::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            TotpAlg::Sha256 => hmac::HMAC_SHA256,
            TotpAlg::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// A TOTP parameter is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("TOTP secret of {0} bytes; between 16 and 128 are accepted")]
    SecretLength(usize),
    #[error("TOTP codes of {0} digits; 6 to 9 are accepted")]
    Digits(u32),
    #[error("TOTP period of 0 seconds")]
    Period,
    #[error("TOTP secret is not valid base32")]
    Base32,
}

/// One user's TOTP generator and verifier. The secret is wiped on drop.
#[derive(Clone)]
pub struct Totp {
    secret: Zeroizing<Vec<u8>>,
    key: hmac::Key,
    alg: TotpAlg,
    digits: u32,
    period: u64,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Totp")
            .field("alg", &self.alg)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl Totp {
    /// HMAC-SHA-1, 6 digits, 30 s: what authenticator apps assume.
    pub fn new(secret: &[u8]) -> Result<Self, TotpError> {
        Totp::with_params(secret, TotpAlg::Sha1, 6, 30)
    }

    pub fn with_params(
        secret: &[u8],
        alg: TotpAlg,
        digits: u32,
        period: u64,
    ) -> Result<Self, TotpError> {
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.len()) {
            return Err(TotpError::SecretLength(secret.len()));
        }
        if !(6..=MAX_DIGITS).contains(&digits) {
            return Err(TotpError::Digits(digits));
        }
        if period == 0 {
            return Err(TotpError::Period);
        }
        Ok(Totp {
            secret: Zeroizing::new(secret.to_vec()),
            key: hmac::Key::new(alg.hmac(), secret),
            alg,
            digits,
            period,
        })
    }

    /// A new random secret with the default parameters, for enrolment.
    pub fn generate() -> Self {
        let mut secret = Zeroizing::new([0u8; GENERATED_SECRET_LEN]);
        crate::random::fill(&mut secret[..]);
        // The length is within bounds by construction.
        Totp {
            key: hmac::Key::new(TotpAlg::Sha1.hmac(), &secret[..]),
            secret: Zeroizing::new(secret.to_vec()),
            alg: TotpAlg::Sha1,
            digits: 6,
            period: 30,
        }
    }

    /// A secret given in base32, as apps and otpauth:// URIs show it.
    pub fn from_base32(
        secret: &str,
        alg: TotpAlg,
        digits: u32,
        period: u64,
    ) -> Result<Self, TotpError> {
        let raw = base32::decode(secret).map_err(|_| TotpError::Base32)?;
        Totp::with_params(&raw, alg, digits, period)
    }

    /// The secret in unpadded base32, for storing or showing once.
    pub fn secret_base32(&self) -> Zeroizing<String> {
        base32::encode(&self.secret, false)
    }

    pub fn alg(&self) -> TotpAlg {
        self.alg
    }

    pub fn digits(&self) -> u32 {
        self.digits
    }

    pub fn period(&self) -> u64 {
        self.period
    }

    /// RFC 6238 §4.2: T = floor((unix time - T0) / X), T0 = 0.
    pub fn step_at(&self, unix_time: u64) -> u64 {
        unix_time / self.period
    }

    /// The code for time step (HOTP counter) `step`: RFC 4226 §5.3's
    /// dynamic truncation, `digits` decimal digits with leading zeros.
    pub fn code_for_step(&self, step: u64) -> Zeroizing<String> {
        let tag = hmac::sign(&self.key, &step.to_be_bytes());
        let mac = tag.as_ref();
        // The offset is the low nibble of the last byte; every HMAC here
        // is at least 20 bytes, so offset + 3 <= 18 is always inside.
        let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
        let mut word = [0u8; 4];
        for (i, slot) in word.iter_mut().enumerate() {
            *slot = mac.get(offset + i).copied().unwrap_or(0);
        }
        let binary = u32::from_be_bytes(word) & 0x7fff_ffff;
        let code = binary % 10u32.pow(self.digits);
        Zeroizing::new(format!("{code:0width$}", width = self.digits as usize))
    }

    pub fn code_at(&self, unix_time: u64) -> Zeroizing<String> {
        self.code_for_step(self.step_at(unix_time))
    }

    /// Checks `code` against the steps around `unix_time` (one either
    /// way) and returns the step it matched. Every candidate is compared,
    /// in constant time, whatever matches. The caller must refuse a step
    /// at or before the last one it accepted (see `verify_unused`).
    pub fn verify(&self, code: &str, unix_time: u64) -> Option<u64> {
        self.verify_unused(code, unix_time, None)
    }

    /// `verify`, accepting only steps after `last_used` (the step returned
    /// by the previous successful verification), so a code seen once —
    /// or an older one — cannot be replayed.
    pub fn verify_unused(&self, code: &str, unix_time: u64, last_used: Option<u64>) -> Option<u64> {
        // The format is public (the user typed it); only its value is
        // compared in constant time.
        if code.len() != self.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = self.step_at(unix_time);
        let mut matched = subtle::Choice::from(0);
        let mut step_found = 0u64;
        for step in now.saturating_sub(SKEW_STEPS)..=now.saturating_add(SKEW_STEPS) {
            let fresh = last_used.is_none_or(|last| step > last);
            let expected = self.code_for_step(step);
            let eq =
                expected.as_bytes().ct_eq(code.as_bytes()) & subtle::Choice::from(u8::from(fresh));
            step_found.conditional_assign(&step, eq & !matched);
            matched |= eq;
        }
        bool::from(matched).then_some(step_found)
    }

    /// The otpauth:// URI authenticator apps import (often as a QR code),
    /// in the Key Uri Format: `otpauth://totp/ISSUER:ACCOUNT?secret=…&
    /// issuer=ISSUER&algorithm=…&digits=…&period=…`. It contains the
    /// secret.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Zeroizing<String> {
        let mut uri = Zeroizing::new(String::with_capacity(128));
        uri.push_str("otpauth://totp/");
        percent_encode(issuer, &mut uri);
        uri.push(':');
        percent_encode(account, &mut uri);
        uri.push_str("?secret=");
        uri.push_str(&self.secret_base32());
        uri.push_str("&issuer=");
        percent_encode(issuer, &mut uri);
        uri.push_str(&format!(
            "&algorithm={}&digits={}&period={}",
            self.alg.name(),
            self.digits,
            self.period
        ));
        uri
    }
}

/// RFC 3986 percent-encoding: everything but the unreserved characters.
fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 Appendix B seeds: "12345678901234567890" repeated to the
    // hash's size (20, 32 and 64 ASCII bytes), as in its reference code.
    const SEED_SHA1: &str = "3132333435363738393031323334353637383930";
    const SEED_SHA256: &str = "3132333435363738393031323334353637383930\
                               313233343536373839303132";
    const SEED_SHA512: &str = "3132333435363738393031323334353637383930\
                               3132333435363738393031323334353637383930\
                               3132333435363738393031323334353637383930\
                               31323334";

    fn totp(seed_hex: &str, alg: TotpAlg, digits: u32) -> Totp {
        Totp::with_params(&hex::decode(seed_hex).unwrap(), alg, digits, 30).unwrap()
    }

    // RFC 6238 Appendix B, the whole table (8 digits, X = 30, T0 = 0).
    #[test]
    fn rfc6238_appendix_b() {
        let table: [(u64, u64, &str, &str, &str); 6] = [
            (59, 0x1, "94287082", "46119246", "90693936"),
            (1111111109, 0x23523EC, "07081804", "68084774", "25091201"),
            (1111111111, 0x23523ED, "14050471", "67062674", "99943326"),
            (1234567890, 0x273EF07, "89005924", "91819424", "93441116"),
            (2000000000, 0x3F940AA, "69279037", "90698825", "38618901"),
            (20000000000, 0x27BC86AA, "65353130", "77737706", "47863826"),
        ];
        let sha1 = totp(SEED_SHA1, TotpAlg::Sha1, 8);
        let sha256 = totp(SEED_SHA256, TotpAlg::Sha256, 8);
        let sha512 = totp(SEED_SHA512, TotpAlg::Sha512, 8);
        for (time, step, c1, c256, c512) in table {
            assert_eq!(sha1.step_at(time), step);
            assert_eq!(*sha1.code_at(time), c1, "SHA1 at {time}");
            assert_eq!(*sha256.code_at(time), c256, "SHA256 at {time}");
            assert_eq!(*sha512.code_at(time), c512, "SHA512 at {time}");
        }
    }

    // RFC 4226 Appendix D: HOTP values for counters 0 to 9 (6 digits).
    #[test]
    fn rfc4226_appendix_d() {
        let hotp = totp(SEED_SHA1, TotpAlg::Sha1, 6);
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(*hotp.code_for_step(counter as u64), *code);
        }
    }

    #[test]
    fn verify_accepts_one_step_of_skew_and_returns_the_step() {
        let t = totp(SEED_SHA1, TotpAlg::Sha1, 8);
        // 94287082 is step 1 (RFC 6238 B, time 59).
        assert_eq!(t.verify("94287082", 59), Some(1));
        assert_eq!(t.verify("94287082", 30), Some(1));
        assert_eq!(t.verify("94287082", 89), Some(1)); // step 2, one behind
        assert_eq!(t.verify("94287082", 0), Some(1)); // step 0, one ahead
        assert_eq!(t.verify("94287082", 90), None); // step 3: too far
        assert_eq!(t.verify("94287083", 59), None);
        assert_eq!(t.verify("9428708", 59), None);
        assert_eq!(t.verify("942870820", 59), None);
        assert_eq!(t.verify("9428708a", 59), None);
        assert_eq!(t.verify("", 59), None);
        // Replay: once step 1 was used, its code is refused.
        assert_eq!(t.verify_unused("94287082", 59, Some(0)), Some(1));
        assert_eq!(t.verify_unused("94287082", 59, Some(1)), None);
        assert_eq!(t.verify_unused("94287082", 59, Some(5)), None);
        // Time zero does not underflow.
        let now = t.code_at(0);
        assert_eq!(t.verify(&now, 0), Some(0));
    }

    #[test]
    fn parameters_are_bounded() {
        assert_eq!(
            Totp::new(&[1; 15]).unwrap_err(),
            TotpError::SecretLength(15)
        );
        assert_eq!(
            Totp::with_params(&[1; 20], TotpAlg::Sha1, 5, 30).unwrap_err(),
            TotpError::Digits(5)
        );
        assert_eq!(
            Totp::with_params(&[1; 20], TotpAlg::Sha1, 10, 30).unwrap_err(),
            TotpError::Digits(10)
        );
        assert_eq!(
            Totp::with_params(&[1; 20], TotpAlg::Sha1, 6, 0).unwrap_err(),
            TotpError::Period
        );
        assert_eq!(TotpAlg::from_name("sha256"), Some(TotpAlg::Sha256));
        assert_eq!(TotpAlg::from_name("MD5"), None);
    }

    #[test]
    fn generated_secrets_round_trip_through_base32() {
        let t = Totp::generate();
        let b32 = t.secret_base32();
        assert_eq!(b32.len(), 32);
        let again = Totp::from_base32(&b32, TotpAlg::Sha1, 6, 30).unwrap();
        assert_eq!(*again.code_at(1_700_000_000), *t.code_at(1_700_000_000));
        assert_ne!(*Totp::generate().secret_base32(), *b32);
        assert_eq!(
            Totp::from_base32("not base32!", TotpAlg::Sha1, 6, 30).unwrap_err(),
            TotpError::Base32
        );
    }

    #[test]
    fn otpauth_uri() {
        // The RFC 6238 SHA-1 seed is "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" in
        // base32 (RFC 4648 alphabet, checked by hand against §10's table).
        let t = totp(SEED_SHA1, TotpAlg::Sha1, 6);
        assert_eq!(
            *t.otpauth_uri("Wharf Example", "alice@example.com"),
            "otpauth://totp/Wharf%20Example:alice%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Wharf%20Example\
             &algorithm=SHA1&digits=6&period=30"
        );
    }
}
