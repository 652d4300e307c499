//! Password hashes: creating argon2id PHC strings, and checking a password
//! against a stored hash in argon2 (PHC), bcrypt (`$2a$`, `$2b$`, `$2x$`,
//! `$2y$`) or SHA-crypt (`$5$`, `$6$`) form, so hashes migrated from
//! ProFTPD or /etc/shadow keep working.
//!
//! Checking is deliberately slow (that is the point of these functions) and
//! runs for tens of milliseconds: callers in async code must run it on a
//! blocking thread (`tokio::task::spawn_blocking`).

use std::fmt;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Longest password accepted. SHA-crypt's cost grows with the square of the
/// password's length, so an unbounded one (an SSH packet allows ~32 KiB) would
/// let a client burn seconds of CPU per attempt; no real password comes near.
pub const MAX_PASSWORD_LEN: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is empty")]
    Empty,
    #[error("the password is longer than {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    #[error("argon2 failed: {0}")]
    Argon2(argon2::password_hash::Error),
}

/// Hashes `password` with argon2id and the argon2 crate's default cost
/// (19 MiB, 2 passes, 1 lane: OWASP's recommended minimum), returning a PHC
/// string such as `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
pub fn hash_password(password: &[u8]) -> Result<String, PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password, &salt)
        .map_err(PasswordError::Argon2)?;
    Ok(hash.to_string())
}

/// A random password for the zero-config user: four groups of five
/// characters from an alphabet without look-alikes (0/O, 1/l/I), about
/// 116 bits.
pub fn random_password() -> Zeroizing<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = Zeroizing::new(String::with_capacity(23));
    let mut byte = [0u8; 1];
    let mut count = 0;
    while count < 20 {
        OsRng.fill_bytes(&mut byte);
        // Rejection sampling keeps the choice uniform: 57 * 4 = 228.
        let b = usize::from(byte[0]);
        if b >= ALPHABET.len() * 4 {
            continue;
        }
        if count > 0 && count % 5 == 0 {
            out.push('-');
        }
        if let Some(&c) = ALPHABET.get(b % ALPHABET.len()) {
            out.push(char::from(c));
            count += 1;
        }
    }
    byte.fill(0);
    out
}

/// A validated stored password hash. Its `Debug` never shows the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash {
    kind: HashKind,
    text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    Argon2,
    Bcrypt,
    Sha256Crypt,
    Sha512Crypt,
}

impl fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoredHash({:?}, <redacted>)", self.kind)
    }
}

impl StoredHash {
    /// Checks that `text` is a hash one of the supported schemes can verify.
    /// The error says what is wrong without repeating the hash.
    pub fn parse(text: &str) -> Result<StoredHash, String> {
        let text = text.trim();
        let kind = if text.starts_with("$argon2") {
            check_argon2(text)?;
            HashKind::Argon2
        } else if text.starts_with("$2") {
            text.parse::<bcrypt::HashParts>()
                .map_err(|e| format!("not a valid bcrypt hash: {e}"))?;
            HashKind::Bcrypt
        } else if text.starts_with("$5$") {
            ShaCrypt::parse(text, 43)?;
            HashKind::Sha256Crypt
        } else if text.starts_with("$6$") {
            ShaCrypt::parse(text, 86)?;
            HashKind::Sha512Crypt
        } else {
            return Err(
                "not a supported password hash: expected an argon2 PHC string \
                 ($argon2id$...), bcrypt ($2b$...) or SHA-crypt ($5$..., $6$...); \
                 make one with `wharf hash-password`"
                    .into(),
            );
        };
        Ok(StoredHash {
            kind,
            text: text.to_owned(),
        })
    }

    pub fn kind(&self) -> HashKind {
        self.kind
    }

    /// Whether `password` matches, compared in constant time by each scheme.
    /// CPU-heavy: call from a blocking thread.
    pub fn verify(&self, password: &[u8]) -> bool {
        if password.len() > MAX_PASSWORD_LEN {
            return false;
        }
        match self.kind {
            HashKind::Argon2 => argon2::PasswordHash::new(&self.text)
                .is_ok_and(|h| Argon2::default().verify_password(password, &h).is_ok()),
            HashKind::Bcrypt => bcrypt::verify(password, &self.text).unwrap_or(false),
            HashKind::Sha256Crypt | HashKind::Sha512Crypt => {
                let sha512 = self.kind == HashKind::Sha512Crypt;
                let len = if sha512 { 86 } else { 43 };
                match ShaCrypt::parse(&self.text, len) {
                    Ok(parts) => parts.verify(password, sha512),
                    Err(_) => false,
                }
            }
        }
    }
}

