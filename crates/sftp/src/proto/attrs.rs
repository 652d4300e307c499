//! File attributes: one version-neutral model, decoded and encoded per protocol version.
//!
//! Layouts: v3 draft-ietf-secsh-filexfer-02 §5, v4 -04 §5, v5 -05 §5, v6 -13 §7 (the field
//! order is fixed; each field is present only if its flag bit is set, except v4+'s type byte,
//! which is always there).

use wharf_vfs::{FileType, Metadata, SetAttrs, Timestamp};

use crate::wire::{put_string, put_u32, put_u64, put_u8, DecodeError, Reader};

const ATTR_SIZE: u32 = 0x0000_0001;
/// v3 only; reserved in v4+.
const ATTR_UIDGID: u32 = 0x0000_0002;
const ATTR_PERMISSIONS: u32 = 0x0000_0004;
/// v3: atime and mtime as two uint32. v4+: the same bit is ACCESSTIME.
const ATTR_ACMODTIME: u32 = 0x0000_0008;
const ATTR_ACCESSTIME: u32 = 0x0000_0008;
const ATTR_CREATETIME: u32 = 0x0000_0010;
const ATTR_MODIFYTIME: u32 = 0x0000_0020;
const ATTR_ACL: u32 = 0x0000_0040;
const ATTR_OWNERGROUP: u32 = 0x0000_0080;
const ATTR_SUBSECOND_TIMES: u32 = 0x0000_0100;
const ATTR_BITS: u32 = 0x0000_0200;
const ATTR_ALLOCATION_SIZE: u32 = 0x0000_0400;
const ATTR_TEXT_HINT: u32 = 0x0000_0800;
const ATTR_MIME_TYPE: u32 = 0x0000_1000;
const ATTR_LINK_COUNT: u32 = 0x0000_2000;
const ATTR_UNTRANSLATED_NAME: u32 = 0x0000_4000;
const ATTR_CTIME: u32 = 0x0000_8000;
const ATTR_EXTENDED: u32 = 0x8000_0000;

/// The flag bits each version defines (unknown bits are ignored rather than guessed at).
fn defined_flags(version: u32) -> u32 {
    match version {
        0..=3 => 0x8000_000f,
        4 => 0x8000_01fd,
        5 => 0x8000_03fd,
        _ => 0x8000_fffd,
    }
}

/// The attributes this server reports and can set, announced in `supported`/`supported2`.
pub(crate) fn supported_mask(version: u32) -> u32 {
    let v4 = ATTR_SIZE
        | ATTR_PERMISSIONS
        | ATTR_ACCESSTIME
        | ATTR_MODIFYTIME
        | ATTR_OWNERGROUP
        | ATTR_SUBSECOND_TIMES;
    if version >= 6 {
        v4 | ATTR_CTIME | ATTR_LINK_COUNT
    } else {
        v4
    }
}

// v4+ file types (-04 §5.2; 6–9 added by -05 §5.2).
const TYPE_REGULAR: u8 = 1;
const TYPE_DIRECTORY: u8 = 2;
const TYPE_SYMLINK: u8 = 3;
const TYPE_SPECIAL: u8 = 4;
const TYPE_UNKNOWN: u8 = 5;
const TYPE_SOCKET: u8 = 6;
const TYPE_CHAR_DEVICE: u8 = 7;
const TYPE_BLOCK_DEVICE: u8 = 8;
const TYPE_FIFO: u8 = 9;

/// The v4+ type byte; v4 has no codes for sockets, devices and FIFOs, so they are SPECIAL.
fn type_byte(t: Option<FileType>, version: u32) -> u8 {
    let Some(t) = t else {
        return TYPE_UNKNOWN;
    };
    let v5 = version >= 5;
    match t {
        FileType::Regular => TYPE_REGULAR,
        FileType::Directory => TYPE_DIRECTORY,
        FileType::Symlink => TYPE_SYMLINK,
        FileType::Socket if v5 => TYPE_SOCKET,
        FileType::CharDevice if v5 => TYPE_CHAR_DEVICE,
        FileType::BlockDevice if v5 => TYPE_BLOCK_DEVICE,
        FileType::Fifo if v5 => TYPE_FIFO,
        FileType::Socket | FileType::CharDevice | FileType::BlockDevice | FileType::Fifo => {
            TYPE_SPECIAL
        }
        FileType::Unknown => TYPE_UNKNOWN,
    }
}

