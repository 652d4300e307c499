//! User authentication driven end to end by the in-process client: method
//! chains (partial success), keyboard-interactive rounds chosen by the
//! driver, OpenSSH certificates and hostbased.

mod support;

use std::time::Duration;
use support::{config, Client};
use wharf_crypto::hostkey::{HostKey, KeyKind, SigAlg};
use wharf_ssh::wire::{Reader, WriteExt};
use wharf_ssh::{msg, AuthAttempt, AuthDecision, AuthMethod, InfoRequest, Prompt, ServerConfig};

fn ready(cfg: ServerConfig) -> Client {
    let mut c = Client::new(cfg);
    c.handshake();
    c.request_userauth_service();
    c
}

fn no_delay() -> ServerConfig {
    let mut cfg = config();
    cfg.auth_failure_delay = Duration::ZERO;
    cfg
}

/// USERAUTH_FAILURE's method list and partial_success flag.
fn failure(c: &mut Client) -> (Vec<String>, bool) {
    let p = c.expect(msg::USERAUTH_FAILURE);
    let mut r = Reader::new(&p[1..]);
    let methods = r.name_list().unwrap().iter().map(str::to_string).collect();
    let partial = r.bool().unwrap();
    r.finish().unwrap();
    (methods, partial)
}

fn disconnect_reason(c: &mut Client) -> u32 {
    assert!(c.is_disconnected(), "server should have disconnected");
    c.conn.closed().unwrap().code
}

fn request_head(user: &str, method: &str) -> Vec<u8> {
    let mut p = vec![msg::USERAUTH_REQUEST];
    p.put_string(user.as_bytes());
    p.put_string(b"ssh-connection");
    p.put_string(method.as_bytes());
    p
}

/// A signed publickey request for `blob` under the algorithm name `alg`,
/// signed by `key` with `sig_alg` (RFC 4252 §7).
fn signed_publickey(
    c: &Client,
    user: &str,
    alg: &str,
    blob: &[u8],
    key: &HostKey,
    sig_alg: SigAlg,
) -> Vec<u8> {
    let mut body = request_head(user, "publickey");
    body.put_bool(true);
    body.put_string(alg.as_bytes());
    body.put_string(blob);
    let mut data = Vec::new();
    data.put_string(&c.session_id);
    data.extend_from_slice(&body);
    body.put_string(&key.sign(sig_alg, &data).unwrap());
    body
}

fn publickey_query(user: &str, alg: &str, blob: &[u8]) -> Vec<u8> {
    let mut p = request_head(user, "publickey");
    p.put_bool(false);
    p.put_string(alg.as_bytes());
    p.put_string(blob);
    p
}

fn kbd_request(user: &str, submethods: &str) -> Vec<u8> {
    let mut p = request_head(user, "keyboard-interactive");
    p.put_string(b"");
    p.put_string(submethods.as_bytes());
    p
}

fn info_response(answers: &[&str]) -> Vec<u8> {
    let mut p = vec![msg::USERAUTH_INFO_RESPONSE];
    p.put_u32(answers.len() as u32);
    for a in answers {
        p.put_string(a.as_bytes());
    }
    p
}

/// INFO_REQUEST decoded: name, instruction, prompts.
fn info_request(c: &mut Client) -> (String, String, Vec<(String, bool)>) {
    let p = c.expect(msg::USERAUTH_INFO_REQUEST);
    let mut r = Reader::new(&p[1..]);
    let name = r.utf8().unwrap().to_string();
    let instruction = r.utf8().unwrap().to_string();
    assert_eq!(r.string().unwrap(), b"");
    let n = r.u32().unwrap();
    let prompts = (0..n)
        .map(|_| (r.utf8().unwrap().to_string(), r.bool().unwrap()))
        .collect();
    r.finish().unwrap();
    (name, instruction, prompts)
}

// ----- chains -----

