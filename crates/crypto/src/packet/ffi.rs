//! Direct calls into aws-lc (through aws-lc-sys) for what aws-lc-rs does
//! not expose: the raw ChaCha20 stream with an explicit block counter, and
//! (for tests and fuzzing only) aws-lc's own Poly1305 as a reference.
//!
//! Why unsafe: these are C functions taking raw pointers and lengths. Each
//! call passes pointers derived from Rust references of exactly the sizes
//! the C prototype documents, and the C code keeps none of them after it
//! returns. This module is the crate's only FFI.

/// ChaCha20 (RFC 8439 §2.4) in place: XORs `buf` with the keystream of
/// `key` and the 96-bit `nonce`, starting at block `counter`.
///
/// aws-lc's x86_64 assembly (AVX2/AVX-512 where present) does the work.
/// When the 32-bit block counter would pass 2^32 − 1, aws-lc continues at
/// block 0; callers that must not wrap bound `buf` themselves.
pub(crate) fn chacha20_xor_in_place(
    key: &[u8; 32],
    nonce: &[u8; 12],
    counter: u32,
    buf: &mut [u8],
) {
    let p = buf.as_mut_ptr();
    // SAFETY: `CRYPTO_chacha_20(out, in, in_len, key[32], nonce[12],
    // counter)` reads `in_len` bytes at `in` and writes `in_len` bytes at
    // `out`; both are `p`, valid for reads and writes of `buf.len()` bytes
    // and exclusively borrowed for the call, and `in == out` is the one
    // overlap aws-lc allows (chacha.c asserts exactly that). `key` and
    // `nonce` point to arrays of the sizes the prototype declares, and the
    // x86_64 code has no alignment requirement on the key.
    unsafe {
        aws_lc_sys::CRYPTO_chacha_20(p, p, buf.len(), key.as_ptr(), nonce.as_ptr(), counter);
    }
}

/// aws-lc's Poly1305 of `msg` under `key`: the reference that tests and the
/// fuzz target compare ours against.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn poly1305_aws_lc(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
    // aws-lc's `poly1305_state` is an opaque 512-byte buffer that the C
    // code aligns internally.
    let mut state: aws_lc_sys::poly1305_state = [0u8; 512];
    let mut tag = [0u8; 16];
    // SAFETY: `state` is a live, exclusively borrowed `poly1305_state`;
    // `key` is the 32 bytes `CRYPTO_poly1305_init` reads; `msg` is valid
    // for `msg.len()` bytes of reads; `tag` is the 16 bytes
    // `CRYPTO_poly1305_finish` writes. No pointer outlives its call.
    unsafe {
        aws_lc_sys::CRYPTO_poly1305_init(&mut state, key.as_ptr());
        aws_lc_sys::CRYPTO_poly1305_update(&mut state, msg.as_ptr(), msg.len());
        aws_lc_sys::CRYPTO_poly1305_finish(&mut state, tag.as_mut_ptr());
    }
    tag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn hex12(s: &str) -> [u8; 12] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// RFC 8439 Appendix A.1, ChaCha20 block function test vectors #1-#5:
    /// the serialized block is the keystream, i.e. what XOR onto zeros
    /// gives.
    #[test]
    fn rfc8439_a1_block_vectors() {
        let vectors: [(&str, &str, u32, &str); 5] = [
            (
                "0000000000000000000000000000000000000000000000000000000000000000",
                "000000000000000000000000",
                0,
                "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
                 da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
            ),
            (
                "0000000000000000000000000000000000000000000000000000000000000000",
                "000000000000000000000000",
                1,
                "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed\
                 29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f",
            ),
            (
                "0000000000000000000000000000000000000000000000000000000000000001",
                "000000000000000000000000",
                1,
                "3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a\
                 8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0",
            ),
            (
                "00ff000000000000000000000000000000000000000000000000000000000000",
                "000000000000000000000000",
                2,
                "72d54dfbf12ec44b362692df94137f328fea8da73990265ec1bbbea1ae9af0ca\
                 13b25aa26cb4a648cb9b9d1be65b2c0924a66c54d545ec1b7374f4872e99f096",
            ),
            (
                "0000000000000000000000000000000000000000000000000000000000000000",
                "000000000000000000000002",
                0,
                "c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c7\
                 8a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d",
            ),
        ];
        for (i, (key, nonce, counter, block)) in vectors.iter().enumerate() {
            let mut buf = [0u8; 64];
            chacha20_xor_in_place(&hex32(key), &hex12(nonce), *counter, &mut buf);
            assert_eq!(hex::encode(buf), *block, "A.1 test vector #{}", i + 1);
        }
    }

    /// RFC 8439 Appendix A.2, test vector #3 (127 bytes from block 42):
    /// a partial last block and a counter other than 0 or 1; decrypting
    /// gives the plaintext back.
    #[test]
    fn rfc8439_a2_vector_3_encrypts_and_decrypts() {
        let key = hex32("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
        let nonce = hex12("000000000000000000000002");
        let plain = hex::decode(
            "2754776173206272696c6c69672c20616e642074686520736c6974687920746f\
             7665730a446964206779726520616e642067696d626c6520696e207468652077\
             6162653a0a416c6c206d696d737920776572652074686520626f726f676f7665\
             732c0a416e6420746865206d6f6d65207261746873206f757467726162652e",
        )
        .unwrap();
        let cipher = "62e6347f95ed87a45ffae7426f27a1df5fb69110044c0d73118effa95b01e5cf\
                      166d3df2d721caf9b21e5fb14c616871fd84c54f9d65b283196c7fe4f60553eb\
                      f39c6402c42234e32a356b3e764312a61a5532055716ead6962568f87d3f3f77\
                      04c6a8d1bcd1bf4d50d6154b6da731b187b58dfd728afa36757a797ac188d1";
        let mut buf = plain.clone();
        chacha20_xor_in_place(&key, &nonce, 42, &mut buf);
        assert_eq!(hex::encode(&buf), cipher);
        chacha20_xor_in_place(&key, &nonce, 42, &mut buf);
        assert_eq!(buf, plain);
    }

    /// RFC 8439 §2.5.2 through aws-lc's Poly1305, so the reference the
    /// differential tests trust is itself pinned to the RFC.
    #[test]
    fn aws_lc_poly1305_reference_matches_rfc8439_2_5_2() {
        let key = hex32("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
        let tag = poly1305_aws_lc(&key, b"Cryptographic Forum Research Group");
        assert_eq!(hex::encode(tag), "a8061dc1305136c6c22b8baf0c0127a9");
    }
}
