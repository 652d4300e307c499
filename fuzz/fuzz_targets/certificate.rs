//! OpenSSH certificate blobs as a client sends them in publickey
//! authentication: parsed with a bounded reader and the CA signature
//! checked; a certificate that parses is then checked for a user, which
//! walks its principals, options and validity.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};
use wharf_crypto::hostkey::Certificate;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::from_blob(data, true) {
        let _ = cert.check_for_user("fuzz", 1_700_000_000, IpAddr::V4(Ipv4Addr::LOCALHOST));
        let _ = (cert.principals(), cert.critical_options(), cert.extensions());
    }
});