fn file_type_of(byte: u8) -> Option<FileType> {
    Some(match byte {
        TYPE_REGULAR => FileType::Regular,
        TYPE_DIRECTORY => FileType::Directory,
        TYPE_SYMLINK => FileType::Symlink,
        TYPE_SOCKET => FileType::Socket,
        TYPE_CHAR_DEVICE => FileType::CharDevice,
        TYPE_BLOCK_DEVICE => FileType::BlockDevice,
        TYPE_FIFO => FileType::Fifo,
        // SPECIAL names no one type; UNKNOWN and undefined values say nothing.
        _ => return None,
    })
}

/// Attributes as sent or received; absent fields are `None`.
///
/// `uid`/`gid` are what v3 carries; v4+ carries `owner`/`group` names instead. When encoding
/// for v4+ without names, the numeric ids are sent as decimal strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attrs {
    pub(crate) size: Option<u64>,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    pub(crate) owner: Option<Vec<u8>>,
    pub(crate) group: Option<Vec<u8>>,
    /// Permission bits only (`0o7777`); the type travels in `file_type`.
    pub(crate) permissions: Option<u32>,
    pub(crate) file_type: Option<FileType>,
    pub(crate) atime: Option<Timestamp>,
    pub(crate) mtime: Option<Timestamp>,
    /// v4+ creation time.
    pub(crate) createtime: Option<Timestamp>,
    /// v6 attribute-change time.
    pub(crate) ctime: Option<Timestamp>,
    /// v6.
    pub(crate) allocation_size: Option<u64>,
    /// v5+ attrib-bits and (v6) the mask of valid bits; v5 has no mask, so all are valid.
    pub(crate) bits: Option<(u32, u32)>,
    /// v6 text-hint.
    pub(crate) text_hint: Option<u8>,
    /// v6.
    pub(crate) mime_type: Option<Vec<u8>>,
    /// v6.
    pub(crate) link_count: Option<u32>,
    /// v6.
    pub(crate) untranslated_name: Option<Vec<u8>>,
}

impl Attrs {
    /// What `stat` reports. Owner and group names are filled in by the engine, which holds the
    /// user database; attrib-bits are not reported (see [`Attrs::encode`]).
    pub(crate) fn from_metadata(md: &Metadata) -> Self {
        Self {
            size: Some(md.size),
            uid: Some(md.uid),
            gid: Some(md.gid),
            permissions: Some(md.permissions & 0o7777),
            file_type: Some(md.file_type),
            atime: Some(md.atime),
            mtime: Some(md.mtime),
            ctime: Some(md.ctime),
            link_count: Some(u32::try_from(md.nlink).unwrap_or(u32::MAX)),
            ..Self::default()
        }
    }

