//! Drives `SftpSession` with hand-built v3 request bytes against a `LocalFs` in a temp dir and
//! checks the reply bytes and the files on disk: every request type and status code.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::PathBuf;

use common::*;
use wharf_sftp::{SftpConfig, SftpSession};

/// The driver runs sessions on a blocking pool, so a session must move between threads.
#[test]
fn session_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<SftpSession>();
}

#[test]
fn version_negotiation_and_extensions() {
    // With versions above 3 switched off, a v6 client gets v3 and v3's extension list.
    let mut t = session_with(SftpConfig {
        max_version: 3,
        ..SftpConfig::default()
    });
    // A repeated INIT, from a v6 client with an INIT extension pair, is answered with v3 again.
    let init6 = packet(INIT, &B::default().u32(6).s("x@y").s("1").0);
    match &t.call(&init6)[..] {
        [Reply::Version(3, exts)] => {
            let names: Vec<_> = exts
                .iter()
                .map(|(n, d)| (n.as_str(), d.as_slice()))
                .collect();
            assert_eq!(
                names,
                [
                    ("posix-rename@openssh.com", &b"1"[..]),
                    ("statvfs@openssh.com", b"2"),
                    ("fstatvfs@openssh.com", b"2"),
                    ("hardlink@openssh.com", b"1"),
                    ("fsync@openssh.com", b"1"),
                    ("limits@openssh.com", b"1"),
                    ("copy-data", b"1"),
                    ("expand-path@openssh.com", b"1"),
                    ("home-directory", b"1"),
                    ("users-groups-by-id@openssh.com", b"1"),
                    ("lsetstat@openssh.com", b"1"),
                    ("copy-file", b"1"),
                    ("space-available", b"1"),
                    ("check-file", b"md5,sha1,sha224,sha256,sha384,sha512,crc32"),
                    ("xattr@proftpd.org", b"1"),
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn file_roundtrip_open_write_read_close() {
    let mut t = session();
    let h = t.open("f.txt", PF_READ | PF_WRITE | PF_CREAT | PF_TRUNC);
    assert_eq!(
        t.status(&req(WRITE, 2, B::default().s(&h).u64(0).s("hello "))),
        FX_OK
    );
    assert_eq!(
        t.status(&req(WRITE, 3, B::default().s(&h).u64(6).s("world"))),
        FX_OK
    );
    assert_eq!(fs::read(t.path("f.txt")).unwrap(), b"hello world");
    assert_eq!(
        t.one(&req(READ, 4, B::default().s(&h).u64(6).u32(100))),
        Reply::Data(4, b"world".to_vec())
    );
    assert_eq!(
        t.status(&req(READ, 5, B::default().s(&h).u64(11).u32(100))),
        FX_EOF
    );
    assert_eq!(
        t.one(&req(READ, 6, B::default().s(&h).u64(0).u32(0))),
        Reply::Data(6, vec![])
    );
    let a = t.attrs(&req(FSTAT, 7, B::default().s(&h)));
    assert_eq!(a.size, Some(11));
    assert_eq!(a.mode.unwrap() & 0o170000, 0o100000);
    assert_eq!(t.status(&req(CLOSE, 8, B::default().s(&h))), FX_OK);
    // The handle is gone: v3 has no INVALID_HANDLE, so FAILURE.
    assert_eq!(t.status(&req(CLOSE, 9, B::default().s(&h))), FX_FAILURE);
    assert_eq!(
        t.status(&req(READ, 10, B::default().s(&h).u64(0).u32(1))),
        FX_FAILURE
    );

    // Append ignores offsets; EXCL refuses an existing file; a missing file is NO_SUCH_FILE.
    // (APPEND alone implies writing, as the v5 draft's mapping has it.)
    let h = t.open("f.txt", PF_APPEND);
    assert_eq!(
        t.status(&req(WRITE, 11, B::default().s(&h).u64(0).s("!"))),
        FX_OK
    );
    assert_eq!(fs::read(t.path("f.txt")).unwrap(), b"hello world!");
    // Reading a write-only handle is refused.
    assert_eq!(
        t.status(&req(READ, 12, B::default().s(&h).u64(0).u32(1))),
        FX_PERMISSION_DENIED
    );
    let excl = req(
        OPEN,
        13,
        B::default()
            .s("f.txt")
            .u32(PF_WRITE | PF_CREAT | PF_EXCL)
            .no_attrs(),
    );
    assert_eq!(t.status(&excl), FX_FAILURE);
    let missing = req(OPEN, 14, B::default().s("nope").u32(PF_READ).no_attrs());
    assert_eq!(t.status(&missing), FX_NO_SUCH_FILE);
    // Writing a read-only handle is refused.
    let h = t.open("f.txt", PF_READ);
    assert_eq!(
        t.status(&req(WRITE, 15, B::default().s(&h).u64(0).s("x"))),
        FX_PERMISSION_DENIED
    );
    // Opening a directory as a file fails.
    fs::create_dir(t.path("d")).unwrap();
    let dir = req(OPEN, 16, B::default().s("d").u32(PF_READ).no_attrs());
    assert_eq!(t.status(&dir), FX_FAILURE);
}

#[test]
fn open_applies_mode_and_umask() {
    let mut t = session_with(SftpConfig {
        umask: 0o027,
        ..SftpConfig::default()
    });
    // PERMISSIONS attr 0o666 with umask 027 → 0o640 (the process umask may clear more).
    let b = B::default()
        .s("m")
        .u32(PF_WRITE | PF_CREAT)
        .u32(4)
        .u32(0o666);
    t.handle(&req(OPEN, 1, b));
    let mode = fs::metadata(t.path("m")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & !0o640, 0, "{mode:o}");
    assert_eq!(
        t.status(&req(MKDIR, 2, B::default().s("dd").no_attrs())),
        FX_OK
    );
    let mode = fs::metadata(t.path("dd")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & !0o750, 0, "{mode:o}");
}

#[test]
fn reads_are_capped_and_filled() {
    let mut t = session();
    let content: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(t.path("big"), &content).unwrap();
    let h = t.open("big", PF_READ);
    match t.one(&req(READ, 2, B::default().s(&h).u64(0).u32(1 << 20))) {
        Reply::Data(2, data) => {
            assert_eq!(data.len(), 255 * 1024);
            assert_eq!(data, content[..255 * 1024]);
        }
        other => panic!("{other:?}"),
    }
    match t.one(&req(READ, 3, B::default().s(&h).u64(500_000).u32(200_000))) {
        Reply::Data(3, data) => assert_eq!(data, content[500_000..]),
        other => panic!("{other:?}"),
    }
    // Past the end is EOF; an offset the kernel cannot represent is a plain failure.
    assert_eq!(
        t.status(&req(READ, 4, B::default().s(&h).u64(1 << 40).u32(10))),
        FX_EOF
    );
    assert_eq!(
        t.status(&req(READ, 5, B::default().s(&h).u64(u64::MAX).u32(10))),
        FX_FAILURE
    );
}

#[test]
fn stat_lstat_setstat_fsetstat() {
    let mut t = session();
    fs::write(t.path("f"), "12345").unwrap();
    symlink("f", t.path("l")).unwrap();
    let st = t.attrs(&req(STAT, 1, B::default().s("l")));
    assert_eq!(st.size, Some(5));
    assert_eq!(st.mode.unwrap() & 0o170000, 0o100000);
    let md = fs::metadata(t.path("f")).unwrap();
    assert_eq!(st.ids, Some((md.uid(), md.gid())));
    assert_eq!(st.times.unwrap().1 as i64, md.mtime());
    let lst = t.attrs(&req(LSTAT, 2, B::default().s("l")));
    assert_eq!(lst.mode.unwrap() & 0o170000, 0o120000);
    assert_eq!(
        t.status(&req(STAT, 3, B::default().s("missing"))),
        FX_NO_SUCH_FILE
    );
    assert_eq!(
        t.status(&req(LSTAT, 4, B::default().s("missing/x"))),
        FX_NO_SUCH_FILE
    );

    // SETSTAT: size, permissions, times (flags SIZE|PERMISSIONS|ACMODTIME).
    let b = B::default()
        .s("f")
        .u32(1 | 4 | 8)
        .u64(2)
        .u32(0o600)
        .u32(1_000)
        .u32(2_000);
    assert_eq!(t.status(&req(SETSTAT, 5, b)), FX_OK);
    let md = fs::metadata(t.path("f")).unwrap();
    assert_eq!(
        (md.len(), md.mode() & 0o7777, md.atime(), md.mtime()),
        (2, 0o600, 1_000, 2_000)
    );
    // UIDGID to our own ids is allowed.
    let b = B::default().s("f").u32(2).u32(md.uid()).u32(md.gid());
    assert_eq!(t.status(&req(SETSTAT, 6, b)), FX_OK);
    assert_eq!(
        t.status(&req(
            SETSTAT,
            7,
            B::default().s("missing").u32(4).u32(0o600)
        )),
        FX_NO_SUCH_FILE
    );

    let h = t.open("f", PF_READ | PF_WRITE);
    let b = B::default()
        .s(&h)
        .u32(1 | 4 | 8)
        .u64(10)
        .u32(0o640)
        .u32(3_000)
        .u32(4_000);
    assert_eq!(t.status(&req(FSETSTAT, 8, b)), FX_OK);
    let md = fs::metadata(t.path("f")).unwrap();
    assert_eq!(
        (md.len(), md.mode() & 0o7777, md.mtime()),
        (10, 0o640, 4_000)
    );
    // Attribute extension pairs are accepted and ignored.
    let b = B::default().s(&h).u32(0x8000_0000).u32(1).s("k").s("v");
    assert_eq!(t.status(&req(FSETSTAT, 9, b)), FX_OK);
}

#[test]
fn directories_listing_and_longnames() {
    let mut t = session();
    fs::create_dir(t.path("d")).unwrap();
    for i in 0..150 {
        fs::write(t.path(&format!("d/f{i:03}")), format!("{i}")).unwrap();
    }
    let h = t.handle(&req(OPENDIR, 1, B::default().s("d")));
    let mut names = Vec::new();
    let mut batches = 0;
    loop {
        match t.one(&req(READDIR, 2, B::default().s(&h))) {
            Reply::Name(2, entries) => {
                assert!(!entries.is_empty() && entries.len() <= 100);
                batches += 1;
                for (name, long, attrs) in entries {
                    let name = String::from_utf8(name).unwrap();
                    let long = String::from_utf8(long).unwrap();
                    assert!(long.ends_with(&format!(" {name}")), "{long}");
                    if let Some(number) = name.strip_prefix('f') {
                        // Each file holds its number in decimal.
                        assert!(long.starts_with("-rw"), "{long}");
                        let content = number.parse::<u32>().unwrap().to_string();
                        assert_eq!(attrs.size, Some(content.len() as u64));
                    }
                    names.push(name);
                }
            }
            Reply::Status(2, FX_EOF, _) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(batches, 2);
    names.sort();
    assert_eq!(names.len(), 152);
    assert_eq!(&names[..3], [".", "..", "f000"]);
    // Still EOF afterwards.
    assert_eq!(t.status(&req(READDIR, 3, B::default().s(&h))), FX_EOF);
    // A directory handle is not a file handle, and vice versa.
    assert_eq!(
        t.status(&req(READ, 4, B::default().s(&h).u64(0).u32(1))),
        FX_FAILURE
    );
    assert_eq!(t.status(&req(CLOSE, 5, B::default().s(&h))), FX_OK);
    let fh = t.open("d/f000", PF_READ);
    assert_eq!(t.status(&req(READDIR, 6, B::default().s(&fh))), FX_FAILURE);

    assert_eq!(
        t.status(&req(OPENDIR, 7, B::default().s("nope"))),
        FX_NO_SUCH_FILE
    );
    // `..` at the root lists the root itself.
    let h = t.handle(&req(OPENDIR, 8, B::default().s("/../..")));
    match t.one(&req(READDIR, 9, B::default().s(&h))) {
        Reply::Name(9, entries) => assert!(entries.iter().any(|(n, ..)| n == b"d")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn namespace_operations() {
    let mut t = session();
    fs::write(t.path("a"), "A").unwrap();
    fs::write(t.path("b"), "B").unwrap();
    // MKDIR, twice.
    assert_eq!(
        t.status(&req(MKDIR, 1, B::default().s("dir").u32(4).u32(0o700))),
        FX_OK
    );
    assert_eq!(fs::metadata(t.path("dir")).unwrap().mode() & 0o777, 0o700);
    assert_eq!(
        t.status(&req(MKDIR, 2, B::default().s("dir").no_attrs())),
        FX_FAILURE
    );
    // v3 RENAME never overwrites.
    assert_eq!(
        t.status(&req(RENAME, 3, B::default().s("a").s("b"))),
        FX_FAILURE
    );
    assert_eq!(fs::read(t.path("b")).unwrap(), b"B");
    assert_eq!(
        t.status(&req(RENAME, 4, B::default().s("a").s("dir/a"))),
        FX_OK
    );
    assert_eq!(fs::read(t.path("dir/a")).unwrap(), b"A");
    assert_eq!(
        t.status(&req(RENAME, 5, B::default().s("nope").s("x"))),
        FX_NO_SUCH_FILE
    );
    // RMDIR of a non-empty directory fails; REMOVE of a directory fails.
    assert_eq!(t.status(&req(RMDIR, 6, B::default().s("dir"))), FX_FAILURE);
    assert_eq!(t.status(&req(REMOVE, 7, B::default().s("dir"))), FX_FAILURE);
    assert_eq!(t.status(&req(REMOVE, 8, B::default().s("dir/a"))), FX_OK);
    assert_eq!(
        t.status(&req(REMOVE, 9, B::default().s("dir/a"))),
        FX_NO_SUCH_FILE
    );
    assert_eq!(t.status(&req(RMDIR, 10, B::default().s("dir"))), FX_OK);
    assert!(!t.path("dir").exists());
    // SYMLINK in OpenSSH's order: target first, then the new link.
    assert_eq!(
        t.status(&req(SYMLINK, 11, B::default().s("b").s("link"))),
        FX_OK
    );
    assert_eq!(fs::read_link(t.path("link")).unwrap(), PathBuf::from("b"));
    assert_eq!(
        t.status(&req(SYMLINK, 12, B::default().s("b").s("link"))),
        FX_FAILURE
    );
    match t.one(&req(READLINK, 13, B::default().s("link"))) {
        Reply::Name(13, entries) => {
            assert_eq!(entries, [(b"b".to_vec(), b"b".to_vec(), Attrs::default())])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        t.status(&req(READLINK, 14, B::default().s("b"))),
        FX_FAILURE
    );
    // REALPATH normalises lexically against the home directory "/".
    for (input, expected) in [
        ("", "/"),
        (".", "/"),
        ("a/../b/./c", "/b/c"),
        ("/../..", "/"),
    ] {
        match t.one(&req(REALPATH, 15, B::default().s(input))) {
            Reply::Name(15, entries) => {
                assert_eq!(entries.len(), 1);
                assert_eq!(entries[0].0, expected.as_bytes(), "{input:?}");
                assert_eq!(entries[0].2, Attrs::default());
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn paths_stay_in_the_jail() {
    let mut t = session();
    fs::create_dir(t.path("etc")).unwrap();
    fs::write(t.path("etc/passwd"), "INSIDE").unwrap();
    symlink("/etc", t.path("etc_link")).unwrap();
    symlink("../../..", t.path("up")).unwrap();
    for path in [
        "../../etc/passwd",
        "/../../etc/passwd",
        "etc_link/passwd",
        "up/etc/passwd",
    ] {
        let h = t.open(path, PF_READ);
        assert_eq!(
            t.one(&req(READ, 2, B::default().s(&h).u64(0).u32(100))),
            Reply::Data(2, b"INSIDE".to_vec()),
            "{path}"
        );
    }
    assert_eq!(
        t.status(&req(STAT, 3, B::default().s("../secret"))),
        FX_NO_SUCH_FILE
    );
    assert_eq!(
        t.status(&req(STAT, 4, B::default().s("up/../secret"))),
        FX_NO_SUCH_FILE
    );
}

#[test]
fn openssh_extensions() {
    let mut t = session();
    fs::write(t.path("a"), "A").unwrap();
    fs::write(t.path("b"), "B").unwrap();
    let ext = |id, name: &str, b: B| req(EXTENDED, id, B::default().s(name).raw(&b.0));
    assert_eq!(
        t.status(&ext(
            1,
            "posix-rename@openssh.com",
            B::default().s("a").s("b")
        )),
        FX_OK
    );
    assert_eq!(fs::read(t.path("b")).unwrap(), b"A");
    assert!(!t.path("a").exists());
    assert_eq!(
        t.status(&ext(2, "hardlink@openssh.com", B::default().s("b").s("h"))),
        FX_OK
    );
    assert_eq!(fs::metadata(t.path("h")).unwrap().nlink(), 2);
    assert_eq!(
        t.status(&ext(3, "hardlink@openssh.com", B::default().s("b").s("h"))),
        FX_FAILURE
    );

    let statvfs = |reply: Reply| match reply {
        Reply::Extended(_, body) => {
            assert_eq!(body.len(), 11 * 8);
            let mut p = P(&body);
            (0..11).map(|_| p.u64()).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    let v = statvfs(t.one(&ext(4, "statvfs@openssh.com", B::default().s("/"))));
    assert!(v[0] > 0 && v[10] > 0, "bsize and namemax: {v:?}");
    let h = t.open("b", PF_READ | PF_WRITE);
    let v2 = statvfs(t.one(&ext(5, "fstatvfs@openssh.com", B::default().s(&h))));
    assert_eq!(v[8], v2[8], "same fsid");
    assert_eq!(
        t.status(&ext(6, "fsync@openssh.com", B::default().s(&h))),
        FX_OK
    );
    assert_eq!(
        t.status(&ext(7, "fsync@openssh.com", B::default().s("bogus"))),
        FX_FAILURE
    );
    match t.one(&ext(8, "limits@openssh.com", B::default())) {
        Reply::Extended(8, body) => {
            let mut p = P(&body);
            let limits: Vec<_> = (0..4).map(|_| p.u64()).collect();
            // The values OpenSSH's sftp-server announces.
            assert_eq!(limits, [262_144, 261_120, 261_120, 256]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        t.status(&ext(9, "nope@example.com", B::default())),
        FX_OP_UNSUPPORTED
    );
    // A known extension with a truncated body is BAD_MESSAGE.
    assert_eq!(
        t.status(&ext(10, "posix-rename@openssh.com", B::default().s("b"))),
        FX_BAD_MESSAGE
    );
}

#[test]
fn read_only_refuses_every_write() {
    let mut t = session_with(SftpConfig {
        read_only: true,
        ..SftpConfig::default()
    });
    fs::write(t.path("f"), "F").unwrap();
    fs::create_dir(t.path("d")).unwrap();
    let ext = |id, name: &str, b: B| req(EXTENDED, id, B::default().s(name).raw(&b.0));
    let denied = [
        req(OPEN, 1, B::default().s("f").u32(PF_WRITE).no_attrs()),
        req(
            OPEN,
            1,
            B::default().s("new").u32(PF_READ | PF_CREAT).no_attrs(),
        ),
        req(
            OPEN,
            1,
            B::default().s("f").u32(PF_READ | PF_TRUNC).no_attrs(),
        ),
        req(
            OPEN,
            1,
            B::default().s("f").u32(PF_READ | PF_APPEND).no_attrs(),
        ),
        req(SETSTAT, 1, B::default().s("f").u32(4).u32(0o777)),
        req(REMOVE, 1, B::default().s("f")),
        req(RENAME, 1, B::default().s("f").s("g")),
        req(MKDIR, 1, B::default().s("e").no_attrs()),
        req(RMDIR, 1, B::default().s("d")),
        req(SYMLINK, 1, B::default().s("f").s("l")),
        ext(1, "posix-rename@openssh.com", B::default().s("f").s("g")),
        ext(1, "hardlink@openssh.com", B::default().s("f").s("g")),
    ];
    for request in &denied {
        assert_eq!(t.status(request), FX_PERMISSION_DENIED, "{request:?}");
    }
    let h = t.open("f", PF_READ);
    assert_eq!(
        t.status(&req(WRITE, 2, B::default().s(&h).u64(0).s("x"))),
        FX_PERMISSION_DENIED
    );
    assert_eq!(
        t.status(&req(FSETSTAT, 3, B::default().s(&h).u32(4).u32(0o777))),
        FX_PERMISSION_DENIED
    );
    assert_eq!(
        t.status(&ext(4, "fsync@openssh.com", B::default().s(&h))),
        FX_PERMISSION_DENIED
    );
    // Reads still work, and statvfs reports the filesystem read-only.
    assert_eq!(
        t.one(&req(READ, 5, B::default().s(&h).u64(0).u32(10))),
        Reply::Data(5, b"F".to_vec())
    );
    match t.one(&ext(6, "statvfs@openssh.com", B::default().s("/"))) {
        Reply::Extended(6, body) => assert_eq!(P(&body[9 * 8..]).u64() & 1, 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read(t.path("f")).unwrap(), b"F");
    assert!(t.path("d").exists() && !t.path("g").exists() && !t.path("e").exists());
}

#[test]
fn malformed_requests_get_bad_message_and_the_session_continues() {
    let mut t = session();
    let cases = [
        // STAT whose path length runs past the packet.
        req(STAT, 1, B::default().u32(100).raw(b"abc")),
        // OPEN missing its attributes.
        req(OPEN, 1, B::default().s("x").u32(PF_READ)),
        // READ missing its length.
        req(READ, 1, B::default().s("h").u64(0)),
        // WRITE whose data length exceeds the packet.
        req(WRITE, 1, B::default().s("h").u64(0).u32(0xffff_ffff)),
        // SETSTAT with an attribute-extension count and no pairs.
        req(
            SETSTAT,
            1,
            B::default().s("x").u32(0x8000_0000).u32(1_000_000),
        ),
        // EXTENDED without a name.
        req(EXTENDED, 1, B::default().raw(&[0, 0])),
        // SYMLINK with one path.
        req(SYMLINK, 1, B::default().s("x")),
    ];
    for request in &cases {
        assert_eq!(
            t.one(request),
            Reply::Status(1, FX_BAD_MESSAGE, "Bad message".into())
        );
    }
    // Unknown packet types are OP_UNSUPPORTED; VERSION from a client is just unknown.
    assert_eq!(t.status(&req(99, 2, B::default())), FX_OP_UNSUPPORTED);
    assert_eq!(t.status(&req(VERSION, 3, B::default())), FX_OP_UNSUPPORTED);
    // Trailing bytes after a complete request are ignored.
    assert_eq!(
        t.status(&req(MKDIR, 4, B::default().s("z").no_attrs().raw(b"junk"))),
        FX_OK
    );
    assert!(t.path("z").is_dir());
}

#[test]
fn handle_table_is_bounded() {
    let mut t = session();
    let opendir = req(OPENDIR, 1, B::default().s("/"));
    let handles: Vec<_> = (0..256).map(|_| t.handle(&opendir)).collect();
    assert!(handles.iter().all(|h| h.len() <= 256));
    assert_eq!(t.status(&opendir), FX_FAILURE);
    assert_eq!(t.status(&req(CLOSE, 2, B::default().s(&handles[7]))), FX_OK);
    t.handle(&opendir);
}
