//! Replies: typed encoders, one per response packet, each laying out its version's format.
//!
//! Every reply is appended to the caller's output buffer in place: a length placeholder is
//! written first and patched when the packet is complete, so nothing is built separately and
//! copied. DATA replies go further and let the file be read straight into the buffer.

use super::attrs::Attrs;
use super::status::StatusCode;
use super::*;
use crate::wire::{patch_u32, put_string, put_u32, put_u8};

/// A packet being appended to an output buffer.
#[must_use]
pub(crate) struct Packet {
    start: usize,
}

impl Packet {
    /// Starts a packet: a length placeholder and the type byte.
    pub(crate) fn begin(out: &mut Vec<u8>, packet_type: u8) -> Self {
        let start = out.len();
        put_u32(out, 0);
        put_u8(out, packet_type);
        Self { start }
    }

    /// Starts a reply to request `id`.
    pub(crate) fn reply(out: &mut Vec<u8>, packet_type: u8, id: u32) -> Self {
        let packet = Self::begin(out, packet_type);
        put_u32(out, id);
        packet
    }

    /// Patches the length now that the packet is complete.
    pub(crate) fn finish(self, out: &mut [u8]) {
        let len = out.len().saturating_sub(self.start + 4);
        patch_u32(out, self.start, u32::try_from(len).unwrap_or(u32::MAX));
    }

    /// Drops everything written since `begin`.
    pub(crate) fn abandon(self, out: &mut Vec<u8>) {
        out.truncate(self.start);
    }
}

pub(crate) fn version<D: AsRef<[u8]>>(out: &mut Vec<u8>, version: u32, extensions: &[(&str, D)]) {
    let packet = Packet::begin(out, SSH_FXP_VERSION);
    put_u32(out, version);
    for (name, data) in extensions {
        let data = data.as_ref();
        put_string(out, name.as_bytes());
        put_string(out, data);
    }
    packet.finish(out);
}

pub(crate) fn status(out: &mut Vec<u8>, version: u32, id: u32, code: StatusCode) {
    let packet = Packet::reply(out, SSH_FXP_STATUS, id);
    put_u32(out, code.for_version(version));
    // Message and language tag exist since v3 (draft-02 §7). The message names the precise
    // condition even when the number was mapped down; the language tag is left empty, as
    // OpenSSH does.
    put_string(out, code.message().as_bytes());
    put_string(out, b"");
    packet.finish(out);
}

pub(crate) fn handle(out: &mut Vec<u8>, id: u32, handle: &[u8]) {
    let packet = Packet::reply(out, SSH_FXP_HANDLE, id);
    put_string(out, handle);
    packet.finish(out);
}

pub(crate) fn attrs(out: &mut Vec<u8>, version: u32, id: u32, attrs: &Attrs) {
    let packet = Packet::reply(out, SSH_FXP_ATTRS, id);
    attrs.encode(out, version);
    packet.finish(out);
}

/// A NAME reply whose entries are appended one by one.
#[must_use]
pub(crate) struct Names {
    packet: Packet,
    count_at: usize,
    count: u32,
}

impl Names {
    pub(crate) fn begin(out: &mut Vec<u8>, id: u32) -> Self {
        let packet = Packet::reply(out, SSH_FXP_NAME, id);
        let count_at = out.len();
        put_u32(out, 0);
        Self {
            packet,
            count_at,
            count: 0,
        }
    }

    /// Appends one entry; `longname` is only sent to versions that have it (v3 and below).
    pub(crate) fn push(
        &mut self,
        out: &mut Vec<u8>,
        version: u32,
        name: &[u8],
        longname: &[u8],
        attrs: &Attrs,
    ) {
        put_string(out, name);
        if version <= 3 {
            put_string(out, longname);
        }
        attrs.encode(out, version);
        self.count += 1;
    }

    pub(crate) fn finish(self, out: &mut [u8]) {
        patch_u32(out, self.count_at, self.count);
        self.packet.finish(out);
    }

    /// Finishes a READDIR reply; v6 appends `bool end-of-list` when given (-13 §9.4).
    pub(crate) fn finish_list(self, out: &mut Vec<u8>, end_of_list: Option<bool>) {
        if let Some(end) = end_of_list {
            put_u8(out, u8::from(end));
        }
        self.finish(out);
    }
}

/// A NAME reply with one entry and empty attributes (REALPATH, READLINK); v3 repeats the name as
/// the longname, as OpenSSH does.
pub(crate) fn single_name(out: &mut Vec<u8>, version: u32, id: u32, name: &[u8]) {
    let mut names = Names::begin(out, id);
    names.push(out, version, name, name, &Attrs::default());
    names.finish(out);
}

/// A DATA reply whose payload is filled in place.
#[must_use]
pub(crate) struct Data {
    packet: Packet,
    data_at: usize,
}

