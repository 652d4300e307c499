//! The extensions added after OpenSSH's first set: `copy-data`, `expand-path@openssh.com`,
//! `home-directory` and `users-groups-by-id@openssh.com`, driven with hand-built v3 requests
//! against a `LocalFs` in a temp dir.

mod common;

use std::fs;

use common::*;
use wharf_sftp::SftpConfig;

fn ext(id: u32, name: &str, b: B) -> Vec<u8> {
    req(EXTENDED, id, B::default().s(name).raw(&b.0))
}

fn copy_data(id: u32, from: &[u8], offset: u64, len: u64, to: &[u8], to_offset: u64) -> Vec<u8> {
    ext(
        id,
        "copy-data",
        B::default()
            .s(from)
            .u64(offset)
            .u64(len)
            .s(to)
            .u64(to_offset),
    )
}

#[test]
fn copy_data_copies_ranges_between_handles() {
    let mut t = session();
    // Bigger than one internal chunk, so the copy loop runs several rounds.
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    fs::write(t.path("src"), &content).unwrap();
    let src = t.open("src", PF_READ);
    let dst = t.open("dst", PF_WRITE | PF_CREAT | PF_TRUNC);

    // Length 0: everything to EOF.
    assert_eq!(t.status(&copy_data(2, &src, 0, 0, &dst, 0)), FX_OK);
    assert_eq!(fs::read(t.path("dst")).unwrap(), content);

    // A sub-range to an offset inside the target.
    assert_eq!(t.status(&copy_data(3, &src, 10, 5, &dst, 1)), FX_OK);
    let got = fs::read(t.path("dst")).unwrap();
    assert_eq!(got[1..6], content[10..15]);
    assert_eq!(got[0], content[0]);
    assert_eq!(got[6..], content[6..]);

    // A length past EOF copies what there is and is not an error (as OpenSSH).
    let tail = t.open("tail", PF_WRITE | PF_CREAT);
    assert_eq!(
        t.status(&copy_data(4, &src, 199_990, 1000, &tail, 0)),
        FX_OK
    );
    assert_eq!(fs::read(t.path("tail")).unwrap(), content[199_990..]);
}

#[test]
fn copy_data_refuses_the_same_handle_on_both_sides() {
    let mut t = session();
    fs::write(t.path("f"), b"abcdefgh").unwrap();
    let h = t.open("f", PF_READ | PF_WRITE);
    // extensions-00 §7 and OpenSSH: INVALID_PARAMETER (FAILURE in v3), even for disjoint
    // ranges. The file is untouched.
    assert_eq!(t.status(&copy_data(2, &h, 0, 4, &h, 4)), FX_FAILURE);
    assert_eq!(t.status(&copy_data(3, &h, 0, 0, &h, 8)), FX_FAILURE);
    assert_eq!(fs::read(t.path("f")).unwrap(), b"abcdefgh");
}

#[test]
fn copy_data_refusals() {
    let mut t = session();
    fs::write(t.path("f"), b"data").unwrap();
    let r = t.open("f", PF_READ);
    let w = t.open("g", PF_WRITE | PF_CREAT);
    // Unknown handles: INVALID_HANDLE, FAILURE in v3.
    assert_eq!(t.status(&copy_data(2, b"bogus", 0, 0, &w, 0)), FX_FAILURE);
    assert_eq!(t.status(&copy_data(3, &r, 0, 0, b"bogus", 0)), FX_FAILURE);
    // Reading a write-only handle, or writing a read-only one.
    assert_eq!(
        t.status(&copy_data(4, &w, 0, 0, &w, 100)),
        FX_PERMISSION_DENIED
    );
    assert_eq!(
        t.status(&copy_data(5, &r, 0, 0, &r, 100)),
        FX_PERMISSION_DENIED
    );
    // Truncated body.
    assert_eq!(
        t.status(&ext(6, "copy-data", B::default().s(&r).u64(0))),
        FX_BAD_MESSAGE
    );
    assert_eq!(fs::read(t.path("g")).unwrap(), b"");

    // Read-only mode refuses it before looking at the handles.
    let mut t = session_with(SftpConfig {
        read_only: true,
        ..SftpConfig::default()
    });
    fs::write(t.path("f"), b"data").unwrap();
    let r = t.open("f", PF_READ);
    assert_eq!(
        t.status(&copy_data(2, &r, 0, 0, &r, 100)),
        FX_PERMISSION_DENIED
    );
    assert_eq!(fs::read(t.path("f")).unwrap(), b"data");
}

