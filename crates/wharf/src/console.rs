//! What wharf prints on stdout for people and scripts: the line announcing
//! each listener (tests wait for it) and, in zero-config mode, the block
//! that says how to connect, shown once with the real port.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Mutex;

use zeroize::Zeroizing;

/// What the zero-config "how to connect" block shows.
pub struct Welcome {
    pub user: String,
    /// The one-time password; dropped (and zeroized) once printed.
    pub password: Zeroizing<String>,
    pub root: PathBuf,
    /// Keys taken from ~/.ssh/authorized_keys, and that file.
    pub authorized_keys: Option<(usize, PathBuf)>,
    /// ("ssh-ed25519", "SHA256:...") per host key.
    pub host_keys: Vec<(String, String)>,
}

/// Set before the server starts; taken by the first announcement, so the
/// password is printed once and not kept in memory afterwards.
static WELCOME: Mutex<Option<Welcome>> = Mutex::new(None);

/// Arranges for `welcome` to be printed after the first listener is bound.
pub fn set_welcome(welcome: Welcome) {
    if let Ok(mut slot) = WELCOME.lock() {
        *slot = Some(welcome);
    }
}

/// Called by the driver once per bound listener, with its real address
/// (so port 0 shows the port the kernel chose). Prints exactly
/// `wharf: listening on <addr>` and flushes stdout; after the first, in
/// zero-config mode, also the "how to connect" block.
pub fn announce_listening(addr: SocketAddr) {
    let welcome = WELCOME.lock().ok().and_then(|mut slot| slot.take());
    let mut text = format!("wharf: listening on {addr}\n");
    if let Some(welcome) = welcome {
        text.push_str(&welcome_text(&welcome, addr));
    }
    let mut out = std::io::stdout().lock();
    // stdout closed (e.g. piped into a process that exited): nothing useful
    // to do about it; the server keeps running and logs go to stderr.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    // `text` held the password: clear it.
    drop(Zeroizing::new(text));
}

/// The host to put in the sftp command for a listener address.
fn connect_host(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

fn welcome_text(w: &Welcome, addr: SocketAddr) -> String {
    let mut s = String::new();
    let port = addr.port();
    let host = connect_host(addr);
    s.push_str("\nwharf is ready. Connect with:\n\n");
    s.push_str(&format!("    sftp -P {port} {}@{host}\n\n", w.user));
    s.push_str(&format!("  user:      {}\n", w.user));
    s.push_str(&format!("  port:      {port}\n"));
    s.push_str(&format!(
        "  password:  {}   (one-time: shown only now, valid until wharf stops)\n",
        w.password.as_str()
    ));
    if let Some((count, path)) = &w.authorized_keys {
        s.push_str(&format!("  keys:      {count} from {}\n", path.display()));
    }
    s.push_str(&format!("  root:      {}\n", w.root.display()));
    for (i, (kind, fingerprint)) in w.host_keys.iter().enumerate() {
        let label = if i == 0 { "host keys:" } else { "" };
        s.push_str(&format!("  {label:<10} {fingerprint} ({kind})\n"));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn welcome() -> Welcome {
        Welcome {
            user: "alice".into(),
            password: Zeroizing::new("abcde-fghij-kmnop-qrstu".into()),
            root: PathBuf::from("/data"),
            authorized_keys: Some((2, PathBuf::from("/home/alice/.ssh/authorized_keys"))),
            host_keys: vec![
                ("ssh-ed25519".into(), "SHA256:aaaa".into()),
                ("ecdsa-sha2-nistp256".into(), "SHA256:bbbb".into()),
            ],
        }
    }

    #[test]
    fn the_block_names_the_real_port_and_the_exact_command() {
        let text = welcome_text(&welcome(), "127.0.0.1:40123".parse().unwrap());
        assert!(
            text.contains("    sftp -P 40123 alice@127.0.0.1\n"),
            "{text}"
        );
        assert!(
            text.contains("password:  abcde-fghij-kmnop-qrstu"),
            "{text}"
        );
        assert!(
            text.contains("2 from /home/alice/.ssh/authorized_keys"),
            "{text}"
        );
        assert!(
            text.contains("host keys: SHA256:aaaa (ssh-ed25519)\n"),
            "{text}"
        );
        assert!(
            text.contains("SHA256:bbbb (ecdsa-sha2-nistp256)\n"),
            "{text}"
        );
        // Nothing in it can be mistaken for a listener announcement.
        assert!(!text.contains("wharf: listening on"));
    }

    #[test]
    fn hosts_for_the_command() {
        let host = |a: &str| connect_host(a.parse().unwrap());
        assert_eq!(host("0.0.0.0:22"), "127.0.0.1");
        assert_eq!(host("10.1.2.3:22"), "10.1.2.3");
        assert_eq!(host("[::]:22"), "[::1]");
        assert_eq!(host("[fe80::1]:22"), "[fe80::1]");
    }
}
