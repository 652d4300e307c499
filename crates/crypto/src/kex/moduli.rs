//! The set of groups offered for group exchange: the built-in RFC 3526
//! groups or an OpenSSH moduli file, and the choice among them (RFC 4419
//! §3, with RFC 8270's 2048-bit floor).

use super::dh::DhGroup;
use super::{groups, KexError};

/// Smallest and largest group sizes handed out, in bits. RFC 8270 raises
/// RFC 4419's minimum to 2048; 8192 is OpenSSH's DH_GRP_MAX (dh.h), past
/// which an exchange gets slow for no practical gain.
const DH_GRP_MIN: u32 = 2048;
const DH_GRP_MAX: u32 = 8192;

/// Moduli file field values (OpenSSH dh.h).
const MODULI_TYPE_SAFE: u32 = 2;
const MODULI_TESTS_COMPOSITE: u32 = 0x01;
const MODULI_TESTS_MILLER_RABIN: u32 = 0x04;
/// Largest valid tests bit set (sieve, Miller-Rabin, Jacobi, elliptic).
const MODULI_TESTS_ALL: u32 = 0x1f;
/// OpenSSH's bound on the size field (dh.c parse_prime).
const MODULI_MAX_SIZE: u32 = 64 * 1024;

/// Groups available for group exchange.
#[derive(Debug, Clone)]
pub struct Moduli {
    groups: Vec<DhGroup>,
}

impl Moduli {
    /// RFC 3526 groups 14 (2048), 15 (3072), 16 (4096), 17 (6144) and 18
    /// (8192 bits), generator 2.
    pub fn builtin() -> Self {
        Moduli {
            groups: groups::rfc3526(),
        }
    }

    /// Parses the text of an OpenSSH moduli file (moduli(5)): lines of
    /// `time type tests tries size generator modulus`, with `#` comments.
    ///
    /// Only safe primes (type 2) that passed Miller-Rabin (tests bit 0x04)
    /// and were not marked composite (0x01) are kept; other well-formed
    /// lines are skipped, as OpenSSH skips them. A malformed line (wrong
    /// field count, non-numeric field, bad hex, a modulus whose size
    /// disagrees with its size field, an even modulus, a generator outside
    /// 1 < g < p-1) is an error naming its 1-based line number: a broken
    /// file is a configuration mistake worth reporting, not silently using.
    pub fn parse_openssh(text: &str) -> Result<Self, KexError> {
        let mut groups = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Ok(Some(group)) => groups.push(group),
                Ok(None) => {}
                Err(reason) => {
                    return Err(KexError::Moduli {
                        line: index + 1,
                        reason,
                    })
                }
            }
        }
        Ok(Moduli { groups })
    }

    /// Chooses a group for a client's (min, n, max) request, like OpenSSH's
    /// choose_dh: among the groups of size within [min, max], the smallest
    /// one of at least `preferred` bits, else the largest one below it;
    /// among several groups of that size, one at random. `min` is raised
    /// to 2048 (RFC 8270) and `max` lowered to 8192, and `preferred` is
    /// held within those bounds, as OpenSSH's kexgexs.c does. None if no
    /// group fits (the caller then fails the exchange, or falls back to
    /// [`Moduli::builtin`]).
    pub fn choose(&self, min: u32, preferred: u32, max: u32) -> Option<&DhGroup> {
        let min = min.max(DH_GRP_MIN);
        let max = max.min(DH_GRP_MAX);
        if min > max {
            return None;
        }
        let want = preferred.clamp(DH_GRP_MIN, DH_GRP_MAX);
        let in_range = || {
            self.groups
                .iter()
                .filter(move |g| (min..=max).contains(&g.bits()))
        };
        let best = in_range()
            .map(DhGroup::bits)
            .filter(|&b| b >= want)
            .min()
            .or_else(|| in_range().map(DhGroup::bits).max())?;
        let count = in_range().filter(|g| g.bits() == best).count();
        in_range()
            .filter(|g| g.bits() == best)
            .nth(random_below(count))
    }

    /// All groups, in file order.
    pub fn groups(&self) -> &[DhGroup] {
        &self.groups
    }
}

