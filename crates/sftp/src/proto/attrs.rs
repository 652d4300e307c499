//! File attributes: one version-neutral model, decoded and encoded per protocol version.
//!
//! Only v3's layout (draft-ietf-secsh-filexfer-02 §5) is implemented yet; the model is where
//! v4–v6 fields (owner/group names, create/change times, sub-second times, bits) will go.

use wharf_vfs::{FileType, Metadata, SetAttrs, Timestamp};

use crate::wire::{put_u32, put_u64, DecodeError, Reader};

const ATTR_SIZE: u32 = 0x0000_0001;
const ATTR_UIDGID: u32 = 0x0000_0002;
const ATTR_PERMISSIONS: u32 = 0x0000_0004;
const ATTR_ACMODTIME: u32 = 0x0000_0008;
const ATTR_EXTENDED: u32 = 0x8000_0000;

/// Attributes as sent or received; absent fields are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attrs {
    pub(crate) size: Option<u64>,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    /// Permission bits only (`0o7777`); the type travels in `file_type`.
    pub(crate) permissions: Option<u32>,
    pub(crate) file_type: Option<FileType>,
    pub(crate) atime: Option<Timestamp>,
    pub(crate) mtime: Option<Timestamp>,
}

impl Attrs {
    pub(crate) fn from_metadata(md: &Metadata) -> Self {
        Self {
            size: Some(md.size),
            uid: Some(md.uid),
            gid: Some(md.gid),
            permissions: Some(md.permissions & 0o7777),
            file_type: Some(md.file_type),
            atime: Some(md.atime),
            mtime: Some(md.mtime),
        }
    }

    /// What a SETSTAT with these attributes asks to change.
    pub(crate) fn to_set_attrs(&self) -> SetAttrs {
        SetAttrs {
            size: self.size,
            permissions: self.permissions,
            atime: self.atime,
            mtime: self.mtime,
            uid: self.uid,
            gid: self.gid,
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>, version: u32) -> Result<Self, DecodeError> {
        // Only v3's layout exists yet; INIT never negotiates a version above it.
        let _ = version;
        let flags = r.u32("attribute flags")?;
        let mut attrs = Self::default();
        if flags & ATTR_SIZE != 0 {
            attrs.size = Some(r.u64("size")?);
        }
        if flags & ATTR_UIDGID != 0 {
            attrs.uid = Some(r.u32("uid")?);
            attrs.gid = Some(r.u32("gid")?);
        }
        if flags & ATTR_PERMISSIONS != 0 {
            // Clients send a whole st_mode; the type bits, if any, are informational.
            let mode = r.u32("permissions")?;
            attrs.permissions = Some(mode & 0o7777);
            if mode & 0o170_000 != 0 {
                attrs.file_type = Some(FileType::from_mode(mode));
            }
        }
        if flags & ATTR_ACMODTIME != 0 {
            attrs.atime = Some(Timestamp::from_secs(i64::from(r.u32("atime")?)));
            attrs.mtime = Some(Timestamp::from_secs(i64::from(r.u32("mtime")?)));
        }
        if flags & ATTR_EXTENDED != 0 {
            // Extended attribute pairs are accepted and ignored, as OpenSSH does. Each pair
            // consumes at least 8 bytes, so the loop is bounded by the packet length.
            let count = r.u32("extended count")?;
            for _ in 0..count {
                r.string("extended type")?;
                r.string("extended data")?;
            }
        }
        // Unknown flag bits are ignored (OpenSSH does the same); their fields, if any, would
        // follow the known ones and are left unread.
        Ok(attrs)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>, version: u32) {
        let _ = version;
        let mut flags = 0;
        if self.size.is_some() {
            flags |= ATTR_SIZE;
        }
        let ids = self.uid.zip(self.gid);
        if ids.is_some() {
            flags |= ATTR_UIDGID;
        }
        if self.permissions.is_some() {
            flags |= ATTR_PERMISSIONS;
        }
        let times = self.atime.zip(self.mtime);
        if times.is_some() {
            flags |= ATTR_ACMODTIME;
        }
        put_u32(out, flags);
        if let Some(size) = self.size {
            put_u64(out, size);
        }
        if let Some((uid, gid)) = ids {
            put_u32(out, uid);
            put_u32(out, gid);
        }
        if let Some(permissions) = self.permissions {
            // v3 carries the file type in the S_IFMT bits (OpenSSH sends the whole st_mode).
            let type_bits = self.file_type.map_or(0, FileType::mode_bits);
            put_u32(out, type_bits | (permissions & 0o7777));
        }
        if let Some((atime, mtime)) = times {
            put_u32(out, v3_time(atime));
            put_u32(out, v3_time(mtime));
        }
    }
}

/// v3 times are unsigned 32-bit seconds; earlier or later times are clamped.
fn v3_time(t: Timestamp) -> u32 {
    u32::try_from(t.secs.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_roundtrip_all_fields() {
        let attrs = Attrs {
            size: Some(0x1_0000_0002),
            uid: Some(1000),
            gid: Some(100),
            permissions: Some(0o4755),
            file_type: Some(FileType::Regular),
            atime: Some(Timestamp::from_secs(1)),
            mtime: Some(Timestamp::from_secs(0xffff_fffe)),
        };
        let mut out = Vec::new();
        attrs.encode(&mut out, 3);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 0x0f,                  // SIZE | UIDGID | PERMISSIONS | ACMODTIME
            0, 0, 0, 1, 0, 0, 0, 2,         // size
            0, 0, 0x03, 0xe8, 0, 0, 0, 100, // uid, gid
            0, 0, 0x89, 0xed,               // 0o104755: S_IFREG | 0o4755
            0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe,
        ];
        assert_eq!(out, expected);
        let decoded = Attrs::decode(&mut Reader::new(&out), 3).unwrap();
        assert_eq!(decoded, attrs);
    }

    #[test]
    fn empty_attrs_are_four_zero_bytes() {
        let mut out = Vec::new();
        Attrs::default().encode(&mut out, 3);
        assert_eq!(out, [0, 0, 0, 0]);
    }

    #[test]
    fn extended_pairs_are_skipped_and_bounded() {
        let mut bytes = vec![0x80, 0, 0, 0x04, 0, 0, 0x01, 0xa4, 0, 0, 0, 1];
        bytes.extend_from_slice(&[0, 0, 0, 1, b'k', 0, 0, 0, 1, b'v']);
        let attrs = Attrs::decode(&mut Reader::new(&bytes), 3).unwrap();
        assert_eq!(attrs.permissions, Some(0o644));
        assert_eq!(attrs.file_type, None);
        // A huge count with no pairs behind it fails instead of looping or allocating.
        let bytes = [0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(Attrs::decode(&mut Reader::new(&bytes), 3).is_err());
    }

    #[test]
    fn times_outside_u32_are_clamped() {
        assert_eq!(v3_time(Timestamp::from_secs(-5)), 0);
        assert_eq!(v3_time(Timestamp::from_secs(1 << 40)), u32::MAX);
    }
}