#[test]
fn publickey_then_password_chain() {
    let user_key = HostKey::generate(KeyKind::Ed25519).unwrap();
    let mut c = ready(no_delay());
    let s = signed_publickey(
        &c,
        "alice",
        "ssh-ed25519",
        user_key.public_blob(),
        &user_key,
        SigAlg::Ed25519,
    );
    c.send(&s);
    assert!(matches!(
        c.take_auth_request(),
        Some((_, AuthAttempt::PublicKey { signed: true, .. }))
    ));
    c.conn.auth_decision(AuthDecision::Partial {
        // publickey is dropped: it already succeeded.
        next: vec![AuthMethod::PublicKey, AuthMethod::Password],
    });
    // RFC 4252 §5.1: partial success lists what may continue.
    assert_eq!(failure(&mut c), (vec!["password".to_string()], true));
    assert_eq!(c.conn.auth_methods_completed(), [AuthMethod::PublicKey]);

    // The key cannot be used again for the second step: a counted
    // failure, no question to the driver.
    c.send(&s);
    assert!(c.take_auth_request().is_none());
    assert_eq!(failure(&mut c), (vec!["password".to_string()], false));

    c.send(&Client::password_request("alice", "wrong"));
    assert!(matches!(
        c.take_auth_request(),
        Some((_, AuthAttempt::Password(_)))
    ));
    c.conn.auth_decision(false);
    assert_eq!(failure(&mut c), (vec!["password".to_string()], false));

    c.send(&Client::password_request("alice", "right"));
    c.take_auth_request().unwrap();
    c.conn.auth_decision(AuthDecision::Accept);
    c.expect(msg::USERAUTH_SUCCESS);
    assert_eq!(c.conn.user(), Some("alice"));
}

#[test]
fn chain_failures_count_towards_max_auth_tries() {
    let mut cfg = no_delay();
    cfg.max_auth_tries = 3;
    let mut c = ready(cfg);
    // A failure before the partial success still counts after it.
    c.send(&Client::password_request("alice", "wrong"));
    c.take_auth_request().unwrap();
    c.conn.auth_decision(false);
    failure(&mut c);
    c.send(&Client::password_request("alice", "pw"));
    c.take_auth_request().unwrap();
    c.conn.auth_decision(AuthDecision::Partial {
        next: vec![AuthMethod::KeyboardInteractive],
    });
    assert_eq!(
        failure(&mut c),
        (vec!["keyboard-interactive".to_string()], true)
    );
    // A method outside `next` counts (here the one already used).
    c.send(&Client::password_request("alice", "pw"));
    assert!(c.take_auth_request().is_none());
    failure(&mut c);
    c.send(&kbd_request("alice", ""));
    c.take_auth_request().unwrap();
    c.conn.auth_decision(false);
    assert_eq!(
        disconnect_reason(&mut c),
        msg::reason::NO_MORE_AUTH_METHODS_AVAILABLE
    );
}

#[test]
fn a_chain_with_nothing_left_ends_the_connection() {
    let mut c = ready(no_delay());
    c.send(&Client::password_request("alice", "pw"));
    c.take_auth_request().unwrap();
    c.conn.auth_decision(AuthDecision::Partial {
        next: vec![AuthMethod::Password],
    });
    assert_eq!(
        disconnect_reason(&mut c),
        msg::reason::NO_MORE_AUTH_METHODS_AVAILABLE
    );
}

#[test]
fn a_key_query_answered_partial_is_pk_ok() {
    let user_key = HostKey::generate(KeyKind::Ed25519).unwrap();
    let mut c = ready(no_delay());
    c.send(&publickey_query(
        "alice",
        "ssh-ed25519",
        user_key.public_blob(),
    ));
    c.take_auth_request().unwrap();
    c.conn.auth_decision(AuthDecision::Partial {
        next: vec![AuthMethod::Password],
    });
    c.expect(msg::USERAUTH_PK_OK);
    assert!(c.conn.auth_methods_completed().is_empty());
}

// ----- keyboard-interactive -----

