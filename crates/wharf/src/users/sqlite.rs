//! The embedded user database: SQLite (compiled in), in WAL mode so the
//! `wharf user` commands can write while the server reads. The server
//! queries it on every login (on the blocking pool), so changes apply at
//! the next login without a restart; nothing is cached.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::directory::{Source, SourceError};
use super::sql::{self, KeyRow, SecretText, UserRow, UserSummary};
use super::User;

/// How long a statement waits for another process's write lock (the CLI's
/// or another server's) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The user database: one connection, opened on first use and reused
/// (each statement is its own transaction, so a reused connection still
/// sees every commit made since, by any process).
pub struct SqliteDb {
    path: PathBuf,
    conn: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.path)
            .finish()
    }
}

/// The SQL text for SQLite: `$N` placeholders become `?N` (see sql.rs).
fn lite(sql: &str) -> String {
    sql.replace('$', "?")
}

impl SqliteDb {
    /// Opens (and with `create`, creates with mode 0600 and the schema)
    /// the database at `path`. Without `create` a missing file is an error.
    pub fn open(path: &Path, create: bool) -> Result<SqliteDb, SourceError> {
        let db = SqliteDb {
            path: path.to_path_buf(),
            conn: Mutex::new(None),
        };
        if create && !path.exists() {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| db.file_error(e))?;
            }
            // The file holds password hashes: owner-only from the start
            // (SQLite gives the -wal and -shm files the same mode).
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| db.file_error(e))?;
        }
        db.with(|_| Ok(()))?;
        Ok(db)
    }

    fn file_error(&self, e: std::io::Error) -> SourceError {
        SourceError::File {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    fn err(&self, error: rusqlite::Error) -> SourceError {
        SourceError::Sqlite {
            path: self.path.display().to_string(),
            error,
        }
    }

    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        // READ_WRITE without CREATE: a server pointed at a wrong path must
        // fail, not serve from a new empty database.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(sql::SCHEMA)?;
        migrate(&conn)?;
        Ok(conn)
    }

    /// Runs `f` on the connection, opening it first if needed; after an
    /// error the connection is dropped and the next call opens a new one.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, SourceError> {
        let mut guard = self.conn.lock().map_err(|_| SourceError::File {
            path: self.path.display().to_string(),
            message: "connection lock poisoned".into(),
        })?;
        if guard.is_none() {
            *guard = Some(self.connect().map_err(|e| self.err(e))?);
        }
        let Some(conn) = guard.as_mut() else {
            return Err(self.err(rusqlite::Error::InvalidQuery));
        };
        match f(conn) {
            Ok(v) => Ok(v),
            Err(e) => {
                *guard = None;
                Err(self.err(e))
            }
        }
    }

    pub fn get(&self, name: &str) -> Result<Option<(UserRow, Vec<String>)>, SourceError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let row = tx
                .query_row(&lite(&sql::select_user()), params![name], read_row)
                .optional()?;
            let Some(row) = row else {
                return Ok(None);
            };
            let keys = {
                let mut st = tx.prepare(&lite(sql::SELECT_KEYS))?;
                let rows = st.query_map(params![name], |r| r.get::<_, String>(0))?;
                rows.collect::<Result<Vec<_>, _>>()?
            };
            tx.commit()?;
            Ok(Some((row, keys)))
        })
    }

    pub fn list(&self) -> Result<Vec<UserSummary>, SourceError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut counts = std::collections::HashMap::new();
            {
                let mut st = tx.prepare(&lite(sql::SELECT_KEY_COUNTS))?;
                let rows =
                    st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
                for r in rows {
                    let (n, c) = r?;
                    counts.insert(n, c);
                }
            }
            let out = {
                let mut st = tx.prepare(&lite(&sql::select_all_users()))?;
                let rows = st.query_map([], read_row)?;
                rows.map(|r| {
                    r.map(|row| UserSummary {
                        keys: counts.get(&row.name).copied().unwrap_or(0),
                        row,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
            };
            tx.commit()?;
            Ok(out)
        })
    }

    /// Adds a user and their keys in one transaction; false if the name
    /// is taken.
    pub fn add(&self, row: &UserRow, keys: &[KeyRow]) -> Result<bool, SourceError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM wharf_users WHERE name = ?1",
                    params![row.name],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_some() {
                return Ok(false);
            }
            tx.execute(
                &lite(&sql::insert_user()),
                params![
                    row.name,
                    row.password_hash,
                    row.root,
                    row.home,
                    row.disabled,
                    row.expires_at,
                    row.read_only,
                    row.upload_only,
                    row.umask,
                    row.quota_bytes,
                    row.quota_files,
                    row.upload_bandwidth,
                    row.download_bandwidth,
                    row.max_sessions,
                    row.scp,
                    row.allowed_networks,
                    row.permissions,
                    row.name_allow,
                    row.name_deny,
                    row.created_at,
                    row.totp_secret.as_ref().map(SecretText::as_str),
                    row.authentication_methods
                ],
            )?;
            for k in keys {
                tx.execute(
                    &lite(sql::INSERT_KEY),
                    params![row.name, k.fingerprint, k.line, row.created_at],
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    /// Rewrites a user's fields; false if there is no such user.
    pub fn update(&self, row: &UserRow) -> Result<bool, SourceError> {
        self.with(|c| {
            let n = c.execute(
                &lite(&sql::update_user()),
                params![
                    row.name,
                    row.password_hash,
                    row.root,
                    row.home,
                    row.disabled,
                    row.expires_at,
                    row.read_only,
                    row.upload_only,
                    row.umask,
                    row.quota_bytes,
                    row.quota_files,
                    row.upload_bandwidth,
                    row.download_bandwidth,
                    row.max_sessions,
                    row.scp,
                    row.allowed_networks,
                    row.permissions,
                    row.name_allow,
                    row.name_deny,
                    row.totp_secret.as_ref().map(SecretText::as_str),
                    row.authentication_methods
                ],
            )?;
            Ok(n > 0)
        })
    }

    /// Adds a key; false if the user has a key with that fingerprint.
    pub fn add_key(&self, name: &str, key: &KeyRow, now: i64) -> Result<bool, SourceError> {
        self.with(|c| {
            let n = c.execute(
                "INSERT OR IGNORE INTO wharf_user_keys (user_name, fingerprint, line, added_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![name, key.fingerprint, key.line, now],
            )?;
            Ok(n > 0)
        })
    }

    pub fn remove_key(&self, name: &str, fingerprint: &str) -> Result<bool, SourceError> {
        self.with(|c| Ok(c.execute(&lite(sql::DELETE_KEY), params![name, fingerprint])? > 0))
    }

    pub fn delete(&self, name: &str) -> Result<bool, SourceError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(&lite(sql::DELETE_KEYS), params![name])?;
            let n = tx.execute(&lite(sql::DELETE_USER), params![name])?;
            tx.commit()?;
            Ok(n > 0)
        })
    }
}

