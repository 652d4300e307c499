use std::time::Duration;

use wharf_crypto::hostkey::SigAlg;
use wharf_crypto::packet::{CipherAlg, MacAlg};

use super::*;
use crate::config::Algorithms;
use crate::testutil::TempDir;

const HASH: &str = "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
/// RFC 8032 §7.1 TEST 1's public key as an OpenSSH line.
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea alice@laptop";

/// A folder holding `data/` (a user root) for configs to point at.
fn fixture() -> TempDir {
    let dir = TempDir::new("config");
    std::fs::create_dir(dir.path().join("data")).unwrap();
    dir
}

fn run(dir: &TempDir, text: &str, mode: Mode) -> Result<Config, Vec<Diagnostic>> {
    check(text, dir.path(), &Overrides::default(), mode)
}

/// The problems as (line, message) for compact assertions.
fn problems(dir: &TempDir, text: &str) -> Vec<(Option<usize>, String)> {
    match run(dir, text, Mode::Check) {
        Ok(_) => panic!("expected errors in:\n{text}"),
        Err(diags) => diags.into_iter().map(|d| (d.line, d.message)).collect(),
    }
}

/// Asserts that exactly these lines have problems, each message containing
/// the given text.
fn assert_problems(found: &[(Option<usize>, String)], expected: &[(usize, &str)]) {
    assert_eq!(
        found.len(),
        expected.len(),
        "expected {} problems, found:\n{found:#?}",
        expected.len()
    );
    for ((line, message), (want_line, want_text)) in found.iter().zip(expected) {
        assert_eq!(*line, Some(*want_line), "{message}");
        assert!(
            message.contains(want_text),
            "line {want_line}: {message:?} lacks {want_text:?}"
        );
    }
}

fn user(password: bool) -> String {
    let secret = if password {
        format!("password_hash = \"{HASH}\"\n")
    } else {
        format!("authorized_keys = [\"{KEY}\"]\n")
    };
    format!("[[users]]\nname = \"alice\"\nroot = \"data\"\n{secret}")
}

#[test]
fn a_full_config() {
    let dir = fixture();
    std::fs::write(dir.path().join("banner.txt"), "Authorized use only.\n").unwrap();
    std::fs::write(dir.path().join("bob_keys"), format!("# bob\n{KEY}\n")).unwrap();
    let text = format!(
        r##"
[server]
listen = ["127.0.0.1:2222", "[::1]:0"]
host_keys = ["state/ssh_host_ed25519_key", "state/ssh_host_rsa_key"]
kex_algorithms = "-sntrup*,mlkem768x25519-sha256"
ciphers = "aes256-gcm@openssh.com,aes128-ctr"
macs = "+hmac-sha1-96"
host_key_algorithms = "^rsa-sha2-256"
pubkey_accepted_algorithms = ["ssh-ed25519"]
max_auth_tries = 3
login_grace_time = "1m30s"
auth_failure_delay = "250ms"
max_startups = 10
banner_file = "banner.txt"
rekey_limit = "512M"
rekey_interval = "1h"
client_alive_interval = 15
client_alive_count_max = 4
idle_timeout = "0"

[[users]]
name = "alice"
password_hash = "{HASH}"
authorized_keys = ["{KEY}", "# a comment entry is allowed"]
root = "data"

[[users]]
name = "bob"
authorized_keys_file = "bob_keys"
root = "{}"
"##,
        dir.path().join("data").display()
    );
    let config = run(&dir, &text, Mode::Check).unwrap();
    assert_eq!(
        config.listen,
        [
            "127.0.0.1:2222".parse().unwrap(),
            "[::1]:0".parse().unwrap()
        ]
    );
    // Check mode creates nothing.
    assert!(config.host_keys.is_empty());
    assert!(!dir.path().join("state").exists());
    let a = &config.algorithms;
    assert_eq!(
        a.kex.iter().map(|k| k.name()).collect::<Vec<_>>(),
        [
            "curve25519-sha256",
            "curve25519-sha256@libssh.org",
            "ecdh-sha2-nistp256",
            "ecdh-sha2-nistp384",
            "ecdh-sha2-nistp521",
            "diffie-hellman-group-exchange-sha256",
            "diffie-hellman-group16-sha512",
            "diffie-hellman-group18-sha512",
            "diffie-hellman-group14-sha256",
        ]
    );
    assert_eq!(a.ciphers, [CipherAlg::Aes256Gcm, CipherAlg::Aes128Ctr]);
    assert_eq!(a.macs.last(), Some(&MacAlg::HmacSha1_96));
    assert_eq!(a.macs.len(), MacAlg::ALL.len());
    assert_eq!(a.host_key.first(), Some(&SigAlg::RsaSha256));
    assert!(!a.host_key.contains(&SigAlg::RsaSha1));
    assert_eq!(a.pubkey_accepted, [SigAlg::Ed25519]);
    assert_eq!(config.max_auth_tries, 3);
    assert_eq!(config.login_grace_time, Some(Duration::from_secs(90)));
    assert_eq!(config.auth_failure_delay, Duration::from_millis(250));
    assert_eq!(config.max_startups, 10);
    assert_eq!(config.banner.as_deref(), Some("Authorized use only.\n"));
    assert_eq!(config.rekey_limit, Some(512 << 20));
    assert_eq!(config.rekey_interval, Some(Duration::from_secs(3600)));
    assert_eq!(config.client_alive_interval, Some(Duration::from_secs(15)));
    assert_eq!(config.client_alive_count_max, 4);
    assert_eq!(config.idle_timeout, None);

    let users = &config.users;
    assert_eq!(users.len(), 2);
    let alice = users.get("alice").unwrap();
    assert_eq!(alice.policy.root, dir.path().join("data"));
    assert_eq!(alice.authorized_keys.len(), 1);
    assert!(alice.password_hash.as_ref().unwrap().verify(b"password"));
    let bob = users.get("bob").unwrap();
    assert!(bob.password_hash.is_none());
    assert_eq!(
        bob.authorized_keys[0].key.blob(),
        alice.authorized_keys[0].key.blob()
    );
}

