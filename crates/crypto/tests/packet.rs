//! `wharf_crypto::packet` through its public API: published vectors at the
//! packet level, round trips of every cipher × MAC over consecutive packets
//! (including the sequence number wrapping), tampering, wrong sequence
//! numbers, framing sizes, and argument checking.

use aws_lc_rs::hmac;
use wharf_crypto::packet::{CipherAlg, MacAlg, OpeningKey, PacketCryptoError, SealingKey};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("test hex")
}

/// Deterministic key material; `salt` keeps keys, IVs and MAC keys apart,
/// and no two 8-byte groups are equal (3DES refuses repeated subkeys).
fn material(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u8)
                .wrapping_mul(167)
                .wrapping_add(salt.wrapping_mul(59))
                ^ 0x5a
        })
        .collect()
}

fn combos() -> Vec<(CipherAlg, Option<MacAlg>)> {
    let mut v = Vec::new();
    for &c in CipherAlg::ALL {
        if c.is_aead() {
            v.push((c, None));
        } else {
            v.extend(MacAlg::ALL.iter().map(|&m| (c, Some(m))));
        }
    }
    v
}

fn keys(cipher: CipherAlg, mac: Option<MacAlg>) -> (SealingKey, OpeningKey) {
    let key = material(cipher.key_len(), 1);
    let iv = material(cipher.iv_len(), 2);
    let mac_key = mac.map(|m| (m, material(m.key_len(), 3)));
    let mac_arg = mac_key.as_ref().map(|(m, k)| (*m, &k[..]));
    let s = SealingKey::new(cipher, &key, &iv, mac_arg).expect("sealing key");
    let o = OpeningKey::new(cipher, &key, &iv, mac_arg).expect("opening key");
    (s, o)
}

/// Lays out `payload` as RFC 4253 §6 says, padded for a key with these
/// sizes (at least 4 bytes of padding; the padding bytes are arbitrary).
fn build(payload: &[u8], block: usize, aad: usize) -> Vec<u8> {
    let unpadded = 5 + payload.len() - aad;
    let mut pad = block - unpadded % block;
    if pad < 4 {
        pad += block;
    }
    let packet_len = (1 + payload.len() + pad) as u32;
    let mut p = packet_len.to_be_bytes().to_vec();
    p.push(pad as u8);
    p.extend_from_slice(payload);
    p.extend((0..pad).map(|i| 0xa0 ^ i as u8));
    p
}

/// Seals `plain` and appends packet and tag to `wire`.
fn send(key: &mut SealingKey, seq: u32, plain: &[u8], wire: &mut Vec<u8>) {
    let start = wire.len();
    wire.extend_from_slice(plain);
    wire.resize(wire.len() + key.tag_len(), 0);
    let (packet, tag) = wire[start..].split_at_mut(plain.len());
    key.seal(seq, packet, tag);
}

/// Opens the packet at the front of `wire` the way the framing layer does:
/// the length from the first `header_len()` bytes, then the whole packet.
/// Returns the plaintext packet and the number of wire bytes it used.
fn receive(
    key: &mut OpeningKey,
    seq: u32,
    wire: &mut [u8],
) -> Result<(Vec<u8>, usize), PacketCryptoError> {
    let len = key.decrypt_length(seq, &mut wire[..key.header_len()]) as usize;
    assert!(len < 1 << 16, "length {len} is out of bounds");
    let total = 4 + len;
    let tag_len = key.tag_len();
    let (packet, rest) = wire.split_at_mut(total);
    key.open(seq, packet, &rest[..tag_len])?;
    Ok((packet.to_vec(), total + tag_len))
}

const PAYLOAD_SIZES: [usize; 8] = [0, 1, 7, 16, 31, 100, 255, 3000];

fn payload(n: usize, salt: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + salt * 13) as u8).collect()
}

