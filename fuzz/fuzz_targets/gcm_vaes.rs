//! AES-GCM by wharf-crypto's VAES code against aws-lc's, for any key
//! (AES-128 and AES-256), nonce, AAD and body: the same ciphertext and tag
//! when sealing; opening aws-lc's output succeeds and gives the plaintext
//! back; one flipped bit (of body, AAD or tag, chosen by the input) makes
//! both refuse, and ours wipes the body; an arbitrary tag gets the same
//! verdict from both. On a CPU without VAES the target checks nothing.
//!
//! Input: flags (bit 0: AES-256), aad length, a bit position (2 bytes),
//! 32 key bytes, 12 nonce bytes, 16 bytes of an arbitrary tag, then the
//! AAD and the body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wharf_crypto::packet::fuzzing::{
    aes_gcm_open_aws_lc, aes_gcm_open_vaes, aes_gcm_seal_aws_lc, aes_gcm_seal_vaes,
};

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Some((key, rest)) = rest.split_first_chunk::<32>() else {
        return;
    };
    let Some((nonce, rest)) = rest.split_first_chunk::<12>() else {
        return;
    };
    let Some((any_tag, rest)) = rest.split_first_chunk::<16>() else {
        return;
    };
    let key = if head[0] & 1 == 1 {
        &key[..]
    } else {
        &key[..16]
    };
    let aad_len = usize::from(head[1]).min(rest.len());
    let (aad, pt) = rest.split_at(aad_len);
    let bit = usize::from(u16::from_le_bytes([head[2], head[3]]));

    let mut ours = pt.to_vec();
    let Some(tag) = aes_gcm_seal_vaes(key, nonce, aad, &mut ours) else {
        return; // no VAES on this CPU
    };
    let mut theirs = pt.to_vec();
    let their_tag = aes_gcm_seal_aws_lc(key, nonce, aad, &mut theirs);
    assert!(ours == theirs, "ciphertext differs");
    assert_eq!(tag, their_tag, "tag differs");

    let mut opened = theirs.clone();
    assert_eq!(
        aes_gcm_open_vaes(key, nonce, aad, &mut opened, &their_tag),
        Some(true),
        "opens aws-lc's output"
    );
    assert!(opened == pt, "decrypts to the plaintext");

    // One flipped bit: position `bit` over body || aad || tag.
    let total = (theirs.len() + aad.len() + 16) * 8;
    let bit = bit % total;
    let (mut body, mut aad2, mut tag2) = (theirs.clone(), aad.to_vec(), their_tag);
    let byte = bit / 8;
    if byte < body.len() {
        body[byte] ^= 1 << (bit % 8);
    } else if byte < body.len() + aad2.len() {
        aad2[byte - body.len()] ^= 1 << (bit % 8);
    } else {
        tag2[byte - body.len() - aad2.len()] ^= 1 << (bit % 8);
    }
    let mut b = body.clone();
    assert!(!aes_gcm_open_aws_lc(key, nonce, &aad2, &mut b, &tag2));
    let mut b = body.clone();
    assert_eq!(
        aes_gcm_open_vaes(key, nonce, &aad2, &mut b, &tag2),
        Some(false),
        "tampered packet refused"
    );
    assert!(b.iter().all(|&x| x == 0), "refused body wiped");

    // An arbitrary tag: the same verdict (and on success the same bytes).
    let mut a = theirs.clone();
    let mut o = theirs.clone();
    let aws_ok = aes_gcm_open_aws_lc(key, nonce, aad, &mut a, any_tag);
    let our_ok = aes_gcm_open_vaes(key, nonce, aad, &mut o, any_tag);
    assert_eq!(Some(aws_ok), our_ok, "verdict on an arbitrary tag");
    if aws_ok {
        assert!(a == o);
    } else {
        assert!(o.iter().all(|&x| x == 0));
    }
});