/// One non-comment line. Ok(None): well-formed but not a usable safe prime.
fn parse_line(line: &str) -> Result<Option<DhGroup>, String> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let [_time, kind, tests, tries, size, generator, modulus] = fields.as_slice() else {
        return Err(format!(
            "expected 7 fields (time type tests tries size generator modulus), found {}",
            fields.len()
        ));
    };
    let kind = parse_decimal(kind, "type")?;
    let tests = parse_decimal(tests, "tests")?;
    let tries = parse_decimal(tries, "tries")?;
    let size = parse_decimal(size, "size")?;
    if tests > MODULI_TESTS_ALL {
        return Err(format!("tests field {tests} has unknown flags"));
    }
    if tries == 0 {
        return Err("tries field is zero".into());
    }
    if size == 0 || size > MODULI_MAX_SIZE {
        return Err(format!("size field {size} is out of range"));
    }
    if kind != MODULI_TYPE_SAFE
        || tests & MODULI_TESTS_COMPOSITE != 0
        || tests & MODULI_TESTS_MILLER_RABIN == 0
    {
        return Ok(None);
    }
    let g = decode_hex(generator).ok_or("generator is not hexadecimal")?;
    let p = decode_hex(modulus).ok_or("modulus is not hexadecimal")?;
    let group = DhGroup::from_be_bytes(&p, &g).map_err(str::to_owned)?;
    // The size field is the bit count minus one (moduli(5)).
    if group.bits() != size + 1 {
        return Err(format!(
            "modulus has {} bits but the size field says {} (+1)",
            group.bits(),
            size
        ));
    }
    Ok(Some(group))
}

fn parse_decimal(field: &str, name: &str) -> Result<u32, String> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name} field {field:?} is not a decimal number"));
    }
    field
        .parse()
        .map_err(|_| format!("{name} field {field:?} is out of range"))
}

/// Decodes hexadecimal digits (either case), ignoring ASCII whitespace; an
/// odd digit count is read as if a leading 0 were present, as OpenSSL's
/// BN_hex2bn does (moduli files write the generator as "2" or "5"). None
/// on any other character or on no digits at all.
pub(super) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect::<Option<_>>()?;
    if digits.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len().div_ceil(2));
    let (head, rest) = digits.split_at(digits.len() % 2);
    if let Some(&d) = head.first() {
        out.push(d);
    }
    for pair in rest.chunks_exact(2) {
        if let [hi, lo] = pair {
            out.push(hi << 4 | lo);
        }
    }
    Some(out)
}

