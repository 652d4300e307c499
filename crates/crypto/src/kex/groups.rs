//! The fixed MODP groups: RFC 2409's Oakley group 2 and RFC 3526's groups
//! 14–18, all with generator 2.
//!
//! The primes are written exactly as the RFCs print them (32-bit words,
//! eight to a line), so they can be compared with the RFC text by eye. They
//! were also checked against OpenSSH's dh.c and aws-lc's tables and against
//! the RFCs' defining formula p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130)
//! pi) + k); the unit tests check that each is a safe prime in which 2
//! generates the prime-order subgroup, which any transcription error breaks.

use std::sync::LazyLock;

use super::dh::DhGroup;
use super::KexError;

/// RFC 2409 §6.2, the 1024-bit Oakley group 2 (diffie-hellman-group1-sha1); generator 2.
pub(super) const OAKLEY_GROUP2_P: &str = "
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 29024E08 8A67CC74
    020BBEA6 3B139B22 514A0879 8E3404DD EF9519B3 CD3A431B 302B0A6D F25F1437
    4FE1356D 6D51C245 E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE65381 FFFFFFFF FFFFFFFF";

/// RFC 3526 §3, the 2048-bit MODP group 14; generator 2.
pub(super) const MODP_2048_P: &str = "
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 29024E08 8A67CC74
    020BBEA6 3B139B22 514A0879 8E3404DD EF9519B3 CD3A431B 302B0A6D F25F1437
    4FE1356D 6D51C245 E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D C2007CB8 A163BF05
    98DA4836 1C55D39A 69163FA8 FD24CF5F 83655D23 DCA3AD96 1C62F356 208552BB
    9ED52907 7096966D 670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
    E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9 DE2BCBF6 95581718
    3995497C EA956AE5 15D22618 98FA0510 15728E5A 8AACAA68 FFFFFFFF FFFFFFFF";

/// RFC 3526 §4, the 3072-bit MODP group 15; generator 2.
pub(super) const MODP_3072_P: &str = "
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 29024E08 8A67CC74
    020BBEA6 3B139B22 514A0879 8E3404DD EF9519B3 CD3A431B 302B0A6D F25F1437
    4FE1356D 6D51C245 E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D C2007CB8 A163BF05
    98DA4836 1C55D39A 69163FA8 FD24CF5F 83655D23 DCA3AD96 1C62F356 208552BB
    9ED52907 7096966D 670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
    E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9 DE2BCBF6 95581718
    3995497C EA956AE5 15D22618 98FA0510 15728E5A 8AAAC42D AD33170D 04507A33
    A85521AB DF1CBA64 ECFB8504 58DBEF0A 8AEA7157 5D060C7D B3970F85 A6E1E4C7
    ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226 1AD2EE6B F12FFA06 D98A0864
    D8760273 3EC86A64 521F2B18 177B200C BBE11757 7A615D6C 770988C0 BAD946E2
    08E24FA0 74E5AB31 43DB5BFC E0FD108E 4B82D120 A93AD2CA FFFFFFFF FFFFFFFF";

/// RFC 3526 §5, the 4096-bit MODP group 16; generator 2.
pub(super) const MODP_4096_P: &str = "
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 29024E08 8A67CC74
    020BBEA6 3B139B22 514A0879 8E3404DD EF9519B3 CD3A431B 302B0A6D F25F1437
    4FE1356D 6D51C245 E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D C2007CB8 A163BF05
    98DA4836 1C55D39A 69163FA8 FD24CF5F 83655D23 DCA3AD96 1C62F356 208552BB
    9ED52907 7096966D 670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
    E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9 DE2BCBF6 95581718
    3995497C EA956AE5 15D22618 98FA0510 15728E5A 8AAAC42D AD33170D 04507A33
    A85521AB DF1CBA64 ECFB8504 58DBEF0A 8AEA7157 5D060C7D B3970F85 A6E1E4C7
    ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226 1AD2EE6B F12FFA06 D98A0864
    D8760273 3EC86A64 521F2B18 177B200C BBE11757 7A615D6C 770988C0 BAD946E2
    08E24FA0 74E5AB31 43DB5BFC E0FD108E 4B82D120 A9210801 1A723C12 A787E6D7
    88719A10 BDBA5B26 99C32718 6AF4E23C 1A946834 B6150BDA 2583E9CA 2AD44CE8
    DBBBC2DB 04DE8EF9 2E8EFC14 1FBECAA6 287C5947 4E6BC05D 99B2964F A090C3A2
    233BA186 515BE7ED 1F612970 CEE2D7AF B81BDD76 2170481C D0069127 D5B05AA9
    93B4EA98 8D8FDDC1 86FFB7DC 90A6C08F 4DF435C9 34063199 FFFFFFFF FFFFFFFF";