#[test]
fn defaults_for_a_minimal_config() {
    let dir = fixture();
    let config = run(&dir, &user(true), Mode::Check).unwrap();
    assert_eq!(config.listen, ["127.0.0.1:2222".parse().unwrap()]);
    assert_eq!(config.algorithms, Algorithms::default());
    assert!(config.algorithms.kex.iter().all(|k| !k.is_legacy()));
    assert!(!config.algorithms.ciphers.contains(&CipherAlg::Aes128Cbc));
    assert_eq!(config.max_auth_tries, 6);
    assert_eq!(config.login_grace_time, Some(Duration::from_secs(120)));
    assert_eq!(config.auth_failure_delay, Duration::from_millis(500));
    assert_eq!(config.max_startups, 100);
    assert_eq!(config.banner, None);
    assert!(config.moduli.is_none());
    assert_eq!(config.rekey_limit, None);
}

#[test]
fn serve_mode_creates_missing_host_keys_beside_the_file() {
    let dir = fixture();
    let config = run(&dir, &user(false), Mode::Serve).unwrap();
    assert_eq!(config.host_keys.len(), 2);
    assert!(dir.path().join("state/ssh_host_ed25519_key").exists());
    assert!(dir.path().join("state/ssh_host_ecdsa_key").exists());
    // The next start loads the same keys, and check mode now sees them.
    let again = run(&dir, &user(false), Mode::Check).unwrap();
    let fingerprints = |c: &Config| -> Vec<String> {
        c.host_keys.iter().map(|k| k.fingerprint_sha256()).collect()
    };
    assert_eq!(fingerprints(&config), fingerprints(&again));
}

#[test]
fn nothing_is_created_for_a_bad_config() {
    let dir = fixture();
    let text = format!("[server]\nmax_startups = 0\n{}", user(true));
    assert!(run(&dir, &text, Mode::Serve).is_err());
    assert!(!dir.path().join("state").exists());
}

#[test]
fn overrides_win() {
    let dir = fixture();
    let text = format!("[server]\nlisten = [\"127.0.0.1:2222\"]\n{}", user(true));
    let overrides = Overrides {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        state_dir: Some(dir.path().join("elsewhere")),
    };
    let config = check(&text, dir.path(), &overrides, Mode::Serve).unwrap();
    assert_eq!(config.listen, ["127.0.0.1:0".parse().unwrap()]);
    assert!(dir.path().join("elsewhere/ssh_host_ed25519_key").exists());
}

