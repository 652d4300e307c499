use super::*;
use crate::packet::ffi::poly1305_aws_lc;

fn key(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// The tag from every path this CPU has: scalar, dispatcher, and AVX2
/// (forced, whatever the length) where present.
fn all_paths(key: &[u8; 32], msg: &[u8]) -> Vec<(&'static str, [u8; 16])> {
    let mut v = vec![
        ("scalar", poly1305_scalar(key, msg)),
        ("dispatch", poly1305(key, msg)),
    ];
    if let Some(t) = poly1305_avx2(key, msg) {
        v.push(("avx2", t));
    }
    v
}

fn check(name: &str, key: &[u8; 32], msg: &[u8], tag: &[u8; 16]) {
    // The references must agree too: guards the transcription of a vector.
    assert_eq!(&poly1305_aws_lc(key, msg), tag, "{name}: aws-lc");
    assert_eq!(&poly1305_bignum(key, msg), tag, "{name}: bignum");
    for (path, got) in all_paths(key, msg) {
        assert_eq!(hex::encode(got), hex::encode(tag), "{name}: {path}");
    }
}

/// Every path against the big-number reference, and against aws-lc too
/// where `aws_lc` (aws-lc is wrong on some crafted inputs; see
/// `aws_lc_combine_carry_regression`).
fn differential(name: &str, key: &[u8; 32], msg: &[u8], aws_lc: bool) {
    let want = poly1305_bignum(key, msg);
    if aws_lc {
        assert_eq!(poly1305_aws_lc(key, msg), want, "{name}: aws-lc vs bignum");
    }
    for (path, got) in all_paths(key, msg) {
        assert_eq!(got, want, "{name}: {path}");
    }
}

#[test]
fn avx2_path_is_reachable_on_avx2_cpus() {
    // Keeps the AVX2 tests honest: on an AVX2 machine they must run it.
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        poly1305_avx2(&[1; 32], &[2; 64]).is_some(),
        std::arch::is_x86_feature_detected!("avx2")
    );
    assert_eq!(poly1305_avx2(&[1; 32], &[2; 64]).is_some(), has_avx2());
}

/// RFC 8439 §2.5.2, "Poly1305 Example and Test Vector".
#[test]
fn rfc8439_2_5_2() {
    let k = key("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
    let tag: [u8; 16] = hex::decode("a8061dc1305136c6c22b8baf0c0127a9")
        .unwrap()
        .try_into()
        .unwrap();
    check("2.5.2", &k, b"Cryptographic Forum Research Group", &tag);
}

/// The IETF text used by RFC 8439 A.3 vectors #2 and #3 (375 bytes).
const IETF_TEXT: &str = "416e79207375626d697373696f6e20746f20746865204945544620696e74656e\
    6465642062792074686520436f6e7472696275746f7220666f72207075626c69\
    636174696f6e20617320616c6c206f722070617274206f6620616e2049455446\
    20496e7465726e65742d4472616674206f722052464320616e6420616e792073\
    746174656d656e74206d6164652077697468696e2074686520636f6e74657874\
    206f6620616e204945544620616374697669747920697320636f6e7369646572\
    656420616e20224945544620436f6e747269627574696f6e222e205375636820\
    73746174656d656e747320696e636c756465206f72616c2073746174656d656e\
    747320696e20494554462073657373696f6e732c2061732077656c6c20617320\
    7772697474656e20616e6420656c656374726f6e696320636f6d6d756e696361\
    74696f6e73206d61646520617420616e792074696d65206f7220706c6163652c\
    207768696368206172652061646472657373656420746f";

/// RFC 8439 Appendix A.3, Poly1305 test vectors #1-#11 (#5-#11 are the
/// reduction and carry edge cases; their key is printed as R then S).
#[test]
fn rfc8439_a3() {
    let vectors: [(&str, &str, &str); 11] = [
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000000\
             0000000000000000000000000000000000000000000000000000000000000000",
            "00000000000000000000000000000000",
        ),
        (
            "0000000000000000000000000000000036e5f6b5c5e06070f0efca96227a863e",
            IETF_TEXT,
            "36e5f6b5c5e06070f0efca96227a863e",
        ),
        (
            "36e5f6b5c5e06070f0efca96227a863e00000000000000000000000000000000",
            IETF_TEXT,
            "f3477e7cd95417af89a6b8794c310cf0",
        ),
        (
            "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
            "2754776173206272696c6c69672c20616e642074686520736c6974687920746f\
             7665730a446964206779726520616e642067696d626c6520696e207468652077\
             6162653a0a416c6c206d696d737920776572652074686520626f726f676f7665\
             732c0a416e6420746865206d6f6d65207261746873206f757467726162652e",
            "4541669a7eaaee61e708dc7cbcc5eb62",
        ),
        (
            "0200000000000000000000000000000000000000000000000000000000000000",
            "ffffffffffffffffffffffffffffffff",
            "03000000000000000000000000000000",
        ),
        (
            "02000000000000000000000000000000ffffffffffffffffffffffffffffffff",
            "02000000000000000000000000000000",
            "03000000000000000000000000000000",
        ),
        (
            "0100000000000000000000000000000000000000000000000000000000000000",
            "fffffffffffffffffffffffffffffffff0ffffffffffffffffffffffffffffff\
             11000000000000000000000000000000",
            "05000000000000000000000000000000",
        ),
        (
            "0100000000000000000000000000000000000000000000000000000000000000",
            "fffffffffffffffffffffffffffffffffbfefefefefefefefefefefefefefefe\
             01010101010101010101010101010101",
            "00000000000000000000000000000000",
        ),
        (
            "0200000000000000000000000000000000000000000000000000000000000000",
            "fdffffffffffffffffffffffffffffff",
            "faffffffffffffffffffffffffffffff",
        ),
        (
            "0100000000000000040000000000000000000000000000000000000000000000",
            "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000\
             0000000000000000000000000000000001000000000000000000000000000000",
            "14000000000000005500000000000000",
        ),
        (
            "0100000000000000040000000000000000000000000000000000000000000000",
            "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000\
             00000000000000000000000000000000",
            "13000000000000000000000000000000",
        ),
    ];
    for (i, (k, msg, tag)) in vectors.iter().enumerate() {
        let msg = hex::decode(msg).unwrap();
        let tag: [u8; 16] = hex::decode(tag).unwrap().try_into().unwrap();
        check(&format!("A.3 #{}", i + 1), &key(k), &msg, &tag);
    }
}

