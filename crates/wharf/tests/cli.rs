//! Runs the built `wharf` binary: check-config, hash-password, keygen, and
//! `serve` refusing a bad config before it binds anything.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{PasswordHash, PasswordVerifier};

const WHARF: &str = env!("CARGO_BIN_EXE_wharf");

/// RFC 8032 §7.1 TEST 1's Ed25519 public key as an authorized_keys line.
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea alice@laptop";

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "wharf-cli-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join("data")).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wharf(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(WHARF)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running wharf");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin)
        .expect("writing stdin");
    child.wait_with_output().expect("waiting for wharf")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const GOOD: &str = r#"[server]
listen = ["127.0.0.1:0"]
host_keys = ["state/ssh_host_ed25519_key"]
ciphers = "+aes128-cbc"
login_grace_time = "30s"

[[users]]
name = "alice"
authorized_keys = ["KEY"]
root = "data"
"#;

#[test]
fn check_config_accepts_a_good_file() {
    let dir = TempDir::new("good");
    let file = dir.write("wharf.toml", &GOOD.replace("KEY", KEY));
    let out = wharf(&["check-config", file.to_str().unwrap()], b"");
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{}: OK\n", file.display()));
    // Checking never creates the host keys serve would create.
    assert!(!dir.path().join("state").exists());
}

#[test]
fn check_config_reports_every_problem_with_its_line() {
    let dir = TempDir::new("bad");
    let bad = r#"[server]
listen = ["127.0.0.1:0", "nowhere"]
ciphers = "aes128-ctr,aes1024-ctr"
colour = "blue"
rekey_limit = "lots"

[[users]]
name = "alice"
root = "data"
password_hash = "plaintext"

[[users]]
name = "alice"
root = "data"
authorized_keys = ["ssh-ed25519 AAAA"]
"#;
    let file = dir.write("bad.toml", bad);
    let f = file.display().to_string();
    let out = wharf(&["check-config", &f], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let expected = [
        format!("{f}:2:26: `listen`: bad address `nowhere`"),
        format!("{f}:3:11: `ciphers`: unsupported algorithm `aes1024-ctr`; supported: "),
        format!("{f}:4:1: unknown key `colour` in [server]"),
        format!("{f}:5:15: `rekey_limit`: bad size `lots`"),
        format!("{f}:10:17: user `alice`: `password_hash`: not a supported password hash"),
        format!("{f}:13:8: duplicate user `alice` (first defined on line 8)"),
        format!("{f}:15:20: user `alice`: `authorized_keys` entry 1: "),
    ];
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (line, want) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(want.as_str()),
            "{line:?} should start with {want:?}"
        );
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn check_config_reports_syntax_errors_and_missing_files() {
    let dir = TempDir::new("syntax");
    let file = dir.write("broken.toml", "[server]\nlisten = [\n\n[[users]]\n");
    let out = wharf(&["check-config", file.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}:4:", file.display())),
        "{stderr}"
    );

    let missing = dir.path().join("missing.toml");
    let out = wharf(&["check-config", missing.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}: cannot read", missing.display())),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_bad_config_before_binding() {
    let dir = TempDir::new("serve-bad");
    let file = dir.write(
        "wharf.toml",
        &GOOD.replace("KEY", KEY).replace("30s", "30 parsecs"),
    );
    let out = wharf(&["serve", "--config", file.to_str().unwrap()], b"");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:5:20: `login_grace_time`: bad duration",
            file.display()
        )),
        "{stderr}"
    );
    assert!(!text(&out.stdout).contains("listening"));
    assert!(
        !dir.path().join("state").exists(),
        "created state for a bad config"
    );
}

#[test]
fn hash_password_prints_a_verifiable_argon2id_hash() {
    let out = wharf(&["hash-password"], b"correct horse battery staple\n");
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = stdout.trim_end();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(line.starts_with("$argon2id$v=19$"), "{line}");
    let hash = PasswordHash::new(line).unwrap();
    let argon = argon2::Argon2::default();
    assert!(argon
        .verify_password(b"correct horse battery staple", &hash)
        .is_ok());
    assert!(argon
        .verify_password(b"correct horse battery", &hash)
        .is_err());
}

#[test]
fn hash_password_rejects_an_empty_password() {
    for input in [&b"\n"[..], b""] {
        let out = wharf(&["hash-password"], input);
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        assert!(text(&out.stderr).contains("empty"), "{}", text(&out.stderr));
    }
}