#[test]
fn syntax_errors_have_a_line() {
    let dir = fixture();
    let found = problems(&dir, "[server]\nlisten = [\"a\"\nmax_startups = 1\n");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, Some(3), "{found:?}");
}

#[test]
fn every_unknown_key_is_reported() {
    let dir = fixture();
    let text = format!(
        "[server]\nlisten = [\"127.0.0.1:1\"]\nport = 22\nciphers = \"aes128-ctr\"\nmax_sessions = 4\n\n[[users]]\nname = \"alice\"\nroot = \"data\"\npassword_hash = \"{HASH}\"\nshell = \"/bin/sh\"\n\n[logging]\nlevel = \"x\"\n"
    );
    assert_problems(
        &problems(&dir, &text),
        &[
            (
                3,
                "unknown key `port` in [server]; expected one of: listen, host_keys,",
            ),
            (5, "unknown key `max_sessions` in [server]"),
            (
                11,
                "unknown key `shell` in [[users]]; expected one of: name, password_hash,",
            ),
            (
                13,
                "unknown key `logging` in the file; expected one of: server, users",
            ),
        ],
    );
}

#[test]
fn every_semantic_error_is_reported_with_its_line() {
    let dir = fixture();
    let text = format!(
        r#"[server]
listen = ["127.0.0.1:2222", "localhost:22", "127.0.0.1:99999"]
kex_algorithms = "+curve25519-sha256,diffie-hellman-group42-sha1"
ciphers = "-aes*-ctr,rot13"
login_grace_time = "2 minutes"
rekey_limit = "1.5G"
max_auth_tries = 0

[[users]]
name = "alice"
password_hash = "$argon2id$v=19$nonsense"
root = "data"

[[users]]
name = "alice"
authorized_keys = ["{KEY}", "ssh-ed25519 AAAA-not-base64", "command=\"ls\" {KEY}"]
root = "missing-folder"

[[users]]
name = "carol"
root = "data"
authorized_keys_file = "no-such-file"

[[users]]
name = "dave"
root = "data"

[[users]]
password_hash = "{HASH}"
"#
    );
    assert_problems(
        &problems(&dir, &text),
        &[
            (2, "`listen`: bad address `localhost:22`: expected IP:PORT"),
            (2, "`listen`: bad address `127.0.0.1:99999`"),
            (3, "`kex_algorithms`: unsupported algorithm `diffie-hellman-group42-sha1`; supported: sntrup761x25519-sha512,"),
            (4, "`ciphers`: unsupported algorithm `rot13`; supported: chacha20-poly1305@openssh.com,"),
            (5, "`login_grace_time`: bad duration `2 minutes`: unexpected ` `"),
            (6, "`rekey_limit`: bad size `1.5G`"),
            (7, "`max_auth_tries` must be between 1 and 1000, found 0"),
            (11, "user `alice`: `password_hash`: argon2 PHC string lacks its salt or hash"),
            (15, "duplicate user `alice` (first defined on line 10)"),
            (16, "user `alice`: `authorized_keys` entry 2:"),
            (16, "user `alice`: `authorized_keys` entry 3: command=\"ls\" cannot be honoured"),
            (17, "user `alice`: `root`"),
            (22, "user `carol`: `authorized_keys_file`: cannot read"),
            (24, "user `dave` has neither a `password_hash` nor any authorized key"),
            (28, "[[users]] entry without a `name`"),
            (28, "user `?` has no `root`"),
        ],
    );
}

#[test]
fn wrong_types_are_reported() {
    let dir = fixture();
    let text = format!(
        "[server]\nlisten = 2222\nmax_startups = \"many\"\nhost_keys = [\"k\", 3]\nbanner = true\nidle_timeout = 1.5\n\n{}",
        user(true)
    );
    assert_problems(
        &problems(&dir, &text),
        &[
            (
                2,
                "`listen` in [server] must be a string or an array of strings, found an integer",
            ),
            (
                3,
                "`max_startups` in [server] must be an integer, found a string",
            ),
            (
                4,
                "`host_keys` in [server] must hold strings, found an integer",
            ),
            (5, "`banner` in [server] must be a string, found a boolean"),
            (6, "`idle_timeout` in [server] must be a duration"),
        ],
    );
    let found = problems(&dir, "server = 1\nusers = \"alice\"\n");
    assert_problems(
        &found,
        &[
            (1, "[server] must be a table, found an integer"),
            (
                2,
                "`users` must be an array of tables ([[users]]), found a string",
            ),
        ],
    );
}

