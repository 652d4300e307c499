//! `wharf user ...`: manages the users of the SQLite or PostgreSQL user
//! database. Safe while the server runs (SQLite in WAL mode, each change
//! one transaction); the server reads the database at every login.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};

use crate::cli::{KeyCommand, PolicyArgs, TotpCommand, UserArgs, UserCommand};
use crate::config::units::parse_size;
use crate::config::SourceSpec;
use crate::users::chains::parse_method_list;
use crate::users::postgres::{PgDb, DEFAULT_POOL_SIZE};
use crate::users::record::{check_glob, check_home, parse_umask, PathRule};
use crate::users::sql::{KeyRow, UserRow, UserSummary};
use crate::users::sqlite::SqliteDb;
use crate::users::when::{format_utc, parse_expiry, unix_now};
use crate::users::{check_user_name, hash_password, parse_authorized_key, SourceError, User};

/// The database the command works on.
enum Db {
    Sqlite(SqliteDb),
    /// PostgreSQL runs its queries on this runtime (see users/postgres.rs).
    Postgres(PgDb, Box<tokio::runtime::Runtime>),
}

impl Db {
    fn open(args: &UserArgs) -> anyhow::Result<Db> {
        if let Some(path) = &args.db {
            return Ok(Db::Sqlite(SqliteDb::open(path, true)?));
        }
        if let Some(url) = &args.postgres {
            return Db::postgres(url, DEFAULT_POOL_SIZE);
        }
        let Some(config_path) = &args.config else {
            bail!("say where the users are: --db FILE (SQLite), --postgres URL, or --config FILE");
        };
        let config = crate::config::load(
            config_path,
            &crate::config::Overrides::default(),
            crate::config::Mode::Check,
        )
        .map_err(|e| anyhow!("{e}"))?;
        for spec in &config.auth.sources {
            match spec {
                SourceSpec::Sqlite(path) => return Ok(Db::Sqlite(SqliteDb::open(path, true)?)),
                SourceSpec::Postgres { url, pool_size } => return Db::postgres(url, *pool_size),
                _ => {}
            }
        }
        bail!(
            "{}: [auth] sources has neither \"sqlite\" nor \"postgres\"; users in [[users]] are edited in the file",
            config_path.display()
        )
    }

    fn postgres(url: &str, pool_size: usize) -> anyhow::Result<Db> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        Ok(Db::Postgres(PgDb::new(url, pool_size)?, Box::new(rt)))
    }

    /// Runs `f` with the database; for PostgreSQL inside its runtime's
    /// context (this thread runs no async code, so blocking on it is fine).
    fn run<T>(
        &self,
        sqlite: impl FnOnce(&SqliteDb) -> Result<T, SourceError>,
        pg: impl FnOnce(&PgDb) -> Result<T, SourceError>,
    ) -> Result<T, SourceError> {
        match self {
            Db::Sqlite(db) => sqlite(db),
            Db::Postgres(db, rt) => {
                let _guard = rt.enter();
                pg(db)
            }
        }
    }

    fn get(&self, name: &str) -> Result<Option<(UserRow, Vec<String>)>, SourceError> {
        self.run(|d| d.get(name), |d| d.get(name))
    }
    fn list(&self) -> Result<Vec<UserSummary>, SourceError> {
        self.run(|d| d.list(), |d| d.list())
    }
    fn add(&self, row: &UserRow, keys: &[KeyRow]) -> Result<bool, SourceError> {
        self.run(|d| d.add(row, keys), |d| d.add(row, keys))
    }
    fn update(&self, row: &UserRow) -> Result<bool, SourceError> {
        self.run(|d| d.update(row), |d| d.update(row))
    }
    fn add_key(&self, name: &str, key: &KeyRow, now: i64) -> Result<bool, SourceError> {
        self.run(|d| d.add_key(name, key, now), |d| d.add_key(name, key, now))
    }
    fn remove_key(&self, name: &str, fp: &str) -> Result<bool, SourceError> {
        self.run(|d| d.remove_key(name, fp), |d| d.remove_key(name, fp))
    }
    fn delete(&self, name: &str) -> Result<bool, SourceError> {
        self.run(|d| d.delete(name), |d| d.delete(name))
    }

    /// The user as stored, parsed; an error naming the user if missing.
    fn user(&self, name: &str) -> anyhow::Result<(UserRow, User)> {
        let (row, keys) = self.get(name)?.ok_or_else(|| anyhow!("no user `{name}`"))?;
        let user = row.clone().into_user(&keys)?;
        Ok((row, user))
    }
}

