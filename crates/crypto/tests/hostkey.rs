//! Host keys and signature verification against independent references:
//! key files and fingerprints from ssh-keygen (tests/data, see its
//! README), RFC 8032 and RFC 6979 test vectors, RSA signatures made by
//! `openssl dgst`, and ssh-keygen reading the files we write.

use std::path::{Path, PathBuf};
use std::process::Command;

use wharf_crypto::hostkey::{HostKey, KeyError, KeyKind, PublicKey, SigAlg};

fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn read_data(name: &str) -> String {
    std::fs::read_to_string(data_path(name)).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    hex::decode(s).unwrap()
}

fn ssh_string(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// An mpint from a big-endian magnitude (RFC 4251 §5).
fn ssh_mpint(magnitude: &[u8]) -> Vec<u8> {
    let mut m: &[u8] = magnitude;
    while let [0, rest @ ..] = m {
        m = rest;
    }
    let mut body = Vec::new();
    if m.first().is_some_and(|b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(m);
    ssh_string(&body)
}

fn sig_blob(alg: &str, sig: &[u8]) -> Vec<u8> {
    [ssh_string(alg.as_bytes()), ssh_string(sig)].concat()
}

/// Splits a signature blob into its algorithm name and signature.
fn split_sig(blob: &[u8]) -> (String, Vec<u8>) {
    let n = u32::from_be_bytes(blob[..4].try_into().unwrap()) as usize;
    let name = String::from_utf8(blob[4..4 + n].to_vec()).unwrap();
    let rest = &blob[4 + n..];
    let m = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
    assert_eq!(rest.len(), 4 + m, "signature blob has trailing bytes");
    (name, rest[4..].to_vec())
}

struct Fixture {
    file: &'static str,
    kind: KeyKind,
    /// As printed by `ssh-keygen -lf FILE.pub` when the files were made.
    fingerprint: &'static str,
    sig_algs: &'static [SigAlg],
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        file: "ed25519",
        kind: KeyKind::Ed25519,
        fingerprint: "SHA256:GaqXYloVeSSrptogiG/SsLv+GGvldihAkkzrq3x+z4E",
        sig_algs: &[SigAlg::Ed25519],
    },
    Fixture {
        file: "ecdsa256",
        kind: KeyKind::EcdsaP256,
        fingerprint: "SHA256:mQLUYxaXMCuziJJfP1q6GGE6b4xnmXUMhqtNd1d1juo",
        sig_algs: &[SigAlg::EcdsaP256],
    },
    Fixture {
        file: "ecdsa384",
        kind: KeyKind::EcdsaP384,
        fingerprint: "SHA256:KBQYKcQE62mj+xsQgwgup5jAY12ZSu1cSP+E/CP7mGk",
        sig_algs: &[SigAlg::EcdsaP384],
    },
    Fixture {
        file: "ecdsa521",
        kind: KeyKind::EcdsaP521,
        fingerprint: "SHA256:s6+sphSnTNMgJG99CQvq0VqWmU56807kbvIeIEFNjBM",
        sig_algs: &[SigAlg::EcdsaP521],
    },
    Fixture {
        file: "rsa2048",
        kind: KeyKind::Rsa { bits: 2048 },
        fingerprint: "SHA256:i5BRtNfOg1nB2F61U+pq9lblgHFRhFJRsX4m3CLBh4k",
        sig_algs: &[SigAlg::RsaSha512, SigAlg::RsaSha256, SigAlg::RsaSha1],
    },
    Fixture {
        file: "rsa3072",
        kind: KeyKind::Rsa { bits: 3072 },
        fingerprint: "SHA256:lbrbyDmh69SJ2HiMQqDsEajMQj1+1CzXizMMgjmYCN4",
        sig_algs: &[SigAlg::RsaSha512, SigAlg::RsaSha256, SigAlg::RsaSha1],
    },
];

/// "TYPE BASE64" of a .pub file, without its comment.
fn pub_line(file: &str) -> String {
    let text = read_data(&format!("{file}.pub"));
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn loads_every_type_like_ssh_keygen() {
    for f in FIXTURES {
        let key = HostKey::load(&data_path(f.file)).unwrap_or_else(|e| panic!("{}: {e}", f.file));
        assert_eq!(key.kind(), f.kind, "{}", f.file);
        assert_eq!(key.public_openssh(), pub_line(f.file), "{}", f.file);
        assert_eq!(key.fingerprint_sha256(), f.fingerprint, "{}", f.file);
        assert_eq!(key.sig_algs(), f.sig_algs, "{}", f.file);

        let from_line = PublicKey::from_openssh(&read_data(&format!("{}.pub", f.file))).unwrap();
        let from_blob = PublicKey::from_blob(key.public_blob()).unwrap();
        assert_eq!(from_line, from_blob);
        assert_eq!(from_line.blob(), key.public_blob());
        assert_eq!(from_line.fingerprint_sha256(), f.fingerprint);
        assert_eq!(from_line.to_openssh(), pub_line(f.file));
        assert_eq!(from_line.kind(), f.kind);
        assert_eq!(from_line.key_type_name(), f.sig_algs[0].key_type_name());
    }
}

#[test]
fn signs_and_verifies_with_every_algorithm() {
    let data = b"exchange hash H, or the user authentication data";
    for f in FIXTURES {
        let key = HostKey::load(&data_path(f.file)).unwrap();
        let public = PublicKey::from_blob(key.public_blob()).unwrap();
        for &alg in key.sig_algs() {
            let blob = key.sign(alg, data).unwrap();
            let (name, sig) = split_sig(&blob);
            assert_eq!(name, alg.name());
            assert!(public.accepts_sig_alg(alg, true));
            assert_eq!(
                public.verify(&blob, data, true).unwrap(),
                alg,
                "{} {alg:?}",
                f.file
            );
            if alg == SigAlg::RsaSha1 {
                assert!(!public.accepts_sig_alg(alg, false));
                assert!(matches!(
                    public.verify(&blob, data, false),
                    Err(KeyError::Sha1NotAllowed)
                ));
            } else {
                assert_eq!(public.verify(&blob, data, false).unwrap(), alg);
            }

            // A flipped bit in the data, or anywhere in the signature.
            let mut bad_data = data.to_vec();
            bad_data[7] ^= 0x10;
            assert!(matches!(
                public.verify(&blob, &bad_data, true),
                Err(KeyError::BadSignature)
            ));
            for i in [0, sig.len() / 2, sig.len() - 1] {
                let mut bad_sig = sig.clone();
                bad_sig[i] ^= 0x01;
                assert!(
                    public
                        .verify(&sig_blob(alg.name(), &bad_sig), data, true)
                        .is_err(),
                    "{} {alg:?} byte {i}",
                    f.file
                );
            }
            // Every truncation, and trailing garbage.
            for cut in 0..blob.len() {
                assert!(
                    public.verify(&blob[..cut], data, true).is_err(),
                    "{} cut at {cut}",
                    f.file
                );
            }
            let mut trailing = blob.clone();
            trailing.push(0);
            assert!(matches!(
                public.verify(&trailing, data, true),
                Err(KeyError::Malformed { .. })
            ));
            let mut inner_trailing = sig.clone();
            inner_trailing.push(0);
            assert!(public
                .verify(&sig_blob(alg.name(), &inner_trailing), data, true)
                .is_err());
        }
        // An algorithm the key cannot sign with.
        let foreign = if f.sig_algs[0] == SigAlg::Ed25519 {
            SigAlg::EcdsaP256
        } else {
            SigAlg::Ed25519
        };
        assert!(matches!(
            key.sign(foreign, data),
            Err(KeyError::SigAlgMismatch { .. })
        ));
    }
}

#[test]
fn refuses_signatures_for_another_algorithm() {
    let data = b"data";
    let rsa = HostKey::load(&data_path("rsa2048")).unwrap();
    let rsa_pub = PublicKey::from_blob(rsa.public_blob()).unwrap();
    let ed = HostKey::load(&data_path("ed25519")).unwrap();
    let ed_pub = PublicKey::from_blob(ed.public_blob()).unwrap();
    let p256 = HostKey::load(&data_path("ecdsa256")).unwrap();

    // An Ed25519 signature offered for an RSA key, and the reverse.
    let ed_sig = ed.sign(SigAlg::Ed25519, data).unwrap();
    assert!(matches!(
        rsa_pub.verify(&ed_sig, data, true),
        Err(KeyError::SigAlgMismatch { .. })
    ));
    let rsa_sig = rsa.sign(SigAlg::RsaSha256, data).unwrap();
    assert!(matches!(
        ed_pub.verify(&rsa_sig, data, true),
        Err(KeyError::SigAlgMismatch { .. })
    ));
    // An ECDSA P-256 signature claimed as P-384.
    let (_, inner) = split_sig(&p256.sign(SigAlg::EcdsaP256, data).unwrap());
    let p256_pub = PublicKey::from_blob(p256.public_blob()).unwrap();
    let claimed = sig_blob("ecdsa-sha2-nistp384", &inner);
    assert!(matches!(
        p256_pub.verify(&claimed, data, true),
        Err(KeyError::SigAlgMismatch { .. })
    ));

    // rsa-sha2-256 signature bytes claimed as rsa-sha2-512 (and as ssh-rsa).
    let (_, inner) = split_sig(&rsa_sig);
    let as_512 = sig_blob("rsa-sha2-512", &inner);
    assert!(matches!(
        rsa_pub.verify(&as_512, data, true),
        Err(KeyError::BadSignature)
    ));
    let as_sha1 = sig_blob("ssh-rsa", &inner);
    assert!(matches!(
        rsa_pub.verify(&as_sha1, data, true),
        Err(KeyError::BadSignature)
    ));
    assert!(matches!(
        rsa_pub.verify(&as_sha1, data, false),
        Err(KeyError::Sha1NotAllowed)
    ));
    // Unknown names.
    let unknown = sig_blob("rsa-sha2-384", &inner);
    assert!(matches!(
        rsa_pub.verify(&unknown, data, true),
        Err(KeyError::UnknownSigAlg(_))
    ));
}

#[test]
fn rsa_signatures_match_openssl() {
    // Made with: ssh-keygen -p -m PEM on a copy of tests/data/rsa2048, then
    // printf 'The quick brown fox jumps over the lazy dog' |
    //   openssl dgst -sha256|-sha512|-sha1 -sign rsa2048.pem
    // RSASSA-PKCS1-v1_5 is deterministic, so ours must be byte-identical.
    let msg = b"The quick brown fox jumps over the lazy dog";
    let expected = [
        (
            SigAlg::RsaSha256,
            "391aa8eecfb35637b934edb3f3971b13e91a86b2efe680bdf2eb3d0675d1fd58207bbbfd9f56e0b9aeb2672c6397075485d4b2f88aa58122fe4dbe7f3fa63891cdff200ab84e47b45edf5d7f73d14a4cbfa44b9f83169ba859bee483151832eeb1d9c803ae3a196d0a45000e6fb61a88b4628e62ce7d5c9d147e19eb9f73deb0a5502ea0756bdcb930b3450f3ed2327d44aaa12be6996c96bfa2699086a7914499208c32df8c3314b826a906bb3e079edbf145e6a9d015ffdf8f35d36c2e1c094f68512971161a9cfc612905e7905bc3324df21707e23bb8ef954f52cc0d0180c5be67d62e045dbcb7c0adff89bc8e0016273fe68b4415ae7a23ecd9dd80f7d1",
        ),
        (
            SigAlg::RsaSha512,
            "09beaa2af3f8b6b15e7a5f4bc861c6ff2dcf7adf0d34c9feb39e5270e445e603aad9c956089a9919c6a6448e4681bb00bac81ffc74cc0b0095648177836db6ac06830ec6b3a71bf42ec380e879faa02ca88cc797a856f48ec02171d463e033d5480a464c657c940da5fec1e6fcde58f3fcb24947aaf593d1cc44a0559d655f9e4c6aace889e2abd3b0cec39b2173cf5be205faac37b9756c73ae209f5846df77757536810ff4a9f982ab40e1c72ee936b6b54c97155ffbc46ae45316010eeafd319158c2dbe1ab374e7a6d5044273541e6af15d91da44729c7b8ecaf10baa98250b951ca7e366c53301cd760a7dfe480db7b776cc7119569c15418775ed4dcb4",
        ),
        (
            SigAlg::RsaSha1,
            "58ef703e739739f68da98565cae42043c07f0111590d86883f6bade8565b9b97c8ad08b6483c001f9f154a9dd31431d34779df81222869685ce21f104d9319be67776668122195763b9259ee03afa31430b5ac5a8ce898f55d94758afcd412eaf6711e76cd5bd1af2c1bab89957e89306528c4ee325a255feda5bb88ac68aaae7609f64300e84603d20d65b51df59286a3e8c31153936028310508032a24097cd86e8a5f5f89ea98c92fcc0257b4666707f6ba6e2c1f7f534577bc43c2bcb29a768520568d16fd6502ad0f00d825e94b52cf9d5f31a156eb501cb3feb14ebe1449a280ee58b9cc04f6c2ab7d1387ecd4c78ee16d80094ab984ba13f6a200e651",
        ),
    ];
    let key = HostKey::load(&data_path("rsa2048")).unwrap();
    let public = PublicKey::from_blob(key.public_blob()).unwrap();
    for (alg, hex_sig) in expected {
        let openssl_sig = unhex(hex_sig);
        let (name, ours) = split_sig(&key.sign(alg, msg).unwrap());
        assert_eq!(name, alg.name());
        assert_eq!(ours, openssl_sig, "{alg:?}");
        assert_eq!(
            public
                .verify(&sig_blob(alg.name(), &openssl_sig), msg, true)
                .unwrap(),
            alg
        );
    }
}

#[test]
fn rsa_short_signature_is_padded_like_openssh() {
    // Find a signature with a leading zero byte, drop it, and check it
    // still verifies (OpenSSH's ssh-rsa.c accepts these).
    let key = HostKey::load(&data_path("rsa2048")).unwrap();
    let public = PublicKey::from_blob(key.public_blob()).unwrap();
    let found = (0u32..2000).find_map(|i| {
        let msg = i.to_be_bytes();
        let (_, sig) = split_sig(&key.sign(SigAlg::RsaSha256, &msg).unwrap());
        (sig[0] == 0).then_some((msg, sig))
    });
    let (msg, sig) = found.expect("no leading-zero signature in 2000 tries (p ≈ 4e-4)");
    let short = sig_blob("rsa-sha2-256", &sig[1..]);
    assert_eq!(
        public.verify(&short, &msg, false).unwrap(),
        SigAlg::RsaSha256
    );
    let mut long = vec![0];
    long.extend_from_slice(&sig);
    assert!(public
        .verify(&sig_blob("rsa-sha2-256", &long), &msg, false)
        .is_err());
}

#[test]
fn rsa_keys_under_2048_bits_are_refused() {
    // An openssl-made rsa-sha2-256 signature that is otherwise valid.
    let msg = b"The quick brown fox jumps over the lazy dog";
    let sig = unhex("1a98d8e098a38c0f8bb5a19e2d1e75139370f4fb1c5fd0ed2c10d99719a82baa992c2bad17295ab81138b50e21f381301181da689e2a52aebcf9dec535bc05b372e47e966edf83b215cf58d12425b6082ea48309720d5240e7a205f487c1bbd412ec509391cc4046cd92efaf6251dacd1a18bc8f4b3e47779189051990292d32");
    let public = PublicKey::from_openssh(&read_data("rsa1024.pub")).unwrap();
    assert_eq!(public.kind(), KeyKind::Rsa { bits: 1024 });
    assert_eq!(
        public.fingerprint_sha256(),
        "SHA256:rcqYfTUdIrlEj110UbxqMVMiMbtzkP8j5Y6DxFlZ0qQ"
    );
    let err = public
        .verify(&sig_blob("rsa-sha2-256", &sig), msg, true)
        .unwrap_err();
    assert!(
        matches!(err, KeyError::RsaKeyTooSmall { bits: 1024 }),
        "{err}"
    );

    let err = HostKey::load(&data_path("rsa1024")).unwrap_err();
    assert!(
        matches!(&err, KeyError::File { error, .. } if matches!(**error, KeyError::RsaKeyTooSmall { bits: 1024 })),
        "{err}"
    );
}

/// RFC 8032 §7.1, TEST 1 to 3: (secret key, public key, message, signature).
const RFC8032: [(&str, &str, &str, &str); 3] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
];

#[test]
fn ed25519_rfc8032_vectors() {
    use ssh_key::private::{Ed25519Keypair, Ed25519PrivateKey, KeypairData};
    use ssh_key::public::Ed25519PublicKey;
    for (secret, public, message, signature) in RFC8032 {
        let (seed, pk, msg, expected) = (
            unhex(secret),
            unhex(public),
            unhex(message),
            unhex(signature),
        );
        // The key file is written by ssh-key, an independent encoder.
        let pair = Ed25519Keypair {
            public: Ed25519PublicKey(pk.clone().try_into().unwrap()),
            private: Ed25519PrivateKey::from_bytes(&seed.try_into().unwrap()),
        };
        let file = ssh_key::PrivateKey::new(KeypairData::Ed25519(pair), "rfc8032")
            .unwrap()
            .to_openssh(ssh_key::LineEnding::LF)
            .unwrap();
        let key = HostKey::from_openssh(&file).unwrap();
        assert_eq!(
            key.public_blob(),
            [ssh_string(b"ssh-ed25519"), ssh_string(&pk)].concat()
        );
        let blob = key.sign(SigAlg::Ed25519, &msg).unwrap();
        assert_eq!(blob, sig_blob("ssh-ed25519", &expected));

        let verifier = PublicKey::from_blob(key.public_blob()).unwrap();
        assert_eq!(
            verifier.verify(&blob, &msg, false).unwrap(),
            SigAlg::Ed25519
        );
        let mut other = msg.clone();
        other.push(0);
        assert!(matches!(
            verifier.verify(&blob, &other, false),
            Err(KeyError::BadSignature)
        ));
        // 63- and 65-byte signatures.
        assert!(verifier
            .verify(&sig_blob("ssh-ed25519", &expected[..63]), &msg, false)
            .is_err());
        let mut long = expected.clone();
        long.push(0);
        assert!(verifier
            .verify(&sig_blob("ssh-ed25519", &long), &msg, false)
            .is_err());
    }
}

/// RFC 6979 appendix A.2.5–A.2.7 (message "sample", SHA-256/384/512 for
/// P-256/384/521): key type, curve, Ux, Uy, r, s, and the group order q.
const RFC6979: [(&str, &str, &str, &str, &str, &str, &str); 3] = [
    (
        "ecdsa-sha2-nistp256",
        "nistp256",
        "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6",
        "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
        "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
        "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
        "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
    ),
    (
        "ecdsa-sha2-nistp384",
        "nistp384",
        "EC3A4E415B4E19A4568618029F427FA5DA9A8BC4AE92E02E06AAE5286B300C64 DEF8F0EA9055866064A254515480BC13",
        "8015D9B72D7D57244EA8EF9AC0C621896708A59367F9DFB9F54CA84B3F1C9DB1 288B231C3AE0D4FE7344FD2533264720",
        "94EDBB92A5ECB8AAD4736E56C691916B3F88140666CE9FA73D64C4EA95AD133C 81A648152E44ACF96E36DD1E80FABE46",
        "99EF4AEB15F178CEA1FE40DB2603138F130E740A19624526203B6351D0A3A94F A329C145786E679E7B82C71A38628AC8",
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF 581A0DB248B0A77AECEC196ACCC52973",
    ),
    (
        "ecdsa-sha2-nistp521",
        "nistp521",
        "01894550D0785932E00EAA23B694F213F8C3121F86DC97A04E5A7167DB4E5BCD3 71123D46E45DB6B5D5370A7F20FB633155D38FFA16D2BD761DCAC474B9A2F5023A4",
        "00493101C962CD4D2FDDF782285E64584139C2F91B47F87FF82354D6630F746A2 8A0DB25741B5B34A828008B22ACC23F924FAAFBD4D33F81EA66956DFEAA2BFDFCF5",
        "00C328FAFCBD79DD77850370C46325D987CB525569FB63C5D3BC53950E6D4C5F1 74E25A1EE9017B5D450606ADD152B534931D7D4E8455CC91F9B15BF05EC36E377FA",
        "00617CCE7CF5064806C467F678D3B4080D6F1CC50AF26CA209417308281B68AF2 82623EAA63E5B5C0723D8B8C37FF0777B1A20F8CCB1DCCC43997F1EE0E44DA4A67A",
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF FFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
    ),
];

#[test]
fn ecdsa_rfc6979_vectors_and_range_checks() {
    let msg = b"sample";
    for (key_type, curve, ux, uy, r, s, q) in RFC6979 {
        let point = [vec![4], unhex(ux), unhex(uy)].concat();
        let blob = [
            ssh_string(key_type.as_bytes()),
            ssh_string(curve.as_bytes()),
            ssh_string(&point),
        ]
        .concat();
        let key = PublicKey::from_blob(&blob).unwrap();
        let (r, s, q) = (unhex(r), unhex(s), unhex(q));
        let sig = |r: &[u8], s: &[u8]| sig_blob(key_type, &[ssh_mpint(r), ssh_mpint(s)].concat());

        let alg = SigAlg::from_name(key_type).unwrap();
        assert_eq!(
            key.verify(&sig(&r, &s), msg, false).unwrap(),
            alg,
            "{key_type}"
        );
        assert!(matches!(
            key.verify(&sig(&r, &s), b"test", false),
            Err(KeyError::BadSignature)
        ));
        assert!(matches!(
            key.verify(&sig(&s, &r), msg, false),
            Err(KeyError::BadSignature)
        ));
        // r or s zero, equal to the group order, or all ones.
        let ones = vec![0xff; q.len()];
        for bad in [&[][..], &[0][..], &q, &ones] {
            assert!(
                key.verify(&sig(bad, &s), msg, false).is_err(),
                "{key_type} r={bad:02x?}"
            );
            assert!(
                key.verify(&sig(&r, bad), msg, false).is_err(),
                "{key_type} s={bad:02x?}"
            );
        }
        // A signature with a third mpint, or a negative one.
        let extra = sig_blob(
            key_type,
            &[ssh_mpint(&r), ssh_mpint(&s), ssh_mpint(&[1])].concat(),
        );
        assert!(key.verify(&extra, msg, false).is_err());
        let negative = sig_blob(key_type, &[ssh_mpint(&r), ssh_string(&[0x80, 1])].concat());
        assert!(key.verify(&negative, msg, false).is_err());
    }
}

#[test]
fn round_trips_through_to_openssh() {
    for f in FIXTURES {
        let key = HostKey::load(&data_path(f.file)).unwrap();
        let text = key.to_openssh("round trip").unwrap();
        assert!(text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert!(text.lines().all(|l| l.len() <= 70));
        let again = HostKey::from_openssh(&text).unwrap();
        assert_eq!(again.public_blob(), key.public_blob());
        let sig = again.sign(f.sig_algs[0], b"x").unwrap();
        PublicKey::from_blob(key.public_blob())
            .unwrap()
            .verify(&sig, b"x", false)
            .unwrap();
        ssh_keygen_reads(&text, &key.public_openssh(), f.file);
    }
    // ssh-key (an independent parser) reads what we write, where it can:
    // it has no ECDSA support without its RustCrypto backends.
    for file in ["ed25519", "rsa2048"] {
        let key = HostKey::load(&data_path(file)).unwrap();
        let parsed =
            ssh_key::PrivateKey::from_openssh(key.to_openssh("c").unwrap().as_bytes()).unwrap();
        assert_eq!(parsed.public_key().to_bytes().unwrap(), key.public_blob());
        assert_eq!(parsed.comment(), "c");
    }
}

#[test]
fn generated_keys_round_trip() {
    let kinds = [
        KeyKind::Ed25519,
        KeyKind::EcdsaP256,
        KeyKind::EcdsaP384,
        KeyKind::EcdsaP521,
        KeyKind::Rsa { bits: 3072 },
    ];
    for kind in kinds {
        let key = HostKey::generate(kind).unwrap();
        assert_eq!(key.kind(), kind);
        let text = key.to_openssh("wharf generated").unwrap();
        let again = HostKey::from_openssh(&text).unwrap();
        assert_eq!(again.public_blob(), key.public_blob());
        assert_eq!(again.fingerprint_sha256(), key.fingerprint_sha256());
        let public = PublicKey::from_openssh(&key.public_openssh()).unwrap();
        for &alg in key.sig_algs() {
            assert_eq!(
                public
                    .verify(&again.sign(alg, b"m").unwrap(), b"m", true)
                    .unwrap(),
                alg
            );
        }
        ssh_keygen_reads(&text, &key.public_openssh(), &format!("{kind:?}"));
    }
    assert!(matches!(
        HostKey::generate(KeyKind::Rsa { bits: 1024 }),
        Err(KeyError::UnsupportedKeySize(1024))
    ));
}

/// Writes `text` to a 0600 temporary file and checks that `ssh-keygen -y`
/// derives `expected_public` from it. Skipped, with a note, without
/// ssh-keygen.
fn ssh_keygen_reads(text: &str, expected_public: &str, label: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = std::env::temp_dir().join(format!(
        "wharf-hostkey-test-{}-{}",
        std::process::id(),
        label.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
    drop(file);
    let output = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&path)
        .output();
    std::fs::remove_file(&path).unwrap();
    match output {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("note: ssh-keygen not on PATH; skipping the OpenSSH cross-check for {label}");
        }
        Err(e) => panic!("running ssh-keygen: {e}"),
        Ok(out) => {
            assert!(
                out.status.success(),
                "ssh-keygen -y failed for {label}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let printed = String::from_utf8(out.stdout).unwrap();
            let printed: Vec<&str> = printed.split_whitespace().take(2).collect();
            assert_eq!(printed.join(" "), expected_public, "{label}");
        }
    }
}

#[test]
fn encrypted_key_file_gives_a_clear_error() {
    let path = data_path("ed25519_encrypted");
    let err = HostKey::load(&path).unwrap_err();
    assert!(
        matches!(&err, KeyError::File { error, .. } if matches!(**error, KeyError::Encrypted)),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("key file is encrypted; host keys must be unencrypted"),
        "{message}"
    );
    assert!(message.contains("ed25519_encrypted"), "{message}");
    assert!(matches!(
        HostKey::from_openssh(&read_data("ed25519_encrypted")),
        Err(KeyError::Encrypted)
    ));
}

#[test]
fn load_errors_name_the_path_and_the_problem() {
    let missing = data_path("no-such-key");
    let err = HostKey::load(&missing).unwrap_err();
    assert!(
        matches!(&err, KeyError::Read { error, .. } if error.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(err.to_string().contains("no-such-key"));

    let err = HostKey::load(&data_path("ed25519.pub")).unwrap_err();
    assert!(err.to_string().contains("a public key"), "{err}");
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n";
    assert!(matches!(
        HostKey::from_openssh(pem),
        Err(KeyError::UnsupportedFormat(_))
    ));
    assert!(matches!(
        HostKey::from_openssh("PuTTY-User-Key-File-3: ssh-ed25519\n"),
        Err(KeyError::UnsupportedFormat(_))
    ));
}

#[test]
fn corrupt_key_files_are_refused() {
    let text = read_data("ed25519");
    let lines: Vec<&str> = text.lines().collect();
    // Dropping a line, a character, or the END line.
    let mut short = lines.clone();
    short.remove(2);
    assert!(HostKey::from_openssh(&short.join("\n")).is_err());
    assert!(HostKey::from_openssh(&text.replacen("AAAA", "AAA", 1)).is_err());
    assert!(HostKey::from_openssh(&lines[..lines.len() - 1].join("\n")).is_err());
    assert!(HostKey::from_openssh("").is_err());
    // The header's public key edited: the binary starts with the magic
    // (15 bytes), "none", "none", "" and the key count (24 bytes), then
    // string(blob); an Ed25519 blob ends with its 32-byte key at bytes
    // 62..94, which base64 characters 84..124 cover.
    let body: String = lines[1..lines.len() - 1].concat();
    let at = 100;
    let replacement = if &body[at..=at] == "A" { "B" } else { "A" };
    let mut edited = body.clone();
    edited.replace_range(at..=at, replacement);
    let file = format!("{}\n{edited}\n{}\n", lines[0], lines[lines.len() - 1]);
    let err = HostKey::from_openssh(&file).unwrap_err();
    assert!(matches!(err, KeyError::InconsistentKey(_)), "{err}");
    // The same edit near the end, inside the private section.
    let mut edited = body.clone();
    let at = body.len() - 60;
    let replacement = if &body[at..=at] == "A" { "B" } else { "A" };
    edited.replace_range(at..=at, replacement);
    let file = format!("{}\n{edited}\n{}\n", lines[0], lines[lines.len() - 1]);
    assert!(HostKey::from_openssh(&file).is_err());
    // Unchanged, the joined single-line body still loads.
    let file = format!("{}\n{body}\n{}\n", lines[0], lines[lines.len() - 1]);
    assert_eq!(
        HostKey::from_openssh(&file).unwrap().public_openssh(),
        pub_line("ed25519")
    );
}

#[test]
fn keys_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<HostKey>();
    assert_send_sync::<PublicKey>();
    assert_send_sync::<KeyError>();
}

#[test]
fn public_key_lines() {
    let ed_line = read_data("ed25519.pub");
    let key = PublicKey::from_openssh(&ed_line).unwrap();
    assert_eq!(key.key_type_name(), "ssh-ed25519");
    assert!(key.accepts_sig_alg(SigAlg::Ed25519, false));
    assert!(!key.accepts_sig_alg(SigAlg::RsaSha256, true));
    // No comment, extra whitespace.
    assert_eq!(
        PublicKey::from_openssh(&format!("  {}\t", pub_line("ed25519"))).unwrap(),
        key
    );
    // Type that does not match the blob, bad base64, missing base64, options.
    let b64 = pub_line("ed25519").split(' ').nth(1).unwrap().to_string();
    assert!(PublicKey::from_openssh(&format!("ssh-rsa {b64}")).is_err());
    assert!(PublicKey::from_openssh(&format!("ssh-ed25519 {}!", &b64[..b64.len() - 1])).is_err());
    assert!(PublicKey::from_openssh("ssh-ed25519").is_err());
    assert!(PublicKey::from_openssh(&format!("no-pty ssh-ed25519 {b64}")).is_err());

    let rsa = PublicKey::from_openssh(&read_data("rsa2048.pub")).unwrap();
    assert!(rsa.accepts_sig_alg(SigAlg::RsaSha512, false));
    assert!(rsa.accepts_sig_alg(SigAlg::RsaSha256, false));
    assert!(!rsa.accepts_sig_alg(SigAlg::RsaSha1, false));
    assert!(rsa.accepts_sig_alg(SigAlg::RsaSha1, true));
    assert!(!rsa.accepts_sig_alg(SigAlg::Ed25519, true));
}