/// Adds the columns a database made by an earlier release lacks (SQLite
/// has no `ADD COLUMN IF NOT EXISTS`). Each ALTER is atomic; two
/// processes racing here can make one fail with "duplicate column", and
/// its next open finds the column.
fn migrate(conn: &Connection) -> Result<(), rusqlite::Error> {
    let have: Vec<String> = {
        let mut st = conn.prepare("PRAGMA table_info(wharf_users)")?;
        let names = st.query_map([], |r| r.get::<_, String>(1))?;
        names.collect::<Result<_, _>>()?
    };
    for (name, ty) in sql::ADDED_COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE wharf_users ADD COLUMN {name} {ty}"))?;
        }
    }
    Ok(())
}

fn read_row(r: &rusqlite::Row<'_>) -> Result<UserRow, rusqlite::Error> {
    Ok(UserRow {
        name: r.get(0)?,
        password_hash: r.get(1)?,
        root: r.get(2)?,
        home: r.get(3)?,
        disabled: r.get(4)?,
        expires_at: r.get(5)?,
        read_only: r.get(6)?,
        upload_only: r.get(7)?,
        umask: r.get(8)?,
        quota_bytes: r.get(9)?,
        quota_files: r.get(10)?,
        upload_bandwidth: r.get(11)?,
        download_bandwidth: r.get(12)?,
        max_sessions: r.get(13)?,
        scp: r.get(14)?,
        allowed_networks: r.get(15)?,
        permissions: r.get(16)?,
        name_allow: r.get(17)?,
        name_deny: r.get(18)?,
        created_at: r.get(19)?,
        totp_secret: r.get::<_, Option<String>>(20)?.map(SecretText::new),
        authentication_methods: r.get(21)?,
    })
}