pub fn run(args: UserArgs) -> anyhow::Result<()> {
    let db = Db::open(&args)?;
    let now = unix_now(std::time::SystemTime::now());
    match args.command {
        UserCommand::Add {
            name,
            root,
            password,
            no_password,
            keys,
            policy,
        } => {
            check_user_name(&name).map_err(|e| anyhow!(e))?;
            if !password && !no_password && keys.is_empty() {
                bail!("give --password (read from the terminal or stdin), --no-password, or --key");
            }
            let mut user = User::new(name.clone(), absolute(&root)?);
            apply_policy(&mut user, &policy)?;
            user.policy.validate().map_err(|e| anyhow!(e))?;
            let mut key_rows = Vec::new();
            for line in &keys {
                key_rows.push(key_row(line)?);
            }
            let hash = if password { Some(read_hash()?) } else { None };
            let row = UserRow::from_user(&user, hash, now);
            if !db.add(&row, &key_rows)? {
                bail!("user `{name}` exists already");
            }
            if !user.policy.root.is_dir() {
                eprintln!(
                    "wharf: warning: root {} is not a folder yet; create it before `{name}` logs in",
                    user.policy.root.display()
                );
            }
            println!("added user {name}");
        }
        UserCommand::Set { name, root, policy } => {
            let (row, mut user) = db.user(&name)?;
            if let Some(root) = root {
                user.policy.root = absolute(&root)?;
            }
            apply_policy(&mut user, &policy)?;
            user.policy.validate().map_err(|e| anyhow!(e))?;
            let new = UserRow::from_user(&user, row.password_hash.clone(), row.created_at);
            db.update(&new)?;
            println!("updated user {name}");
        }
        UserCommand::List => print_list(&db.list()?, now),
        UserCommand::Show { name } => {
            let (row, user) = db.user(&name)?;
            print_user(&row, &user, now);
        }
        UserCommand::Passwd { name, none } => {
            let (mut row, _) = db.user(&name)?;
            if none && row.totp_secret.is_some() {
                bail!("{name} has a TOTP second factor, which needs a password: `wharf user totp disable {name}` first");
            }
            row.password_hash = if none { None } else { Some(read_hash()?) };
            db.update(&row)?;
            println!(
                "password {} for {name}",
                if none { "removed" } else { "changed" }
            );
        }
        UserCommand::Key { command } => match command {
            KeyCommand::Add { name, line } => {
                db.user(&name)?;
                let key = key_row(&line)?;
                if !db.add_key(&name, &key, now)? {
                    bail!("{name} already has the key {}", key.fingerprint);
                }
                println!("added key {} for {name}", key.fingerprint);
            }
            KeyCommand::Remove { name, key } => {
                db.user(&name)?;
                let fp = if key.starts_with("SHA256:") {
                    key.trim().to_owned()
                } else {
                    key_row(&key)?.fingerprint
                };
                if !db.remove_key(&name, &fp)? {
                    bail!("{name} has no key {fp}");
                }
                println!("removed key {fp} from {name}");
            }
        },
        UserCommand::Disable { name } => set_disabled(&db, &name, true)?,
        UserCommand::Enable { name } => set_disabled(&db, &name, false)?,
        UserCommand::Totp { command } => match command {
            TotpCommand::Enable { name } => {
                let (row, mut user) = db.user(&name)?;
                // keyboard-interactive asks for both; without a password
                // the user could never answer.
                if user.password_hash.is_none() {
                    bail!("{name} has no password; a second factor needs one (`wharf user passwd {name}`)");
                }
                let totp = wharf_crypto::totp::Totp::generate();
                let secret = totp.secret_base32();
                let uri = totp.otpauth_uri("Wharf", &name);
                user.totp = Some(totp);
                let new = UserRow::from_user(&user, row.password_hash.clone(), row.created_at);
                db.update(&new)?;
                // Shown this once: `user show` only says whether it is on.
                println!("TOTP enabled for {name}");
                println!("secret: {}", secret.as_str());
                println!("uri: {}", uri.as_str());
            }
            TotpCommand::Disable { name } => {
                let (mut row, _) = db.user(&name)?;
                let was_on = row.totp_secret.take().is_some();
                db.update(&row)?;
                println!(
                    "TOTP {} for {name}",
                    if was_on {
                        "disabled"
                    } else {
                        "was not enabled"
                    }
                );
            }
        },
        UserCommand::Delete { name } => {
            if !db.delete(&name)? {
                bail!("no user `{name}`");
            }
            println!("deleted user {name}");
        }
    }
    Ok(())
}