/// RFC 3526 §6, the 6144-bit MODP group 17; generator 2.
pub(super) const MODP_6144_P: &str = "
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 29024E08 8A67CC74
    020BBEA6 3B139B22 514A0879 8E3404DD EF9519B3 CD3A431B 302B0A6D F25F1437
    4FE1356D 6D51C245 E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D C2007CB8 A163BF05
    98DA4836 1C55D39A 69163FA8 FD24CF5F 83655D23 DCA3AD96 1C62F356 208552BB
    9ED52907 7096966D 670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
    E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9 DE2BCBF6 95581718
    3995497C EA956AE5 15D22618 98FA0510 15728E5A 8AAAC42D AD33170D 04507A33
    A85521AB DF1CBA64 ECFB8504 58DBEF0A 8AEA7157 5D060C7D B3970F85 A6E1E4C7
    ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226 1AD2EE6B F12FFA06 D98A0864
    D8760273 3EC86A64 521F2B18 177B200C BBE11757 7A615D6C 770988C0 BAD946E2
    08E24FA0 74E5AB31 43DB5BFC E0FD108E 4B82D120 A9210801 1A723C12 A787E6D7
    88719A10 BDBA5B26 99C32718 6AF4E23C 1A946834 B6150BDA 2583E9CA 2AD44CE8
    DBBBC2DB 04DE8EF9 2E8EFC14 1FBECAA6 287C5947 4E6BC05D 99B2964F A090C3A2
    233BA186 515BE7ED 1F612970 CEE2D7AF B81BDD76 2170481C D0069127 D5B05AA9
    93B4EA98 8D8FDDC1 86FFB7DC 90A6C08F 4DF435C9 34028492 36C3FAB4 D27C7026
    C1D4DCB2 602646DE C9751E76 3DBA37BD F8FF9406 AD9E530E E5DB382F 413001AE
    B06A53ED 9027D831 179727B0 865A8918 DA3EDBEB CF9B14ED 44CE6CBA CED4BB1B
    DB7F1447 E6CC254B 33205151 2BD7AF42 6FB8F401 378CD2BF 5983CA01 C64B92EC
    F032EA15 D1721D03 F482D7CE 6E74FEF6 D55E702F 46980C82 B5A84031 900B1C9E
    59E7C97F BEC7E8F3 23A97A7E 36CC88BE 0F1D45B7 FF585AC5 4BD407B2 2B4154AA
    CC8F6D7E BF48E1D8 14CC5ED2 0F8037E0 A79715EE F29BE328 06A1D58B B7C5DA76
    F550AA3D 8A1FBFF0 EB19CCB1 A313D55C DA56C9EC 2EF29632 387FE8D7 6E3C0468
    043E8F66 3F4860EE 12BF2D5B 0B7474D6 E694F91E 6DCC4024 FFFFFFFF FFFFFFFF";