#[test]
fn every_combination_round_trips_over_consecutive_packets_and_seq_wrap() {
    for (cipher, mac) in combos() {
        let (mut s, mut o) = keys(cipher, mac);
        let first_seq = u32::MAX - 3; // the sequence wraps after the 4th packet
        let plains: Vec<Vec<u8>> = PAYLOAD_SIZES
            .iter()
            .enumerate()
            .map(|(i, &n)| build(&payload(n, i), s.block_size(), s.aad_len()))
            .collect();

        // All packets go into one transmit buffer, one seal call each.
        let mut wire = Vec::new();
        let mut seq = first_seq;
        for p in &plains {
            send(&mut s, seq, p, &mut wire);
            seq = seq.wrapping_add(1);
        }
        let expected_len: usize = plains.iter().map(|p| p.len() + s.tag_len()).sum();
        assert_eq!(wire.len(), expected_len);

        // ... and are read back one after another from the byte stream.
        let mut at = 0;
        let mut seq = first_seq;
        for (i, p) in plains.iter().enumerate() {
            let what = format!("{cipher:?}/{mac:?} packet {i} seq {seq}");
            let body = &wire[at + s.aad_len()..at + p.len()];
            assert_ne!(body, &p[s.aad_len()..], "{what}: body not encrypted");
            let (got, used) = receive(&mut o, seq, &mut wire[at..]).expect(&what);
            assert_eq!(&got, p, "{what}");
            at += used;
            seq = seq.wrapping_add(1);
        }
        assert_eq!(at, wire.len());
    }
}

#[test]
fn none_keys_pass_packets_through() {
    let mut s = SealingKey::none();
    let mut o = OpeningKey::none();
    assert_eq!((s.block_size(), s.aad_len(), s.tag_len()), (8, 0, 0));
    assert_eq!(
        (o.block_size(), o.aad_len(), o.tag_len(), o.header_len()),
        (8, 0, 0, 4)
    );
    let plain = build(b"SSH_MSG_KEXINIT goes here", 8, 0);
    let mut wire = Vec::new();
    send(&mut s, 0, &plain, &mut wire);
    assert_eq!(wire, plain);
    let (got, used) = receive(&mut o, 0, &mut wire).unwrap();
    assert_eq!((got, used), (plain.clone(), plain.len()));
}

/// Flips each bit position of interest in turn — every byte of the
/// length, body and tag — and checks `open` refuses the packet. The first
/// packet is opened normally so the key's running state is not fresh.
#[test]
fn tampering_any_byte_of_length_body_or_tag_fails() {
    for (cipher, mac) in combos() {
        let (mut s, _) = keys(cipher, mac);
        let p1 = build(b"first", s.block_size(), s.aad_len());
        let p2 = build(
            b"second packet, to be tampered with",
            s.block_size(),
            s.aad_len(),
        );
        let mut wire = Vec::new();
        send(&mut s, 41, &p1, &mut wire);
        let second = wire.len();
        send(&mut s, 42, &p2, &mut wire);

        for pos in second..wire.len() {
            for bit in [0x01u8, 0x80] {
                let (_, mut o) = keys(cipher, mac);
                let mut w = wire.clone();
                let (_, used) = receive(&mut o, 41, &mut w).unwrap();
                assert_eq!(used, second);
                w[pos] ^= bit;
                // The framing layer has read as many bytes as the real
                // length says; the tampered length must not matter.
                let rest = &mut w[second..];
                let _ = o.decrypt_length(42, &mut rest[..o.header_len()]);
                let (packet, tag) = rest.split_at_mut(p2.len());
                let r = o.open(42, packet, tag);
                assert!(
                    matches!(r, Err(PacketCryptoError::AuthFailed)),
                    "{cipher:?}/{mac:?}: flip {bit:#x} at byte {} gave {r:?}",
                    pos - second
                );
                // No unauthenticated plaintext is left behind.
                assert_ne!(&packet[4..], &p2[4..]);
            }
        }
    }
}

#[test]
fn wrong_sequence_number_fails() {
    for (cipher, mac) in combos() {
        if matches!(cipher, CipherAlg::Aes128Gcm | CipherAlg::Aes256Gcm) {
            continue; // seq is not an input of AES-GCM; see the next test
        }
        let (mut s, mut o) = keys(cipher, mac);
        let p = build(b"sequenced", s.block_size(), s.aad_len());
        let mut wire = Vec::new();
        send(&mut s, 7, &p, &mut wire);
        let (packet, tag) = wire.split_at_mut(p.len());
        let _ = o.decrypt_length(8, &mut packet[..o.header_len()]);
        assert!(
            matches!(o.open(8, packet, tag), Err(PacketCryptoError::AuthFailed)),
            "{cipher:?}/{mac:?}"
        );
    }
}