#[test]
fn keyboard_interactive_rounds_chosen_by_the_driver() {
    let mut c = ready(no_delay());
    c.send(&kbd_request("alice", "pam,totp"));
    match c.take_auth_request() {
        Some((user, AuthAttempt::KeyboardInteractiveStart { submethods })) => {
            assert_eq!(user, "alice");
            assert_eq!(submethods, "pam,totp");
        }
        other => panic!("{other:?}"),
    }
    c.conn.auth_info_request(
        "Wharf",
        "Two questions",
        vec![
            Prompt::new("Password: ", false),
            Prompt::new("Colour? ", true),
        ],
    );
    let (name, instruction, prompts) = info_request(&mut c);
    assert_eq!(
        (name.as_str(), instruction.as_str()),
        ("Wharf", "Two questions")
    );
    assert_eq!(
        prompts,
        [("Password: ".into(), false), ("Colour? ".into(), true)]
    );
    c.send(&info_response(&["secret", "blue"]));
    match c.take_auth_request() {
        Some((_, AuthAttempt::KeyboardInteractiveResponse(answers))) => {
            let answers: Vec<&str> = answers.iter().map(|a| a.as_str()).collect();
            assert_eq!(answers, ["secret", "blue"]);
        }
        other => panic!("{other:?}"),
    }
    // A second round: the one-time code.
    c.conn
        .auth_info_request("", "", vec![Prompt::new("Code: ", true)]);
    assert_eq!(info_request(&mut c).2.len(), 1);
    c.send(&info_response(&["123456"]));
    match c.take_auth_request() {
        Some((_, AuthAttempt::KeyboardInteractiveResponse(a))) => assert_eq!(*a[0], "123456"),
        other => panic!("{other:?}"),
    }
    c.conn.auth_decision(true);
    c.expect(msg::USERAUTH_SUCCESS);
}

#[test]
fn the_password_prompt_helper_keeps_the_classic_dialogue() {
    let mut c = ready(no_delay());
    c.send(&kbd_request("alice", ""));
    c.take_auth_request().unwrap();
    c.conn
        .auth_decision(AuthDecision::InfoRequest(InfoRequest::password()));
    let (_, _, prompts) = info_request(&mut c);
    assert_eq!(prompts, [("Password: ".into(), false)]);
    c.send(&info_response(&["pw"]));
    assert!(matches!(
        c.take_auth_request(),
        Some((_, AuthAttempt::KeyboardInteractiveResponse(a))) if a.len() == 1
    ));
    c.conn.auth_decision(false);
    failure(&mut c);
}

#[test]
fn answers_must_fit_the_questions() {
    let mut c = ready(no_delay());
    // Wrong number of answers: a failure, the driver is not asked.
    c.send(&kbd_request("alice", ""));
    c.take_auth_request().unwrap();
    c.conn
        .auth_info_request("", "", vec![Prompt::new("A: ", false)]);
    info_request(&mut c);
    c.send(&info_response(&["one", "two"]));
    assert!(c.take_auth_request().is_none());
    failure(&mut c);
    // Too long an answer.
    c.send(&kbd_request("alice", ""));
    c.take_auth_request().unwrap();
    c.conn
        .auth_info_request("", "", vec![Prompt::new("A: ", false)]);
    info_request(&mut c);
    c.send(&info_response(&[&"x".repeat(1025)]));
    assert!(c.take_auth_request().is_none());
    failure(&mut c);
    // Not UTF-8.
    c.send(&kbd_request("alice", ""));
    c.take_auth_request().unwrap();
    c.conn
        .auth_info_request("", "", vec![Prompt::new("A: ", false)]);
    info_request(&mut c);
    let mut p = vec![msg::USERAUTH_INFO_RESPONSE];
    p.put_u32(1);
    p.put_string(&[0xff, 0xfe]);
    c.send(&p);
    assert!(c.take_auth_request().is_none());
    failure(&mut c);
    // A response nobody asked for is a protocol error.
    c.send(&info_response(&["late"]));
    assert_eq!(disconnect_reason(&mut c), msg::reason::PROTOCOL_ERROR);
}