fn single_name(reply: Reply) -> Vec<u8> {
    match reply {
        Reply::Name(_, mut entries) if entries.len() == 1 => entries.remove(0).0,
        other => panic!("expected one NAME entry, got {other:?}"),
    }
}

#[test]
fn expand_path_expands_tilde_to_home() {
    let mut t = session();
    fs::create_dir(t.path("sub")).unwrap();
    let expand = |t: &mut T, id, path: &str| {
        t.one(&ext(id, "expand-path@openssh.com", B::default().s(path)))
    };
    // LocalFs's home is "/", the jail root.
    assert_eq!(single_name(expand(&mut t, 1, "~")), b"/");
    assert_eq!(single_name(expand(&mut t, 2, "~/sub")), b"/sub");
    assert_eq!(single_name(expand(&mut t, 3, "~/sub/../sub/x")), b"/sub/x");
    // Without a tilde it is REALPATH.
    assert_eq!(single_name(expand(&mut t, 4, "sub/.")), b"/sub");
    assert_eq!(single_name(expand(&mut t, 5, "/a/../b")), b"/b");
    // Another user's home is out of reach.
    assert_eq!(
        t.status(&ext(
            6,
            "expand-path@openssh.com",
            B::default().s("~root/x")
        )),
        FX_NO_SUCH_FILE
    );
    assert_eq!(
        t.status(&ext(7, "expand-path@openssh.com", B::default())),
        FX_BAD_MESSAGE
    );
}

#[test]
fn home_directory_answers_for_the_session_user_only() {
    let mut t = session();
    assert_eq!(
        single_name(t.one(&ext(1, "home-directory", B::default().s("")))),
        b"/"
    );
    // A user that is not this process's: FAILURE, whether or not it exists.
    let other = "no-such-user-wharf-test";
    assert_eq!(
        t.status(&ext(2, "home-directory", B::default().s(other))),
        FX_FAILURE
    );
    // The process's own user name, if the user database has one.
    use std::os::unix::fs::MetadataExt;
    let uid = fs::metadata("/proc/self").unwrap().uid();
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let own = passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    });
    if let Some(own) = own {
        assert_eq!(
            single_name(t.one(&ext(3, "home-directory", B::default().s(&own)))),
            b"/"
        );
        if own != "root" && uid != 0 {
            assert_eq!(
                t.status(&ext(4, "home-directory", B::default().s("root"))),
                FX_FAILURE
            );
        }
    }
}

