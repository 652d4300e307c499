//! Host key files: loading with a permission check, creating missing ones
//! on first start, and writing key pairs for `wharf keygen`.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wharf_crypto::hostkey::{HostKey, KeyError, KeyKind};

#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error(
        "host key {} is accessible by others (mode {mode:04o}); run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{} already exists (pass --force to overwrite)", .0.display())]
    Exists(PathBuf),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> HostKeyError + '_ {
    move |error| HostKeyError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// The kind of key to create at `path`, from its file name as OpenSSH
/// names them: `*ed25519*`, `*ecdsa*` (P-256, or P-384/P-521 when the name
/// also says 384/521), `*rsa*` (3072 bits); anything else is Ed25519.
pub fn kind_for_path(path: &Path) -> KeyKind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.contains("ed25519") {
        KeyKind::Ed25519
    } else if name.contains("ecdsa") {
        if name.contains("521") {
            KeyKind::EcdsaP521
        } else if name.contains("384") {
            KeyKind::EcdsaP384
        } else {
            KeyKind::EcdsaP256
        }
    } else if name.contains("rsa") {
        KeyKind::Rsa { bits: 3072 }
    } else {
        KeyKind::Ed25519
    }
}

/// "ED25519", "ECDSA-P256", "RSA-3072": for messages.
pub fn kind_label(kind: KeyKind) -> String {
    match kind {
        KeyKind::Ed25519 => "ED25519".into(),
        KeyKind::EcdsaP256 => "ECDSA-P256".into(),
        KeyKind::EcdsaP384 => "ECDSA-P384".into(),
        KeyKind::EcdsaP521 => "ECDSA-P521".into(),
        KeyKind::Rsa { bits } => format!("RSA-{bits}"),
    }
}

/// Loads a host key, refusing a file that group or others may access
/// (as sshd does): a host key that others can read is no longer secret.
pub fn load(path: &Path) -> Result<HostKey, HostKeyError> {
    let meta = fs::metadata(path).map_err(io_error(path))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(HostKeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(HostKey::load(path)?)
}

/// Loads the key at `path`, or creates one of `kind` there if no file
/// exists (creating missing folders with mode 0700). Returns the key and
/// whether it was created.
///
/// Creation is race-free: the key is written to a private temporary file
/// and hard-linked into place, which fails if another process got there
/// first, in which case that process's key is loaded.
pub fn load_or_create(path: &Path, kind: KeyKind) -> Result<(HostKey, bool), HostKeyError> {
    match fs::symlink_metadata(path) {
        Ok(_) => return Ok((load(path)?, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(path)(e)),
    }
    let key = HostKey::generate(kind)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error(dir))?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let _ = fs::remove_file(&tmp);
    write_private(&tmp, &key, "wharf host key", false)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            // The .pub file is a convenience for the administrator; the
            // server never reads it, so failing to write it is not fatal.
            if let Err(e) = write_public(path, &key, "wharf host key") {
                tracing::warn!(error = %e, "could not write the host key's .pub file");
            }
            Ok((key, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok((load(path)?, false)),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Writes `key` as an OpenSSH private key file with mode 0600. Without
/// `overwrite`, fails if the file exists.
pub fn write_private(
    path: &Path,
    key: &HostKey,
    comment: &str,
    overwrite: bool,
) -> Result<(), HostKeyError> {
    let text = key.to_openssh(comment)?;
    let mut options = OpenOptions::new();
    options.write(true).mode(0o600);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            HostKeyError::Exists(path.to_path_buf())
        } else {
            io_error(path)(e)
        }
    })?;
    // An overwritten file keeps its old mode: tighten it.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io_error(path))?;
    file.write_all(text.as_bytes()).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))?;
    Ok(())
}

/// Writes `<path>.pub`: "TYPE BASE64 COMMENT\n", mode 0644.
pub fn write_public(path: &Path, key: &HostKey, comment: &str) -> Result<PathBuf, HostKeyError> {
    let mut pub_name = path.as_os_str().to_owned();
    pub_name.push(".pub");
    let pub_path = PathBuf::from(pub_name);
    let mut line = key.public_openssh();
    if !comment.is_empty() {
        line.push(' ');
        line.push_str(comment);
    }
    line.push('\n');
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&pub_path)
        .map_err(io_error(&pub_path))?;
    file.write_all(line.as_bytes())
        .map_err(io_error(&pub_path))?;
    Ok(pub_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn kinds_follow_file_names() {
        let k = |name: &str| kind_for_path(Path::new(name));
        assert_eq!(k("state/ssh_host_ed25519_key"), KeyKind::Ed25519);
        assert_eq!(k("ssh_host_ecdsa_key"), KeyKind::EcdsaP256);
        assert_eq!(k("ssh_host_ecdsa521_key"), KeyKind::EcdsaP521);
        assert_eq!(k("ssh_host_ecdsa_384"), KeyKind::EcdsaP384);
        assert_eq!(k("/x/SSH_HOST_RSA_KEY"), KeyKind::Rsa { bits: 3072 });
        assert_eq!(k("hostkey"), KeyKind::Ed25519);
        // The folder's name does not count.
        assert_eq!(k("/rsa/key"), KeyKind::Ed25519);
    }

    #[test]
    fn created_once_then_reloaded() {
        let dir = TempDir::new("hostkeys");
        let path = dir.path().join("state/sub/ssh_host_ecdsa_key");
        let (key, created) = load_or_create(&path, kind_for_path(&path)).unwrap();
        assert!(created);
        assert_eq!(key.kind(), KeyKind::EcdsaP256);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        let pub_line =
            fs::read_to_string(dir.path().join("state/sub/ssh_host_ecdsa_key.pub")).unwrap();
        assert!(
            pub_line.starts_with("ecdsa-sha2-nistp256 AAAA"),
            "{pub_line}"
        );

        let (again, created) = load_or_create(&path, KeyKind::Ed25519).unwrap();
        assert!(!created);
        assert_eq!(again.fingerprint_sha256(), key.fingerprint_sha256());
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 2);
    }

    #[test]
    fn readable_keys_are_refused() {
        let dir = TempDir::new("hostkeys-mode");
        let path = dir.path().join("ssh_host_ed25519_key");
        load_or_create(&path, KeyKind::Ed25519).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("accessible by others (mode 0644)"), "{err}");
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let dir = TempDir::new("hostkeys-garbage");
        let path = dir.path().join("ssh_host_ed25519_key");
        fs::write(&path, "not a key").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let err = load_or_create(&path, KeyKind::Ed25519)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
    }

    #[test]
    fn write_private_refuses_to_overwrite_unless_asked() {
        let dir = TempDir::new("hostkeys-write");
        let path = dir.path().join("k");
        let key = HostKey::generate(KeyKind::Ed25519).unwrap();
        write_private(&path, &key, "c", false).unwrap();
        assert!(matches!(
            write_private(&path, &key, "c", false),
            Err(HostKeyError::Exists(_))
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, &key, "c", true).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            load(&path).unwrap().fingerprint_sha256(),
            key.fingerprint_sha256()
        );
    }
}