#[test]
fn files_the_config_names_are_checked() {
    let dir = fixture();
    std::fs::write(dir.path().join("moduli"), "# no groups\n").unwrap();
    std::fs::write(dir.path().join("bad-moduli"), "1 2 3\n").unwrap();
    std::fs::write(dir.path().join("keys"), format!("{KEY}\nssh-rsa garbage\n")).unwrap();
    let text = r#"[server]
banner = "hi"
banner_file = "banner.txt"
moduli_file = "moduli"
host_keys = ["~/.ssh/host"]

[[users]]
name = "alice"
root = "data"
authorized_keys_file = "keys"
"#;
    assert_problems(
        &problems(&dir, text),
        &[
            (3, "`banner` and `banner_file` are both set"),
            (4, "has no usable group"),
            (5, "`~` is not expanded"),
            (10, "`authorized_keys_file` "),
        ],
    );
    let found = problems(
        &dir,
        &format!("[server]\nmoduli_file = \"bad-moduli\"\n{}", user(true)),
    );
    assert_problems(&found, &[(2, "moduli line 1: expected 7 fields")]);
    let found = problems(
        &dir,
        &format!("[server]\nbanner_file = \"nope\"\n{}", user(true)),
    );
    assert_problems(&found, &[(2, "`banner_file`: cannot read")]);
}

#[test]
fn host_keys_that_exist_must_load() {
    let dir = fixture();
    std::fs::write(dir.path().join("broken_key"), "junk").unwrap();
    let text = format!("[server]\nhost_keys = [\"broken_key\"]\n{}", user(true));
    let found = problems(&dir, &text);
    assert_problems(&found, &[(2, "host key: host key ")]);
    assert!(found[0].1.contains("accessible by others"), "{found:?}");
}

#[test]
fn host_key_algorithms_must_fit_a_host_key() {
    let dir = fixture();
    let text = format!(
        "[server]\nhost_keys = [\"ssh_host_ed25519_key\"]\nhost_key_algorithms = \"rsa-sha2-512\"\n{}",
        user(true)
    );
    assert_problems(
        &problems(&dir, &text),
        &[(
            3,
            "no host key can sign with any of the host_key_algorithms (rsa-sha2-512)",
        )],
    );
}

#[test]
fn a_config_needs_users() {
    let dir = fixture();
    let found = problems(&dir, "[server]\n");
    assert_eq!(
        found,
        [(
            None,
            "no [[users]]: add at least one user, or another source in [auth] sources".to_owned()
        )]
    );
}

#[test]
fn errors_display_as_file_line_column() {
    let errors = super::super::ConfigErrors {
        file: "/etc/wharf.toml".into(),
        diagnostics: vec![
            Diagnostic {
                line: Some(3),
                column: Some(1),
                message: "first".into(),
            },
            Diagnostic {
                line: None,
                column: None,
                message: "second".into(),
            },
        ],
    };
    assert_eq!(
        errors.to_string(),
        "/etc/wharf.toml:3:1: first\n/etc/wharf.toml: second"
    );
}

#[test]
fn scp_and_sftp_version_settings() {
    let dir = fixture();
    let text = format!(
        "[server]\nscp = false\nsftp_min_version = 3\nsftp_max_version = 5\n{}scp = true\n",
        user(true)
    );
    let config = run(&dir, &text, Mode::Check).unwrap();
    assert!(!config.scp);
    assert_eq!(config.sftp_versions, (3, 5));
    assert_eq!(config.users.get("alice").unwrap().policy.scp, Some(true));

    let defaults = run(&dir, &user(true), Mode::Check).unwrap();
    assert!(defaults.scp);
    assert_eq!(defaults.sftp_versions, (1, 6));

    let text = format!(
        "[server]\nscp = \"no\"\nsftp_min_version = 5\nsftp_max_version = 4\nsftp_max_version_typo = 1\n{}",
        user(true)
    );
    let found = problems(&dir, &text);
    assert!(
        found
            .iter()
            .any(|(l, m)| *l == Some(2) && m.contains("true or false")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|(l, m)| *l == Some(3) && m.contains("above `sftp_max_version` 4")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|(l, m)| *l == Some(5) && m.contains("sftp_max_version_typo")),
        "{found:#?}"
    );
    let out_of_range = format!("[server]\nsftp_max_version = 7\n{}", user(true));
    assert_problems(&problems(&dir, &out_of_range), &[(2, "between 1 and 6")]);
}