#[test]
fn keygen_writes_keys_openssh_can_read() {
    let dir = TempDir::new("keygen");
    let ssh_keygen = Command::new("ssh-keygen").arg("-?").output().is_ok();
    for (args, pub_type) in [
        (&["-t", "ed25519"][..], "ssh-ed25519"),
        (&["-t", "ecdsa"][..], "ecdsa-sha2-nistp256"),
        (&["-t", "ecdsa", "-b", "521"][..], "ecdsa-sha2-nistp521"),
        (&["-t", "rsa", "-b", "2048"][..], "ssh-rsa"),
    ] {
        let file = dir.path().join(format!("key-{}", args.join("")));
        let f = file.to_str().unwrap();
        let mut all = vec!["keygen", "-f", f, "-C", "test@wharf"];
        all.extend_from_slice(args);
        let out = wharf(&all, b"");
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("SHA256:"),
            "{}",
            text(&out.stdout)
        );
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{args:?}");
        let public = std::fs::read_to_string(format!("{f}.pub")).unwrap();
        assert!(public.starts_with(&format!("{pub_type} AAAA")), "{public}");
        assert!(public.trim_end().ends_with(" test@wharf"), "{public}");

        if ssh_keygen {
            // OpenSSH derives the public key from our private key file; it
            // must be the one we wrote beside it.
            let derived = Command::new("ssh-keygen")
                .args(["-y", "-f", f])
                .output()
                .unwrap();
            assert!(
                derived.status.success(),
                "ssh-keygen -y: {}",
                text(&derived.stderr)
            );
            let derived = text(&derived.stdout);
            let fields = |s: &str| s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            assert_eq!(fields(&derived), fields(&public), "{args:?}");
        }

        // Existing files are kept unless --force.
        let out = wharf(&all, b"");
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("already exists"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = wharf(&["keygen", "-t", "ed25519", "-b", "256", "-f", "x"], b"");
    assert!(!out.status.success());
}

/// A running `wharf serve`, killed on drop, with its stdout lines.
struct Server {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Server {
    fn start(args: &[&str], dir: &Path, user: &str) -> Server {
        use std::io::BufRead;
        let mut child = Command::new(WHARF)
            .args(args)
            .current_dir(dir)
            .env("USER", user)
            .env("HOME", dir.join("home"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting wharf serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server { child, lines }
    }

    /// Lines up to and including the first that satisfies `until`.
    fn read_until(&self, until: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = until(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(e) => panic!("wharf serve: {e}; output so far: {seen:#?}"),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening_port(line: &str) -> u16 {
    let addr = line
        .strip_prefix("wharf: listening on ")
        .unwrap_or_else(|| panic!("not an announcement: {line:?}"));
    addr.parse::<std::net::SocketAddr>().unwrap().port()
}

#[test]
fn serve_zero_config_announces_how_to_connect_and_keeps_its_host_keys() {
    let dir = TempDir::new("zero");
    std::fs::create_dir_all(dir.path().join("home/.ssh")).unwrap();
    dir.write("home/.ssh/authorized_keys", &format!("{KEY}\n"));
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--state-dir",
        "st",
        "--data-dir",
        "dd",
    ];

    let mut fingerprints = Vec::new();
    for _ in 0..2 {
        let server = Server::start(&args, dir.path(), "zoe");
        let first = server.read_until(|l| l.starts_with("wharf: listening on "));
        let port = listening_port(first.last().unwrap());
        assert_ne!(port, 0, "the announcement must carry the bound port");
        let block = server.read_until(|l| l.contains("(ecdsa-sha2-nistp256)"));
        let block = block.join("\n");
        assert!(
            block.contains(&format!("sftp -P {port} zoe@127.0.0.1")),
            "{block}"
        );
        assert!(block.contains("1 from "), "{block}");
        let password_line = block
            .lines()
            .find(|l| l.trim_start().starts_with("password:"))
            .unwrap_or_else(|| panic!("no password in {block}"));
        assert_eq!(
            password_line.split_whitespace().nth(1).map(str::len),
            Some(23)
        );
        let fps: Vec<String> = block
            .split_whitespace()
            .filter(|w| w.starts_with("SHA256:"))
            .map(str::to_owned)
            .collect();
        assert_eq!(fps.len(), 2, "{block}");
        fingerprints.push(fps);
    }
    // The second start reuses the keys the first one created.
    assert_eq!(fingerprints[0], fingerprints[1]);
    for key in ["st/ssh_host_ed25519_key", "st/ssh_host_ecdsa_key"] {
        let mode = std::fs::metadata(dir.path().join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let mode = std::fs::metadata(dir.path().join("dd"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn serve_with_a_config_announces_every_listener() {
    let dir = TempDir::new("serve-config");
    let file = dir.write("wharf.toml", &GOOD.replace("KEY", KEY));
    let server = Server::start(
        &[
            "serve",
            "-c",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
        ],
        dir.path(),
        "nobody",
    );
    let first = server.read_until(|l| l.starts_with("wharf: listening on "));
    let second = server.read_until(|l| l.starts_with("wharf: listening on "));
    let (a, b) = (
        listening_port(first.last().unwrap()),
        listening_port(second.last().unwrap()),
    );
    assert!(a != 0 && b != 0 && a != b, "ports {a} and {b}");
    // No zero-config block in config mode.
    assert!(!first.iter().chain(&second).any(|l| l.contains("password:")));
    assert!(dir.path().join("state/ssh_host_ed25519_key").exists());
}

/// Runs OpenSSH's `sftp -b -` with `server_command` as its subsystem
/// (`sftp -D`), feeding `batch` on stdin.
fn sftp_direct(server_command: &str, batch: &str) -> Output {
    Command::new("sftp")
        .args(["-b", "-", "-D", server_command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(batch.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap()
}

/// `wharf sftp-server` as OpenSSH's `sftp -D` drives a subsystem: put, get,
/// mkdir and rename over stdin/stdout, checked on disk; with -R every
/// change is refused and nothing appears.
#[test]
fn sftp_server_serves_openssh_sftp_over_stdio() {
    if Command::new("sftp").arg("-h").output().is_err() {
        eprintln!("skipped: no OpenSSH sftp on PATH");
        return;
    }
    let dir = TempDir::new("sftp-server");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.path().join("in.bin"), &content).unwrap();
    let d = dir.path().display();
    let out = sftp_direct(
        &format!("{WHARF} sftp-server -d {d}/data"),
        &format!("put {d}/in.bin up.bin\nget up.bin {d}/back.bin\nmkdir sub\nrename up.bin sub/moved.bin\n"),
    );
    assert!(out.status.success(), "sftp failed: {}", text(&out.stderr));
    assert_eq!(
        std::fs::read(dir.path().join("data/sub/moved.bin")).unwrap(),
        content
    );
    assert_eq!(std::fs::read(dir.path().join("back.bin")).unwrap(), content);

    let out = sftp_direct(
        &format!("{WHARF} sftp-server -R -d {d}/data"),
        &format!("put {d}/in.bin ro.bin\n"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Permission denied"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("data/ro.bin").exists());
}