impl Source for SqliteDb {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn lookup(&self, user: &str) -> Result<Option<User>, SourceError> {
        match self.get(user)? {
            Some((row, keys)) => row.into_user(&keys).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use crate::users::sql::tests::full_user;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea test@example";
    const FP: &str = "SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8";

    /// A database made before `totp_secret` and `authentication_methods`
    /// existed gets them when opened, and its users keep working.
    #[test]
    fn older_databases_are_migrated() {
        let dir = TempDir::new("sqlite-old");
        let path = dir.path().join("old.db");
        {
            let old_schema = sql::SCHEMA.replace(
                "created_at BIGINT NOT NULL,\n    totp_secret TEXT,\n    authentication_methods TEXT\n",
                "created_at BIGINT NOT NULL\n",
            );
            assert_ne!(
                old_schema,
                sql::SCHEMA,
                "the old schema must lack the new columns"
            );
            let c = Connection::open(&path).unwrap();
            c.execute_batch(&old_schema).unwrap();
            c.execute(
                "INSERT INTO wharf_users (name, root, created_at) VALUES ('old', '/srv/old', 1)",
                [],
            )
            .unwrap();
        }
        let db = SqliteDb::open(&path, false).unwrap();
        let user = db.lookup("old").unwrap().unwrap();
        assert!(user.totp.is_none() && user.policy.authentication_methods.is_none());
        let (mut row, _) = db.get("old").unwrap().unwrap();
        row.totp_secret = Some(SecretText::new("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
        row.authentication_methods = Some(r#"["publickey,password"]"#.into());
        assert!(db.update(&row).unwrap());
        let user = SqliteDb::open(&path, false)
            .unwrap()
            .lookup("old")
            .unwrap()
            .unwrap();
        assert!(user.totp.is_some());
        assert_eq!(
            user.policy.authentication_methods,
            Some(vec![vec![
                wharf_ssh::AuthMethod::PublicKey,
                wharf_ssh::AuthMethod::Password
            ]])
        );
    }

    #[test]
    fn missing_database_is_an_error_without_create() {
        let dir = TempDir::new("sqlite-missing");
        let err = SqliteDb::open(&dir.path().join("users.db"), false).unwrap_err();
        assert!(err.to_string().contains("users.db"), "{err}");
    }

    #[test]
    fn schema_round_trip_and_admin_operations() {
        let dir = TempDir::new("sqlite");
        let path = dir.path().join("sub/users.db");
        let db = SqliteDb::open(&path, true).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let user = full_user();
        let row = UserRow::from_user(
            &user,
            Some("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5".into()),
            42,
        );
        let key = KeyRow {
            fingerprint: FP.into(),
            line: KEY.into(),
        };
        assert!(db.add(&row, &[key]).unwrap());
        assert!(!db.add(&row, &[]).unwrap(), "duplicate name");
        // A second handle (as the server holds while the CLI writes).
        let server = SqliteDb::open(&path, false).unwrap();
        let found = server.lookup("carol").unwrap().unwrap();
        assert_eq!(found.policy, user.policy);
        assert_eq!(found.authorized_keys.len(), 1);
        assert!(server.lookup("nobody").unwrap().is_none());

        let mut changed = row.clone();
        changed.disabled = 0;
        changed.password_hash = None;
        assert!(db.update(&changed).unwrap());
        let found = server.lookup("carol").unwrap().unwrap();
        assert!(!found.policy.disabled && found.password_hash.is_none());

        assert!(!db
            .add_key(
                "carol",
                &KeyRow {
                    fingerprint: FP.into(),
                    line: KEY.into()
                },
                1
            )
            .unwrap());
        assert!(db.remove_key("carol", FP).unwrap());
        assert!(!db.remove_key("carol", FP).unwrap());
        assert!(server
            .lookup("carol")
            .unwrap()
            .unwrap()
            .authorized_keys
            .is_empty());
        assert!(db
            .add_key(
                "carol",
                &KeyRow {
                    fingerprint: FP.into(),
                    line: KEY.into()
                },
                1
            )
            .unwrap());

        let list = db.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].keys, 1);
        assert!(db.delete("carol").unwrap());
        assert!(!db.delete("carol").unwrap());
        assert!(server.lookup("carol").unwrap().is_none());
        let mode: String = db
            .with(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