#[test]
fn sftp_disabled_extensions() {
    let dir = fixture();
    let text = format!(
        "[sftp]\ndisabled_extensions = [\"copy-data\", \"check-file\", \"xattr@proftpd.org\"]\n{}",
        user(true)
    );
    let config = run(&dir, &text, Mode::Check).unwrap();
    assert_eq!(
        config.sftp_disabled_extensions,
        ["copy-data", "check-file", "xattr@proftpd.org"]
    );
    let defaults = run(&dir, &user(true), Mode::Check).unwrap();
    assert!(defaults.sftp_disabled_extensions.is_empty());

    // An unknown name is reported at its line with the known ones; so is an unknown key.
    let text = format!(
        "[sftp]\ndisabled_extensions = [\n  \"copy-data\",\n  \"copy-dta\",\n]\nfrobnicate = 1\n{}",
        user(true)
    );
    let found = problems(&dir, &text);
    assert_problems(
        &found,
        &[
            (4, "unknown SFTP extension `copy-dta`"),
            (6, "unknown key `frobnicate`"),
        ],
    );
    assert!(found[0].1.contains("hardlink@openssh.com"), "{found:#?}");
    let text = format!("[sftp]\ndisabled_extensions = 3\n{}", user(true));
    assert_problems(&problems(&dir, &text), &[(2, "array of strings")]);
}

#[test]
fn per_user_policy_keys() {
    let dir = fixture();
    let text = format!(
        "{}home = \"/in\"\nupload_only = true\numask = \"027\"\n\
         permissions = [{{ path = \"/in/**\", allow = [\"upload\", \"mkdir\"], deny = [\"delete\"] }}]\n\
         name_allow = [\"*.csv\"]\nname_deny = [\".*\"]\nquota_bytes = \"1G\"\nquota_files = 100\n\
         upload_bandwidth = \"1M\"\ndownload_bandwidth = 2048\nmax_sessions = 2\n\
         allowed_networks = [\"10.0.0.0/8\", \"::1\"]\nexpires_at = 2030-01-01\ndisabled = true\n",
        user(true)
    );
    let config = run(&dir, &text, Mode::Check).unwrap();
    let p = &config.users.get("alice").unwrap().policy;
    assert_eq!(p.home.as_deref(), Some("/in"));
    assert!(p.upload_only && p.disabled && !p.read_only);
    assert_eq!(p.umask, Some(0o27));
    assert_eq!(p.permissions[0].to_cli(), "/in/**:+upload,+mkdir,-delete");
    assert_eq!((p.name_allow.len(), p.name_deny.len()), (1, 1));
    assert_eq!(p.quota_bytes, Some(1 << 30));
    assert_eq!(p.quota_files, Some(100));
    assert_eq!(p.upload_bandwidth, Some(1 << 20));
    assert_eq!(p.download_bandwidth, Some(2048));
    assert_eq!(p.max_sessions, Some(2));
    assert_eq!(p.allowed_networks.len(), 2);
    // 2030-01-01 lasts through its day (UTC).
    assert_eq!(p.expires_at, Some(1_893_456_000 + 86_400));
}

#[test]
fn bad_policy_values_have_their_lines() {
    let dir = fixture();
    let text = format!(
        "{}home = \"in\"\numask = \"999\"\npermissions = [{{ path = \"/x\", allow = [\"fly\"] }}]\n\
         allowed_networks = [\"10.1.0.0/8\"]\nexpires_at = \"someday\"\nmax_sessions = 0\n",
        user(true)
    );
    let found = problems(&dir, &text);
    assert_problems(
        &found,
        &[
            (5, "must start with /"),
            (6, "bad umask"),
            (7, "unknown permission `fly`"),
            (8, "bits are set past the prefix"),
            (9, "bad date"),
            (10, "between 1 and 100000"),
        ],
    );
}