#[test]
fn rounds_and_prompts_are_bounded() {
    let mut c = ready(no_delay());
    c.send(&kbd_request("alice", ""));
    c.take_auth_request().unwrap();
    for _ in 0..8 {
        c.conn
            .auth_info_request("", "", vec![Prompt::new("Again: ", false)]);
        info_request(&mut c);
        c.send(&info_response(&["x"]));
        c.take_auth_request().unwrap();
    }
    // The ninth round is refused as a failed attempt.
    c.conn
        .auth_info_request("", "", vec![Prompt::new("Again: ", false)]);
    failure(&mut c);
    // So is a round with too many prompts.
    c.send(&kbd_request("alice", ""));
    c.take_auth_request().unwrap();
    c.conn
        .auth_info_request("", "", vec![Prompt::new("?", true); 17]);
    failure(&mut c);
    // An InfoRequest answering a password attempt is a driver bug: refused.
    c.send(&Client::password_request("alice", "pw"));
    c.take_auth_request().unwrap();
    c.conn
        .auth_decision(AuthDecision::InfoRequest(InfoRequest::password()));
    failure(&mut c);
}

#[test]
fn abandoning_a_dialogue_counts_as_a_failure() {
    let mut cfg = no_delay();
    cfg.max_auth_tries = 2;
    let mut c = ready(cfg);
    c.send(&kbd_request("alice", ""));
    c.take_auth_request().unwrap();
    c.conn
        .auth_decision(AuthDecision::InfoRequest(InfoRequest::password()));
    info_request(&mut c);
    // A new request instead of the answer: one failure, silently.
    c.send(&kbd_request("alice", ""));
    c.take_auth_request().unwrap();
    c.conn
        .auth_decision(AuthDecision::InfoRequest(InfoRequest::password()));
    info_request(&mut c);
    c.send(&kbd_request("alice", ""));
    assert_eq!(
        disconnect_reason(&mut c),
        msg::reason::NO_MORE_AUTH_METHODS_AVAILABLE
    );
}

#[test]
fn passwords_must_be_utf8() {
    let mut c = ready(no_delay());
    let mut p = request_head("alice", "password");
    p.put_bool(false);
    p.put_string(&[b'p', 0xc3]);
    c.send(&p);
    assert!(c.take_auth_request().is_none());
    failure(&mut c);
}

// ----- certificates -----

/// A user certificate (PROTOCOL.certkeys) for `user_key`, signed by `ca`
/// with `ca_alg`, valid for `principals` from 0 to forever.
fn make_cert(user_key: &HostKey, ca: &HostKey, ca_alg: SigAlg, principals: &[&str]) -> Vec<u8> {
    let plain = user_key.public_blob();
    let mut r = Reader::new(plain);
    let key_type = std::str::from_utf8(r.string().unwrap())
        .unwrap()
        .to_string();
    let mut blob = Vec::new();
    blob.put_string(format!("{key_type}-cert-v01@openssh.com").as_bytes());
    blob.put_string(&[0x5a; 32]); // nonce
    blob.extend_from_slice(r.rest()); // the key's own fields
    blob.put_u64(1); // serial
    blob.put_u32(1); // user certificate
    blob.put_string(b"test-id");
    let mut names = Vec::new();
    for p in principals {
        names.put_string(p.as_bytes());
    }
    blob.put_string(&names);
    blob.put_u64(0);
    blob.put_u64(u64::MAX);
    blob.put_string(b""); // critical options
    blob.put_string(b""); // extensions
    blob.put_string(b""); // reserved
    blob.put_string(ca.public_blob());
    let sig = ca.sign(ca_alg, &blob).unwrap();
    blob.put_string(&sig);
    blob
}

#[test]
fn certificate_query_and_login() {
    let ca = HostKey::generate(KeyKind::Ed25519).unwrap();
    let user_key = HostKey::generate(KeyKind::EcdsaP256).unwrap();
    let cert = make_cert(&user_key, &ca, SigAlg::Ed25519, &["alice"]);
    let alg = "ecdsa-sha2-nistp256-cert-v01@openssh.com";
    let mut c = ready(no_delay());
    c.send(&publickey_query("alice", alg, &cert));
    match c.take_auth_request() {
        Some((
            _,
            AuthAttempt::Certificate {
                cert: parsed,
                alg,
                signed: false,
            },
        )) => {
            assert_eq!(alg, SigAlg::EcdsaP256);
            assert_eq!(parsed.key(), user_key.public_key());
            assert_eq!(parsed.ca_key(), ca.public_key());
            assert_eq!(parsed.principals(), ["alice"]);
            assert_eq!(
                parsed.check_for_user("alice", 1_700_000_000, "192.0.2.1".parse().unwrap()),
                Ok(())
            );
        }
        other => panic!("{other:?}"),
    }
    c.conn.auth_decision(true);
    let ok = c.expect(msg::USERAUTH_PK_OK);
    let mut r = Reader::new(&ok[1..]);
    assert_eq!(r.string().unwrap(), alg.as_bytes());
    assert_eq!(r.string().unwrap(), &cert[..]);

    // The user signs with the certified key and the plain algorithm.
    let s = signed_publickey(&c, "alice", alg, &cert, &user_key, SigAlg::EcdsaP256);
    c.send(&s);
    assert!(matches!(
        c.take_auth_request(),
        Some((_, AuthAttempt::Certificate { signed: true, .. }))
    ));
    c.conn.auth_decision(true);
    c.expect(msg::USERAUTH_SUCCESS);
}

