//! The filesystem a logged-in user gets: their root, jailed by the local
//! backend, behind their policy (rights per path, file names, quota).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use wharf_vfs::policy::measure_usage;
use wharf_vfs::{Glob, LocalFs, PathRule, Permissions, Policy, PolicyFs, Quota, VPath, Vfs};

use crate::users::record::{Perm, UserPolicy};

/// The most directory entries counted when a user's quota usage is first
/// measured (a bound on the work one login can cause); beyond it the
/// usage counted so far is the starting point.
const MAX_USAGE_SCAN: usize = 1_000_000;

/// What a user's sessions in this process share: the open root (one file
/// descriptor per user rather than per session, which is what lets ten
/// thousand sessions fit the usual descriptor limit) and the quota tally,
/// so concurrent uploads count together.
#[derive(Default)]
pub struct UserFsCache {
    tallies: Mutex<HashMap<String, Arc<Quota>>>,
    /// By root and home; an entry lives as long as a session uses it.
    roots: Mutex<HashMap<RootKey, Weak<LocalFs>>>,
}

/// A user's root and home.
type RootKey = (PathBuf, Option<String>);

/// Dead root entries are swept when the map grows past this.
const ROOT_SWEEP_AT: usize = 1024;

impl UserFsCache {
    /// The jailed root for `user`, shared with their other sessions.
    fn local(&self, user: &UserPolicy) -> Result<Arc<LocalFs>, String> {
        let key = (user.root.clone(), user.home.clone());
        let mut roots = self.roots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(fs) = roots.get(&key).and_then(Weak::upgrade) {
            return Ok(fs);
        }
        let mut local = LocalFs::new(user.root.clone())
            .map_err(|e| format!("cannot open root {}: {e}", user.root.display()))?;
        if let Some(home) = &user.home {
            local = local.with_home(VPath::from_absolute(home.as_bytes()));
        }
        let local = Arc::new(local);
        if roots.len() >= ROOT_SWEEP_AT {
            roots.retain(|_, fs| fs.strong_count() > 0);
        }
        roots.insert(key, Arc::downgrade(&local));
        Ok(local)
    }

    /// The user's tally, measured on first use (or when the limits changed).
    fn tally(
        &self,
        user: &str,
        max_bytes: Option<u64>,
        max_files: Option<u64>,
        fs: &dyn Vfs,
    ) -> Arc<Quota> {
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(q) = tallies.get(user) {
            if q.max_bytes == max_bytes && q.max_files == max_files {
                return q.clone();
            }
        }
        let usage = match measure_usage(fs, MAX_USAGE_SCAN) {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(%user, error = %e, "cannot measure quota usage; starting from zero");
                Default::default()
            }
        };
        tracing::debug!(%user, bytes = usage.bytes, files = usage.files, "quota usage measured");
        let q = Arc::new(Quota::new(max_bytes, max_files, usage));
        tallies.insert(user.to_string(), q.clone());
        q
    }
}

fn rights(perms: &[Perm]) -> Permissions {
    perms
        .iter()
        .filter_map(|p| Permissions::parse(p.name()))
        .fold(Permissions::NONE, |all, p| all | p)
}

fn globs(patterns: &[String]) -> Result<Vec<Glob>, String> {
    patterns
        .iter()
        .map(|p| Glob::new(p).map_err(|e| e.to_string()))
        .collect()
}

/// The vfs policy for a user's record. Read-only and upload-only set the
/// rights everywhere; path rules then add and remove rights where they match.
fn policy_for(user: &UserPolicy) -> Result<Policy, String> {
    let default = if user.read_only {
        Permissions::READ_ONLY
    } else if user.upload_only {
        Permissions::UPLOAD_ONLY
    } else {
        Permissions::ALL
    };
    let rules = user
        .permissions
        .iter()
        .map(|r| {
            Ok(PathRule {
                glob: Glob::new(&r.path).map_err(|e| e.to_string())?,
                allow: rights(&r.allow),
                deny: rights(&r.deny),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Policy {
        default,
        rules,
        allowed_names: globs(&user.name_allow)?,
        denied_names: globs(&user.name_deny)?,
        quota: None,
    })
}

/// Opens `name`'s filesystem. Blocking (it may walk the tree once to
/// measure quota usage).
pub fn open(name: &str, user: &UserPolicy, cache: &UserFsCache) -> Result<Arc<dyn Vfs>, String> {
    let local: Arc<dyn Vfs> = cache.local(user)?;
    let mut policy = policy_for(user)?;
    let unrestricted = policy.default == Permissions::ALL
        && policy.rules.is_empty()
        && policy.allowed_names.is_empty()
        && policy.denied_names.is_empty()
        && user.quota_bytes.is_none()
        && user.quota_files.is_none();
    if unrestricted {
        // Nothing to check: skip the wrapper on the data path.
        return Ok(local);
    }
    if user.quota_bytes.is_some() || user.quota_files.is_some() {
        policy.quota = Some(cache.tally(name, user.quota_bytes, user.quota_files, &*local));
    }
    Ok(Arc::new(PolicyFs::new(local, Arc::new(policy))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::record::PathRule as RecordRule;

    #[test]
    fn records_become_vfs_policies() {
        let mut user = UserPolicy::new("/srv".into());
        user.read_only = true;
        user.permissions.push(RecordRule {
            path: "/in/**".into(),
            allow: vec![Perm::Upload, Perm::Mkdir],
            deny: vec![Perm::Download],
        });
        user.name_deny.push("*.exe".into());
        let p = policy_for(&user).unwrap();
        assert_eq!(p.default, Permissions::READ_ONLY);
        let at_in = p.rights_at(&VPath::from_absolute(b"/in/x"));
        assert!(at_in.contains(Permissions::UPLOAD | Permissions::MKDIR | Permissions::LIST));
        assert!(!at_in.contains(Permissions::DOWNLOAD));
        assert_eq!(p.denied_names.len(), 1);

        user.read_only = false;
        user.upload_only = true;
        assert_eq!(policy_for(&user).unwrap().default, Permissions::UPLOAD_ONLY);

        user.name_deny.push("[oops".into());
        assert!(policy_for(&user).is_err());
    }

    #[test]
    fn quota_tallies_are_shared_and_measured_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), [0u8; 10]).unwrap();
        let mut user = UserPolicy::new(dir.path().to_path_buf());
        user.quota_bytes = Some(100);
        let book = UserFsCache::default();
        let fs = open("alice", &user, &book).unwrap();
        let a = book.tally("alice", Some(100), None, &*fs);
        std::fs::write(dir.path().join("g"), [0u8; 10]).unwrap();
        let b = book.tally("alice", Some(100), None, &*fs);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.usage().bytes, 10);
        // New limits: measured again.
        let c = book.tally("alice", Some(200), None, &*fs);
        assert_eq!(c.usage().bytes, 20);
    }

    #[test]
    fn sessions_of_a_user_share_one_root_while_any_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let user = UserPolicy::new(dir.path().to_path_buf());
        let cache = UserFsCache::default();
        let a = cache.local(&user).unwrap();
        let b = cache.local(&user).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let mut elsewhere = user.clone();
        elsewhere.home = Some("/in".into());
        assert!(!Arc::ptr_eq(&a, &cache.local(&elsewhere).unwrap()));
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(weak.upgrade().is_none());
    }
}
