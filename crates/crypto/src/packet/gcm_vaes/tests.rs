//! Published vectors, differential tests against aws-lc, tamper detection.
//! Every test that needs the VAES path skips (returns) on CPUs without it;
//! `vaes_path_is_reachable_on_vaes_cpus` keeps that honest.

use super::*;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test hex")
}

fn nonce(v: &[u8]) -> [u8; 12] {
    v.try_into().expect("12-byte nonce")
}

fn aws(key: &[u8]) -> LessSafeKey {
    let alg = if key.len() == 16 {
        &AES_128_GCM
    } else {
        &AES_256_GCM
    };
    LessSafeKey::new(UnboundKey::new(alg, key).unwrap())
}

fn aws_seal(key: &[u8], n: &[u8; 12], aad: &[u8], body: &mut [u8]) -> [u8; 16] {
    let t = aws(key)
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*n), Aad::from(aad), body)
        .unwrap();
    t.as_ref().try_into().unwrap()
}

/// SplitMix64: reproducible "random" keys, nonces and bodies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn vaes_path_is_reachable_on_vaes_cpus() {
    let has = std::arch::is_x86_feature_detected!("vaes")
        && std::arch::is_x86_feature_detected!("vpclmulqdq")
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("aes")
        && std::arch::is_x86_feature_detected!("pclmulqdq");
    assert_eq!(available(), has);
    assert_eq!(Key::new(&[7; 16]).is_some(), has);
    assert_eq!(Key::new(&[7; 32]).is_some(), has);
    assert!(Key::new(&[7; 24]).is_none(), "AES-192 is not offered");
    // Set WHARF_REQUIRE_VAES=1 on a machine known to have VAES (this
    // project's build machine does) so a detection bug cannot hide the path.
    if std::env::var_os("WHARF_REQUIRE_VAES").is_some() {
        assert!(
            has,
            "WHARF_REQUIRE_VAES set but the VAES path is unavailable"
        );
    }
}

/// FIPS 197 Appendix C.1 and C.3 (and with them the key expansion of
/// Appendix A: a wrong round key changes the ciphertext).
#[test]
fn fips197_block_vectors() {
    let pt = h("00112233445566778899aabbccddeeff");
    for (key, ct) in [
        (
            "000102030405060708090a0b0c0d0e0f",
            "69c4e0d86a7b0430d8cdb78070b4c55a",
        ),
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "8ea2b7ca516745bfeafc49904b496089",
        ),
    ] {
        let Some(k) = Key::new(&h(key)) else { return };
        let mut block = [0u8; 16];
        block.copy_from_slice(&pt);
        // SAFETY: `k` exists, so the CPU has the features (`Key::new`).
        unsafe {
            let x = ld128(&block);
            let y = if k.rounds == 10 {
                aes_block::<10>(&k, x)
            } else {
                aes_block::<14>(&k, x)
            };
            st128(&mut block, y);
        }
        assert_eq!(hex::encode(block), ct, "key {key}");
    }
}

/// FIPS 197 Appendix A.1 and A.3: the last round key.
#[test]
fn fips197_key_expansion() {
    for (key, last) in [
        (
            "2b7e151628aed2a6abf7158809cf4f3c",
            "d014f9a8c9ee2589e13f0cc8b6630ca6",
        ),
        (
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            "fe4890d1e6188d0b046df344706c631e",
        ),
    ] {
        let Some(k) = Key::new(&h(key)) else { return };
        let rk = &k.rk[k.rounds];
        assert_eq!(hex::encode(&rk[..16]), last, "key {key}");
        assert_eq!(rk[..16], rk[16..], "both lanes");
    }
}

/// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", revised
/// 2005, Appendix B, the 96-bit-IV cases: 1-4 (AES-128), 13-16 (AES-256).
#[test]
fn mcgrew_viega_vectors() {
    const IV: &str = "cafebabefacedbaddecaf888";
    const PT: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                      1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
    const AAD: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    use crate::packet::gcm::tests::{CT15, CT3, K128, K256};
    let z16 = "00000000000000000000000000000000";
    let z32 = "0000000000000000000000000000000000000000000000000000000000000000";
    let z12 = "000000000000000000000000";
    // (name, key, iv, pt, aad, ct, tag)
    let cases: [(&str, &str, &str, String, &str, String, &str); 8] = [
        (
            "1",
            z16,
            z12,
            String::new(),
            "",
            String::new(),
            "58e2fccefa7e3061367f1d57a4e7455a",
        ),
        (
            "2",
            z16,
            z12,
            z16.into(),
            "",
            "0388dace60b6a392f328c2b971b2fe78".into(),
            "ab6e47d42cec13bdf53a67b21257bddf",
        ),
        (
            "3",
            K128,
            IV,
            PT.into(),
            "",
            CT3.into(),
            "4d5c2af327cd64a62cf35abd2ba6fab4",
        ),
        (
            "4",
            K128,
            IV,
            PT[..120].into(),
            AAD,
            CT3[..120].into(),
            "5bc94fbc3221a5db94fae95ae7121a47",
        ),
        (
            "13",
            z32,
            z12,
            String::new(),
            "",
            String::new(),
            "530f8afbc74536b9a963b4f1c4cb738b",
        ),
        (
            "14",
            z32,
            z12,
            z16.into(),
            "",
            "cea7403d4d606b6e074ec5d3baf39d18".into(),
            "d0d1c8a799996bf0265b98b5d48ab919",
        ),
        (
            "15",
            K256,
            IV,
            PT.into(),
            "",
            CT15.into(),
            "b094dac5d93471bdec1a502270e3cc6c",
        ),
        (
            "16",
            K256,
            IV,
            PT[..120].into(),
            AAD,
            CT15[..120].into(),
            "76fc6ece0f4e1768cddf8853bb2d551b",
        ),
    ];
    for (name, key, iv, pt, aad, ct, tag) in cases {
        let (key, iv, pt, aad, ct) = (h(key), nonce(&h(iv)), h(&pt), h(aad), h(&ct));
        // The transcription is checked against aws-lc too.
        let mut buf = pt.clone();
        assert_eq!(
            hex::encode(aws_seal(&key, &iv, &aad, &mut buf)),
            tag,
            "case {name}: aws-lc"
        );
        assert_eq!(buf, ct, "case {name}: aws-lc ciphertext");

        let Some(k) = Key::new(&key) else { return };
        let mut buf = pt.clone();
        let t = k.seal(&iv, &aad, &mut buf).unwrap();
        assert_eq!(
            hex::encode(&buf),
            hex::encode(&ct),
            "case {name} ciphertext"
        );
        assert_eq!(hex::encode(t), tag, "case {name} tag");
        k.open(&iv, &aad, &mut buf, &t).unwrap();
        assert_eq!(buf, pt, "case {name} decrypt");
    }
}

/// One random key/nonce/AAD/body, sealed by both and opened by ours.
fn differential(rng: &mut Rng, key_len: usize, body_len: usize, aad_len: usize) {
    let key = rng.bytes(key_len);
    let n = nonce(&rng.bytes(12));
    let aad = rng.bytes(aad_len);
    let pt = rng.bytes(body_len);
    let Some(k) = Key::new(&key) else { return };
    let mut ours = pt.clone();
    let tag = k.seal(&n, &aad, &mut ours).unwrap();
    let mut theirs = pt.clone();
    let their_tag = aws_seal(&key, &n, &aad, &mut theirs);
    assert!(
        ours == theirs,
        "ciphertext differs: key {key_len}, body {body_len}, aad {aad_len}"
    );
    assert_eq!(
        tag, their_tag,
        "tag: key {key_len}, body {body_len}, aad {aad_len}"
    );
    k.open(&n, &aad, &mut ours, &tag).unwrap();
    assert!(ours == pt, "round trip: key {key_len}, body {body_len}");
}

/// Lengths 0, 16, ..., 2048 (and every byte length below 64), with the
/// 4-byte AAD of SSH and with others.
#[test]
fn matches_aws_lc_small_lengths() {
    let mut rng = Rng(1);
    for key_len in [16, 32] {
        for len in (0..=2048).step_by(16).chain(1..64) {
            differential(&mut rng, key_len, len, 4);
        }
        for aad_len in [0, 1, 4, 15, 16, 17, 20, 255, 256, 257, 600] {
            differential(&mut rng, key_len, 64, aad_len);
            differential(&mut rng, key_len, 4096 + 16, aad_len);
        }
    }
}