#[test]
fn rsa_certificates_with_sha2_names() {
    let ca = HostKey::generate(KeyKind::Ed25519).unwrap();
    let user_key = HostKey::generate(KeyKind::Rsa { bits: 2048 }).unwrap();
    let cert = make_cert(&user_key, &ca, SigAlg::Ed25519, &["alice"]);
    let mut c = ready(no_delay());
    let s = signed_publickey(
        &c,
        "alice",
        "rsa-sha2-512-cert-v01@openssh.com",
        &cert,
        &user_key,
        SigAlg::RsaSha512,
    );
    c.send(&s);
    assert!(matches!(
        c.take_auth_request(),
        Some((
            _,
            AuthAttempt::Certificate {
                alg: SigAlg::RsaSha512,
                signed: true,
                ..
            }
        ))
    ));
    c.conn.auth_decision(false);
    failure(&mut c);
    // A signature made with another hash than the name says fails.
    let s = signed_publickey(
        &c,
        "alice",
        "rsa-sha2-512-cert-v01@openssh.com",
        &cert,
        &user_key,
        SigAlg::RsaSha256,
    );
    c.send(&s);
    assert!(c.take_auth_request().is_none());
    failure(&mut c);
}

#[test]
fn bad_or_refused_certificates_never_reach_the_driver() {
    let ca = HostKey::generate(KeyKind::Ed25519).unwrap();
    let user_key = HostKey::generate(KeyKind::Ed25519).unwrap();
    let alg = "ssh-ed25519-cert-v01@openssh.com";
    let mut cert = make_cert(&user_key, &ca, SigAlg::Ed25519, &["alice"]);
    let mut c = ready(no_delay());
    // A principal changed after signing: the CA signature fails.
    let pos = cert.windows(5).position(|w| w == b"alice").unwrap();
    cert[pos] = b'A';
    c.send(&publickey_query("alice", alg, &cert));
    assert!(c.take_auth_request().is_none());
    failure(&mut c);
    // A certificate under a plain algorithm name, and vice versa.
    let good = make_cert(&user_key, &ca, SigAlg::Ed25519, &["alice"]);
    c.send(&publickey_query("alice", "ssh-ed25519", &good));
    assert!(c.take_auth_request().is_none());
    failure(&mut c);
    c.send(&publickey_query("alice", alg, user_key.public_blob()));
    assert!(c.take_auth_request().is_none());
    failure(&mut c);

    // Certificates switched off.
    let mut cfg = no_delay();
    cfg.pubkey_cert_algorithms.clear();
    let mut c = ready(cfg);
    c.send(&publickey_query("alice", alg, &good));
    assert!(c.take_auth_request().is_none());
    failure(&mut c);

    // A CA signing with ssh-rsa (SHA-1) is refused unless configured.
    let rsa_ca = HostKey::generate(KeyKind::Rsa { bits: 2048 }).unwrap();
    let sha1 = make_cert(&user_key, &rsa_ca, SigAlg::RsaSha1, &["alice"]);
    let mut c = ready(no_delay());
    c.send(&publickey_query("alice", alg, &sha1));
    assert!(c.take_auth_request().is_none());
    failure(&mut c);
    let mut cfg = no_delay();
    cfg.ca_signature_algorithms.push(SigAlg::RsaSha1);
    let mut c = ready(cfg);
    c.send(&publickey_query("alice", alg, &sha1));
    assert!(matches!(
        c.take_auth_request(),
        Some((_, AuthAttempt::Certificate { cert, .. })) if cert.ca_sig_alg() == SigAlg::RsaSha1
    ));
}

