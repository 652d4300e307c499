//! OpenSSH certificates made by ssh-keygen (tests/data/certs, see its
//! README): parsing, the CA signature, and the user checks. Expected
//! values are what `ssh-keygen -L` and `ssh-keygen -l` printed.

use std::net::IpAddr;
use std::path::Path;

use wharf_crypto::hostkey::{CertRefusal, CertType, Certificate, KeyError, PublicKey, SigAlg};

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/certs")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn cert(name: &str) -> Certificate {
    Certificate::from_openssh(&read(name), false).unwrap()
}

fn key(name: &str) -> PublicKey {
    PublicKey::from_openssh(&read(name)).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// 2030-01-01T00:00:00Z, inside the fixtures' 2020–2040 windows.
const NOW: u64 = 1_893_456_000;

#[test]
fn ed25519_certificate_fields() {
    let c = cert("user_ed25519-cert.pub");
    assert_eq!(c.type_name(), "ssh-ed25519-cert-v01@openssh.com");
    assert_eq!(c.cert_type(), CertType::User);
    assert_eq!(c.key_id(), "alice@example");
    assert_eq!(c.serial(), 42);
    assert_eq!(c.principals(), ["alice", "backup"]);
    // -V 20200101:20400101 in UTC.
    assert_eq!(c.valid_after(), 1_577_836_800);
    assert_eq!(c.valid_before(), 2_208_988_800);
    assert_eq!(c.force_command(), Some("internal-sftp"));
    let blocks = c.source_address().unwrap();
    assert_eq!(blocks.len(), 3);
    assert!(!c.verify_required());
    let names: Vec<&str> = c
        .critical_options()
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, ["force-command", "source-address"]);
    let ext: Vec<&str> = c.extensions().iter().map(|o| o.name.as_str()).collect();
    assert_eq!(ext, ["permit-pty"]);
    assert!(c.has_extension("permit-pty"));
    assert!(!c.has_extension("permit-port-forwarding"));
    // The certified key is the user's key, and the CA is the one ssh-keygen
    // printed as "Signing CA".
    assert_eq!(c.key(), &key("user_ed25519.pub"));
    assert_eq!(
        c.ca_key().fingerprint_sha256(),
        "SHA256:3c3zOpB8DR+xDY4ut/+4oAsbaFFlr4maUGrDkS1pgk0"
    );
    assert_eq!(c.ca_key(), &key("ca_ed25519.pub"));
    assert_eq!(c.ca_sig_alg(), SigAlg::Ed25519);
}

#[test]
fn every_key_type_parses_and_verifies() {
    let cases = [
        (
            "user_ecdsa256",
            "ecdsa-sha2-nistp256-cert-v01@openssh.com",
            "ca_ed25519.pub",
        ),
        (
            "user_ecdsa384",
            "ecdsa-sha2-nistp384-cert-v01@openssh.com",
            "ca_ed25519.pub",
        ),
        (
            "user_ecdsa521",
            "ecdsa-sha2-nistp521-cert-v01@openssh.com",
            "ca_ed25519.pub",
        ),
        ("user_rsa2048", "ssh-rsa-cert-v01@openssh.com", "ca_rsa.pub"),
    ];
    for (name, type_name, ca) in cases {
        let c = cert(&format!("{name}-cert.pub"));
        assert_eq!(c.type_name(), type_name);
        assert_eq!(c.key(), &key(&format!("{name}.pub")), "{name}");
        assert_eq!(c.ca_key(), &key(ca), "{name}");
        assert_eq!(c.principals(), ["alice"]);
        assert_eq!(c.check_for_user("alice", NOW, ip("203.0.113.1")), Ok(()));
        // ssh-keygen's default extensions.
        assert_eq!(c.extensions().len(), 5, "{name}");
    }
    let ecdsa = cert("user_ecdsa256-cert.pub");
    // -V always:forever
    assert_eq!((ecdsa.valid_after(), ecdsa.valid_before()), (0, u64::MAX));
    assert_eq!(ecdsa.serial(), 7);
    let rsa = cert("user_rsa2048-cert.pub");
    assert_eq!(rsa.ca_sig_alg(), SigAlg::RsaSha512);
    assert_eq!(rsa.key_id(), "rsa-id");
    assert_eq!(
        rsa.ca_key().fingerprint_sha256(),
        "SHA256:96egcLHzpMV5b9m8itG/uNKsLWMCCcuqWGGyt9yoiiI"
    );
}