/// RFC 3526 §7, the 8192-bit MODP group 18; generator 2.
pub(super) const MODP_8192_P: &str = "
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 29024E08 8A67CC74
    020BBEA6 3B139B22 514A0879 8E3404DD EF9519B3 CD3A431B 302B0A6D F25F1437
    4FE1356D 6D51C245 E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D C2007CB8 A163BF05
    98DA4836 1C55D39A 69163FA8 FD24CF5F 83655D23 DCA3AD96 1C62F356 208552BB
    9ED52907 7096966D 670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
    E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9 DE2BCBF6 95581718
    3995497C EA956AE5 15D22618 98FA0510 15728E5A 8AAAC42D AD33170D 04507A33
    A85521AB DF1CBA64 ECFB8504 58DBEF0A 8AEA7157 5D060C7D B3970F85 A6E1E4C7
    ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226 1AD2EE6B F12FFA06 D98A0864
    D8760273 3EC86A64 521F2B18 177B200C BBE11757 7A615D6C 770988C0 BAD946E2
    08E24FA0 74E5AB31 43DB5BFC E0FD108E 4B82D120 A9210801 1A723C12 A787E6D7
    88719A10 BDBA5B26 99C32718 6AF4E23C 1A946834 B6150BDA 2583E9CA 2AD44CE8
    DBBBC2DB 04DE8EF9 2E8EFC14 1FBECAA6 287C5947 4E6BC05D 99B2964F A090C3A2
    233BA186 515BE7ED 1F612970 CEE2D7AF B81BDD76 2170481C D0069127 D5B05AA9
    93B4EA98 8D8FDDC1 86FFB7DC 90A6C08F 4DF435C9 34028492 36C3FAB4 D27C7026
    C1D4DCB2 602646DE C9751E76 3DBA37BD F8FF9406 AD9E530E E5DB382F 413001AE
    B06A53ED 9027D831 179727B0 865A8918 DA3EDBEB CF9B14ED 44CE6CBA CED4BB1B
    DB7F1447 E6CC254B 33205151 2BD7AF42 6FB8F401 378CD2BF 5983CA01 C64B92EC
    F032EA15 D1721D03 F482D7CE 6E74FEF6 D55E702F 46980C82 B5A84031 900B1C9E
    59E7C97F BEC7E8F3 23A97A7E 36CC88BE 0F1D45B7 FF585AC5 4BD407B2 2B4154AA
    CC8F6D7E BF48E1D8 14CC5ED2 0F8037E0 A79715EE F29BE328 06A1D58B B7C5DA76
    F550AA3D 8A1FBFF0 EB19CCB1 A313D55C DA56C9EC 2EF29632 387FE8D7 6E3C0468
    043E8F66 3F4860EE 12BF2D5B 0B7474D6 E694F91E 6DBE1159 74A3926F 12FEE5E4
    38777CB6 A932DF8C D8BEC4D0 73B931BA 3BC832B6 8D9DD300 741FA7BF 8AFC47ED
    2576F693 6BA42466 3AAB639C 5AE4F568 3423B474 2BF1C978 238F16CB E39D652D
    E3FDB8BE FC848AD9 22222E04 A4037C07 13EB57A8 1A23F0C7 3473FC64 6CEA306B
    4BCBC886 2F8385DD FA9D4B7F A2C087E8 79683303 ED5BDD3A 062B3CF5 B3A278A6
    6D2A13F8 3F44F82D DF310EE0 74AB6A36 4597E899 A0255DC1 64F31CC5 0846851D
    F9AB4819 5DED7EA1 B1D510BD 7EE74D73 FAF36BC3 1ECFA268 359046F4 EB879F92
    4009438B 481C6CD7 889A002E D5EE382B C9190DA6 FC026E47 9558E447 5677E9AA
    9E3050E2 765694DF C81F56E8 80B96E71 60C980DD 98EDD3DF FFFFFFFF FFFFFFFF";

/// Parses one of the constants above. Returns None only if a constant were
/// malformed, which the tests rule out; callers map that to an internal
/// error instead of panicking.
fn build(p_hex: &str) -> Option<DhGroup> {
    let p = super::moduli::decode_hex(p_hex)?;
    DhGroup::from_be_bytes(&p, &[2]).ok()
}

static GROUP1: LazyLock<Option<DhGroup>> = LazyLock::new(|| build(OAKLEY_GROUP2_P));
static GROUP14: LazyLock<Option<DhGroup>> = LazyLock::new(|| build(MODP_2048_P));
static GROUP15: LazyLock<Option<DhGroup>> = LazyLock::new(|| build(MODP_3072_P));
static GROUP16: LazyLock<Option<DhGroup>> = LazyLock::new(|| build(MODP_4096_P));
static GROUP17: LazyLock<Option<DhGroup>> = LazyLock::new(|| build(MODP_6144_P));
static GROUP18: LazyLock<Option<DhGroup>> = LazyLock::new(|| build(MODP_8192_P));

fn get(
    group: &'static LazyLock<Option<DhGroup>>,
    alg: &'static str,
) -> Result<&'static DhGroup, KexError> {
    group.as_ref().ok_or(KexError::Internal {
        alg,
        op: "built-in group setup",
    })
}

