//! `wharf serve` without a config file: one user (whoever runs wharf),
//! rooted at a data folder, with a one-time password and their own
//! authorized keys, on 127.0.0.1:2222, with host keys kept in a state
//! folder across restarts.

use std::fs::DirBuilder;
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::config::{self, Algorithms, Config};
use crate::console::Welcome;
use crate::hostkeys;
use crate::users::{
    check_user_name, hash_password, parse_authorized_keys, random_password, StoredHash, User,
    UserStore,
};

pub const DEFAULT_STATE_DIR: &str = "wharf-state";
pub const DEFAULT_DATA_DIR: &str = "wharf-data";
/// The user name when $USER is unset or unusable.
pub const FALLBACK_USER: &str = "wharf";

/// Where zero-config mode keeps things, after command-line overrides.
#[derive(Debug, Clone)]
pub struct ZeroConfig {
    pub state_dir: PathBuf,
    pub data_dir: PathBuf,
    /// Empty: 127.0.0.1:2222.
    pub listen: Vec<SocketAddr>,
}

impl ZeroConfig {
    pub fn new(
        state_dir: Option<PathBuf>,
        data_dir: Option<PathBuf>,
        listen: Vec<SocketAddr>,
    ) -> Self {
        ZeroConfig {
            state_dir: state_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
            data_dir: data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            listen,
        }
    }
}

/// Creates `dir` (and missing parents) with mode 0700 if it does not
/// exist, and returns its absolute path. An existing folder's mode is left
/// alone: it is the owner's choice.
fn private_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create folder {}", dir.display()))?;
    std::fs::canonicalize(dir).with_context(|| format!("cannot resolve {}", dir.display()))
}

/// The login name of whoever runs wharf: $USER when it is a usable name.
pub fn login_name() -> String {
    std::env::var("USER")
        .ok()
        .filter(|name| check_user_name(name).is_ok())
        .unwrap_or_else(|| FALLBACK_USER.to_owned())
}

/// Keys from `path` if the file exists; bad lines are skipped with a
/// warning naming their line (never their content). None when the file
/// does not exist.
fn own_authorized_keys(path: &Path) -> Option<Vec<crate::users::AuthorizedKey>> {
    if !path.exists() {
        return None;
    }
    match config::read_text(path, 4 * 1024 * 1024) {
        Ok(text) => {
            let (keys, errors) = parse_authorized_keys(&text);
            for (line, reason) in errors {
                tracing::warn!(file = %path.display(), line, %reason, "skipping authorized key");
            }
            Some(keys)
        }
        Err(reason) => {
            tracing::warn!(%reason, "cannot use authorized keys");
            None
        }
    }
}

/// Builds the zero-config [`Config`] (creating the folders and, on first
/// start, the host keys) and the [`Welcome`] to print once listening.
pub fn build(zc: &ZeroConfig) -> anyhow::Result<(Config, Welcome)> {
    let state_dir = private_dir(&zc.state_dir)?;
    let mut host_keys = Vec::new();
    let mut fingerprints = Vec::new();
    for name in ["ssh_host_ed25519_key", "ssh_host_ecdsa_key"] {
        let path = state_dir.join(name);
        let (key, created) = hostkeys::load_or_create(&path, hostkeys::kind_for_path(&path))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if created {
            tracing::info!(path = %path.display(), "created host key");
        }
        fingerprints.push((
            key.public_key().key_type_name().to_owned(),
            key.fingerprint_sha256(),
        ));
        host_keys.push(Arc::new(key));
    }

    let root = private_dir(&zc.data_dir)?;
    let name = login_name();
    let password = random_password();
    let hash = hash_password(password.as_bytes()).context("hashing the one-time password")?;
    let password_hash =
        StoredHash::parse(&hash).map_err(|e| anyhow::anyhow!("one-time password hash: {e}"))?;

    let mut authorized_keys = Vec::new();
    let mut key_source = None;
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        let path = Path::new(&home).join(".ssh/authorized_keys");
        if let Some(keys) = own_authorized_keys(&path) {
            key_source = Some((keys.len(), path));
            authorized_keys = keys;
        }
    }

    let mut user = User::new(name.clone(), root.clone());
    user.password_hash = Some(password_hash);
    user.authorized_keys = authorized_keys;
    let users = UserStore::new(vec![user])?;

    let listen = if zc.listen.is_empty() {
        vec![config::DEFAULT_LISTEN.parse()?]
    } else {
        zc.listen.clone()
    };
    let config = Config {
        source: None,
        listen,
        host_keys,
        algorithms: Algorithms::default(),
        max_auth_tries: config::DEFAULT_MAX_AUTH_TRIES,
        login_grace_time: Some(config::DEFAULT_LOGIN_GRACE_TIME),
        auth_failure_delay: config::DEFAULT_AUTH_FAILURE_DELAY,
        max_startups: config::DEFAULT_MAX_STARTUPS,
        banner: None,
        moduli: None,
        rekey_limit: None,
        rekey_interval: None,
        client_alive_interval: None,
        client_alive_count_max: config::DEFAULT_CLIENT_ALIVE_COUNT_MAX,
        idle_timeout: None,
        scp: true,
        sftp_versions: (1, 6),
        sftp_disabled_extensions: Vec::new(),
        users: Arc::new(users),
        auth: config::AuthSettings::default(),
    };
    let welcome = Welcome {
        user: name,
        password,
        root,
        authorized_keys: key_source,
        host_keys: fingerprints,
    };
    Ok((config, welcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn first_start_creates_state_and_later_starts_keep_it() {
        let dir = TempDir::new("zeroconf");
        let zc = ZeroConfig::new(
            Some(dir.path().join("state")),
            Some(dir.path().join("data")),
            vec!["127.0.0.1:0".parse().unwrap()],
        );
        let (config, welcome) = build(&zc).unwrap();
        assert_eq!(config.listen, ["127.0.0.1:0".parse().unwrap()]);
        assert_eq!(config.host_keys.len(), 2);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("data")), 0o700);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        assert_eq!(mode(&dir.path().join("state/ssh_host_ed25519_key")), 0o600);
        assert_eq!(mode(&dir.path().join("state/ssh_host_ecdsa_key")), 0o600);
        assert_eq!(welcome.host_keys[0].0, "ssh-ed25519");
        assert_eq!(welcome.host_keys[1].0, "ecdsa-sha2-nistp256");

        // The printed password is the user's, and only it.
        let users = &config.users;
        let hash = users
            .get(&welcome.user)
            .unwrap()
            .password_hash
            .as_ref()
            .unwrap();
        assert!(hash.verify(welcome.password.as_bytes()));
        assert!(!hash.verify(b"guess"));
        assert_eq!(users.root(&welcome.user), Some(welcome.root.as_path()));

        let (again, welcome2) = build(&zc).unwrap();
        let fp = |c: &Config| -> Vec<String> {
            c.host_keys.iter().map(|k| k.fingerprint_sha256()).collect()
        };
        assert_eq!(fp(&config), fp(&again));
        assert_ne!(*welcome.password, *welcome2.password);
    }
}