fn set_disabled(db: &Db, name: &str, disabled: bool) -> anyhow::Result<()> {
    let (mut row, _) = db.user(name)?;
    row.disabled = i64::from(disabled);
    db.update(&row)?;
    println!(
        "{} user {name}",
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    let p = std::path::absolute(path).with_context(|| format!("bad path {}", path.display()))?;
    Ok(std::fs::canonicalize(&p).unwrap_or(p))
}

/// Reads a password as `wharf hash-password` does and hashes it (argon2id).
fn read_hash() -> anyhow::Result<String> {
    let password = crate::tty::read_password()?;
    Ok(hash_password(&password)?)
}

fn key_row(line: &str) -> anyhow::Result<KeyRow> {
    let key = parse_authorized_key(line)
        .map_err(|e| anyhow!("bad key line: {e}"))?
        .ok_or_else(|| anyhow!("the key line is empty"))?;
    Ok(KeyRow {
        fingerprint: key.key.fingerprint_sha256(),
        line: line.trim().to_owned(),
    })
}

fn nonzero(n: u64) -> Option<u64> {
    (n != 0).then_some(n)
}

fn size(text: &Option<String>, what: &str) -> anyhow::Result<Option<Option<u64>>> {
    text.as_deref()
        .map(|t| {
            parse_size(t)
                .map(nonzero)
                .map_err(|e| anyhow!("--{what}: {e}"))
        })
        .transpose()
}

/// Applies the flags given; absent flags leave the field as it is.
fn apply_policy(user: &mut User, a: &PolicyArgs) -> anyhow::Result<()> {
    let p = &mut user.policy;
    if let Some(home) = &a.home {
        check_home(home).map_err(|e| anyhow!(e))?;
        p.home = Some(home.clone());
    }
    if let Some(v) = a.read_only {
        p.read_only = v;
    }
    if let Some(v) = a.upload_only {
        p.upload_only = v;
    }
    if let Some(u) = &a.umask {
        p.umask = Some(parse_umask(u).map_err(|e| anyhow!(e))?);
    }
    if !a.perms.is_empty() {
        p.permissions = a
            .perms
            .iter()
            .map(|r| PathRule::parse_cli(r).map_err(|e| anyhow!("--perm: {e}")))
            .collect::<Result<_, _>>()?;
    }
    for (list, given) in [
        (&mut p.name_allow, &a.name_allow),
        (&mut p.name_deny, &a.name_deny),
    ] {
        if !given.is_empty() {
            for g in given {
                check_glob(g).map_err(|e| anyhow!(e))?;
            }
            *list = given.clone();
        }
    }
    if let Some(v) = size(&a.quota_bytes, "quota-bytes")? {
        p.quota_bytes = v;
    }
    if let Some(n) = a.quota_files {
        p.quota_files = nonzero(n);
    }
    if let Some(v) = size(&a.upload_bandwidth, "upload-bandwidth")? {
        p.upload_bandwidth = v;
    }
    if let Some(v) = size(&a.download_bandwidth, "download-bandwidth")? {
        p.download_bandwidth = v;
    }
    if let Some(n) = a.max_sessions {
        p.max_sessions = (n != 0).then_some(n);
    }
    if !a.allowed_networks.is_empty() {
        p.allowed_networks = if a.allowed_networks.iter().any(|n| n == "any") {
            Vec::new()
        } else {
            a.allowed_networks
                .iter()
                .map(|n| n.parse().map_err(|e| anyhow!("--allow-network: {e}")))
                .collect::<Result<_, _>>()?
        };
    }
    if let Some(e) = &a.expires {
        p.expires_at = if e == "never" {
            None
        } else {
            Some(parse_expiry(e).map_err(|e| anyhow!("--expires: {e}"))?)
        };
    }
    if let Some(text) = &a.auth_methods {
        p.authentication_methods = if text.trim() == "default" {
            None
        } else {
            let lists = text
                .split_whitespace()
                .map(|l| parse_method_list(l).map_err(|e| anyhow!("--auth-methods: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            if lists.is_empty() {
                bail!("--auth-methods: give one or more lists, or \"default\"");
            }
            Some(lists)
        };
    }
    if let Some(s) = &a.scp {
        p.scp = match s.as_str() {
            "yes" | "true" => Some(true),
            "no" | "false" => Some(false),
            "default" => None,
            other => bail!("--scp: `{other}`: expected yes, no or default"),
        };
    }
    Ok(())
}

fn status(row: &UserRow, now: i64) -> &'static str {
    if row.disabled != 0 {
        "disabled"
    } else if row.expires_at.is_some_and(|t| now >= t) {
        "expired"
    } else {
        "active"
    }
}

fn print_list(users: &[UserSummary], now: i64) {
    let name_w = users
        .iter()
        .map(|u| u.row.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<name_w$}  {:<8}  {:<8}  {:>4}  {:<20}  ROOT",
        "NAME", "STATUS", "PASSWORD", "KEYS", "EXPIRES"
    );
    for u in users {
        println!(
            "{:<name_w$}  {:<8}  {:<8}  {:>4}  {:<20}  {}",
            u.row.name,
            status(&u.row, now),
            if u.row.password_hash.is_some() {
                "yes"
            } else {
                "no"
            },
            u.keys,
            u.row
                .expires_at
                .map(format_utc)
                .unwrap_or_else(|| "never".into()),
            u.row.root
        );
    }
}

fn print_user(row: &UserRow, user: &User, now: i64) {
    let p = &user.policy;
    let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "none".into());
    println!("name: {}", user.name);
    println!("status: {}", status(row, now));
    // The hash itself is never printed, only its scheme.
    println!(
        "password: {}",
        match &user.password_hash {
            Some(h) => format!("set ({:?})", h.kind()).to_lowercase(),
            None => "none".into(),
        }
    );
    println!("root: {}", p.root.display());
    println!("home: {}", p.home.as_deref().unwrap_or("/"));
    println!("read_only: {}", p.read_only);
    println!("upload_only: {}", p.upload_only);
    println!(
        "umask: {}",
        p.umask
            .map(|u| format!("{u:03o}"))
            .unwrap_or_else(|| "default".into())
    );
    for r in &p.permissions {
        println!("permission: {}", r.to_cli());
    }
    println!("name_allow: {}", p.name_allow.join(" "));
    println!("name_deny: {}", p.name_deny.join(" "));
    println!("quota_bytes: {}", opt(p.quota_bytes));
    println!("quota_files: {}", opt(p.quota_files));
    println!("upload_bandwidth: {}", opt(p.upload_bandwidth));
    println!("download_bandwidth: {}", opt(p.download_bandwidth));
    println!(
        "max_sessions: {}",
        p.max_sessions
            .map(|n| n.to_string())
            .unwrap_or_else(|| "none".into())
    );
    let nets: Vec<String> = p.allowed_networks.iter().map(|n| n.to_string()).collect();
    println!(
        "allowed_networks: {}",
        if nets.is_empty() {
            "any".into()
        } else {
            nets.join(" ")
        }
    );
    println!(
        "expires: {}",
        p.expires_at
            .map(format_utc)
            .unwrap_or_else(|| "never".into())
    );
    println!(
        "scp: {}",
        match p.scp {
            Some(true) => "yes",
            Some(false) => "no",
            None => "default",
        }
    );
    // Whether a second factor is on; the secret is never shown again.
    println!("totp: {}", if user.totp.is_some() { "on" } else { "off" });
    println!(
        "authentication_methods: {}",
        match &p.authentication_methods {
            Some(lists) => lists
                .iter()
                .map(|l| l.iter().map(|m| m.name()).collect::<Vec<_>>().join(","))
                .collect::<Vec<_>>()
                .join(" "),
            None => "default".into(),
        }
    );
    println!("created: {}", format_utc(row.created_at));
    for k in &user.authorized_keys {
        println!(
            "key: {} {}",
            k.key.key_type_name(),
            k.key.fingerprint_sha256()
        );
    }
}