    /// What a SETSTAT with these attributes asks to change. v4+ owner/group names are turned
    /// into `uid`/`gid` by the engine first. Read-only information (create time, ctime, link
    /// count, text hint, MIME type, attrib-bits, ACL) is ignored, as OpenSSH ignores what it
    /// cannot set.
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
        if version <= 3 {
            return Self::decode_v3(r);
        }
        // Bits a version does not define have no known field layout; they are ignored (as
        // OpenSSH ignores unknown v3 bits) rather than guessed at.
        let flags = r.u32("attribute flags")? & defined_flags(version);
        let has = |bit: u32| flags & bit != 0;
        let mut attrs = Self {
            file_type: file_type_of(r.u8("type")?),
            ..Self::default()
        };
        if has(ATTR_SIZE) {
            attrs.size = Some(r.u64("size")?);
        }
        if has(ATTR_ALLOCATION_SIZE) {
            attrs.allocation_size = Some(r.u64("allocation-size")?);
        }
        if has(ATTR_OWNERGROUP) {
            // v5: an empty name means "no change" (-05 §5.5).
            let owner = r.string("owner")?;
            let group = r.string("group")?;
            attrs.owner = (!owner.is_empty()).then(|| owner.to_vec());
            attrs.group = (!group.is_empty()).then(|| group.to_vec());
        }
        if has(ATTR_PERMISSIONS) {
            attrs.permissions = Some(r.u32("permissions")? & 0o7777);
        }
        let subsecond = has(ATTR_SUBSECOND_TIMES);
        let mut time = |bit, field| -> Result<Option<Timestamp>, DecodeError> {
            if !has(bit) {
                return Ok(None);
            }
            // uint64 in -04, int64 from -05 on: the same bits either way.
            let secs = r.u64(field)? as i64;
            let nanos = if subsecond { r.u32(field)? } else { 0 };
            if nanos >= 1_000_000_000 {
                return Err(DecodeError::Invalid { field });
            }
            Ok(Some(Timestamp { secs, nanos }))
        };
        attrs.atime = time(ATTR_ACCESSTIME, "atime")?;
        attrs.createtime = time(ATTR_CREATETIME, "createtime")?;
        attrs.mtime = time(ATTR_MODIFYTIME, "mtime")?;
        attrs.ctime = time(ATTR_CTIME, "ctime")?;
        if has(ATTR_ACL) {
            // ACLs are not supported (not in the announced mask); the field is skipped.
            r.string("acl")?;
        }
        if has(ATTR_BITS) {
            let bits = r.u32("attrib-bits")?;
            // v5 has one word (all bits valid); v6 adds the valid mask (spec digest P6).
            let valid = if version >= 6 {
                r.u32("attrib-bits-valid")?
            } else {
                u32::MAX
            };
            attrs.bits = Some((bits, valid));
        }
        if has(ATTR_TEXT_HINT) {
            attrs.text_hint = Some(r.u8("text-hint")?);
        }
        if has(ATTR_MIME_TYPE) {
            attrs.mime_type = Some(r.string("mime-type")?.to_vec());
        }
        if has(ATTR_LINK_COUNT) {
            attrs.link_count = Some(r.u32("link-count")?);
        }
        if has(ATTR_UNTRANSLATED_NAME) {
            attrs.untranslated_name = Some(r.string("untranslated-name")?.to_vec());
        }
        if has(ATTR_EXTENDED) {
            skip_extended(r)?;
        }
        Ok(attrs)
    }

    fn decode_v3(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
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
            skip_extended(r)?;
        }
        // Unknown flag bits are ignored (OpenSSH does the same); their fields, if any, would
        // follow the known ones and are left unread.
        Ok(attrs)
    }

    /// Appends the attributes in `version`'s layout.
    ///
    /// v5 attrib-bits are never produced by [`Attrs::from_metadata`]: AsyncSSH reads two words
    /// for BITS even in v5 (the v6 layout), so sending the one-word v5 field would desynchronise
    /// it, and a Unix filesystem has nothing to report there but HIDDEN, which clients derive
    /// from the name anyway.
    pub(crate) fn encode(&self, out: &mut Vec<u8>, version: u32) {
        if version >= 4 {
            return self.encode_v4(out, version);
        }
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

    fn encode_v4(&self, out: &mut Vec<u8>, version: u32) {
        let v6 = version >= 6;
        // Names, or the numeric ids as decimal strings (accepted by -04 §5.5 as a bare name).
        let owner = name_or_id(self.owner.as_deref(), self.uid);
        let group = name_or_id(self.group.as_deref(), self.gid);
        let ownergroup = owner.as_deref().zip(group.as_deref());
        let times = [
            (ATTR_ACCESSTIME, self.atime),
            (ATTR_CREATETIME, self.createtime),
            (ATTR_MODIFYTIME, self.mtime),
            (ATTR_CTIME, self.ctime.filter(|_| v6)),
        ];
        let mut flags = 0;
        let mut set = |bit, present: bool| {
            if present {
                flags |= bit;
            }
        };
        set(ATTR_SIZE, self.size.is_some());
        set(ATTR_ALLOCATION_SIZE, v6 && self.allocation_size.is_some());
        set(ATTR_OWNERGROUP, ownergroup.is_some());
        set(ATTR_PERMISSIONS, self.permissions.is_some());
        for (bit, time) in times {
            set(bit, time.is_some());
        }
        // Sub-second precision is sent whenever a time is (one flag covers every time field).
        set(
            ATTR_SUBSECOND_TIMES,
            times.iter().any(|(_, time)| time.is_some()),
        );
        set(ATTR_BITS, version >= 5 && self.bits.is_some());
        set(ATTR_TEXT_HINT, v6 && self.text_hint.is_some());
        set(ATTR_MIME_TYPE, v6 && self.mime_type.is_some());
        set(ATTR_LINK_COUNT, v6 && self.link_count.is_some());
        set(
            ATTR_UNTRANSLATED_NAME,
            v6 && self.untranslated_name.is_some(),
        );
        let has = |bit: u32| flags & bit != 0;
        put_u32(out, flags);
        put_u8(out, type_byte(self.file_type, version));
        if let Some(size) = self.size {
            put_u64(out, size);
        }
        if let Some(size) = self.allocation_size.filter(|_| v6) {
            put_u64(out, size);
        }
        if let Some((owner, group)) = ownergroup {
            put_string(out, owner);
            put_string(out, group);
        }
        if let Some(permissions) = self.permissions {
            // v4+ carry the type in its own byte; permissions hold only 07777 (P4).
            put_u32(out, permissions & 0o7777);
        }
        for (bit, time) in times {
            if let Some(time) = time.filter(|_| has(bit)) {
                put_u64(out, time.secs as u64);
                put_u32(out, time.nanos);
            }
        }
        if let Some((bits, valid)) = self.bits.filter(|_| has(ATTR_BITS)) {
            if v6 {
                put_u32(out, bits);
                put_u32(out, valid);
            } else {
                put_u32(out, bits & valid);
            }
        }
        if let Some(hint) = self.text_hint.filter(|_| v6) {
            put_u8(out, hint);
        }
        if let Some(mime) = self.mime_type.as_deref().filter(|_| v6) {
            put_string(out, mime);
        }
        if let Some(count) = self.link_count.filter(|_| v6) {
            put_u32(out, count);
        }
        if let Some(name) = self.untranslated_name.as_deref().filter(|_| v6) {
            put_string(out, name);
        }
    }
}