/// A uniform random index below `n` (0 when n is 0 or 1). Rejection
/// sampling keeps it unbiased; it loops with probability < 2^-32 per try.
fn random_below(n: usize) -> usize {
    let Ok(n) = u64::try_from(n) else { return 0 };
    if n <= 1 {
        return 0;
    }
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let mut b = [0u8; 8];
        crate::random::fill(&mut b);
        let v = u64::from_be_bytes(b);
        if v < zone {
            return usize::try_from(v % n).unwrap_or(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines in the moduli(5) format carrying the RFC 3526 2048- and
    /// 3072-bit primes (contiguous hex, as ssh-keygen writes them), plus
    /// two lines that must be skipped.
    const SAMPLE_MODULI: &str = "\
        # Time Type Tests Tries Size Generator Modulus\n\
        20240101000000 2 6 100 2047 2 \
         FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
         020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437\
         4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
         EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05\
         98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB\
         9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B\
         E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718\
         3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF\n\
        20240101000000 2 6 100 3071 2 \
         FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
         020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437\
         4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
         EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05\
         98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB\
         9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B\
         E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718\
         3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33\
         A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7\
         ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864\
         D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2\
         08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF\n\
        # the same 2048-bit prime as a Sophie Germain line (type 4) and one only sieved (tests 0x02): both skipped\n\
        20240101000000 4 6 100 2047 2 \
         FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
         020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437\
         4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
         EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05\
         98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB\
         9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B\
         E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718\
         3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF\n\
        20240101000000 2 2 100 2047 2 \
         FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
         020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437\
         4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
         EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05\
         98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB\
         9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B\
         E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718\
         3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF\n\
    ";

    fn builtin_group(bits: u32) -> DhGroup {
        Moduli::builtin()
            .groups()
            .iter()
            .find(|g| g.bits() == bits)
            .unwrap()
            .clone()
    }

    #[test]
    fn parses_sample_and_skips_unusable_lines() {
        let m = Moduli::parse_openssh(SAMPLE_MODULI).unwrap();
        let bits: Vec<u32> = m.groups().iter().map(DhGroup::bits).collect();
        assert_eq!(bits, [2048, 3072]);
        // The contiguous-hex lines decode to the same groups as the
        // built-in constants written in the RFCs' layout.
        assert_eq!(m.groups()[0], builtin_group(2048));
        assert_eq!(m.groups()[1], builtin_group(3072));
        assert_eq!(m.groups()[0].g_mpint(), [2]);
    }

    #[test]
    fn empty_and_comment_only_files_have_no_groups() {
        for text in ["", "\n\n", "# nothing\n   # indented comment\n"] {
            let m = Moduli::parse_openssh(text).unwrap();
            assert!(m.groups().is_empty());
            assert!(m.choose(2048, 2048, 8192).is_none());
        }
    }

    /// Each malformed line is reported with its 1-based line number.
    #[test]
    fn errors_name_the_line() {
        let good = SAMPLE_MODULI.lines().nth(1).unwrap();
        let p2048 = good.split_ascii_whitespace().nth(6).unwrap();
        let cases = [
            "20240101000000 2 6 100 2047 2".to_string(),
            format!("20240101000000 2 6 100 2047 2 {p2048} extra"),
            format!("20240101000000 x 6 100 2047 2 {p2048}"),
            format!("20240101000000 2 6 -1 2047 2 {p2048}"),
            format!("20240101000000 2 6 0 2047 2 {p2048}"),
            format!("20240101000000 2 64 100 2047 2 {p2048}"),
            format!("20240101000000 2 6 100 0 2 {p2048}"),
            format!("20240101000000 2 6 100 99999 2 {p2048}"),
            format!("20240101000000 2 6 100 2046 2 {p2048}"),
            format!("20240101000000 2 6 100 2047 2 {p2048}G"),
            format!("20240101000000 2 6 100 2047 zz {p2048}"),
            format!("20240101000000 2 6 100 2047 1 {p2048}"),
            format!(
                "20240101000000 2 6 100 2047 2 {}E",
                &p2048[..p2048.len() - 1]
            ),
        ];
        for bad in &cases {
            let text = format!("# header\n{good}\n\n{bad}\n{good}\n");
            match Moduli::parse_openssh(&text) {
                Err(KexError::Moduli { line, reason }) => assert_eq!(line, 4, "{bad}: {reason}"),
                other => panic!("{bad}: expected an error on line 4, got {other:?}"),
            }
        }
    }

    #[test]
    fn choose_follows_openssh() {
        let m = Moduli::builtin(); // 2048, 3072, 4096, 6144, 8192
        let pick = |min, n, max| m.choose(min, n, max).map(DhGroup::bits);
        // Exact and next larger.
        assert_eq!(pick(2048, 2048, 8192), Some(2048));
        assert_eq!(pick(2048, 3000, 8192), Some(3072));
        assert_eq!(pick(2048, 7000, 8192), Some(8192));
        // Nothing at or above n within max: the largest below n.
        assert_eq!(pick(2048, 5000, 6000), Some(4096));
        // min is raised to 2048 (RFC 8270), max lowered to 8192, n clamped.
        assert_eq!(pick(1024, 1024, 2048), Some(2048));
        assert_eq!(pick(1024, 1024, 1536), None);
        assert_eq!(pick(0, 0, u32::MAX), Some(2048));
        assert_eq!(pick(4000, 9000, 100_000), Some(8192));
        // min above n: the smallest group within [min, max].
        assert_eq!(pick(3072, 2048, 8192), Some(3072));
        // Empty windows.
        assert_eq!(pick(8193, 8193, 9000), None);
        assert_eq!(pick(3000, 3000, 3070), None);
        assert_eq!(pick(4096, 4096, 2048), None);
    }

    /// The file order must not matter (OpenSSH's running-best loop would
    /// keep a larger group seen first over an exact match seen later).
    #[test]
    fn choose_is_independent_of_file_order() {
        let lines: Vec<&str> = SAMPLE_MODULI.lines().collect();
        let reversed = format!("{}\n{}\n", lines[2], lines[1]);
        let m = Moduli::parse_openssh(&reversed).unwrap();
        assert_eq!(m.groups()[0].bits(), 3072);
        assert_eq!(m.choose(2048, 2048, 8192).map(DhGroup::bits), Some(2048));
        assert_eq!(m.choose(2048, 2500, 8192).map(DhGroup::bits), Some(3072));
    }

    /// Several groups of the chosen size: each gets picked (the same p with
    /// generators 2 and 5 stand in for two different primes).
    #[test]
    fn choose_picks_among_equal_sizes() {
        let good = SAMPLE_MODULI.lines().nth(1).unwrap();
        let with_5 = good.replacen(" 2047 2 ", " 2047 5 ", 1);
        let m = Moduli::parse_openssh(&format!("{good}\n{with_5}\n")).unwrap();
        assert_eq!(m.groups().len(), 2);
        let mut seen = [false; 2];
        for _ in 0..64 {
            let g = m.choose(2048, 2048, 2048).unwrap();
            seen[usize::from(g.g_mpint() == [5])] = true;
        }
        // Fails with probability 2^-63 if the choice is uniform.
        assert_eq!(seen, [true, true]);
    }

    #[test]
    fn hex_decoding() {
        assert_eq!(decode_hex("2"), Some(vec![2]));
        assert_eq!(decode_hex("0102"), Some(vec![1, 2]));
        assert_eq!(decode_hex("fFa"), Some(vec![0x0f, 0xfa]));
        assert_eq!(decode_hex(" 01 02\n 0a "), Some(vec![1, 2, 10]));
        assert_eq!(decode_hex(""), None);
        assert_eq!(decode_hex("0x12"), None);
        assert_eq!(decode_hex("12g4"), None);
        assert_eq!(decode_hex("١٢"), None);
    }
}