#[test]
fn users_groups_by_id_names_ids_in_order() {
    let mut t = session();
    // uid/gid 0 are "root" on any system with an /etc/passwd; 0xfffffffe is nobody's.
    let has_root = fs::read_to_string("/etc/passwd")
        .map(|p| {
            p.lines()
                .any(|l| l.starts_with("root:x:0:") || l.starts_with("root::0:"))
        })
        .unwrap_or(false);
    let has_root_group = fs::read_to_string("/etc/group")
        .map(|p| {
            p.lines()
                .any(|l| l.starts_with("root:") && l.split(':').nth(2) == Some("0"))
        })
        .unwrap_or(false);
    let uids = B::default().u32(0).u32(0xffff_fffe).0;
    let gids = B::default().u32(0xffff_fffe).u32(0).u32(0).0;
    match t.one(&ext(
        1,
        "users-groups-by-id@openssh.com",
        B::default().s(&uids).s(&gids),
    )) {
        Reply::Extended(1, body) => {
            let mut p = P(&body);
            let users = p.s().to_vec();
            let groups = p.s().to_vec();
            assert!(p.0.is_empty());
            let mut u = P(&users);
            let root = if has_root { &b"root"[..] } else { b"" };
            assert_eq!(u.s(), root);
            assert_eq!(u.s(), b"");
            assert!(u.0.is_empty());
            let mut g = P(&groups);
            let root = if has_root_group { &b"root"[..] } else { b"" };
            assert_eq!(g.s(), b"");
            assert_eq!(g.s(), root);
            assert_eq!(g.s(), root);
            assert!(g.0.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // Empty lists give empty lists.
    match t.one(&ext(
        2,
        "users-groups-by-id@openssh.com",
        B::default().s("").s(""),
    )) {
        Reply::Extended(2, body) => assert_eq!(body, [0u8; 8]),
        other => panic!("{other:?}"),
    }
    // A list that is not whole uint32s is malformed.
    assert_eq!(
        t.status(&ext(
            3,
            "users-groups-by-id@openssh.com",
            B::default().s([0u8; 3]).s("")
        )),
        FX_BAD_MESSAGE
    );
}

#[test]
fn read_only_mode_still_offers_the_read_extensions() {
    let mut t = session_with(SftpConfig {
        read_only: true,
        ..SftpConfig::default()
    });
    assert_eq!(
        single_name(t.one(&ext(1, "expand-path@openssh.com", B::default().s("~")))),
        b"/"
    );
    assert!(matches!(
        t.one(&ext(
            2,
            "users-groups-by-id@openssh.com",
            B::default().s("").s("")
        )),
        Reply::Extended(2, _)
    ));
}

fn lsetstat(id: u32, path: &str, attrs: B) -> Vec<u8> {
    ext(
        id,
        "lsetstat@openssh.com",
        B::default().s(path).raw(&attrs.0),
    )
}

#[test]
fn lsetstat_acts_on_the_link_itself() {
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
    let mut t = session();
    fs::write(t.path("f"), b"x").unwrap();
    fs::set_permissions(t.path("f"), fs::Permissions::from_mode(0o644)).unwrap();
    symlink("f", t.path("l")).unwrap();
    symlink("nowhere", t.path("dangling")).unwrap();
    let file_mtime = fs::metadata(t.path("f")).unwrap().mtime();

    // ACMODTIME (0x8): atime, mtime. The link's times change, the target's do not.
    let times = B::default().u32(8).u32(1_000_000).u32(1_234_567);
    assert_eq!(t.status(&lsetstat(1, "l", times.clone())), FX_OK);
    let link = fs::symlink_metadata(t.path("l")).unwrap();
    assert_eq!((link.atime(), link.mtime()), (1_000_000, 1_234_567));
    assert_eq!(fs::metadata(t.path("f")).unwrap().mtime(), file_mtime);
    // A dangling link works too: nothing is followed.
    assert_eq!(t.status(&lsetstat(2, "dangling", times.clone())), FX_OK);
    assert_eq!(
        fs::symlink_metadata(t.path("dangling")).unwrap().mtime(),
        1_234_567
    );

    // Permissions on a symlink: OP_UNSUPPORTED as from OpenSSH; the target keeps its mode.
    let mode = B::default().u32(4).u32(0o600);
    assert_eq!(t.status(&lsetstat(3, "l", mode.clone())), FX_OP_UNSUPPORTED);
    let got = fs::metadata(t.path("f")).unwrap().permissions().mode() & 0o777;
    assert_eq!(got, 0o644);
    // On a regular file they apply.
    assert_eq!(t.status(&lsetstat(4, "f", mode)), FX_OK);
    let got = fs::metadata(t.path("f")).unwrap().permissions().mode() & 0o777;
    assert_eq!(got, 0o600);

    // A size means nothing without following: INVALID_PARAMETER (FAILURE in v3).
    let size = B::default().u32(1).u64(0);
    assert_eq!(t.status(&lsetstat(5, "f", size)), FX_FAILURE);
    assert_eq!(fs::read(t.path("f")).unwrap(), b"x");
    assert_eq!(t.status(&lsetstat(6, "missing", times)), FX_NO_SUCH_FILE);
    assert_eq!(
        t.status(&ext(7, "lsetstat@openssh.com", B::default().s("f"))),
        FX_BAD_MESSAGE
    );
}

#[test]
fn lsetstat_is_refused_read_only() {
    use std::os::unix::fs::MetadataExt;
    let mut t = session_with(SftpConfig {
        read_only: true,
        ..SftpConfig::default()
    });
    fs::write(t.path("f"), b"x").unwrap();
    let before = fs::metadata(t.path("f")).unwrap().mtime();
    let times = B::default().u32(8).u32(1_000_000).u32(1_234_567);
    assert_eq!(t.status(&lsetstat(1, "f", times)), FX_PERMISSION_DENIED);
    assert_eq!(fs::metadata(t.path("f")).unwrap().mtime(), before);
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Published digests of "abc": MD5 from RFC 1321 §A.5, SHA-1 and SHA-2 from FIPS 180-2
/// appendices (NIST CSRC "Examples with intermediate values").
const ABC: [(&str, &str); 6] = [
    ("md5", "900150983cd24fb0d6963f7d28e17f72"),
    ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    (
        "sha224",
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
    ),
    (
        "sha256",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ),
    (
        "sha384",
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
    ),
    (
        "sha512",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    ),
];

fn check_name(id: u32, path: &str, algs: &str, offset: u64, len: u64, block: u32) -> Vec<u8> {
    ext(
        id,
        "check-file-name",
        B::default().s(path).s(algs).u64(offset).u64(len).u32(block),
    )
}

/// The algorithm and digest bytes of a check-file reply.
fn check_reply(reply: Reply) -> (String, Vec<u8>) {
    match reply {
        Reply::Extended(_, body) => {
            // extensions-00 §3: the algorithm used, then the raw digests.
            let mut p = P(&body);
            let alg = String::from_utf8(p.s().to_vec()).unwrap();
            (alg, p.0.to_vec())
        }
        other => panic!("expected EXTENDED_REPLY, got {other:?}"),
    }
}

#[test]
fn check_file_published_vectors() {
    let mut t = session();
    fs::write(t.path("abc"), b"abc").unwrap();
    for (i, (alg, hex)) in ABC.iter().enumerate() {
        let reply = t.one(&check_name(i as u32, "abc", alg, 0, 0, 0));
        assert_eq!(check_reply(reply), (alg.to_string(), unhex(hex)), "{alg}");
    }
    // The client's first supported choice wins; unknown names are skipped.
    let reply = t.one(&check_name(10, "abc", "whirlpool,sha1,md5", 0, 0, 0));
    assert_eq!(check_reply(reply), ("sha1".into(), unhex(ABC[1].1)));
    // crc32: the CRC catalogue's CRC-32/ISO-HDLC check value, "123456789" -> cbf43926.
    fs::write(t.path("digits"), b"123456789").unwrap();
    let reply = t.one(&check_name(14, "digits", "crc32", 0, 0, 0));
    assert_eq!(check_reply(reply), ("crc32".into(), unhex("cbf43926")));
    // A sub-range: offset 2, length 3 of "xxabcyy" is "abc".
    fs::write(t.path("mid"), b"xxabcyy").unwrap();
    let reply = t.one(&check_name(11, "mid", "sha256", 2, 3, 0));
    assert_eq!(check_reply(reply).1, unhex(ABC[3].1));
    // A length past EOF stops at EOF: offset 4 to the end of "xxxxabc".
    fs::write(t.path("tail"), b"xxxxabc").unwrap();
    let reply = t.one(&check_name(12, "tail", "md5", 4, 1000, 0));
    assert_eq!(check_reply(reply).1, unhex(ABC[0].1));
    // The empty file's MD5 (RFC 1321 §A.5).
    fs::write(t.path("empty"), b"").unwrap();
    let reply = t.one(&check_name(13, "empty", "md5", 0, 0, 0));
    assert_eq!(
        check_reply(reply).1,
        unhex("d41d8cd98f00b204e9800998ecf8427e")
    );
}

#[test]
fn check_file_multi_chunk_and_blocks() {
    let mut t = session();
    // One million "a": FIPS 180-2 appendix vectors; spans many read chunks.
    fs::write(t.path("million"), vec![b'a'; 1_000_000]).unwrap();
    let reply = t.one(&check_name(1, "million", "sha1", 0, 0, 0));
    assert_eq!(
        check_reply(reply).1,
        unhex("34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    );
    let reply = t.one(&check_name(2, "million", "sha256", 0, 0, 0));
    assert_eq!(
        check_reply(reply).1,
        unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    );

    // Blocks of 256: a full first block, then a short "abc" block whose digest is published.
    let mut content: Vec<u8> = (0..=255u8).collect();
    content.extend_from_slice(b"abc");
    fs::write(t.path("blocks"), &content).unwrap();
    let (_, first) = check_reply(t.one(&check_name(3, "blocks", "md5", 0, 256, 0)));
    let (alg, both) = check_reply(t.one(&check_name(4, "blocks", "md5", 0, 0, 256)));
    assert_eq!(alg, "md5");
    assert_eq!(both.len(), 32);
    assert_eq!(both[..16], first[..]);
    assert_eq!(both[16..], unhex(ABC[0].1)[..]);

    // By handle, the same answer.
    let h = t.open("blocks", PF_READ);
    let by_handle = ext(
        5,
        "check-file-handle",
        B::default().s(&h).s("md5").u64(0).u64(0).u32(256),
    );
    assert_eq!(check_reply(t.one(&by_handle)).1, both);
}

/// Paramiko's `SFTPFile.check()`: request `check-file` with a handle; the reply starts with
/// `string "check-file"`, then the algorithm and the raw digests.
#[test]
fn check_file_paramiko_alias() {
    let mut t = session();
    fs::write(t.path("abc"), b"abc").unwrap();
    let h = t.open("abc", PF_READ);
    let request = ext(
        1,
        "check-file",
        B::default().s(&h).s("sha1").u64(0).u64(0).u32(0),
    );
    match t.one(&request) {
        Reply::Extended(_, body) => {
            let mut p = P(&body);
            assert_eq!(p.s(), b"check-file");
            assert_eq!(p.s(), b"sha1");
            assert_eq!(p.0, unhex(ABC[1].1));
        }
        other => panic!("{other:?}"),
    }
    // Switched off with the announcement, it is unknown.
    let mut t = session_with(SftpConfig {
        disabled_extensions: vec!["check-file".into()],
        ..SftpConfig::default()
    });
    fs::write(t.path("abc"), b"abc").unwrap();
    let h = t.open("abc", PF_READ);
    let request = ext(
        1,
        "check-file",
        B::default().s(&h).s("sha1").u64(0).u64(0).u32(0),
    );
    assert_eq!(t.status(&request), FX_OP_UNSUPPORTED);
    assert_eq!(
        t.status(&check_name(2, "abc", "md5", 0, 0, 0)),
        FX_OP_UNSUPPORTED
    );
}

#[test]
fn check_file_refusals() {
    let mut t = session();
    fs::write(t.path("abc"), b"abc").unwrap();
    fs::create_dir(t.path("dir")).unwrap();
    // Block size below 256, an offset at or past EOF: INVALID_PARAMETER (FAILURE in v3).
    assert_eq!(
        t.status(&check_name(1, "abc", "md5", 0, 0, 100)),
        FX_FAILURE
    );
    assert_eq!(t.status(&check_name(2, "abc", "md5", 3, 0, 0)), FX_FAILURE);
    assert_eq!(t.status(&check_name(3, "abc", "md5", 99, 0, 0)), FX_FAILURE);
    // Nothing in common.
    assert_eq!(
        t.status(&check_name(4, "abc", "tiger,whirlpool", 0, 0, 0)),
        FX_OP_UNSUPPORTED
    );
    assert_eq!(
        t.status(&check_name(5, "missing", "md5", 0, 0, 0)),
        FX_NO_SUCH_FILE
    );
    assert_eq!(t.status(&check_name(6, "dir", "md5", 0, 0, 0)), FX_FAILURE);
    // More digests than fit in a reply: 1.1 MB in 256-byte SHA-512 blocks is 275 KB of hashes.
    fs::write(t.path("big"), vec![0u8; 1_100_000]).unwrap();
    assert_eq!(
        t.status(&check_name(7, "big", "sha512", 0, 0, 256)),
        FX_FAILURE
    );
    // Handles: unknown, and write-only.
    let bad = ext(
        8,
        "check-file-handle",
        B::default().s("bogus").s("md5").u64(0).u64(0).u32(0),
    );
    assert_eq!(t.status(&bad), FX_FAILURE);
    let w = t.open("abc", PF_WRITE);
    let write_only = ext(
        9,
        "check-file-handle",
        B::default().s(&w).s("md5").u64(0).u64(0).u32(0),
    );
    assert_eq!(t.status(&write_only), FX_PERMISSION_DENIED);
    assert_eq!(
        t.status(&ext(10, "check-file-name", B::default().s("abc").s("md5"))),
        FX_BAD_MESSAGE
    );
    // Paramiko's `check-file` takes a handle, not a name: a path is an unknown handle.
    assert_eq!(
        t.status(&ext(
            11,
            "check-file",
            B::default().s("abc").s("md5").u64(0).u64(0).u32(0)
        )),
        FX_FAILURE
    );

    // Read-only sessions may hash.
    let mut t = session_with(SftpConfig {
        read_only: true,
        ..SftpConfig::default()
    });
    fs::write(t.path("abc"), b"abc").unwrap();
    let reply = t.one(&check_name(1, "abc", "sha1", 0, 0, 0));
    assert_eq!(check_reply(reply).1, unhex(ABC[1].1));
}

fn copy_file(id: u32, from: &str, to: &str, overwrite: bool) -> Vec<u8> {
    ext(
        id,
        "copy-file",
        B::default().s(from).s(to).raw(&[u8::from(overwrite)]),
    )
}

#[test]
fn copy_file_copies_and_respects_overwrite() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let mut t = session();
    let content: Vec<u8> = (0..150_000u32).map(|i| (i % 249) as u8).collect();
    fs::write(t.path("src"), &content).unwrap();
    fs::set_permissions(t.path("src"), fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(t.status(&copy_file(1, "src", "dst", false)), FX_OK);
    assert_eq!(fs::read(t.path("dst")).unwrap(), content);
    let mode = fs::metadata(t.path("dst")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & !0o640, 0, "{mode:o}");

    // An existing target: FILE_ALREADY_EXISTS (FAILURE in v3) unless overwriting, which
    // replaces the whole content (a longer old file is truncated).
    fs::write(t.path("old"), vec![b'z'; 200_000]).unwrap();
    assert_eq!(t.status(&copy_file(2, "src", "old", false)), FX_FAILURE);
    assert_eq!(fs::read(t.path("old")).unwrap().len(), 200_000);
    assert_eq!(t.status(&copy_file(3, "src", "old", true)), FX_OK);
    assert_eq!(fs::read(t.path("old")).unwrap(), content);

    // Onto itself, by name or through a link, is refused and leaves the file intact.
    symlink("src", t.path("link")).unwrap();
    assert_eq!(t.status(&copy_file(4, "src", "src", true)), FX_FAILURE);
    assert_eq!(t.status(&copy_file(5, "src", "link", true)), FX_FAILURE);
    assert_eq!(fs::read(t.path("src")).unwrap(), content);

    // Missing source, directory source, truncated request.
    assert_eq!(
        t.status(&copy_file(6, "missing", "x", false)),
        FX_NO_SUCH_FILE
    );
    fs::create_dir(t.path("dir")).unwrap();
    assert_eq!(t.status(&copy_file(7, "dir", "x", false)), FX_FAILURE);
    assert!(!t.path("x").exists());
    assert_eq!(
        t.status(&ext(8, "copy-file", B::default().s("src").s("y"))),
        FX_BAD_MESSAGE
    );
    assert!(!t.path("y").exists());
}

#[test]
fn copy_file_is_refused_read_only() {
    let mut t = session_with(SftpConfig {
        read_only: true,
        ..SftpConfig::default()
    });
    fs::write(t.path("src"), b"data").unwrap();
    assert_eq!(
        t.status(&copy_file(1, "src", "dst", false)),
        FX_PERMISSION_DENIED
    );
    assert!(!t.path("dst").exists());
}

#[test]
fn space_available_matches_statvfs() {
    let mut t = session();
    let space = match t.one(&ext(1, "space-available", B::default().s("/"))) {
        Reply::Extended(1, body) => {
            assert_eq!(body.len(), 4 * 8 + 4);
            let mut p = P(&body);
            let v: Vec<u64> = (0..4).map(|_| p.u64()).collect();
            (v, p.u32())
        }
        other => panic!("{other:?}"),
    };
    let st = match t.one(&ext(2, "statvfs@openssh.com", B::default().s("/"))) {
        Reply::Extended(2, body) => {
            let mut p = P(&body);
            (0..11).map(|_| p.u64()).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    let (v, unit) = space;
    // statvfs@openssh.com: bsize, frsize, blocks, bfree, bavail, ...
    assert_eq!(u64::from(unit), st[1]);
    assert_eq!(v[0], st[2] * st[1]);
    // Free and available counts move with other processes' writes; check the relations.
    assert!(v[1] <= v[0] && v[2] <= v[0] && v[3] <= v[1] && v[3] <= v[2]);
    assert!(v[0] > 0 && unit > 0);
    assert_eq!(
        t.status(&ext(3, "space-available", B::default().s("/missing"))),
        FX_NO_SUCH_FILE
    );
}

#[test]
fn v6_announces_each_extension_once() {
    let (_tmp, mut s) = fresh();
    s.receive(&packet(INIT, &6u32.to_be_bytes()));
    let mut out = Vec::new();
    s.process(&mut out, usize::MAX).unwrap();
    let exts = match &parse(&out)[..] {
        [Reply::Version(6, exts)] => exts.clone(),
        other => panic!("{other:?}"),
    };
    let names: Vec<&str> = exts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "check-file").count(), 1);
    assert!(!names.contains(&"check-file-handle"));
    let supported2 = &exts.iter().find(|(n, _)| n == "supported2").unwrap().1;
    let mut p = P(supported2);
    for _ in 0..5 {
        p.u32();
    }
    p.take(4); // the two block vectors
    for _ in 0..p.u32() {
        p.s();
    }
    let listed: Vec<Vec<u8>> = (0..p.u32()).map(|_| p.s().to_vec()).collect();
    assert!(p.0.is_empty());
    for name in [
        "copy-data",
        "copy-file",
        "space-available",
        "check-file",
        "lsetstat@openssh.com",
        "expand-path@openssh.com",
        "home-directory",
        "users-groups-by-id@openssh.com",
    ] {
        assert_eq!(
            listed.iter().filter(|n| *n == name.as_bytes()).count(),
            1,
            "{name}"
        );
        assert!(names.contains(&name), "{name}");
    }
    assert!(!listed.iter().any(|n| n == b"check-file-name"));
}
