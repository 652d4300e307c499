//! Tests of the key-exchange methods: published vectors through the
//! server's code path, a test-only client for every [`KexAlg`] that checks
//! both sides derive the same K, and rejection of hostile client values.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};
use aws_lc_rs::kem;

use super::curve::{self, Nist};
use super::dh::test_support;
use super::*;
use crate::hash::{HashAlg, Hasher};

fn unhex(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(clean).expect("test vector hex")
}

/// RFC 4251 §5 mpint encoding, written independently of the module's
/// encoder so the two check each other.
fn mpint(unsigned: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = unsigned.iter().copied().skip_while(|&b| b == 0).collect();
    if v.first().is_some_and(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    let mut out = (v.len() as u32).to_be_bytes().to_vec();
    out.extend(v);
    out
}

fn string(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// True if `content` is a canonical positive mpint content.
fn is_canonical_positive_mpint(content: &[u8]) -> bool {
    match content {
        [] => true,
        [first, ..] if first & 0x80 != 0 => false,
        [0, rest @ ..] => rest.first().is_some_and(|b| b & 0x80 != 0),
        _ => true,
    }
}

// ---------------------------------------------------------------- KexAlg

#[test]
fn names_round_trip_and_are_unique() {
    for (i, alg) in KexAlg::ALL.iter().enumerate() {
        assert_eq!(KexAlg::from_name(alg.name()), Some(*alg));
        assert_eq!(alg.to_string(), alg.name());
        assert!(!KexAlg::ALL[..i].contains(alg), "{alg} listed twice");
    }
    assert_eq!(KexAlg::ALL.len(), 15);
    assert_eq!(
        KexAlg::from_name("curve25519-sha256"),
        Some(KexAlg::Curve25519Sha256)
    );
    assert_eq!(
        KexAlg::from_name("sntrup761x25519-sha512@openssh.com"),
        Some(KexAlg::Sntrup761X25519Sha512Openssh)
    );
    assert_eq!(
        KexAlg::from_name("diffie-hellman-group1-sha1"),
        Some(KexAlg::Dh1Sha1)
    );
    assert_eq!(KexAlg::from_name("Curve25519-sha256"), None);
    assert_eq!(KexAlg::from_name("ext-info-c"), None);
    assert_eq!(KexAlg::from_name(""), None);
}

/// OpenSSH 9.9 myproposal.h KEX_SERVER_KEX, then the legacy methods.
#[test]
fn default_order_is_openssh_9_9() {
    let names: Vec<&str> = KexAlg::ALL.iter().map(|a| a.name()).collect();
    assert_eq!(
        names,
        [
            "sntrup761x25519-sha512",
            "sntrup761x25519-sha512@openssh.com",
            "mlkem768x25519-sha256",
            "curve25519-sha256",
            "curve25519-sha256@libssh.org",
            "ecdh-sha2-nistp256",
            "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp521",
            "diffie-hellman-group-exchange-sha256",
            "diffie-hellman-group16-sha512",
            "diffie-hellman-group18-sha512",
            "diffie-hellman-group14-sha256",
            "diffie-hellman-group14-sha1",
            "diffie-hellman-group-exchange-sha1",
            "diffie-hellman-group1-sha1",
        ]
    );
    let first_legacy = KexAlg::ALL.iter().position(|a| a.is_legacy()).unwrap();
    assert!(KexAlg::ALL[first_legacy..].iter().all(|a| a.is_legacy()));
}

#[test]
fn hash_and_kind() {
    use KexAlg::*;
    let sha256 = [
        MlKem768X25519Sha256,
        Curve25519Sha256,
        Curve25519Sha256Libssh,
        EcdhSha2Nistp256,
        DhGexSha256,
        Dh14Sha256,
    ];
    let sha512 = [
        Sntrup761X25519Sha512,
        Sntrup761X25519Sha512Openssh,
        EcdhSha2Nistp521,
        Dh16Sha512,
        Dh18Sha512,
    ];
    for a in sha256 {
        assert_eq!(a.hash(), HashAlg::Sha256, "{a}");
    }
    for a in sha512 {
        assert_eq!(a.hash(), HashAlg::Sha512, "{a}");
    }
    assert_eq!(EcdhSha2Nistp384.hash(), HashAlg::Sha384);
    for a in [Dh14Sha1, DhGexSha1, Dh1Sha1] {
        assert_eq!(a.hash(), HashAlg::Sha1);
        assert!(a.is_legacy());
    }
    let gex: Vec<KexAlg> = KexAlg::ALL
        .iter()
        .copied()
        .filter(|a| a.is_group_exchange())
        .collect();
    assert_eq!(gex, [DhGexSha256, DhGexSha1]);
}

#[test]
fn group_exchange_methods_are_refused_by_server_exchange() {
    for alg in [KexAlg::DhGexSha256, KexAlg::DhGexSha1] {
        let e = [0x12, 0x34, 0x56, 0x78];
        assert!(matches!(
            server_exchange(alg, &e),
            Err(KexError::Unsupported { .. })
        ));
    }
}

// ---------------------------------------------------------------- encoding

/// RFC 4251 §5's mpint examples (the non-negative ones).
#[test]
fn rfc4251_mpint_examples() {
    assert_eq!(
        SharedSecret::from_unsigned_be(&[]).encoded(),
        unhex("00000000")
    );
    assert_eq!(
        SharedSecret::from_unsigned_be(&[0, 0, 0]).encoded(),
        unhex("00000000")
    );
    assert_eq!(
        SharedSecret::from_unsigned_be(&unhex("09a378f9b2e332a7")).encoded(),
        unhex("00000008 09a378f9b2e332a7")
    );
    assert_eq!(
        SharedSecret::from_unsigned_be(&[0x80]).encoded(),
        unhex("00000002 0080")
    );
    // Leading zero bytes of a fixed-width value are dropped.
    assert_eq!(
        SharedSecret::from_unsigned_be(&unhex("0000ff01")).encoded(),
        unhex("00000003 00ff01")
    );
}

#[test]
fn shared_secret_debug_is_redacted() {
    let k = SharedSecret::from_string(b"secret bytes");
    assert_eq!(format!("{k:?}"), "SharedSecret(..)");
    assert_eq!(k.encoded(), string(b"secret bytes"));
}

// ---------------------------------------------------------------- X25519

/// RFC 7748 §5.2: the two scalar-multiplication vectors, run as a server
/// whose private key is the scalar and a client sending the u-coordinate.
/// Vector 1's output has its top bit set (mpint gets a 0x00 pad); vector
/// 2's input u has bit 255 set, which X25519 must ignore, not reject.
#[test]
fn rfc7748_section_5_2_vectors() {
    let vectors = [
        (
            "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
            "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
        ),
        (
            "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
            "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
        ),
    ];
    for (scalar, u, out) in vectors {
        let key = PrivateKey::from_private_key(&agreement::X25519, &unhex(scalar)).unwrap();
        let reply = curve::x25519_with_key(&key, "curve25519-sha256", &unhex(u)).unwrap();
        assert_eq!(reply.shared_secret.encoded(), mpint(&unhex(out)));
    }
    assert_eq!(
        &mpint(&unhex(vectors[0].2))[..6],
        &unhex("00000021 00c3")[..]
    );
}

/// RFC 7748 §6.1: Alice and Bob. The server (Bob) must send Bob's public
/// key and derive the published K; and the other way round.
#[test]
fn rfc7748_section_6_1_diffie_hellman() {
    let alice_priv = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    let alice_pub = unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    let bob_priv = unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    let bob_pub = unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    let k = unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    for (server_priv, server_pub, client_pub) in [
        (&bob_priv, &bob_pub, &alice_pub),
        (&alice_priv, &alice_pub, &bob_pub),
    ] {
        let key = PrivateKey::from_private_key(&agreement::X25519, server_priv).unwrap();
        let reply = curve::x25519_with_key(&key, "curve25519-sha256", client_pub).unwrap();
        assert_eq!(&reply.server_public, server_pub);
        assert_eq!(reply.shared_secret.encoded(), mpint(&k));
    }
}

/// Low-order points give the all-zero output, which RFC 8731 §3 requires
/// the server to refuse. The points: 0, 1, a point of order 8, and p
/// itself (non-canonical encoding of 0), from the list in Bernstein's
/// Curve25519 page "Computing secret keys" / libsodium's blocklist.
#[test]
fn x25519_low_order_points_are_refused() {
    let points = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    for p in points {
        for alg in [KexAlg::Curve25519Sha256, KexAlg::Curve25519Sha256Libssh] {
            let err = server_exchange(alg, &unhex(p)).unwrap_err();
            assert!(
                matches!(err, KexError::ZeroSharedSecret { .. }),
                "{p}: {err}"
            );
        }
    }
}

#[test]
fn x25519_wrong_lengths_are_refused() {
    for len in [0usize, 31, 33, 65] {
        let err = server_exchange(KexAlg::Curve25519Sha256, &vec![9u8; len]).unwrap_err();
        assert!(
            matches!(err, KexError::WrongLength { expected: 32, got, .. } if got == len),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------- NIST ECDH

struct Rfc5903 {
    curve: Nist,
    /// Responder's private key r (the server here).
    r: &'static str,
    /// Initiator's public point (the client's Q_C).
    gix: &'static str,
    giy: &'static str,
    /// Responder's public point (our Q_S).
    grx: &'static str,
    gry: &'static str,
    /// x-coordinate of the shared point: K.
    girx: &'static str,
}

/// RFC 5903 §8.1–8.3 (the ECP groups 19, 20, 21 of IKE).
const RFC5903: [Rfc5903; 3] = [
    Rfc5903 {
        curve: Nist::P256,
        r: "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
        gix: "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180",
        giy: "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
        grx: "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63",
        gry: "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
        girx: "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE",
    },
    Rfc5903 {
        curve: Nist::P384,
        r: "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942
            E0308312 916B8ED2 960E4BD5 5A7448FC",
        gix: "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6
              DE3AC808 ACB4BDB4 C88732AE E95F41AA",
        giy: "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E
              EB9FCFF3 C2C947DA E69B4C63 4573A81C",
        grx: "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D
              0D1AC43A 0336DEF9 6FDA41D0 774A3571",
        gry: "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF
              F83FA401 42209DFF 5EAAD96D B9E6386C",
        girx: "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4
               D6031355 69B9E9D0 9CF5D4A2 70F59746",
    },
    Rfc5903 {
        curve: Nist::P521,
        r: "0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E
            9C677D60 0B343757 A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168
            5EB9",
        gix: "0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE
              E1E3BF42 E00B8E38 0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C
              ED3E",
        giy: "017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A
              D8A78801 5AC405D7 799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F
              9582",
        grx: "00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21
              9B97C356 436ADC6E 95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9
              460F",
        gry: "015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87
              220B6536 C5C408A1 D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F
              C56A",
        girx: "01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04
               D1427E73 CA4BAA24 0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3
               DDEA",
    },
];

fn nist_alg(curve: Nist) -> (&'static agreement::Algorithm, KexAlg) {
    match curve {
        Nist::P256 => (&agreement::ECDH_P256, KexAlg::EcdhSha2Nistp256),
        Nist::P384 => (&agreement::ECDH_P384, KexAlg::EcdhSha2Nistp384),
        Nist::P521 => (&agreement::ECDH_P521, KexAlg::EcdhSha2Nistp521),
    }
}

fn point(x: &str, y: &str) -> Vec<u8> {
    let mut p = vec![0x04];
    p.extend(unhex(x));
    p.extend(unhex(y));
    p
}

#[test]
fn rfc5903_ecdh_vectors() {
    for v in &RFC5903 {
        let (algorithm, alg) = nist_alg(v.curve);
        let key = PrivateKey::from_private_key(algorithm, &unhex(v.r)).unwrap();
        let reply = curve::nist_with_key(v.curve, &key, alg.name(), &point(v.gix, v.giy)).unwrap();
        assert_eq!(reply.server_public, point(v.grx, v.gry), "{alg}");
        assert_eq!(
            reply.shared_secret.encoded(),
            mpint(&unhex(v.girx)),
            "{alg}"
        );
    }
}

#[test]
fn ecdh_bad_points_are_refused() {
    for v in &RFC5903 {
        let (_, alg) = nist_alg(v.curve);
        let good = point(v.gix, v.giy);
        let n = good.len();

        // Off the curve: the last byte of y changed.
        let mut off = good.clone();
        *off.last_mut().unwrap() ^= 0x01;
        let err = server_exchange(alg, &off).unwrap_err();
        assert!(
            matches!(err, KexError::InvalidPublicValue { .. }),
            "{alg}: {err}"
        );

        // (0, 0) is not on any of these curves; all-zero is not even 0x04.
        let mut zero = vec![0u8; n];
        zero[0] = 0x04;
        assert!(matches!(
            server_exchange(alg, &zero),
            Err(KexError::InvalidPublicValue { .. })
        ));
        assert!(matches!(
            server_exchange(alg, &vec![0u8; n]),
            Err(KexError::InvalidPublicValue { .. })
        ));

        // The point at infinity's SEC1 encoding is the single byte 0x00.
        assert!(matches!(
            server_exchange(alg, &[0]),
            Err(KexError::WrongLength { .. })
        ));

        // Compressed and hybrid forms of the valid point are refused.
        let mut compressed = vec![0x02 | (good[n - 1] & 1)];
        compressed.extend_from_slice(&good[1..1 + (n - 1) / 2]);
        assert!(matches!(
            server_exchange(alg, &compressed),
            Err(KexError::WrongLength { .. })
        ));
        let mut hybrid = good.clone();
        hybrid[0] = 0x06 | (good[n - 1] & 1);
        assert!(matches!(
            server_exchange(alg, &hybrid),
            Err(KexError::InvalidPublicValue { .. })
        ));

        // Short and long.
        for bad in [
            &good[..n - 1],
            &[good.as_slice(), &[0]].concat()[..],
            &[][..],
        ] {
            let err = server_exchange(alg, bad).unwrap_err();
            assert!(
                matches!(err, KexError::WrongLength { expected, .. } if expected == n),
                "{alg}: {err}"
            );
        }

        // And the valid point itself is accepted.
        assert!(server_exchange(alg, &good).is_ok());
    }
}

// ---------------------------------------------------------------- finite-field DH

/// RFC 5114 §2.1 (1024-bit MODP group with a 160-bit prime-order subgroup)
/// and its Appendix A.1 test data xA, yA = g^xA mod p: the server takes xA
/// as its exponent, so f must be yA; with the client sending e = g, K is
/// g^xA = yA as well.
#[test]
fn rfc5114_modexp_vector() {
    let p = unhex(
        "B10B8F96 A080E01D DE92DE5E AE5D54EC 52C99FBC FB06A3C6 9A6A9DCA 52D23B61 6073E286 75A23D18
         9838EF1E 2EE652C0 13ECB4AE A9061123 24975C3C D49B83BF ACCBDD7D 90C4BD70 98488E9C 219A7372
         4EFFD6FA E5644738 FAA31A4F F55BCCC0 A151AF5F 0DC8B4BD 45BF37DF 365C1A65 E68CFDA7 6D4DA708
         DF1FB2BC 2E4A4371",
    );
    let g = unhex(
        "A4D1CBD5 C3FD3412 6765A442 EFB99905 F8104DD2 58AC507F D6406CFF 14266D31 266FEA1E 5C41564B
         777E690F 5504F213 160217B4 B01B886A 5E91547F 9E2749F4 D7FBD7D3 B9A92EE1 909D0D22 63F80A76
         A6A24C08 7A091F53 1DBF0A01 69B6A28A D662A4D1 8E73AFA3 2D779D59 18D08BC8 858F4DCE F97C2A24
         855E6EEB 22B3B2E5",
    );
    let x_a = unhex("B9A3B3AE 8FEFC1A2 93049650 7086F845 5D48943E");
    let y_a = unhex(
        "2A853B3D 92197501 B9015B2D EB3ED84F 5E021DCC 3E52F109 D3273D2B 7521281C BABE0E76 FF5727FA
         8ACCE269 56BA9A1F CA26F202 28D8693F EB10841D 84A73600 54ECE5A7 F5B7A61A D3DFB3C6 0D2E4310
         6D8727DA 37DF9CCE 95B47875 5D06BCEA 8F9D4596 5F75A5F3 D1DF3701 165FC9E5 0C4279CE B07F9895
         40AE96D5 D88ED776",
    );
    let group = dh::DhGroup::from_be_bytes(&p, &g).unwrap();
    assert_eq!(group.bits(), 1024);
    // g's top bit is set, so its mpint content carries a 0x00 pad.
    assert_eq!(group.g_mpint(), &mpint(&g)[4..]);
    let reply = test_support::exchange_fixed(&group, group.g_mpint(), &x_a)
        .unwrap()
        .unwrap();
    assert_eq!(reply.server_public, y_a);
    assert_eq!(reply.shared_secret.encoded(), mpint(&y_a));
}

/// The group behind each fixed-group method.
fn fixed_group(alg: KexAlg) -> &'static DhGroup {
    let name = alg.name();
    match alg {
        KexAlg::Dh14Sha256 | KexAlg::Dh14Sha1 => groups::group14(name),
        KexAlg::Dh16Sha512 => groups::group16(name),
        KexAlg::Dh18Sha512 => groups::group18(name),
        KexAlg::Dh1Sha1 => groups::group1(name),
        other => panic!("{other} is not a fixed-group method"),
    }
    .unwrap()
}

#[test]
fn dh_bad_client_values_are_refused() {
    let group = fixed_group(KexAlg::Dh14Sha256);
    let p = test_support::p_be(group); // 256 bytes, top bit set
    let mut p_minus_1 = p.clone();
    *p_minus_1.last_mut().unwrap() -= 1;
    let above_p = vec![0xffu8; p.len()]; // 2^2048 - 1 > p
    let padded = |v: &[u8]| [&[0u8][..], v].concat();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("e = 0", vec![]),
        ("e = 0, non-minimal", vec![0]),
        ("e = 1", vec![1]),
        ("e = 2^k, too few bits", vec![0x40, 0, 0, 0]),
        ("e = p - 1", padded(&p_minus_1)),
        ("e = p", padded(&p)),
        ("e > p", padded(&above_p)),
        ("e longer than p", [&[0x01][..], &p].concat()),
        ("negative", vec![0x80, 1, 2, 3]),
        ("p - 1 without its pad byte (negative)", p_minus_1.clone()),
        ("superfluous leading zero", vec![0, 0x12, 0x34, 0x56, 0x78]),
        ("huge", vec![0x7f; 70_000]),
    ];
    for (what, e) in cases {
        for alg in [KexAlg::Dh14Sha256, KexAlg::Dh14Sha1] {
            let err = server_exchange(alg, &e).unwrap_err();
            assert!(
                matches!(err, KexError::InvalidDhValue { .. }),
                "{what}: {err}"
            );
        }
        let err = gex_server_exchange(group, &e).unwrap_err();
        assert!(
            matches!(err, KexError::InvalidDhValue { .. }),
            "{what}: {err}"
        );
    }

    // The boundary inside the range is accepted: p - 2 (in mpint form).
    let mut p_minus_2 = p.clone();
    *p_minus_2.last_mut().unwrap() -= 2;
    assert!(server_exchange(KexAlg::Dh14Sha256, &padded(&p_minus_2)).is_ok());
}

// ---------------------------------------------------------------- round trips

/// A client for every method, written against the primitives directly (not
/// this module's code), that checks K agrees on both sides.
fn client_round_trip(alg: KexAlg) {
    match alg {
        KexAlg::Curve25519Sha256 | KexAlg::Curve25519Sha256Libssh => {
            let (key, public) = client_key(&agreement::X25519);
            let reply = server_exchange(alg, &public).unwrap();
            assert_eq!(reply.server_public.len(), 32);
            let k = client_agree(&key, &agreement::X25519, &reply.server_public);
            assert_eq!(reply.shared_secret.encoded(), mpint(&k), "{alg}");
        }
        KexAlg::EcdhSha2Nistp256 | KexAlg::EcdhSha2Nistp384 | KexAlg::EcdhSha2Nistp521 => {
            let algorithm = match alg {
                KexAlg::EcdhSha2Nistp256 => &agreement::ECDH_P256,
                KexAlg::EcdhSha2Nistp384 => &agreement::ECDH_P384,
                _ => &agreement::ECDH_P521,
            };
            let (key, public) = client_key(algorithm);
            let reply = server_exchange(alg, &public).unwrap();
            assert_eq!(reply.server_public.len(), public.len(), "{alg}");
            assert_eq!(reply.server_public[0], 0x04, "{alg}: uncompressed point");
            let k = client_agree(&key, algorithm, &reply.server_public);
            assert_eq!(reply.shared_secret.encoded(), mpint(&k), "{alg}");
        }
        KexAlg::MlKem768X25519Sha256 => {
            let dk = kem::DecapsulationKey::generate(&kem::ML_KEM_768).unwrap();
            let ek = dk.encapsulation_key().unwrap().key_bytes().unwrap();
            let (xkey, xpub) = client_key(&agreement::X25519);
            let c_init = [ek.as_ref(), &xpub].concat();
            assert_eq!(c_init.len(), 1184 + 32);
            let reply = server_exchange(alg, &c_init).unwrap();
            assert_eq!(reply.server_public.len(), 1088 + 32);
            let (ct, server_x) = reply.server_public.split_at(1088);
            let k_pq = dk.decapsulate(kem::Ciphertext::from(ct)).unwrap();
            let k_cl = client_agree(&xkey, &agreement::X25519, server_x);
            let mut h = Hasher::new(HashAlg::Sha256);
            h.update(k_pq.as_ref());
            h.update(&k_cl);
            assert_eq!(
                reply.shared_secret.encoded(),
                string(h.finish().as_ref()),
                "{alg}"
            );
            assert_eq!(reply.shared_secret.encoded().len(), 4 + 32);
        }
        KexAlg::Sntrup761X25519Sha512 | KexAlg::Sntrup761X25519Sha512Openssh => {
            let mut seed = [0u8; 32];
            crate::random::fill(&mut seed);
            let (pk, sk) = sntrup761::generate_key_from_seed(seed);
            let (xkey, xpub) = client_key(&agreement::X25519);
            let c_init = [pk.as_ref(), &xpub].concat();
            assert_eq!(c_init.len(), 1158 + 32);
            let reply = server_exchange(alg, &c_init).unwrap();
            assert_eq!(reply.server_public.len(), 1039 + 32);
            let (ct, server_x) = reply.server_public.split_at(1039);
            let k_pq = sk.decapsulate(&sntrup761::Ciphertext::try_from(ct).unwrap());
            let k_cl = client_agree(&xkey, &agreement::X25519, server_x);
            let mut h = Hasher::new(HashAlg::Sha512);
            h.update(k_pq.as_ref());
            h.update(&k_cl);
            assert_eq!(
                reply.shared_secret.encoded(),
                string(h.finish().as_ref()),
                "{alg}"
            );
            assert_eq!(reply.shared_secret.encoded().len(), 4 + 64);
        }
        KexAlg::Dh14Sha256
        | KexAlg::Dh14Sha1
        | KexAlg::Dh16Sha512
        | KexAlg::Dh18Sha512
        | KexAlg::Dh1Sha1 => {
            let group = fixed_group(alg);
            dh_round_trip(group, |e| server_exchange(alg, e));
        }
        KexAlg::DhGexSha256 | KexAlg::DhGexSha1 => {
            let moduli = Moduli::builtin();
            let group = moduli.choose(2048, 2048, 8192).unwrap();
            assert_eq!(group.bits(), 2048);
            dh_round_trip(group, |e| gex_server_exchange(group, e));
        }
    }
}

fn client_key(algorithm: &'static agreement::Algorithm) -> (PrivateKey, Vec<u8>) {
    let key = PrivateKey::generate(algorithm).unwrap();
    let public = key.compute_public_key().unwrap().as_ref().to_vec();
    (key, public)
}

fn client_agree(
    key: &PrivateKey,
    algorithm: &'static agreement::Algorithm,
    peer: &[u8],
) -> Vec<u8> {
    agreement::agree(key, UnparsedPublicKey::new(algorithm, peer), (), |s| {
        Ok(s.to_vec())
    })
    .unwrap()
}

/// The client's half of DH: x random (256 bits), e = g^x, K = f^x.
fn dh_round_trip(group: &DhGroup, server: impl Fn(&[u8]) -> Result<KexReply, KexError>) {
    let mut x = [0u8; 32];
    crate::random::fill(&mut x);
    x[0] |= 0x80;
    let g = group.g_mpint();
    let e = test_support::pow_mod(group, g, &x);
    let e_content = &mpint(&e)[4..];
    let reply = server(e_content).unwrap();
    let f = &reply.server_public;
    assert!(is_canonical_positive_mpint(f), "f is not a canonical mpint");
    assert!(f.len() <= group.p_mpint().len());
    let k = test_support::pow_mod(group, f, &x);
    assert_eq!(
        reply.shared_secret.encoded(),
        mpint(&k),
        "{} bits",
        group.bits()
    );
}

#[test]
fn round_trip_mlkem768x25519() {
    client_round_trip(KexAlg::MlKem768X25519Sha256);
}

#[test]
fn round_trip_sntrup761x25519() {
    client_round_trip(KexAlg::Sntrup761X25519Sha512);
    client_round_trip(KexAlg::Sntrup761X25519Sha512Openssh);
}

#[test]
fn round_trip_curve25519() {
    client_round_trip(KexAlg::Curve25519Sha256);
    client_round_trip(KexAlg::Curve25519Sha256Libssh);
}

#[test]
fn round_trip_ecdh() {
    client_round_trip(KexAlg::EcdhSha2Nistp256);
    client_round_trip(KexAlg::EcdhSha2Nistp384);
    client_round_trip(KexAlg::EcdhSha2Nistp521);
}

#[test]
fn round_trip_dh_group14() {
    client_round_trip(KexAlg::Dh14Sha256);
    client_round_trip(KexAlg::Dh14Sha1);
}

#[test]
fn round_trip_dh_group16() {
    client_round_trip(KexAlg::Dh16Sha512);
}

#[test]
fn round_trip_dh_group18() {
    client_round_trip(KexAlg::Dh18Sha512);
}

#[test]
fn round_trip_dh_group1() {
    client_round_trip(KexAlg::Dh1Sha1);
}

#[test]
fn round_trip_group_exchange() {
    client_round_trip(KexAlg::DhGexSha256);
    client_round_trip(KexAlg::DhGexSha1);
}

/// Guards the list above: a method added to KexAlg without a round-trip
/// test makes this fail.
#[test]
fn every_method_has_a_round_trip() {
    let covered = [
        KexAlg::MlKem768X25519Sha256,
        KexAlg::Sntrup761X25519Sha512,
        KexAlg::Sntrup761X25519Sha512Openssh,
        KexAlg::Curve25519Sha256,
        KexAlg::Curve25519Sha256Libssh,
        KexAlg::EcdhSha2Nistp256,
        KexAlg::EcdhSha2Nistp384,
        KexAlg::EcdhSha2Nistp521,
        KexAlg::Dh14Sha256,
        KexAlg::Dh14Sha1,
        KexAlg::Dh16Sha512,
        KexAlg::Dh18Sha512,
        KexAlg::Dh1Sha1,
        KexAlg::DhGexSha256,
        KexAlg::DhGexSha1,
    ];
    for alg in KexAlg::ALL {
        assert!(covered.contains(alg), "{alg} has no round-trip test");
    }
}

// ---------------------------------------------------------------- hybrids: bad input

#[test]
fn hybrid_wrong_lengths_are_refused() {
    for (alg, n) in [
        (KexAlg::MlKem768X25519Sha256, 1184 + 32),
        (KexAlg::Sntrup761X25519Sha512, 1158 + 32),
        (KexAlg::Sntrup761X25519Sha512Openssh, 1158 + 32),
    ] {
        for len in [0, 32, n - 1, n + 1] {
            let err = server_exchange(alg, &vec![1u8; len]).unwrap_err();
            assert!(
                matches!(err, KexError::WrongLength { expected, got, .. } if expected == n && got == len),
                "{alg}: {err}"
            );
        }
    }
}

/// A valid KEM key with a low-order X25519 part must still be refused.
#[test]
fn hybrid_zero_x25519_is_refused() {
    let dk = kem::DecapsulationKey::generate(&kem::ML_KEM_768).unwrap();
    let ek = dk.encapsulation_key().unwrap().key_bytes().unwrap();
    let c_init = [ek.as_ref(), &[0u8; 32]].concat();
    let err = server_exchange(KexAlg::MlKem768X25519Sha256, &c_init).unwrap_err();
    assert!(matches!(err, KexError::ZeroSharedSecret { .. }), "{err}");

    let (pk, _sk) = sntrup761::generate_key_from_seed([7u8; 32]);
    let c_init = [pk.as_ref(), &[0u8; 32]].concat();
    let err = server_exchange(KexAlg::Sntrup761X25519Sha512, &c_init).unwrap_err();
    assert!(matches!(err, KexError::ZeroSharedSecret { .. }), "{err}");
}

/// FIPS 203 §7.2 modulus check: an encapsulation key whose coefficients
/// are not below q = 3329 (here: every 12-bit field 0xfff) is refused.
#[test]
fn mlkem_invalid_encapsulation_key_is_refused() {
    let (_, xpub) = client_key(&agreement::X25519);
    let c_init = [&[0xffu8; 1184][..], &xpub].concat();
    let err = server_exchange(KexAlg::MlKem768X25519Sha256, &c_init).unwrap_err();
    assert!(matches!(err, KexError::InvalidPublicValue { .. }), "{err}");
}