/// A name to send: the known name, else the numeric id in decimal.
fn name_or_id(name: Option<&[u8]>, id: Option<u32>) -> Option<std::borrow::Cow<'_, [u8]>> {
    match (name, id) {
        (Some(name), _) => Some(std::borrow::Cow::Borrowed(name)),
        (None, Some(id)) => Some(std::borrow::Cow::Owned(id.to_string().into_bytes())),
        (None, None) => None,
    }
}

/// Skips `uint32 count` extended (type, data) pairs, which are accepted and ignored as OpenSSH
/// does. Each pair consumes at least 8 bytes, so the loop is bounded by the packet length.
fn skip_extended(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    let count = r.u32("extended count")?;
    for _ in 0..count {
        r.string("extended type")?;
        r.string("extended data")?;
    }
    Ok(())
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
            ..Attrs::default()
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

    fn sample() -> Attrs {
        Attrs {
            size: Some(0x0102),
            owner: Some(b"alice".to_vec()),
            group: Some(b"staff".to_vec()),
            permissions: Some(0o640),
            file_type: Some(FileType::Regular),
            atime: Some(Timestamp { secs: 1, nanos: 2 }),
            mtime: Some(Timestamp { secs: -1, nanos: 3 }),
            ..Attrs::default()
        }
    }

    #[test]
    fn v4_layout_is_byte_exact() {
        // -04 §5: flags, type, size, owner, group, permissions, atime(+ns), mtime(+ns).
        let mut out = Vec::new();
        sample().encode(&mut out, 4);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0x01, 0xad,                 // SIZE|PERMISSIONS|ACCESSTIME|MODIFYTIME|OWNERGROUP|SUBSECOND
            1,                                // REGULAR
            0, 0, 0, 0, 0, 0, 0x01, 0x02,     // size
            0, 0, 0, 5, b'a', b'l', b'i', b'c', b'e',
            0, 0, 0, 5, b's', b't', b'a', b'f', b'f',
            0, 0, 0x01, 0xa0,                 // 0o640, no S_IFMT bits
            0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3,
        ];
        assert_eq!(out, expected);
        let decoded = Attrs::decode(&mut Reader::new(&out), 4).unwrap();
        assert_eq!(decoded, sample());
    }

    #[test]
    fn v5_v6_roundtrip_and_optional_fields() {
        let mut attrs = sample();
        attrs.bits = Some((0x4, u32::MAX));
        let mut out = Vec::new();
        attrs.encode(&mut out, 5);
        // v5 BITS is one word (P6), after the times.
        assert_eq!(&out[..4], [0, 0, 0x03, 0xad]);
        assert_eq!(&out[out.len() - 4..], [0, 0, 0, 4]);
        assert_eq!(Attrs::decode(&mut Reader::new(&out), 5).unwrap(), attrs);

        let mut v6 = attrs.clone();
        v6.bits = Some((0x4, 0x4));
        v6.ctime = Some(Timestamp { secs: 9, nanos: 9 });
        v6.allocation_size = Some(4096);
        v6.text_hint = Some(2);
        v6.mime_type = Some(b"text/plain".to_vec());
        v6.link_count = Some(3);
        v6.untranslated_name = Some(b"raw".to_vec());
        out.clear();
        v6.encode(&mut out, 6);
        assert_eq!(&out[..4], [0, 0, 0xff, 0xad]);
        let mut r = Reader::new(&out);
        assert_eq!(Attrs::decode(&mut r, 6).unwrap(), v6);
        assert!(r.is_empty());
        // Fields a version lacks are not sent to it.
        out.clear();
        v6.encode(&mut out, 4);
        let back = Attrs::decode(&mut Reader::new(&out), 4).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn v4_ids_without_names_are_decimal_and_types_map() {
        let attrs = Attrs {
            uid: Some(1000),
            gid: Some(100),
            file_type: Some(FileType::Socket),
            ..Attrs::default()
        };
        let mut out = Vec::new();
        attrs.encode(&mut out, 4);
        // OWNERGROUP only; v4 has no socket type: SPECIAL.
        let expected = [
            &[0, 0, 0, 0x80, 4][..],
            &[0, 0, 0, 4],
            b"1000",
            &[0, 0, 0, 3],
            b"100",
        ]
        .concat();
        assert_eq!(out, expected);
        out.clear();
        attrs.encode(&mut out, 5);
        assert_eq!(out[4], 6, "v5 SOCKET");
        // A v5 empty owner string means "no change".
        let bytes = [&[0, 0, 0, 0x80, 1][..], &[0, 0, 0, 0], &[0, 0, 0, 1], b"g"].concat();
        let decoded = Attrs::decode(&mut Reader::new(&bytes), 5).unwrap();
        assert_eq!((decoded.owner, decoded.group), (None, Some(b"g".to_vec())));
    }

    #[test]
    fn v4_decode_rejects_bad_nanos_and_truncation() {
        let bytes = [
            0, 0, 0x01, 0x08, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x3b, 0x9a, 0xca, 0x00,
        ];
        assert!(Attrs::decode(&mut Reader::new(&bytes), 4).is_err());
        // No type byte.
        assert!(Attrs::decode(&mut Reader::new(&[0, 0, 0, 0]), 4).is_err());
        // Bits undefined in v4 (BITS 0x200) are ignored, not read.
        let bytes = [0, 0, 0x02, 0x00, 1];
        let mut r = Reader::new(&bytes);
        assert_eq!(
            Attrs::decode(&mut r, 4).unwrap().file_type,
            Some(FileType::Regular)
        );
        assert!(r.is_empty());
    }
}
