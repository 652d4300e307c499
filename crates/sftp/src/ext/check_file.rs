//! `check-file-handle` and `check-file-name` (draft-ietf-secsh-filexfer-extensions-00 §3,
//! filexfer-09 §9.1.2): the server hashes a range of a file so the client can verify a
//! transfer without reading the file back.
//!
//! Hashing runs inside the request: a large range holds up the session's other requests
//! until it is done (it is read in bounded chunks, so memory stays small). The reply size is
//! bounded instead: a request whose digests would not fit in one reply is refused.

use md5::Md5;
use sha1::Sha1;
use sha2::digest::{DynDigest, InvalidBufferSize};
use sha2::{Sha224, Sha256, Sha384, Sha512};
use wharf_vfs::{OpenOptions, VfsFile};

use crate::engine::{Engine, Refusal};
use crate::proto::reply;
use crate::proto::status::StatusCode;
use crate::wire::{put_string, Reader};

/// The algorithms offered, announced in this order as the `check-file` data (the drafts' list,
/// crc32 included).
pub(super) const ALGORITHMS: &[u8] = b"md5,sha1,sha224,sha256,sha384,sha512,crc32";

/// Bytes read per round while hashing.
const CHUNK: usize = 64 * 1024;

/// The smallest block size the drafts allow (0 means "one hash over the whole range").
const MIN_BLOCK_SIZE: u32 = 256;

/// The hasher for an algorithm name, if it is one of [`ALGORITHMS`].
fn hasher(name: &[u8]) -> Option<Box<dyn DynDigest>> {
    Some(match name {
        b"md5" => Box::new(Md5::default()),
        b"sha1" => Box::new(Sha1::default()),
        b"sha224" => Box::new(Sha224::default()),
        b"sha256" => Box::new(Sha256::default()),
        b"sha384" => Box::new(Sha384::default()),
        b"sha512" => Box::new(Sha512::default()),
        b"crc32" => Box::new(Crc32::default()),
        _ => return None,
    })
}

/// The request fields after the handle or name.
struct Params<'a> {
    algorithms: &'a [u8],
    offset: u64,
    length: u64,
    block_size: u32,
}

impl<'a> Params<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, Refusal> {
        Ok(Self {
            algorithms: r.string("hash-algorithm-list")?,
            offset: r.u64("start-offset")?,
            length: r.u64("length")?,
            block_size: r.u32("block-size")?,
        })
    }
}

/// `check-file-handle`: `string handle` (opened for reading), then the common fields.
pub(super) fn check_file_handle(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let handle = r.string("handle")?;
    let params = Params::read(r)?;
    let budget = engine.limits().max_read_len as usize;
    let file = engine.file(handle)?;
    if !file.readable {
        return Err(StatusCode::PermissionDenied.into());
    }
    hash_reply(&*file.file, &params, budget, id, out)
}

/// `check-file`, as Paramiko's `SFTPFile.check()` sends it: the announced name used as the
/// request, with a handle and the common fields. Paramiko expects the reply to start with
/// `string "check-file"` (spec digest §9.1, P16), so that is prepended.
pub(super) fn check_file_paramiko(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let handle = r.string("handle")?;
    let params = Params::read(r)?;
    let budget = engine.limits().max_read_len as usize;
    let file = engine.file(handle)?;
    if !file.readable {
        return Err(StatusCode::PermissionDenied.into());
    }
    hash_reply_as(&*file.file, &params, budget, id, Some(b"check-file"), out)
}

/// `check-file-name`: `string filename` (a final symlink is followed), then the common fields.
pub(super) fn check_file_name(
    engine: &mut Engine,
    id: u32,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    let path = engine.resolve(r.string("filename")?);
    let params = Params::read(r)?;
    let options = OpenOptions {
        read: true,
        ..OpenOptions::default()
    };
    let file = engine.fs().open(&path, &options)?;
    let budget = engine.limits().max_read_len as usize;
    hash_reply(&*file, &params, budget, id, out)
}

/// Hashes the requested range and appends EXTENDED_REPLY `string algorithm, byte[] digests`
/// (one per block, concatenated, to the end of the packet): extensions-00 §3's layout, which
/// ProFTPD answers with.
fn hash_reply(
    file: &dyn VfsFile,
    params: &Params<'_>,
    budget: usize,
    id: u32,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    hash_reply_as(file, params, budget, id, None, out)
}