/// AES-GCM's nonce is the per-packet invocation counter, so a packet
/// opened out of order (dropped, replayed or reordered) fails.
#[test]
fn gcm_packets_out_of_order_fail() {
    for cipher in [CipherAlg::Aes128Gcm, CipherAlg::Aes256Gcm] {
        let (mut s, mut o) = keys(cipher, None);
        let p = build(b"counted", 16, 4);
        let mut w1 = Vec::new();
        let mut w2 = Vec::new();
        send(&mut s, 0, &p, &mut w1);
        send(&mut s, 1, &p, &mut w2);
        assert!(
            receive(&mut o, 1, &mut w2).is_err(),
            "{cipher:?} skipped a packet"
        );

        let (_, mut o) = keys(cipher, None);
        let mut again = w1.clone();
        receive(&mut o, 0, &mut w1).unwrap();
        assert!(receive(&mut o, 1, &mut again).is_err(), "{cipher:?} replay");
    }
}

#[test]
fn a_failed_open_poisons_the_key() {
    for (cipher, mac) in combos() {
        let (mut s, mut o) = keys(cipher, mac);
        let p = build(b"x", s.block_size(), s.aad_len());
        let mut bad = Vec::new();
        send(&mut s, 0, &p, &mut bad);
        let last = bad.len() - 1;
        bad[last] ^= 1; // the tag
        assert!(matches!(
            receive(&mut o, 0, &mut bad),
            Err(PacketCryptoError::AuthFailed)
        ));
        let mut good = Vec::new();
        send(&mut s, 1, &p, &mut good);
        let hl = o.header_len();
        assert_eq!(
            o.decrypt_length(1, &mut good[..hl]),
            u32::MAX,
            "{cipher:?}/{mac:?}"
        );
        let (packet, tag) = good.split_at_mut(p.len());
        assert!(matches!(
            o.open(1, packet, tag),
            Err(PacketCryptoError::Poisoned)
        ));
    }
}

// draft-ietf-sshm-chacha20-poly1305-02, Appendix A (the worked example,
// unchanged in -04): 64 bytes of key material, sequence number 7, one
// packet. The same bytes are pinned by at least two independent SSH
// implementations' test suites.
#[test]
fn chacha20_poly1305_draft_appendix_a() {
    let key = h(
        "8bbff6855fc102338c373e73aac0c914f076a905b2444a32eecaffeae22becc5\
                 e9b7a7a5825a8249346ec1c28301cf394543fc7569887d76e168f37562ac0740",
    );
    let plain = h(
        "00000048065e00000000000000384c6f72656d20697073756d20646f6c6f7220\
                   73697420616d65742c20636f6e7365637465747572206164697069736963696e\
                   6720656c69744e43e804dc6c",
    );
    let sent = h(
        "2c3ecce4a5bc05895bf07a7ba956b6c68829ac7c83b780b7000ecde745afc705\
                  bbc378ce03a280236b87b53bed5839662302b164b6286a48cd1e097138e3cb90\
                  9b8b2b829dd18d2a35ff82d995349e855bf02c298ef775f2d1a7e8b8",
    );
    assert_eq!(plain.len(), 4 + 0x48);

    let mut s = SealingKey::new(CipherAlg::Chacha20Poly1305, &key, &[], None).unwrap();
    let mut wire = Vec::new();
    send(&mut s, 7, &plain, &mut wire);
    assert_eq!(hex::encode(&wire), hex::encode(&sent));

    let mut o = OpeningKey::new(CipherAlg::Chacha20Poly1305, &key, &[], None).unwrap();
    let mut header = [0u8; 4];
    header.copy_from_slice(&sent[..4]);
    assert_eq!(o.decrypt_length(7, &mut header), 0x48);
    assert_eq!(
        &header[..],
        &sent[..4],
        "chacha leaves the header encrypted"
    );
    let mut wire = sent.clone();
    let (got, used) = receive(&mut o, 7, &mut wire).unwrap();
    assert_eq!((got, used), (plain, sent.len()));
}

// McGrew & Viega GCM test case 3 (AES-128) and 15 (AES-256): the SSH
// packet's body is the vector's plaintext. The 4-byte AAD changes only the
// tag, so the body must encrypt to the vector's ciphertext; the tags with a
// 20-byte AAD (test cases 4 and 16) are checked in the crate's unit tests.
#[test]
fn aes_gcm_packet_body_matches_mcgrew_viega() {
    let pt = h(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
    );
    let cases = [
        (
            CipherAlg::Aes128Gcm,
            "feffe9928665731c6d6a8f9467308308",
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e\
             21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
        ),
        (
            CipherAlg::Aes256Gcm,
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
        ),
    ];
    let iv = h("cafebabefacedbaddecaf888");
    for (cipher, key, ct) in cases {
        let mut plain = 64u32.to_be_bytes().to_vec();
        plain.extend_from_slice(&pt);
        let mut s = SealingKey::new(cipher, &h(key), &iv, None).unwrap();
        let mut wire = Vec::new();
        send(&mut s, 0, &plain, &mut wire);
        assert_eq!(&wire[..4], &plain[..4], "{cipher:?}: length in the clear");
        assert_eq!(hex::encode(&wire[4..68]), hex::encode(h(ct)), "{cipher:?}");
        let mut o = OpeningKey::new(cipher, &h(key), &iv, None).unwrap();
        let (got, _) = receive(&mut o, 0, &mut wire).unwrap();
        assert_eq!(got, plain);
    }
}