fn check_argon2(text: &str) -> Result<(), String> {
    let hash = argon2::PasswordHash::new(text)
        .map_err(|e| format!("not a valid argon2 PHC string: {e}"))?;
    argon2::Algorithm::try_from(hash.algorithm)
        .map_err(|e| format!("not a valid argon2 PHC string: {e}"))?;
    argon2::Params::try_from(&hash).map_err(|e| format!("argon2 hash has bad parameters: {e}"))?;
    if let Some(version) = hash.version {
        argon2::Version::try_from(version)
            .map_err(|e| format!("argon2 hash has a bad version: {e}"))?;
    }
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err("argon2 PHC string lacks its salt or hash".into());
    }
    Ok(())
}

/// The parts of `$5$[rounds=N$]salt$hash` (Drepper, "Unix crypt using
/// SHA-256 and SHA-512", https://www.akkadia.org/drepper/SHA-crypt.txt).
struct ShaCrypt<'a> {
    rounds: usize,
    salt: &'a str,
    hash: &'a str,
}

impl<'a> ShaCrypt<'a> {
    fn parse(text: &'a str, hash_len: usize) -> Result<ShaCrypt<'a>, String> {
        let bad = |why: &str| format!("not a valid SHA-crypt hash: {why}");
        let mut fields = text.split('$').skip(2);
        let mut next = fields.next().ok_or_else(|| bad("no salt"))?;
        let mut rounds = sha_crypt::ROUNDS_DEFAULT;
        if let Some(n) = next.strip_prefix("rounds=") {
            let n: u64 = n.parse().map_err(|_| bad("bad rounds= value"))?;
            // The specification clamps rather than rejects out-of-range rounds.
            let n = n.clamp(sha_crypt::ROUNDS_MIN as u64, sha_crypt::ROUNDS_MAX as u64);
            rounds = usize::try_from(n).map_err(|_| bad("bad rounds= value"))?;
            next = fields.next().ok_or_else(|| bad("no salt"))?;
        }
        let salt = next;
        let hash = fields.next().ok_or_else(|| bad("no hash"))?;
        if fields.next().is_some() {
            return Err(bad("too many `$` fields"));
        }
        let b64 = |c: char| c == '.' || c == '/' || c.is_ascii_alphanumeric();
        if hash.len() != hash_len || !hash.chars().all(b64) {
            return Err(bad("the hash part has the wrong length or characters"));
        }
        if salt.contains(|c: char| c.is_whitespace() || c == ':') {
            return Err(bad("the salt has invalid characters"));
        }
        Ok(ShaCrypt { rounds, salt, hash })
    }

    fn verify(&self, password: &[u8], sha512: bool) -> bool {
        let computed = if sha512 {
            sha_crypt::Sha512Params::new(self.rounds)
                .ok()
                .and_then(|p| sha_crypt::sha512_crypt_b64(password, self.salt.as_bytes(), &p).ok())
        } else {
            sha_crypt::Sha256Params::new(self.rounds)
                .ok()
                .and_then(|p| sha_crypt::sha256_crypt_b64(password, self.salt.as_bytes(), &p).ok())
        };
        match computed {
            Some(computed) => {
                let computed = Zeroizing::new(computed);
                computed.as_bytes().ct_eq(self.hash.as_bytes()).into()
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let hash = hash_password(b"correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let stored = StoredHash::parse(&hash).unwrap();
        assert_eq!(stored.kind(), HashKind::Argon2);
        assert!(stored.verify(b"correct horse"));
        assert!(!stored.verify(b"correct horsf"));
        assert!(!stored.verify(b""));
        // Two hashes of one password differ by their random salt.
        assert_ne!(hash, hash_password(b"correct horse").unwrap());
    }

    #[test]
    fn hashing_rejects_empty_and_huge_passwords() {
        assert!(matches!(hash_password(b""), Err(PasswordError::Empty)));
        let huge = vec![b'a'; MAX_PASSWORD_LEN + 1];
        assert!(matches!(hash_password(&huge), Err(PasswordError::TooLong)));
    }

    // The reference implementation's README example
    // (https://github.com/P-H-C/phc-winner-argon2#command-line-utility):
    // `echo -n "password" | ./argon2 somesalt -t 2 -m 16 -p 4 -l 24`, Argon2i.
    #[test]
    fn argon2i_reference_vector() {
        let stored = StoredHash::parse(
            "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
        )
        .unwrap();
        assert!(stored.verify(b"password"));
        assert!(!stored.verify(b"Password"));
    }

    // OpenBSD's bcrypt test vector, also in John the Ripper's and
    // Openwall's crypt_blowfish test suites: "U*U" at cost 5.
    #[test]
    fn bcrypt_published_vector() {
        let stored =
            StoredHash::parse("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
                .unwrap();
        assert_eq!(stored.kind(), HashKind::Bcrypt);
        assert!(stored.verify(b"U*U"));
        assert!(!stored.verify(b"U*V"));
    }

    // Test vectors from Drepper's specification,
    // https://www.akkadia.org/drepper/SHA-crypt.txt; the last one checks that
    // rounds below the minimum are raised to 1000, not rejected.
    #[test]
    fn sha_crypt_published_vectors() {
        let cases = [
            (
                "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
                "Hello world!",
                HashKind::Sha256Crypt,
            ),
            (
                "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
                "Hello world!",
                HashKind::Sha256Crypt,
            ),
            (
                "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
                "Hello world!",
                HashKind::Sha512Crypt,
            ),
            (
                "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
                "Hello world!",
                HashKind::Sha512Crypt,
            ),
            (
                "$6$rounds=10$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
                "the minimum number is still observed",
                HashKind::Sha512Crypt,
            ),
        ];
        for (hash, password, kind) in cases {
            let stored = StoredHash::parse(hash).unwrap();
            assert_eq!(stored.kind(), kind);
            assert!(stored.verify(password.as_bytes()), "{hash}");
            assert!(!stored.verify(b"Hello world?"), "{hash}");
        }
    }

    #[test]
    fn malformed_hashes_are_rejected_with_a_reason() {
        for (text, why) in [
            ("plaintext", "not a supported password hash"),
            ("$argon2id$v=19$m=19456,t=2,p=1$", "argon2"),
            (
                "$argon2id$v=19$m=1,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
                "argon2",
            ),
            (
                "$argon2x$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
                "argon2",
            ),
            ("$2b$05$tooshort", "bcrypt"),
            ("$6$salt$short", "SHA-crypt"),
            (
                "$5$rounds=abc$salt$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
                "SHA-crypt",
            ),
            ("$1$md5salt$hash", "not a supported"),
        ] {
            let err = StoredHash::parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn overlong_passwords_never_verify() {
        // Correct hashes of a password at and just past the limit: only the
        // first may verify, so a client cannot make the server run SHA-crypt
        // on a 32 KiB password.
        let sha256 = |pw: &[u8]| {
            let params = sha_crypt::Sha256Params::new(1000).unwrap();
            let b64 = sha_crypt::sha256_crypt_b64(pw, b"longpw", &params).unwrap();
            StoredHash::parse(&format!("$5$rounds=1000$longpw${b64}")).unwrap()
        };
        let at_limit = vec![b'a'; MAX_PASSWORD_LEN];
        assert!(sha256(&at_limit).verify(&at_limit));
        let over = vec![b'a'; MAX_PASSWORD_LEN + 1];
        assert!(!sha256(&over).verify(&over));
    }

    #[test]
    fn debug_redacts_the_hash() {
        let stored =
            StoredHash::parse("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5").unwrap();
        let shown = format!("{stored:?}");
        assert!(!shown.contains("saltstring"), "{shown}");
    }

    #[test]
    fn random_passwords_have_the_documented_shape() {
        let a = random_password();
        let b = random_password();
        assert_ne!(*a, *b);
        assert_eq!(a.len(), 23);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(groups.len(), 4);
        assert!(groups.iter().all(|g| g.len() == 5));
        assert!(!a.contains(['0', 'O', '1', 'l', 'I']));
    }
}
