//! Owner and group names for v4+ attributes, from `/etc/passwd` and `/etc/group`.
//!
//! v4+ attributes carry owner and group as names (-04 §5.5). The files are parsed directly (no
//! libc, no NSS), once per session on first use; ids without an entry travel as decimal
//! strings, which the drafts accept as a bare name, and decimal strings are accepted back.

use std::collections::HashMap;

/// Files larger than this are not read (a user database is far smaller).
const MAX_FILE_LEN: u64 = 4 << 20;

/// Id ↔ name maps for users and groups.
#[derive(Debug, Default)]
pub(crate) struct Users {
    user_names: HashMap<u32, Vec<u8>>,
    group_names: HashMap<u32, Vec<u8>>,
    uids: HashMap<Vec<u8>, u32>,
    gids: HashMap<Vec<u8>, u32>,
}

impl Users {
    /// Reads the system's files; a missing or unreadable file leaves that map empty.
    pub(crate) fn load() -> Self {
        Self::parse(&read_bounded("/etc/passwd"), &read_bounded("/etc/group"))
    }

    /// Parses `passwd(5)` (`name:passwd:uid:gid:...`) and `group(5)` (`name:passwd:gid:...`)
    /// text. Malformed lines are skipped; the first entry for an id or name wins, as
    /// `getpwuid(3)` returns the first match.
    pub(crate) fn parse(passwd: &[u8], group: &[u8]) -> Self {
        let mut users = Self::default();
        for (name, id) in entries(passwd) {
            users.user_names.entry(id).or_insert_with(|| name.to_vec());
            users.uids.entry(name.to_vec()).or_insert(id);
        }
        for (name, id) in entries(group) {
            users.group_names.entry(id).or_insert_with(|| name.to_vec());
            users.gids.entry(name.to_vec()).or_insert(id);
        }
        users
    }

    /// The user name of `uid`, if it has one that is valid UTF-8 (v4+ names are UTF-8).
    pub(crate) fn user_name(&self, uid: u32) -> Option<&[u8]> {
        self.user_names.get(&uid).map(Vec::as_slice)
    }

    /// The group name of `gid`, as [`Users::user_name`].
    pub(crate) fn group_name(&self, gid: u32) -> Option<&[u8]> {
        self.group_names.get(&gid).map(Vec::as_slice)
    }

    /// The uid a client's owner string names: a known name, `name@domain` whose name is known
    /// (the domain is not checked: the server has one), or a decimal id.
    pub(crate) fn uid(&self, name: &[u8]) -> Option<u32> {
        lookup(&self.uids, name)
    }

    /// The gid a client's group string names, as [`Users::uid`].
    pub(crate) fn gid(&self, name: &[u8]) -> Option<u32> {
        lookup(&self.gids, name)
    }
}

fn lookup(map: &HashMap<Vec<u8>, u32>, name: &[u8]) -> Option<u32> {
    let bare = name.split(|&b| b == b'@').next().unwrap_or(name);
    map.get(bare).copied().or_else(|| parse_id(bare))
}

/// A decimal id (ASCII digits only, no sign, fitting in a u32).
fn parse_id(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// `(name, id)` from each well-formed line: the first and third colon-separated fields. Names
/// must be non-empty UTF-8 without the `@` that would make them ambiguous with user@domain.
fn entries(text: &[u8]) -> impl Iterator<Item = (&[u8], u32)> {
    text.split(|&b| b == b'\n').filter_map(|line| {
        if line.first() == Some(&b'#') {
            return None;
        }
        let mut fields = line.split(|&b| b == b':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let id = parse_id(fields.next()?)?;
        let valid = !name.is_empty() && std::str::from_utf8(name).is_ok() && !name.contains(&b'@');
        valid.then_some((name, id))
    })
}

fn read_bounded(path: &str) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        // A read error leaves what was read so far; a partial last line is then skipped by
        // the parser only if it is malformed, which is acceptable for a name lookup.
        let _ = file.take(MAX_FILE_LEN).read_to_end(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/bash\n\
        # comment:x:5:5\n\
        alice:x:1000:1000::/home/alice:/bin/sh\n\
        dup:x:1000:1000::/:/bin/sh\n\
        broken-line\n\
        badid:x:-1:0::/:\n\
        :x:7:7::/:\n";
    const GROUP: &[u8] = b"root:x:0:\nstaff:x:50:alice,bob\nusers:x:100:";

    #[test]
    fn names_and_ids_both_ways() {
        let u = Users::parse(PASSWD, GROUP);
        assert_eq!(u.user_name(0), Some(&b"root"[..]));
        // The first entry for an id wins.
        assert_eq!(u.user_name(1000), Some(&b"alice"[..]));
        assert_eq!(u.user_name(5), None);
        assert_eq!(u.user_name(7), None);
        assert_eq!(u.group_name(50), Some(&b"staff"[..]));
        assert_eq!(u.group_name(1000), None);
        assert_eq!(u.uid(b"alice"), Some(1000));
        assert_eq!(u.uid(b"dup"), Some(1000));
        assert_eq!(u.uid(b"alice@example.com"), Some(1000));
        assert_eq!(u.uid(b"4242"), Some(4242));
        assert_eq!(u.uid(b"nobody-here"), None);
        assert_eq!(u.uid(b"-1"), None);
        assert_eq!(u.uid(b"99999999999"), None);
        assert_eq!(u.gid(b"users"), Some(100));
        assert_eq!(u.gid(b"root"), Some(0));
        assert_eq!(u.gid(b""), None);
    }
}