/// The A.3 edge cases are at most three blocks, below the AVX2 loop's
/// 64-byte chunk. Repeating each message to fill whole chunks (and one
/// chunk and a bit) sends the same limb patterns through the vector code;
/// the big-number code is the reference.
#[test]
fn a3_edge_patterns_through_the_vector_loop() {
    let cases = [
        ("02000000000000000000000000000000", "ffffffffffffffffffffffffffffffff"),
        ("01000000000000000000000000000000", "fffffffffffffffffffffffffffffffff0ffffffffffffffffffffffffffffff11000000000000000000000000000000"),
        ("01000000000000000000000000000000", "fffffffffffffffffffffffffffffffffbfefefefefefefefefefefefefefefe01010101010101010101010101010101"),
        ("01000000000000000400000000000000", "e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000000000000000000001000000000000000000000000000000"),
    ];
    for (r, pattern) in cases {
        let pattern = hex::decode(pattern).unwrap();
        for s in [
            "00000000000000000000000000000000",
            "ffffffffffffffffffffffffffffffff",
        ] {
            let k = key(&format!("{r}{s}"));
            for len in [64, 80, 128, 192, 256, 272, 1024, 1040] {
                let msg: Vec<u8> = pattern.iter().copied().cycle().take(len).collect();
                differential(&format!("r={r} s={s} len={len}"), &k, &msg, false);
            }
        }
    }
}

/// Messages of all-0xff bytes under keys whose r has every bit the clamp
/// allows set and s = all ones: every limb is at its maximum, so every
/// carry and the final conditional subtraction are exercised, for each
/// length 0..=600 (all tail shapes after 0..9 vector chunks).
#[test]
fn carry_edge_cases_match_the_references() {
    let max_r = "ffffff0ffcffff0ffcffff0ffcffff0f";
    let keys = [
        key(&format!("{max_r}ffffffffffffffffffffffffffffffff")),
        key(&format!("{max_r}00000000000000000000000000000000")),
        // Unclamped bits set too: the clamp must clear them.
        key("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
    ];
    let ones = [0xffu8; 600];
    for k in &keys {
        for len in 0..=600 {
            differential(&format!("len {len}"), k, &ones[..len], true);
        }
    }
}

/// Deterministic pseudo-random keys and messages (xorshift), all lengths
/// up to 600 plus a few packet-sized ones.
#[test]
fn random_inputs_match_the_references() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut buf = vec![0u8; 32772];
    for b in buf.iter_mut() {
        *b = next() as u8;
    }
    let lens = (0..=600).chain([4095, 4096, 4100, 32768, 32772]);
    for len in lens {
        let mut k = [0u8; 32];
        for b in k.iter_mut() {
            *b = next() as u8;
        }
        let start = (next() % 64) as usize;
        let msg = &buf[start..start + len.min(buf.len() - start)];
        differential(&format!("len {}", msg.len()), &k, msg, true);
    }
}

/// Found by `a3_edge_patterns_through_the_vector_loop`: r = 1, s = 0 and
/// RFC 8439 A.3 #7's message repeated to 64 bytes. The sum of the four
/// blocks with their pad bits is 7·2^128 − 1 ≡ 3·2^128 + 4 (mod p), so the
/// tag is 4 (also what OpenSSL 3.0.19's `openssl mac poly1305` prints).
/// aws-lc 0.47's x86_64 Poly1305 (poly1305_vec.c) returns
/// 040000000000f0ff…ff, 2^52 short: `poly1305_combine` converts limbs with
/// `(t1 >> 18) | (t2 << 8)`, which drops the carry when t1 reached 2^26.
#[test]
fn aws_lc_combine_carry_regression() {
    let k = key("0100000000000000000000000000000000000000000000000000000000000000");
    let msg = hex::decode(
        "fffffffffffffffffffffffffffffffff0ffffffffffffffffffffffffffffff\
         11000000000000000000000000000000ffffffffffffffffffffffffffffffff",
    )
    .unwrap();
    let tag = hex::decode("04000000000000000000000000000000").unwrap();
    assert_eq!(poly1305_bignum(&k, &msg)[..], tag[..], "bignum");
    for (path, got) in all_paths(&k, &msg) {
        assert_eq!(got[..], tag[..], "{path}");
    }
}