fn reference_hmac(alg: hmac::Algorithm, key: &[u8], seq: u32, data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(alg, key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(&seq.to_be_bytes());
    ctx.update(data);
    ctx.sign().as_ref().to_vec()
}

const SP800_38A_PT: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
                            30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

// NIST SP 800-38A §F.5.1 through the encrypt-and-MAC layout, sealed as two
// 32-byte "packets": the whole packet is encrypted, and the CTR keystream
// continues from one packet to the next, so the concatenation is the
// vector's ciphertext. The MAC is HMAC(key, seq || plaintext) (RFC 4253
// §6.4).
#[test]
fn aes_ctr_encrypt_and_mac_matches_sp800_38a_across_packets() {
    let key = h("2b7e151628aed2a6abf7158809cf4f3c");
    let iv = h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    let mac_key = material(32, 9);
    let pt = h(SP800_38A_PT);
    let mac = Some((MacAlg::HmacSha256, &mac_key[..]));
    let mut s = SealingKey::new(CipherAlg::Aes128Ctr, &key, &iv, mac).unwrap();
    let mut wire = Vec::new();
    send(&mut s, 1000, &pt[..32], &mut wire);
    send(&mut s, 1001, &pt[32..], &mut wire);
    let ct: Vec<u8> = [&wire[..32], &wire[64..96]].concat();
    assert_eq!(
        hex::encode(ct),
        "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff\
         5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee"
    );
    assert_eq!(
        &wire[32..64],
        &reference_hmac(hmac::HMAC_SHA256, &mac_key, 1000, &pt[..32])[..]
    );
    assert_eq!(
        &wire[96..],
        &reference_hmac(hmac::HMAC_SHA256, &mac_key, 1001, &pt[32..])[..]
    );
}

// NIST SP 800-38A §F.2.1 and CAVP TCBCMMT3 [ENCRYPT] COUNT = 3 through the
// -etm layout: packet_length stays in the clear, the rest is CBC-encrypted
// (so the body must be the vector's ciphertext), and the MAC is
// HMAC(key, seq || packet_length || ciphertext) (OpenSSH PROTOCOL §1.5).
#[test]
fn cbc_encrypt_then_mac_matches_published_vectors() {
    let cases = [
        (
            CipherAlg::Aes128Cbc,
            "2b7e151628aed2a6abf7158809cf4f3c",
            "000102030405060708090a0b0c0d0e0f",
            SP800_38A_PT,
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2\
             73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
        ),
        (
            CipherAlg::TripleDesCbc,
            "d98aadc76d4a3716158c32866efbb9ce834af2297379a49d",
            "3c5220327c502b44",
            "6174079dda53ca723ebf00a66837f8d5ce648c08acaa5ee45ffe62210ef79d3e",
            "f5bd4d600bed77bec78409e3530ebda1d815506ed53103015b87e371ae000958",
        ),
    ];
    for (cipher, key, iv, pt, ct) in cases {
        let mac_key = material(64, 4);
        let mac = Some((MacAlg::HmacSha512Etm, &mac_key[..]));
        let mut s = SealingKey::new(cipher, &h(key), &h(iv), mac).unwrap();
        let pt = h(pt);
        let mut plain = (pt.len() as u32).to_be_bytes().to_vec();
        plain.extend_from_slice(&pt);
        let mut wire = Vec::new();
        send(&mut s, 3, &plain, &mut wire);
        let (packet, tag) = wire.split_at(plain.len());
        assert_eq!(&packet[..4], &plain[..4], "{cipher:?}");
        assert_eq!(hex::encode(&packet[4..]), ct, "{cipher:?}");
        assert_eq!(
            tag,
            &reference_hmac(hmac::HMAC_SHA512, &mac_key, 3, packet)[..]
        );

        let mut o = OpeningKey::new(cipher, &h(key), &h(iv), mac).unwrap();
        let (got, _) = receive(&mut o, 3, &mut wire).unwrap();
        assert_eq!(got, plain);
    }
}

/// The framing sizes, written out per algorithm rather than derived.
#[test]
fn framing_sizes_match_the_table() {
    // (cipher, block_size, key_len, iv_len)
    let ciphers = [
        (CipherAlg::Chacha20Poly1305, 8, 64, 0),
        (CipherAlg::Aes128Gcm, 16, 16, 12),
        (CipherAlg::Aes256Gcm, 16, 32, 12),
        (CipherAlg::Aes128Ctr, 16, 16, 16),
        (CipherAlg::Aes192Ctr, 16, 24, 16),
        (CipherAlg::Aes256Ctr, 16, 32, 16),
        (CipherAlg::Aes128Cbc, 16, 16, 16),
        (CipherAlg::Aes192Cbc, 16, 24, 16),
        (CipherAlg::Aes256Cbc, 16, 32, 16),
        (CipherAlg::TripleDesCbc, 8, 24, 8),
    ];
    assert_eq!(ciphers.len(), CipherAlg::ALL.len());
    // (mac, mac_len, key_len, etm)
    let macs = [
        (MacAlg::HmacSha256Etm, 32, 32, true),
        (MacAlg::HmacSha512Etm, 64, 64, true),
        (MacAlg::HmacSha1Etm, 20, 20, true),
        (MacAlg::HmacSha256, 32, 32, false),
        (MacAlg::HmacSha512, 64, 64, false),
        (MacAlg::HmacSha1, 20, 20, false),
        (MacAlg::HmacSha1_96, 12, 20, false),
    ];
    assert_eq!(macs.len(), MacAlg::ALL.len());

    for (cipher, block, key_len, iv_len) in ciphers {
        assert_eq!(
            (cipher.block_size(), cipher.key_len(), cipher.iv_len()),
            (block, key_len, iv_len),
            "{cipher:?}"
        );
        if cipher.is_aead() {
            let (s, o) = keys(cipher, None);
            assert_eq!((s.block_size(), s.aad_len(), s.tag_len()), (block, 4, 16));
            assert_eq!((o.block_size(), o.aad_len(), o.tag_len()), (block, 4, 16));
            assert_eq!(o.header_len(), 4, "{cipher:?}");
            continue;
        }
        for (mac, mac_len, mac_key_len, etm) in macs {
            assert_eq!(
                (mac.mac_len(), mac.key_len(), mac.is_etm()),
                (mac_len, mac_key_len, etm)
            );
            let (s, o) = keys(cipher, Some(mac));
            let (aad, header) = if etm { (4, 4) } else { (0, block) };
            let what = format!("{cipher:?}/{mac:?}");
            assert_eq!(
                (s.block_size(), s.aad_len(), s.tag_len()),
                (block, aad, mac_len),
                "{what}"
            );
            assert_eq!(
                (o.block_size(), o.aad_len(), o.tag_len()),
                (block, aad, mac_len),
                "{what}"
            );
            assert_eq!(o.header_len(), header, "{what}");
        }
    }
}

#[test]
fn names_and_preference_order() {
    let cipher_names = [
        "chacha20-poly1305@openssh.com",
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        "aes128-ctr",
        "aes192-ctr",
        "aes256-ctr",
        "aes128-cbc",
        "aes192-cbc",
        "aes256-cbc",
        "3des-cbc",
    ];
    let got: Vec<_> = CipherAlg::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(got, cipher_names);
    let mac_names = [
        "hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-512-etm@openssh.com",
        "hmac-sha1-etm@openssh.com",
        "hmac-sha2-256",
        "hmac-sha2-512",
        "hmac-sha1",
        "hmac-sha1-96",
    ];
    let got: Vec<_> = MacAlg::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(got, mac_names);

    for &c in CipherAlg::ALL {
        assert_eq!(CipherAlg::from_name(c.name()), Some(c));
    }
    for &m in MacAlg::ALL {
        assert_eq!(MacAlg::from_name(m.name()), Some(m));
    }
    for unknown in [
        "",
        "AES128-CTR",
        "aes128-gcm",
        "none",
        "hmac-md5",
        "umac-64@openssh.com",
    ] {
        assert_eq!(CipherAlg::from_name(unknown), None);
        assert_eq!(MacAlg::from_name(unknown), None);
    }

    // Legacy algorithms come last, after every default one.
    let legacy: Vec<bool> = CipherAlg::ALL.iter().map(|c| c.is_legacy()).collect();
    assert_eq!(
        legacy,
        [false, false, false, false, false, false, true, true, true, true]
    );
    let legacy: Vec<bool> = MacAlg::ALL.iter().map(|m| m.is_legacy()).collect();
    assert_eq!(legacy, [false, false, false, false, false, false, true]);
    let aead: Vec<bool> = CipherAlg::ALL.iter().map(|c| c.is_aead()).collect();
    assert_eq!(
        aead,
        [true, true, true, false, false, false, false, false, false, false]
    );
}

#[test]
fn constructor_arguments_are_checked() {
    let k16 = [1u8; 16];
    let iv16 = [2u8; 16];
    let mk = [3u8; 32];
    let ctr = CipherAlg::Aes128Ctr;
    let sha = Some((MacAlg::HmacSha256, &mk[..]));
    assert!(matches!(
        SealingKey::new(ctr, &k16[..15], &iv16, sha),
        Err(PacketCryptoError::BadKeyLength {
            expected: 16,
            got: 15,
            ..
        })
    ));
    assert!(matches!(
        OpeningKey::new(ctr, &k16, &iv16[..12], sha),
        Err(PacketCryptoError::BadIvLength {
            expected: 16,
            got: 12,
            ..
        })
    ));
    assert!(matches!(
        SealingKey::new(ctr, &k16, &iv16, None),
        Err(PacketCryptoError::MissingMac { .. })
    ));
    assert!(matches!(
        OpeningKey::new(CipherAlg::Aes128Gcm, &k16, &iv16[..12], sha),
        Err(PacketCryptoError::UnexpectedMac { .. })
    ));
    assert!(matches!(
        SealingKey::new(ctr, &k16, &iv16, Some((MacAlg::HmacSha512, &mk[..]))),
        Err(PacketCryptoError::BadKeyLength {
            expected: 64,
            got: 32,
            ..
        })
    ));
    assert!(matches!(
        OpeningKey::new(CipherAlg::Chacha20Poly1305, &mk, &[], None),
        Err(PacketCryptoError::BadKeyLength {
            expected: 64,
            got: 32,
            ..
        })
    ));
    assert_eq!(
        PacketCryptoError::AuthFailed.to_string(),
        "message authentication failed"
    );
}

/// Wire-derived sizes never panic `open`/`decrypt_length`; they give errors.
#[test]
fn open_refuses_bad_sizes_without_panicking() {
    for (cipher, mac) in combos() {
        let (_, o) = keys(cipher, mac);
        let tag = vec![0u8; o.tag_len()];
        let what = format!("{cipher:?}/{mac:?}");
        for len in [0, 3, 4, 5, o.aad_len() + o.block_size() + 1] {
            let (_, mut o) = keys(cipher, mac);
            let mut packet = vec![0u8; len];
            assert!(
                matches!(
                    o.open(0, &mut packet, &tag),
                    Err(PacketCryptoError::BadLayout { .. })
                ),
                "{what} len {len}"
            );
        }
        let (_, mut o) = keys(cipher, mac);
        let mut packet = vec![0u8; o.aad_len() + 2 * o.block_size()];
        assert!(
            matches!(
                o.open(0, &mut packet, &tag[1..]),
                Err(PacketCryptoError::BadTagLength { .. })
            ),
            "{what}"
        );
        let (_, mut o) = keys(cipher, mac);
        let mut short = vec![0u8; o.header_len() - 1];
        assert_eq!(o.decrypt_length(0, &mut short), u32::MAX, "{what}");
        assert!(
            short.iter().all(|&b| b == 0),
            "{what}: short header untouched"
        );
    }
}

#[test]
#[should_panic(expected = "does not fit")]
fn seal_panics_on_a_misframed_packet() {
    let (mut s, _) = keys(CipherAlg::Aes256Ctr, Some(MacAlg::HmacSha256Etm));
    let mut packet = vec![0u8; 4 + 15];
    let mut tag = vec![0u8; s.tag_len()];
    s.seal(0, &mut packet, &mut tag);
}

#[test]
fn keys_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SealingKey>();
    assert_send_sync::<OpeningKey>();
    let (s, o) = keys(CipherAlg::Aes128Gcm, None);
    assert!(format!("{s:?} {o:?}").contains("Aes128Gcm"));
}