/// [`hash_reply`], the reply starting with `string prefix` when given (Paramiko's layout).
fn hash_reply_as(
    file: &dyn VfsFile,
    params: &Params<'_>,
    budget: usize,
    id: u32,
    prefix: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> Result<(), Refusal> {
    // The client's first algorithm that is offered; none in common is OP_UNSUPPORTED.
    let (name, mut hash) = params
        .algorithms
        .split(|&b| b == b',')
        .find_map(|name| hasher(name).map(|h| (name, h)))
        .ok_or(StatusCode::OpUnsupported)?;
    if params.block_size != 0 && params.block_size < MIN_BLOCK_SIZE {
        return Err(StatusCode::InvalidParameter.into());
    }
    let size = file.stat()?.size;
    // Starting at or past the end is INVALID_PARAMETER, except for an empty file at 0, whose
    // empty range has a well-defined hash.
    if params.offset > size || (params.offset == size && size != 0) {
        return Err(StatusCode::InvalidParameter.into());
    }
    let available = size - params.offset;
    let length = if params.length == 0 {
        available
    } else {
        params.length.min(available)
    };
    let block = if params.block_size == 0 {
        length.max(1)
    } else {
        u64::from(params.block_size)
    };
    let digest_len = hash.output_size();
    let blocks = length.div_ceil(block).max(1);
    let reply_len = blocks
        .checked_mul(digest_len as u64)
        .filter(|&n| n.saturating_add(64) <= budget as u64)
        .ok_or(StatusCode::InvalidParameter)?;

    let mut digests = Vec::with_capacity(usize::try_from(reply_len).unwrap_or(0));
    let mut buf = vec![0u8; CHUNK];
    let mut done: u64 = 0;
    let mut in_block: u64 = 0;
    while done < length {
        let want = (length - done).min(block - in_block).min(CHUNK as u64);
        // `want` ≤ CHUNK, so it fits in usize.
        let chunk = buf
            .get_mut(..usize::try_from(want).unwrap_or(CHUNK))
            .ok_or(StatusCode::Failure)?;
        let position = params.offset.checked_add(done).ok_or(StatusCode::Failure)?;
        let n = file.read_at(chunk, position)?;
        if n == 0 {
            // The file shrank while being hashed: the range ends here.
            break;
        }
        hash.update(chunk.get(..n).ok_or(StatusCode::Failure)?);
        done += n as u64;
        in_block += n as u64;
        if in_block == block {
            digests.extend_from_slice(&hash.finalize_reset());
            in_block = 0;
        }
    }
    // A short last block, or the one hash of an empty range.
    if in_block > 0 || digests.is_empty() {
        digests.extend_from_slice(&hash.finalize_reset());
    }

    let packet = reply::extended(out, id);
    if let Some(prefix) = prefix {
        put_string(out, prefix);
    }
    put_string(out, name);
    out.extend_from_slice(&digests);
    packet.finish(out);
    Ok(())
}

/// CRC-32 as the drafts' `crc32` (the ISO-HDLC CRC of zlib and Ethernet: reflected polynomial
/// 0xEDB88320, initial value and final xor 0xFFFFFFFF), digest in network byte order. Not a
/// cryptographic hash: it is offered because the drafts list it and clients may ask for a
/// cheap check.
#[derive(Clone)]
struct Crc32 {
    state: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Self { state: !0 }
    }
}

/// The byte-at-a-time table, built at compile time (an index out of range would fail the
/// build, never panic at run time).
#[allow(clippy::indexing_slicing)]
const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

impl Crc32 {
    fn value(&self) -> u32 {
        !self.state
    }
}

impl DynDigest for Crc32 {
    fn update(&mut self, data: &[u8]) {
        for &b in data {
            let index = usize::from((self.state as u8) ^ b);
            // `index` < 256 by construction.
            let entry = CRC32_TABLE.get(index).copied().unwrap_or(0);
            self.state = entry ^ (self.state >> 8);
        }
    }

    fn finalize_into(self, buf: &mut [u8]) -> Result<(), InvalidBufferSize> {
        let out: &mut [u8; 4] = buf.try_into().map_err(|_| InvalidBufferSize)?;
        *out = self.value().to_be_bytes();
        Ok(())
    }

    fn finalize_into_reset(&mut self, out: &mut [u8]) -> Result<(), InvalidBufferSize> {
        let value = std::mem::take(self);
        value.finalize_into(out)
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    fn output_size(&self) -> usize {
        4
    }

    fn box_clone(&self) -> Box<dyn DynDigest> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_values() {
        // The check value of CRC-32/ISO-HDLC in Greg Cook's CRC catalogue
        // (reveng.sourceforge.net/crc-catalogue/17plus.htm): "123456789" -> 0xCBF43926.
        let mut crc = Crc32::default();
        crc.update(b"123456789");
        assert_eq!(&*crc.finalize_reset(), [0xcb, 0xf4, 0x39, 0x26]);
        // After a reset, the empty input gives 0 and split input the whole input's CRC.
        assert_eq!(&*crc.finalize_reset(), [0, 0, 0, 0]);
        crc.update(b"The quick brown fox ");
        crc.update(b"jumps over the lazy dog");
        // zlib's crc32() of the pangram, the standard second vector (0x414FA339).
        assert_eq!(&*crc.finalize_reset(), [0x41, 0x4f, 0xa3, 0x39]);
        assert!(hasher(b"crc32").is_some());
    }
}
