//! Virtual paths: what a user sees, rooted at their own `/`.

use std::fmt;

/// A normalised absolute path in a user's virtual filesystem.
///
/// Invariants (kept by every constructor): starts with `/`; no empty, `.` or `..` components;
/// no trailing `/` except for the root itself. Components are raw bytes because SFTP v3 file
/// names are bytes in no particular encoding.
///
/// Normalisation is purely lexical (`a/link/..` becomes `a`), which gives clients a stable,
/// predictable view. It is *not* what keeps a user inside the jail: the local backend hands
/// the normalised path to the kernel, which resolves symlinks with `RESOLVE_IN_ROOT`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VPath(Vec<u8>);

impl VPath {
    /// The virtual root, `/`.
    pub fn root() -> Self {
        Self(b"/".to_vec())
    }

    /// Resolves a client-supplied path against `base` (the user's home directory).
    ///
    /// An absolute `raw` replaces `base`; a relative one is appended to it; an empty one means
    /// `base` itself (draft-ietf-secsh-filexfer-02 §6.2). `..` at the root stays at the root, as
    /// in a chroot.
    pub fn resolve(base: &VPath, raw: &[u8]) -> Self {
        let mut out = if raw.first() == Some(&b'/') {
            Vec::with_capacity(raw.len())
        } else {
            let mut v = Vec::with_capacity(base.0.len() + 1 + raw.len());
            v.extend_from_slice(&base.0);
            v
        };
        for component in raw.split(|&b| b == b'/') {
            match component {
                b"" | b"." => {}
                b".." => {
                    // Drop the last component; at the root there is none to drop.
                    let cut = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                    out.truncate(cut);
                }
                name => {
                    if out.last() != Some(&b'/') {
                        out.push(b'/');
                    }
                    out.extend_from_slice(name);
                }
            }
        }
        if out.is_empty() {
            out.push(b'/');
        }
        Self(out)
    }

    /// Parses a path that must already be absolute; it is normalised like [`VPath::resolve`].
    pub fn from_absolute(raw: &[u8]) -> Self {
        Self::resolve(&Self::root(), raw)
    }

    /// The path as bytes, always starting with `/`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether this is the virtual root.
    pub fn is_root(&self) -> bool {
        self.0 == b"/"
    }

    /// The path relative to the root, without the leading `/`; empty for the root.
    pub fn relative(&self) -> &[u8] {
        self.0.strip_prefix(b"/").unwrap_or(&self.0)
    }

    /// Splits into the parent directory and the final component; `None` for the root.
    pub fn split_last(&self) -> Option<(VPath, &[u8])> {
        if self.is_root() {
            return None;
        }
        let cut = self.0.iter().rposition(|&b| b == b'/')?;
        let (parent, name) = self.0.split_at(cut);
        let name = name.strip_prefix(b"/").unwrap_or(name);
        let parent = if parent.is_empty() {
            Self::root()
        } else {
            Self(parent.to_vec())
        };
        Some((parent, name))
    }

    /// The final component; empty for the root.
    pub fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(cut) => self.0.get(cut + 1..).unwrap_or_default(),
            None => &self.0,
        }
    }

    /// The lexical parent; the root's parent is the root.
    pub fn parent(&self) -> VPath {
        self.split_last()
            .map_or_else(Self::root, |(parent, _)| parent)
    }

    /// Appends one more path (relative to `self`), normalising the result.
    pub fn join(&self, raw: &[u8]) -> VPath {
        let relative = raw.strip_prefix(b"/").unwrap_or(raw);
        Self::resolve(self, relative)
    }
}

impl fmt::Debug for VPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VPath({:?})", String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Display for VPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl Default for VPath {
    fn default() -> Self {
        Self::root()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(base: &str, raw: &str) -> String {
        VPath::resolve(&VPath::from_absolute(base.as_bytes()), raw.as_bytes()).to_string()
    }

    #[test]
    fn resolves_relative_and_absolute() {
        assert_eq!(r("/home/u", "a/b"), "/home/u/a/b");
        assert_eq!(r("/home/u", "/x"), "/x");
        assert_eq!(r("/home/u", ""), "/home/u");
        assert_eq!(r("/home/u", "."), "/home/u");
        assert_eq!(r("/", "a//b/./c/"), "/a/b/c");
    }

    #[test]
    fn dotdot_never_climbs_above_root() {
        assert_eq!(r("/", ".."), "/");
        assert_eq!(r("/", "../../etc/passwd"), "/etc/passwd");
        assert_eq!(r("/a", "/../.."), "/");
        assert_eq!(r("/a/b", "../../../c"), "/c");
        assert_eq!(r("/a/b", ".."), "/a");
    }

    #[test]
    fn split_and_names() {
        let p = VPath::from_absolute(b"/a/b/c");
        let (parent, name) = p.split_last().expect("not root");
        assert_eq!(parent.as_bytes(), b"/a/b");
        assert_eq!(name, b"c");
        assert_eq!(p.file_name(), b"c");
        assert_eq!(p.relative(), b"a/b/c");
        let top = VPath::from_absolute(b"/a");
        let (parent, name) = top.split_last().expect("not root");
        assert!(parent.is_root());
        assert_eq!(name, b"a");
        assert!(VPath::root().split_last().is_none());
        assert_eq!(VPath::root().relative(), b"");
        assert_eq!(VPath::root().file_name(), b"");
        assert!(VPath::root().parent().is_root());
        assert_eq!(p.join(b"../d").as_bytes(), b"/a/b/d");
    }
}