#[test]
fn auth_sources_and_ban() {
    let dir = fixture();
    let fp = "SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8";
    let text = format!(
        "[auth]\nsources = [\"sqlite\", \"system\", \"postgres\"]\npostgres_url = \"host=/run/postgresql user=wharf\"\n\
         system_min_uid = 500\nkey_blacklist = [\"{fp}\", \"{KEY}\"]\n[ban]\nmax_failures = 3\nwindow = \"1m\"\nduration = \"5m\"\n"
    );
    let config = run(&dir, &text, Mode::Check).unwrap();
    let a = &config.auth;
    assert_eq!(
        a.sources,
        [
            crate::config::SourceSpec::Sqlite(dir.path().join("state/users.db")),
            crate::config::SourceSpec::System { min_uid: 500 },
            crate::config::SourceSpec::Postgres {
                url: "host=/run/postgresql user=wharf".into(),
                pool_size: 4
            },
        ]
    );
    assert_eq!(
        a.key_blacklist.len(),
        1,
        "the line and the fingerprint are one key"
    );
    assert_eq!(a.ban.max_failures, 3);
    assert_eq!(a.ban.duration, Duration::from_secs(300));
    assert!(!format!("{config:?}").contains("run/postgresql"));
    // Without [auth]: the file's users, no bans.
    let config = run(&dir, &user(true), Mode::Check).unwrap();
    assert_eq!(config.auth, crate::config::AuthSettings::default());
}

#[test]
fn bad_auth_settings_have_their_lines() {
    let dir = fixture();
    let text = format!(
        "[auth]\nsources = [\"sqlite\", \"ldap\", \"sqlite\"]\nsystem_min_uid = 10\nkey_blacklist = [\"SHA256:nope\"]\n\
         [ban]\nmax_failures = -1\nwindow = \"0s\"\n{}",
        user(true)
    );
    let found = problems(&dir, &text);
    assert_problems(
        &found,
        &[
            (2, "unknown source `ldap`"),
            (2, "listed twice"),
            (3, "does not include \"system\""),
            (4, "bad fingerprint"),
            (6, "between 0 and 10000"),
            (7, "longer than zero"),
            (8, "only read when"),
        ],
    );
    let found = problems(&dir, "[auth]\nsources = [\"postgres\"]\n");
    assert_problems(&found, &[(1, "`postgres_url` is not set")]);
}

#[test]
fn hostbased_settings() {
    let dir = fixture();
    // RFC 8032 §7.1 TEST 2's public key as the second host's.
    let k2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM";
    std::fs::write(
        dir.path().join("known_hosts"),
        format!("# trusted\nbuild.example.com {k2}\n"),
    )
    .unwrap();
    let text = format!(
        "[auth]\nhostbased = true\nhostbased_known_hosts = \"known_hosts\"\n\
         hostbased_trusted_hosts = [\"localhost,127.0.0.1 {KEY}\"]\n{}",
        user(true)
    );
    let config = run(&dir, &text, Mode::Check).unwrap();
    let hosts = config.auth.hostbased.expect("hostbased on");
    let lo: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let key = |l: &str| wharf_crypto::hostkey::PublicKey::from_openssh(l).unwrap();
    let local = |_: &str| vec![lo];
    assert!(hosts.check(&key(KEY), "localhost.", lo, local).is_ok());
    assert!(hosts
        .check(&key(k2), "build.example.com.", lo, local)
        .is_ok());
    // Off by default.
    let config = run(&dir, &user(true), Mode::Check).unwrap();
    assert!(config.auth.hostbased.is_none());
    let found = problems(&dir, &format!("[auth]\nhostbased = true\n{}", user(true)));
    assert_problems(&found, &[(2, "needs `hostbased_known_hosts`")]);
    let found = problems(
        &dir,
        &format!(
            "[auth]\nhostbased_trusted_hosts = [\"h {KEY}\"]\n{}",
            user(true)
        ),
    );
    assert_problems(&found, &[(2, "`hostbased` is not true")]);
    std::fs::write(
        dir.path().join("bad_hosts"),
        format!("h {KEY}\n|1|x|y {KEY}\n"),
    )
    .unwrap();
    let found = problems(
        &dir,
        &format!(
            "[auth]\nhostbased = true\nhostbased_known_hosts = \"bad_hosts\"\nhostbased_trusted_hosts = [\"@cert-authority * {KEY}\"]\n{}",
            user(true)
        ),
    );
    assert_problems(&found, &[(3, "line 2: hashed"), (4, "not supported")]);
}