#[test]
fn server_sig_algs_lists_certificate_algorithms() {
    let mut c = Client::new(config());
    c.handshake();
    let p = c.recv().expect("EXT_INFO");
    let mut r = Reader::new(&p[1..]);
    r.u32().unwrap();
    assert_eq!(r.string().unwrap(), b"server-sig-algs");
    let algs = r.name_list().unwrap();
    for name in [
        "ssh-ed25519",
        "rsa-sha2-256",
        "ssh-ed25519-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "rsa-sha2-512-cert-v01@openssh.com",
    ] {
        assert!(algs.contains(name), "{name} in {algs:?}");
    }
    assert!(!algs.contains("ssh-rsa-cert-v01@openssh.com"));
}

// ----- hostbased -----

fn hostbased_request(
    host_key: &HostKey,
    alg: SigAlg,
    client_host: &str,
    sign_with: &[u8],
) -> Vec<u8> {
    let mut body = request_head("alice", "hostbased");
    body.put_string(alg.name().as_bytes());
    body.put_string(host_key.public_blob());
    body.put_string(client_host.as_bytes());
    body.put_string(b"alice-on-client");
    // RFC 4252 §9: signed over the session id and the request so far.
    let mut data = Vec::new();
    data.put_string(sign_with);
    data.extend_from_slice(&body);
    body.put_string(&host_key.sign(alg, &data).unwrap());
    body
}

#[test]
fn hostbased_signature_is_verified_before_the_driver_decides() {
    let host_key = HostKey::generate(KeyKind::Ed25519).unwrap();
    let mut cfg = no_delay();
    cfg.auth_methods.push(AuthMethod::Hostbased);
    let mut c = ready(cfg);
    let sid = c.session_id.clone();
    c.send(&hostbased_request(
        &host_key,
        SigAlg::Ed25519,
        "client.example.",
        &sid,
    ));
    match c.take_auth_request() {
        Some((
            user,
            AuthAttempt::Hostbased {
                key,
                alg,
                client_host,
                client_user,
            },
        )) => {
            assert_eq!(user, "alice");
            assert_eq!(&key, host_key.public_key());
            assert_eq!(alg, SigAlg::Ed25519);
            assert_eq!(client_host, "client.example.");
            assert_eq!(client_user, "alice-on-client");
        }
        other => panic!("{other:?}"),
    }
    c.conn.auth_decision(false);
    let (methods, _) = failure(&mut c);
    assert!(methods.contains(&"hostbased".to_string()));
    // Signed over another session id: refused without asking.
    c.send(&hostbased_request(
        &host_key,
        SigAlg::Ed25519,
        "client.example.",
        b"other",
    ));
    assert!(c.take_auth_request().is_none());
    failure(&mut c);
    // Then accepted.
    c.send(&hostbased_request(
        &host_key,
        SigAlg::Ed25519,
        "client.example.",
        &sid,
    ));
    c.take_auth_request().unwrap();
    c.conn.auth_decision(true);
    c.expect(msg::USERAUTH_SUCCESS);
}

#[test]
fn hostbased_is_off_unless_configured() {
    let host_key = HostKey::generate(KeyKind::Ed25519).unwrap();
    let mut c = ready(no_delay());
    let sid = c.session_id.clone();
    c.send(&hostbased_request(&host_key, SigAlg::Ed25519, "h.", &sid));
    assert!(c.take_auth_request().is_none());
    let (methods, _) = failure(&mut c);
    assert!(!methods.contains(&"hostbased".to_string()));
    // But a chain may require it.
    c.send(&Client::password_request("alice", "pw"));
    c.take_auth_request().unwrap();
    c.conn.auth_decision(AuthDecision::Partial {
        next: vec![AuthMethod::Hostbased],
    });
    assert_eq!(failure(&mut c), (vec!["hostbased".to_string()], true));
    c.send(&hostbased_request(&host_key, SigAlg::Ed25519, "h.", &sid));
    assert!(c.take_auth_request().is_some());
}