impl Data {
    /// Reserves the header and `len` zeroed payload bytes at the end of `out`; the payload is
    /// `out[data_at..]` until [`Data::finish`] trims it to what was filled.
    pub(crate) fn begin(out: &mut Vec<u8>, id: u32, len: usize) -> Self {
        let packet = Packet::reply(out, SSH_FXP_DATA, id);
        put_u32(out, 0);
        let data_at = out.len();
        out.resize(data_at + len, 0);
        Self { packet, data_at }
    }

    pub(crate) fn data_at(&self) -> usize {
        self.data_at
    }

    /// Trims the payload to `filled` bytes; v6 appends `bool end-of-file` when given
    /// (-13 §9.3).
    pub(crate) fn finish(self, out: &mut Vec<u8>, filled: usize, end_of_file: Option<bool>) {
        out.truncate(self.data_at + filled);
        patch_u32(
            out,
            self.data_at - 4,
            u32::try_from(filled).unwrap_or(u32::MAX),
        );
        if let Some(eof) = end_of_file {
            put_u8(out, u8::from(eof));
        }
        self.packet.finish(out);
    }

    pub(crate) fn abandon(self, out: &mut Vec<u8>) {
        self.packet.abandon(out);
    }
}

/// Bytes in front of a DATA reply's payload: length, type, id, data length.
pub(crate) const DATA_HEADER_LEN: usize = 4 + 1 + 4 + 4;

/// The header of a v3–v5 DATA reply carrying `data_len` bytes, for replies whose data is placed
/// by someone else (read straight into the SSH packets that carry it).
pub(crate) fn data_header(id: u32, data_len: u32) -> [u8; DATA_HEADER_LEN] {
    let mut header = [0; DATA_HEADER_LEN];
    let mut out = Vec::with_capacity(DATA_HEADER_LEN);
    put_u32(
        &mut out,
        (DATA_HEADER_LEN as u32 - 4).saturating_add(data_len),
    );
    put_u8(&mut out, SSH_FXP_DATA);
    put_u32(&mut out, id);
    put_u32(&mut out, data_len);
    header.copy_from_slice(&out);
    header
}

/// Starts an EXTENDED_REPLY; the extension appends its own fields and finishes it.
pub(crate) fn extended(out: &mut Vec<u8>, id: u32) -> Packet {
    Packet::reply(out, SSH_FXP_EXTENDED_REPLY, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_status_layout() {
        let mut out = vec![0xee];
        status(&mut out, 3, 7, StatusCode::FileAlreadyExists);
        let mut expected = vec![0xee, 0, 0, 0, 36, 101, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 19];
        expected.extend_from_slice(b"File already exists");
        expected.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(out, expected);
    }

    #[test]
    fn data_is_trimmed_to_what_was_filled() {
        let mut out = Vec::new();
        let data = Data::begin(&mut out, 1, 10);
        assert_eq!(data.data_at(), DATA_HEADER_LEN);
        assert_eq!(out.len(), DATA_HEADER_LEN + 10);
        out[DATA_HEADER_LEN] = b'x';
        data.finish(&mut out, 1, None);
        assert_eq!(out, [0, 0, 0, 10, 103, 0, 0, 0, 1, 0, 0, 0, 1, b'x']);
        // v6: the end-of-file flag follows the data and counts in the length.
        let mut out = Vec::new();
        let data = Data::begin(&mut out, 1, 10);
        out[DATA_HEADER_LEN] = b'y';
        data.finish(&mut out, 1, Some(true));
        assert_eq!(out, [0, 0, 0, 11, 103, 0, 0, 0, 1, 0, 0, 0, 1, b'y', 1]);
    }

    #[test]
    fn data_header_matches_a_buffered_data_reply() {
        let mut out = Vec::new();
        let data = Data::begin(&mut out, 0x0102_0304, 3);
        out[DATA_HEADER_LEN..].copy_from_slice(b"abc");
        data.finish(&mut out, 3, None);
        assert_eq!(data_header(0x0102_0304, 3), out[..DATA_HEADER_LEN]);
        assert_eq!(
            data_header(7, 2),
            [0, 0, 0, 11, 103, 0, 0, 0, 7, 0, 0, 0, 2]
        );
    }

    #[test]
    fn names_count_is_patched() {
        let mut out = Vec::new();
        let mut names = Names::begin(&mut out, 2);
        names.push(&mut out, 3, b"a", b"la", &Attrs::default());
        names.push(&mut out, 3, b"b", b"lb", &Attrs::default());
        names.finish(&mut out);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 39, 104, 0, 0, 0, 2, 0, 0, 0, 2,
            0, 0, 0, 1, b'a', 0, 0, 0, 2, b'l', b'a', 0, 0, 0, 0,
            0, 0, 0, 1, b'b', 0, 0, 0, 2, b'l', b'b', 0, 0, 0, 0,
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn version_lists_extensions() {
        let mut out = Vec::new();
        version(&mut out, 3, &[("a@b", b"1")]);
        assert_eq!(
            out,
            [0, 0, 0, 17, 2, 0, 0, 0, 3, 0, 0, 0, 3, b'a', b'@', b'b', 0, 0, 0, 1, b'1']
        );
    }
}