#[test]
fn check_for_user_applies_openssh_rules() {
    let c = cert("user_ed25519-cert.pub");
    let inside = ip("10.1.2.3");
    assert_eq!(c.check_for_user("alice", NOW, inside), Ok(()));
    assert_eq!(c.check_for_user("backup", NOW, ip("192.168.1.5")), Ok(()));
    assert_eq!(c.check_for_user("alice", NOW, ip("2001:db8::7")), Ok(()));
    assert_eq!(
        c.check_for_user("alice", NOW, ip("::ffff:10.9.9.9")),
        Ok(())
    );
    assert_eq!(
        c.check_for_user("mallory", NOW, inside),
        Err(CertRefusal::PrincipalNotListed {
            user: "mallory".into()
        })
    );
    assert_eq!(
        c.check_for_user("alice", NOW, ip("192.168.1.6")),
        Err(CertRefusal::SourceAddress {
            peer: ip("192.168.1.6")
        })
    );
    // The window is [valid_after, valid_before).
    assert!(c.check_for_user("alice", 1_577_836_800, inside).is_ok());
    assert!(matches!(
        c.check_for_user("alice", 1_577_836_799, inside),
        Err(CertRefusal::NotYetValid { .. })
    ));
    assert!(matches!(
        c.check_for_user("alice", 2_208_988_800, inside),
        Err(CertRefusal::Expired { .. })
    ));
}

#[test]
fn refusals_from_ssh_keygen_certificates() {
    let peer = ip("203.0.113.1");
    assert_eq!(
        cert("host_ed25519-cert.pub").check_for_user("host.example.com", NOW, peer),
        Err(CertRefusal::NotAUserCertificate)
    );
    assert_eq!(cert("host_ed25519-cert.pub").cert_type(), CertType::Host);
    assert!(matches!(
        cert("expired-cert.pub").check_for_user("alice", NOW, peer),
        Err(CertRefusal::Expired {
            valid_before: 978_307_200,
            ..
        })
    ));
    let unknown = cert("unknowncrit-cert.pub");
    assert_eq!(
        unknown.check_for_user("alice", NOW, peer),
        Err(CertRefusal::UnknownCriticalOption(
            "wharf-test@example.com".into()
        ))
    );
    let vr = cert("verifyreq-cert.pub");
    assert!(vr.verify_required());
    assert_eq!(
        vr.check_for_user("alice", NOW, peer),
        Err(CertRefusal::VerifyRequired)
    );
    // No principals: valid for nobody when a user name is checked.
    let np = cert("noprincipals-cert.pub");
    assert!(np.principals().is_empty());
    assert!(matches!(
        np.check_for_user("alice", NOW, peer),
        Err(CertRefusal::PrincipalNotListed { .. })
    ));
}

#[test]
fn sha1_ca_signatures_only_when_allowed() {
    let line = read("sha1ca-cert.pub");
    assert!(matches!(
        Certificate::from_openssh(&line, false),
        Err(KeyError::Sha1NotAllowed)
    ));
    let c = Certificate::from_openssh(&line, true).unwrap();
    assert_eq!(c.ca_sig_alg(), SigAlg::RsaSha1);
    assert_eq!(c.key_id(), "sha1-id");
}

#[test]
fn tampering_breaks_the_ca_signature() {
    let c = cert("user_ed25519-cert.pub");
    let blob = c.blob().to_vec();
    // Flip one bit in each byte position up to the signature key (the
    // signed part); every change must be refused, never panic.
    let signed_len = blob.len() - 4 - 83; // ed25519 signature field: 4 + 83 bytes
    for i in 0..signed_len {
        let mut bad = blob.clone();
        bad[i] ^= 0x01;
        assert!(Certificate::from_blob(&bad, false).is_err(), "byte {i}");
    }
    // Every truncation and a trailing byte are refused.
    for cut in 0..blob.len() {
        assert!(Certificate::from_blob(&blob[..cut], false).is_err());
    }
    let mut long = blob.clone();
    long.push(0);
    assert!(Certificate::from_blob(&long, false).is_err());
    // A plain key is not a certificate, and vice versa.
    assert!(Certificate::from_blob(key("user_ed25519.pub").blob(), false).is_err());
    assert!(PublicKey::from_blob(&blob).is_err());
    // The stated type must match the blob.
    let line = read("user_ed25519-cert.pub").replacen(
        "ssh-ed25519-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        1,
    );
    assert!(Certificate::from_openssh(&line, false).is_err());
}
