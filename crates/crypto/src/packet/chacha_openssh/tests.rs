use super::*;
use aws_lc_rs::aead::chacha20_poly1305_openssh as reference;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// draft-ietf-sshm-chacha20-poly1305-02, Appendix A (unchanged in -04):
/// 64 bytes of key material, sequence number 7, one packet.
#[test]
fn draft_appendix_a() {
    let key: [u8; 64] = h(
        "8bbff6855fc102338c373e73aac0c914f076a905b2444a32eecaffeae22becc5\
         e9b7a7a5825a8249346ec1c28301cf394543fc7569887d76e168f37562ac0740",
    )
    .try_into()
    .unwrap();
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
    let k = ChachaPoly::new(&key);
    let mut packet = plain.clone();
    let mut tag = [0u8; 16];
    k.seal(7, &mut packet, &mut tag).unwrap();
    packet.extend_from_slice(&tag);
    assert_eq!(hex::encode(&packet), hex::encode(&sent));

    let (body, tag) = packet.split_at_mut(plain.len());
    let tag: &[u8; 16] = (&*tag).try_into().unwrap();
    assert_eq!(
        k.decrypt_length(7, [body[0], body[1], body[2], body[3]]),
        [0, 0, 0, 0x48]
    );
    k.open(7, body, tag).unwrap();
    assert_eq!(&body[4..], &plain[4..]);
    assert_eq!(&body[..4], &sent[..4], "open leaves the length encrypted");
}

fn keys() -> Vec<[u8; 64]> {
    let mut v = vec![[0u8; 64], [0xff; 64]];
    let mut x = 0x0123_4567_89ab_cdefu64;
    for _ in 0..2 {
        let mut k = [0u8; 64];
        for b in k.iter_mut() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *b = (x >> 56) as u8;
        }
        v.push(k);
    }
    v
}

fn plaintext(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ salt)
        .collect()
}

/// Seals with both implementations and compares ciphertext and tag; opens
/// ours with both; checks a flipped bit in the length, the ciphertext
/// (first, middle, last byte) and the tag is refused with the packet left
/// as it was.
fn compare(key: &[u8; 64], seq: u32, len: usize, tamper: bool) {
    let ours = ChachaPoly::new(key);
    let plain = plaintext(len, seq as u8 ^ key[0]);

    let mut want = plain.clone();
    let mut want_tag = [0u8; 16];
    reference::SealingKey::new(key).seal_in_place(seq, &mut want, &mut want_tag);
    let mut got = plain.clone();
    let mut got_tag = [0u8; 16];
    ours.seal(seq, &mut got, &mut got_tag).unwrap();
    assert!(got == want, "ciphertext differs: len {len} seq {seq}");
    assert_eq!(got_tag, want_tag, "tag differs: len {len} seq {seq}");

    let enc_len = [got[0], got[1], got[2], got[3]];
    assert_eq!(
        ours.decrypt_length(seq, enc_len),
        [plain[0], plain[1], plain[2], plain[3]]
    );

    let mut opened = got.clone();
    ours.open(seq, &mut opened, &got_tag).unwrap();
    assert!(opened[4..] == plain[4..], "round trip: len {len} seq {seq}");
    let mut theirs = got.clone();
    reference::OpeningKey::new(key)
        .open_in_place(seq, &mut theirs, &got_tag)
        .unwrap();
    assert!(theirs[4..] == plain[4..]);

    if !tamper {
        return;
    }
    let mut positions = vec![0, 3, len - 1, len / 2];
    if len > 4 {
        positions.push(4);
    }
    for pos in positions {
        let mut bad = got.clone();
        bad[pos] ^= 0x01;
        let r = ours.open(seq, &mut bad, &got_tag);
        assert!(
            matches!(r, Err(PacketCryptoError::AuthFailed)),
            "flip at {pos} of {len}: {r:?}"
        );
        bad[pos] ^= 0x01;
        assert!(bad == got, "a failed open modified the packet");
    }
    for pos in [0, 15] {
        let mut bad_tag = got_tag;
        bad_tag[pos] ^= 0x80;
        let mut bad = got.clone();
        assert!(matches!(
            ours.open(seq, &mut bad, &bad_tag),
            Err(PacketCryptoError::AuthFailed)
        ));
        assert!(bad == got);
    }
    let mut bad = got.clone();
    assert!(matches!(
        ours.open(seq.wrapping_add(1), &mut bad, &got_tag),
        Err(PacketCryptoError::AuthFailed)
    ));
}

const SEQS: [u32; 5] = [0, 1, 7, 0x8000_0000, u32::MAX];

/// Packets of 4..=304 bytes (payload 0..=300), every key and sequence
/// number, with tampering.
#[test]
fn matches_aws_lc_rs_for_short_packets() {
    for key in keys() {
        for seq in SEQS {
            for payload in 0..=300 {
                compare(&key, seq, 4 + payload, true);
            }
        }
    }
}

/// Odd sizes around 64-byte boundaries (of the MAC input and of the
/// payload) and the packet sizes the data path uses.
#[test]
fn matches_aws_lc_rs_for_long_packets() {
    let mut lens: Vec<usize> = [4095, 4096, 4100, 32768 + 4, 65536 + 4, 262144 + 4].to_vec();
    for base in [128, 192, 256, 320, 1024, 2048, 16384] {
        lens.extend(base - 5..=base + 5);
    }
    for key in keys() {
        for seq in [0, u32::MAX] {
            for &len in &lens {
                compare(&key, seq, len, len < 5000);
            }
        }
    }
}

#[test]
fn too_short_packets_are_refused() {
    let k = ChachaPoly::new(&[3; 64]);
    for len in 0..4 {
        let mut p = vec![0u8; len];
        let mut tag = [0u8; 16];
        assert!(matches!(
            k.seal(0, &mut p, &mut tag),
            Err(PacketCryptoError::BadLayout { .. })
        ));
        assert!(matches!(
            k.open(0, &mut p, &tag),
            Err(PacketCryptoError::BadLayout { .. })
        ));
    }
}

/// The nonce layout argument of `nonce`'s comment, checked: our 12-byte
/// nonce gives the keystream that OpenSSH's 64-bit counter/64-bit IV
/// layout gives, as seen through aws-lc-rs's construct. The tag depends on
/// block 0 and the payload on blocks 1.., so a 200-byte packet covers
/// blocks 0..=4 (the last partially).
#[test]
fn nonce_layout_matches_openssh() {
    assert_eq!(nonce(0x0102_0304), [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    compare(&[0x42; 64], 0x0102_0304, 200, false);
}
