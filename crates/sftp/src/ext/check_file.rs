//! `check-file-handle` and `check-file-name` (draft-ietf-secsh-filexfer-extensions-00 §3,
//! filexfer-09 §9.1.2): the server hashes a range of a file so the client can verify a
//! transfer without reading the file back.
//!
//! Hashing runs inside the request: a large range holds up the session's other requests
//! until it is done (it is read in bounded chunks, so memory stays small). The reply size is
//! bounded instead: a request whose digests would not fit in one reply is refused.

use md5::Md5;
use sha1::Sha1;
use sha2::digest::DynDigest;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use wharf_vfs::{OpenOptions, VfsFile};

use crate::engine::{Engine, Refusal};
use crate::proto::reply;
use crate::proto::status::StatusCode;
use crate::wire::{put_string, Reader};

/// The algorithms offered, announced in this order as the `check-file` data.
pub(super) const ALGORITHMS: &[u8] = b"md5,sha1,sha224,sha256,sha384,sha512";

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
/// ProFTPD answers with. (Paramiko's own `check-file` request, which expects a leading
/// `string "check-file"`, is a different request name and is not served.)
fn hash_reply(
    file: &dyn VfsFile,
    params: &Params<'_>,
    budget: usize,
    id: u32,
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
    put_string(out, name);
    out.extend_from_slice(&digests);
    packet.finish(out);
    Ok(())
}