pub(super) fn group1(alg: &'static str) -> Result<&'static DhGroup, KexError> {
    get(&GROUP1, alg)
}

pub(super) fn group14(alg: &'static str) -> Result<&'static DhGroup, KexError> {
    get(&GROUP14, alg)
}

pub(super) fn group16(alg: &'static str) -> Result<&'static DhGroup, KexError> {
    get(&GROUP16, alg)
}

pub(super) fn group18(alg: &'static str) -> Result<&'static DhGroup, KexError> {
    get(&GROUP18, alg)
}

/// RFC 3526 groups 14–18, smallest first: the built-in group-exchange set.
pub(super) fn rfc3526() -> Vec<DhGroup> {
    [&GROUP14, &GROUP15, &GROUP16, &GROUP17, &GROUP18]
        .into_iter()
        .filter_map(|g| g.as_ref().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::dh::test_support::{p_be, pow_mod};
    use super::*;

    fn all() -> [(&'static str, u32, &'static LazyLock<Option<DhGroup>>); 6] {
        [
            ("group 1", 1024, &GROUP1),
            ("group 14", 2048, &GROUP14),
            ("group 15", 3072, &GROUP15),
            ("group 16", 4096, &GROUP16),
            ("group 17", 6144, &GROUP17),
            ("group 18", 8192, &GROUP18),
        ]
    }

    /// The shape every RFC 2409/3526 prime has by construction: n bits, the
    /// top and bottom 64 bits all ones; g = 2; p's mpint carries a pad.
    #[test]
    fn structure() {
        for (name, bits, group) in all() {
            let group = group
                .as_ref()
                .unwrap_or_else(|| panic!("{name} does not parse"));
            assert_eq!(group.bits(), bits, "{name}");
            let p = p_be(group);
            assert_eq!(p.len() * 8, bits as usize, "{name}");
            assert!(
                p[..8].iter().chain(&p[p.len() - 8..]).all(|&b| b == 0xff),
                "{name}"
            );
            assert_eq!(group.p_mpint().len(), p.len() + 1, "{name}");
            assert_eq!(group.p_mpint()[0], 0, "{name}");
            assert_eq!(group.g_mpint(), [2], "{name}");
        }
        let sizes: Vec<u32> = rfc3526().iter().map(DhGroup::bits).collect();
        assert_eq!(sizes, [2048, 3072, 4096, 6144, 8192]);
    }

    /// Euler's criterion: for the safe prime p = 2q + 1 with p = 7 mod 8,
    /// 2 is a quadratic residue, so 2^q = 1 (mod p): g = 2 generates the
    /// subgroup of prime order q, as RFC 3526 §1 states. For a composite
    /// modulus (any mistyped digit) this fails with overwhelming
    /// probability, so it doubles as a transcription check against the
    /// hex printed in the RFCs. One full-size exponentiation per test.
    fn euler_criterion(group: &DhGroup) {
        let p = p_be(group);
        assert_eq!(p.last().map(|b| b & 7), Some(7), "p = 7 mod 8");
        // q = (p - 1) / 2 = p >> 1, since p is odd.
        let mut q = vec![0u8; p.len()];
        let mut carry = 0u8;
        for (d, s) in q.iter_mut().zip(&p) {
            *d = (s >> 1) | carry;
            carry = (s & 1) << 7;
        }
        let r = pow_mod(group, &[2], &q);
        let one_at_end = r.iter().rev().skip(1).all(|&b| b == 0) && r.last() == Some(&1);
        assert!(
            one_at_end,
            "2^q != 1 mod p for the {}-bit group",
            group.bits()
        );
    }

    #[test]
    fn group1_is_safe_prime_with_generator_2() {
        euler_criterion(GROUP1.as_ref().unwrap());
    }

    #[test]
    fn group14_is_safe_prime_with_generator_2() {
        euler_criterion(GROUP14.as_ref().unwrap());
    }

    #[test]
    fn group15_is_safe_prime_with_generator_2() {
        euler_criterion(GROUP15.as_ref().unwrap());
    }

    #[test]
    fn group16_is_safe_prime_with_generator_2() {
        euler_criterion(GROUP16.as_ref().unwrap());
    }

    #[test]
    fn group17_is_safe_prime_with_generator_2() {
        euler_criterion(GROUP17.as_ref().unwrap());
    }

    #[test]
    fn group18_is_safe_prime_with_generator_2() {
        euler_criterion(GROUP18.as_ref().unwrap());
    }

    /// The criterion is not vacuous: one flipped bit in the middle of the
    /// 2048-bit prime (an odd number still) makes it fail.
    #[test]
    #[should_panic(expected = "2^q != 1")]
    fn euler_criterion_catches_a_typo() {
        let group = GROUP14.as_ref().unwrap();
        let mut p = p_be(group);
        p[100] ^= 0x10;
        euler_criterion(&DhGroup::from_be_bytes(&p, &[2]).unwrap());
    }
}
