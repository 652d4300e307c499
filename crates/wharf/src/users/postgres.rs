//! Users in PostgreSQL, with the schema and statements of sql.rs.
//!
//! The user directory is synchronous and runs on tokio's blocking pool, so
//! this source keeps the async driver (tokio-postgres) and bridges with
//! `Handle::block_on` from the calling blocking thread: the connections'
//! I/O tasks run on the server's own runtime, no second runtime is made,
//! and nothing blocks an async worker. (The sync `postgres` crate would
//! start a runtime inside each connection instead.) Making the directory
//! trait async would have pushed the same bridge into the SQLite, system
//! and argon2 paths, which all block by nature.
//!
//! Callers must be on a thread that has a runtime handle but is not
//! running async code: a `spawn_blocking` closure in the server, or the
//! CLI's main thread inside `Runtime::enter`.
//!
//! A few connections are kept open between logins (a small pool), each
//! query has a deadline, and a connection that failed is dropped.

use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio_postgres::{Client, NoTls, Row};

use super::directory::{Source, SourceError};
use super::sql::{self, KeyRow, SecretText, UserRow, UserSummary};
use super::User;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest any one operation (a login's lookup) may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_POOL_SIZE: usize = 4;

pub struct PgDb {
    config: tokio_postgres::Config,
    pool: Mutex<Vec<Client>>,
    pool_size: usize,
    schema_ready: AtomicBool,
}

impl std::fmt::Debug for PgDb {
    // The connection string may hold a password: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb")
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

fn pg(e: tokio_postgres::Error) -> SourceError {
    SourceError::Postgres(e.to_string())
}

impl PgDb {
    /// Checks the connection string (a `postgresql://` URL or
    /// `key=value` pairs); connects on first use.
    pub fn new(url: &str, pool_size: usize) -> Result<PgDb, SourceError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| SourceError::Postgres(format!("bad connection string: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        Ok(PgDb {
            config,
            pool: Mutex::new(Vec::new()),
            pool_size: pool_size.max(1),
            schema_ready: AtomicBool::new(false),
        })
    }

    /// Runs `fut` to completion on the current runtime, within the
    /// deadline.
    fn block<T>(
        &self,
        fut: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, SourceError> {
        let handle = Handle::try_current().map_err(|_| {
            SourceError::Postgres("internal error: no tokio runtime to run queries on".into())
        })?;
        handle
            .block_on(async { tokio::time::timeout(QUERY_TIMEOUT, fut).await })
            .map_err(|_| {
                SourceError::Postgres(format!("no answer within {}s", QUERY_TIMEOUT.as_secs()))
            })?
            .map_err(pg)
    }

    fn client(&self) -> Result<Client, SourceError> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        if let Some(c) = pooled.filter(|c| !c.is_closed()) {
            return Ok(c);
        }
        let handle = Handle::try_current().map_err(|_| {
            SourceError::Postgres("internal error: no tokio runtime to run queries on".into())
        })?;
        let client = self.block(async {
            let (client, connection) = self.config.connect(NoTls).await?;
            handle.spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "postgres connection ended");
                }
            });
            Ok(client)
        })?;
        if !self.schema_ready.load(Ordering::Acquire) {
            self.block(client.batch_execute(sql::SCHEMA))?;
            // Columns added since the first release, for older databases.
            self.block(client.batch_execute(&sql::pg_migrations()))?;
            self.schema_ready.store(true, Ordering::Release);
        }
        Ok(client)
    }

    /// Returns a healthy connection to the pool.
    fn give_back(&self, client: Client, ok: bool) {
        if ok && !client.is_closed() {
            if let Ok(mut p) = self.pool.lock() {
                if p.len() < self.pool_size {
                    p.push(client);
                }
            }
        }
    }

    pub fn get(&self, name: &str) -> Result<Option<(UserRow, Vec<String>)>, SourceError> {
        let mut client = self.client()?;
        let r = self.block(async {
            let tx = client.transaction().await?;
            let Some(row) = tx.query_opt(&sql::select_user(), &[&name]).await? else {
                return Ok(None);
            };
            let keys = tx.query(sql::SELECT_KEYS, &[&name]).await?;
            tx.commit().await?;
            let row = read_row(&row)?;
            let keys = keys
                .iter()
                .map(|k| k.try_get::<_, String>(0))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some((row, keys)))
        });
        self.give_back(client, r.is_ok());
        r
    }

    pub fn list(&self) -> Result<Vec<UserSummary>, SourceError> {
        let mut client = self.client()?;
        let r = self.block(async {
            let tx = client.transaction().await?;
            let counts = tx.query(sql::SELECT_KEY_COUNTS, &[]).await?;
            let rows = tx.query(&sql::select_all_users(), &[]).await?;
            tx.commit().await?;
            let mut by_user = std::collections::HashMap::new();
            for c in &counts {
                by_user.insert(c.try_get::<_, String>(0)?, c.try_get::<_, i64>(1)?);
            }
            rows.iter()
                .map(|r| {
                    let row = read_row(r)?;
                    Ok(UserSummary {
                        keys: by_user.get(&row.name).copied().unwrap_or(0),
                        row,
                    })
                })
                .collect()
        });
        self.give_back(client, r.is_ok());
        r
    }

    pub fn add(&self, row: &UserRow, keys: &[KeyRow]) -> Result<bool, SourceError> {
        let mut client = self.client()?;
        let r = self.block(async {
            let tx = client.transaction().await?;
            if tx
                .query_opt("SELECT 1 FROM wharf_users WHERE name = $1", &[&row.name])
                .await?
                .is_some()
            {
                return Ok(false);
            }
            tx.execute(
                &sql::insert_user(),
                &[
                    &row.name,
                    &row.password_hash,
                    &row.root,
                    &row.home,
                    &row.disabled,
                    &row.expires_at,
                    &row.read_only,
                    &row.upload_only,
                    &row.umask,
                    &row.quota_bytes,
                    &row.quota_files,
                    &row.upload_bandwidth,
                    &row.download_bandwidth,
                    &row.max_sessions,
                    &row.scp,
                    &row.allowed_networks,
                    &row.permissions,
                    &row.name_allow,
                    &row.name_deny,
                    &row.created_at,
                    &row.totp_secret.as_ref().map(SecretText::as_str),
                    &row.authentication_methods,
                ],
            )
            .await?;
            for k in keys {
                tx.execute(
                    sql::INSERT_KEY,
                    &[&row.name, &k.fingerprint, &k.line, &row.created_at],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        });
        self.give_back(client, r.is_ok());
        r
    }

    pub fn update(&self, row: &UserRow) -> Result<bool, SourceError> {
        let client = self.client()?;
        let r = self.block(async {
            let n = client
                .execute(
                    &sql::update_user(),
                    &[
                        &row.name,
                        &row.password_hash,
                        &row.root,
                        &row.home,
                        &row.disabled,
                        &row.expires_at,
                        &row.read_only,
                        &row.upload_only,
                        &row.umask,
                        &row.quota_bytes,
                        &row.quota_files,
                        &row.upload_bandwidth,
                        &row.download_bandwidth,
                        &row.max_sessions,
                        &row.scp,
                        &row.allowed_networks,
                        &row.permissions,
                        &row.name_allow,
                        &row.name_deny,
                        &row.totp_secret.as_ref().map(SecretText::as_str),
                        &row.authentication_methods,
                    ],
                )
                .await?;
            Ok(n > 0)
        });
        self.give_back(client, r.is_ok());
        r
    }

    pub fn add_key(&self, name: &str, key: &KeyRow, now: i64) -> Result<bool, SourceError> {
        let client = self.client()?;
        let r = self.block(async {
            let n = client
                .execute(
                    "INSERT INTO wharf_user_keys (user_name, fingerprint, line, added_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    &[&name, &key.fingerprint, &key.line, &now],
                )
                .await?;
            Ok(n > 0)
        });
        self.give_back(client, r.is_ok());
        r
    }

    pub fn remove_key(&self, name: &str, fingerprint: &str) -> Result<bool, SourceError> {
        let client = self.client()?;
        let r = self.block(async {
            Ok(client
                .execute(sql::DELETE_KEY, &[&name, &fingerprint])
                .await?
                > 0)
        });
        self.give_back(client, r.is_ok());
        r
    }

    pub fn delete(&self, name: &str) -> Result<bool, SourceError> {
        let mut client = self.client()?;
        let r = self.block(async {
            let tx = client.transaction().await?;
            tx.execute(sql::DELETE_KEYS, &[&name]).await?;
            let n = tx.execute(sql::DELETE_USER, &[&name]).await?;
            tx.commit().await?;
            Ok(n > 0)
        });
        self.give_back(client, r.is_ok());
        r
    }
}

fn read_row(r: &Row) -> Result<UserRow, tokio_postgres::Error> {
    Ok(UserRow {
        name: r.try_get(0)?,
        password_hash: r.try_get(1)?,
        root: r.try_get(2)?,
        home: r.try_get(3)?,
        disabled: r.try_get(4)?,
        expires_at: r.try_get(5)?,
        read_only: r.try_get(6)?,
        upload_only: r.try_get(7)?,
        umask: r.try_get(8)?,
        quota_bytes: r.try_get(9)?,
        quota_files: r.try_get(10)?,
        upload_bandwidth: r.try_get(11)?,
        download_bandwidth: r.try_get(12)?,
        max_sessions: r.try_get(13)?,
        scp: r.try_get(14)?,
        allowed_networks: r.try_get(15)?,
        permissions: r.try_get(16)?,
        name_allow: r.try_get(17)?,
        name_deny: r.try_get(18)?,
        created_at: r.try_get(19)?,
        totp_secret: r.try_get::<_, Option<String>>(20)?.map(SecretText::new),
        authentication_methods: r.try_get(21)?,
    })
}

impl Source for PgDb {
    fn name(&self) -> &'static str {
        "postgres"
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

    #[test]
    fn connection_strings_are_checked_and_never_shown() {
        let db = PgDb::new("postgresql://wharf:secret@127.0.0.1:5432/wharf", 2).unwrap();
        assert!(!format!("{db:?}").contains("secret"));
        assert!(PgDb::new("host=/run/postgresql user=wharf", 2).is_ok());
        assert!(PgDb::new("postgresql://[::1", 2).is_err());
    }

    #[test]
    fn without_a_runtime_lookups_fail_cleanly() {
        // Port 1 on loopback: nothing listens; but no runtime is reached first.
        let db = PgDb::new("host=127.0.0.1 port=1 user=x", 1).unwrap();
        let err = db.lookup("alice").unwrap_err().to_string();
        assert!(err.contains("no tokio runtime"), "{err}");
    }

    #[test]
    fn an_unreachable_server_is_an_error_not_a_hang_or_panic() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let _g = rt.enter();
        let db = PgDb::new("host=127.0.0.1 port=1 user=x connect_timeout=2", 1).unwrap();
        let err = db.lookup("alice").unwrap_err().to_string();
        assert!(err.starts_with("postgres:"), "{err}");
    }
}
