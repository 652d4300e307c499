//! Poly1305 (wharf-crypto's, for chacha20-poly1305@openssh.com): the
//! portable code, the AVX2 code (forced at every length) and the
//! dispatcher must agree with each other and with aws-lc's
//! CRYPTO_poly1305 on any key and message. Where aws-lc disagrees, a
//! big-number evaluation of RFC 8439 §2.5 decides: aws-lc 0.47's x86_64
//! code is wrong on some inputs (see the poly1305 unit tests), and such an
//! input is not a finding against us.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wharf_crypto::packet::fuzzing::{
    poly1305, poly1305_avx2, poly1305_aws_lc, poly1305_bignum, poly1305_scalar,
};

fuzz_target!(|data: &[u8]| {
    let Some((key, msg)) = data.split_first_chunk::<32>() else {
        return;
    };
    let ours = poly1305_scalar(key, msg);
    assert_eq!(poly1305(key, msg), ours, "dispatcher vs scalar");
    if let Some(avx2) = poly1305_avx2(key, msg) {
        assert_eq!(avx2, ours, "avx2 vs scalar");
    }
    if poly1305_aws_lc(key, msg) != ours {
        assert_eq!(
            poly1305_bignum(key, msg),
            ours,
            "ours vs big-number reference"
        );
    }
});