/// Around the main loop's chunk boundaries (CHUNK = 256 bytes): every
/// boundary up to 16 KiB, then every 16th up to 300 KiB, at −16, −1, 0, +1,
/// +16 bytes; and the SSH packet sizes the benchmarks use.
#[test]
fn matches_aws_lc_around_chunk_boundaries() {
    let mut rng = Rng(2);
    let mut lens: Vec<usize> = (1..=64).map(|c| c * CHUNK).collect();
    lens.extend((4..=300 * 1024 / (16 * CHUNK)).map(|c| c * 16 * CHUNK));
    lens.extend([32 * 1024, 256 * 1024, 300 * 1024]);
    for key_len in [16, 32] {
        for &l in &lens {
            for len in [l - 16, l - 1, l, l + 1, l + 16] {
                differential(&mut rng, key_len, len, 4);
            }
        }
        // The body of an SSH packet carrying 32 KiB and 256 KiB of data.
        differential(&mut rng, key_len, 32 * 1024 + 16, 4);
        differential(&mut rng, key_len, 256 * 1024 + 16, 4);
    }
}

/// Opening aws-lc's output; and any one flipped bit of body, AAD or tag
/// makes open fail and wipes the body.
#[test]
fn tamper_detection() {
    let mut rng = Rng(3);
    for key_len in [16, 32] {
        for len in [0, 16, 48, 300, CHUNK, 2 * CHUNK + 32, 4096] {
            let key = rng.bytes(key_len);
            let n = nonce(&rng.bytes(12));
            let aad = rng.bytes(4);
            let pt = rng.bytes(len);
            let Some(k) = Key::new(&key) else { return };
            let mut ct = pt.clone();
            let tag = aws_seal(&key, &n, &aad, &mut ct);
            let mut buf = ct.clone();
            k.open(&n, &aad, &mut buf, &tag).unwrap();
            assert_eq!(buf, pt, "opens aws-lc's packet");

            let check = |aad: &[u8], body: &[u8], tag: &[u8; 16], what: &str| {
                let mut b = body.to_vec();
                assert_eq!(
                    k.open(&n, aad, &mut b, tag),
                    Err(GcmError::AuthFailed),
                    "{what}"
                );
                assert!(b.iter().all(|&x| x == 0), "{what}: body wiped");
            };
            // Every bit of small bodies; a spread of bits in larger ones.
            let step = if len <= 48 { 1 } else { 61 };
            for bit in (0..len * 8).step_by(step) {
                let mut b = ct.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                check(&aad, &b, &tag, &format!("body bit {bit} of {len}"));
            }
            for bit in 0..32 {
                let mut a = aad.clone();
                a[bit / 8] ^= 1 << (bit % 8);
                check(&a, &ct, &tag, &format!("aad bit {bit}"));
            }
            for bit in 0..128 {
                let mut t = tag;
                t[bit / 8] ^= 1 << (bit % 8);
                check(&aad, &ct, &t, &format!("tag bit {bit}"));
            }
            // Wrong nonce, truncated or extended body, other AAD length.
            let mut n2 = n;
            n2[11] ^= 1;
            let mut b = ct.clone();
            assert!(k.open(&n2, &aad, &mut b, &tag).is_err(), "nonce");
            check(&aad[..3], &ct, &tag, "short aad");
            if len > 0 {
                check(&aad, &ct[..len - 1], &tag, "short body");
            }
            let mut longer = ct.clone();
            longer.push(0);
            check(&aad, &longer, &tag, "long body");
        }
    }
}

#[test]
fn length_limits() {
    assert_eq!(check_lengths(4, 256 * 1024), Ok(()));
    assert_eq!(check_lengths(4, MAX_BLOCKS * 16), Ok(()));
    assert_eq!(check_lengths(4, MAX_BLOCKS * 16 - 15), Ok(()));
    assert_eq!(
        check_lengths(4, MAX_BLOCKS * 16 + 1),
        Err(GcmError::TooLong)
    );
    assert_eq!(check_lengths(4, usize::MAX), Err(GcmError::TooLong));
    assert_eq!(check_lengths(1 << 61, 0), Err(GcmError::TooLong));
    assert_eq!(check_lengths((1 << 61) - 1, 0), Ok(()));
}
