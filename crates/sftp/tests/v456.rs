//! Protocol versions 1, 2 and 4–6 driven with hand-built packets: negotiation and
//! version-select, per-version attributes, READDIR without longname, status codes, OPEN
//! dispositions and flags, RENAME flags, LINK, BLOCK/UNBLOCK and the v6 REALPATH.
//!
//! Layouts: draft-ietf-secsh-filexfer-04 (v4), -05 (v5), -13 (v6).

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;

use common::{packet, req, B, INIT, P};
use wharf_sftp::{SftpConfig, SftpError, SftpSession};
use wharf_vfs::LocalFs;

// Packet types (-13 §4.3).
const OPEN: u8 = 3;
const CLOSE: u8 = 4;
const READ: u8 = 5;
const WRITE: u8 = 6;
const LSTAT: u8 = 7;
const FSTAT: u8 = 8;
const SETSTAT: u8 = 9;
const OPENDIR: u8 = 11;
const READDIR: u8 = 12;
const MKDIR: u8 = 14;
const RMDIR: u8 = 15;
const REALPATH: u8 = 16;
const STAT: u8 = 17;
const RENAME: u8 = 18;
const READLINK: u8 = 19;
const SYMLINK: u8 = 20;
const LINK: u8 = 21;
const BLOCK: u8 = 22;
const UNBLOCK: u8 = 23;
const EXTENDED: u8 = 200;

// Status codes (-13 §9.1).
const OK: u32 = 0;
const NO_SUCH_FILE: u32 = 2;
const FAILURE: u32 = 4;
const OP_UNSUPPORTED: u32 = 8;
const INVALID_HANDLE: u32 = 9;
const NO_SUCH_PATH: u32 = 10;
const FILE_ALREADY_EXISTS: u32 = 11;
const UNKNOWN_PRINCIPAL: u32 = 16;
const DIR_NOT_EMPTY: u32 = 18;
const NOT_A_DIRECTORY: u32 = 19;
const LINK_LOOP: u32 = 21;
const INVALID_PARAMETER: u32 = 23;
const FILE_IS_A_DIRECTORY: u32 = 24;
const BYTE_RANGE_LOCK_REFUSED: u32 = 26;
const OWNER_INVALID: u32 = 29;
const NO_MATCHING_BYTE_RANGE_LOCK: u32 = 31;

// v5/v6 OPEN (-05 §6.3.1, -13 §8.1.1).
const ACE4_READ_DATA: u32 = 0x01;
const ACE4_WRITE_DATA: u32 = 0x02;
const CREATE_NEW: u32 = 0;
const CREATE_TRUNCATE: u32 = 1;
const OPEN_EXISTING: u32 = 2;
const OPEN_OR_CREATE: u32 = 3;
const TRUNCATE_EXISTING: u32 = 4;
const APPEND_DATA: u32 = 0x08;
const TEXT_MODE: u32 = 0x20;
const BLOCK_READ: u32 = 0x40;
const NOFOLLOW: u32 = 0x400;
const DELETE_ON_CLOSE: u32 = 0x800;

// Attribute flags (-13 §7.1).
const A_SIZE: u32 = 0x1;
const A_PERMISSIONS: u32 = 0x4;
const A_ACCESSTIME: u32 = 0x8;
const A_CREATETIME: u32 = 0x10;
const A_MODIFYTIME: u32 = 0x20;
const A_ACL: u32 = 0x40;
const A_OWNERGROUP: u32 = 0x80;
const A_SUBSECOND: u32 = 0x100;
const A_BITS: u32 = 0x200;
const A_ALLOCATION: u32 = 0x400;
const A_TEXT_HINT: u32 = 0x800;
const A_MIME: u32 = 0x1000;
const A_LINK_COUNT: u32 = 0x2000;
const A_UNTRANSLATED: u32 = 0x4000;
const A_CTIME: u32 = 0x8000;
const A_EXTENDED: u32 = 0x8000_0000;

/// v4+ attributes as parsed from a reply.
#[derive(Debug, Default, Clone, PartialEq)]
struct Attrs {
    flags: u32,
    ftype: u8,
    size: Option<u64>,
    owner: Option<(Vec<u8>, Vec<u8>)>,
    perms: Option<u32>,
    atime: Option<(u64, u32)>,
    mtime: Option<(u64, u32)>,
    ctime: Option<(u64, u32)>,
    link_count: Option<u32>,
}

fn parse_attrs(p: &mut P<'_>, version: u32) -> Attrs {
    let flags = p.u32();
    let defined = match version {
        4 => 0x8000_01fd,
        5 => 0x8000_03fd,
        _ => 0x8000_fffd,
    };
    assert_eq!(
        flags & !defined,
        0,
        "flags {flags:#x} undefined in v{version}"
    );
    let mut a = Attrs {
        flags,
        ftype: p.u8(),
        ..Attrs::default()
    };
    let sub = flags & A_SUBSECOND != 0;
    if flags & A_SIZE != 0 {
        a.size = Some(p.u64());
    }
    if flags & A_ALLOCATION != 0 {
        p.u64();
    }
    if flags & A_OWNERGROUP != 0 {
        a.owner = Some((p.s().to_vec(), p.s().to_vec()));
    }
    if flags & A_PERMISSIONS != 0 {
        a.perms = Some(p.u32());
    }
    let time =
        |p: &mut P<'_>, bit| (flags & bit != 0).then(|| (p.u64(), if sub { p.u32() } else { 0 }));
    a.atime = time(p, A_ACCESSTIME);
    time(p, A_CREATETIME);
    a.mtime = time(p, A_MODIFYTIME);
    a.ctime = time(p, A_CTIME);
    if flags & A_ACL != 0 {
        p.s();
    }
    if flags & A_BITS != 0 {
        p.u32();
        if version >= 6 {
            p.u32();
        }
    }
    if flags & A_TEXT_HINT != 0 {
        p.u8();
    }
    if flags & A_MIME != 0 {
        p.s();
    }
    if flags & A_LINK_COUNT != 0 {
        a.link_count = Some(p.u32());
    }
    if flags & A_UNTRANSLATED != 0 {
        p.s();
    }
    assert_eq!(flags & A_EXTENDED, 0);
    a
}

#[derive(Debug)]
enum Reply {
    Version(u32, Vec<(String, Vec<u8>)>),
    Status(u32, #[allow(dead_code)] String),
    Handle(Vec<u8>),
    Data(Vec<u8>),
    Name(Vec<(Vec<u8>, Attrs)>),
    Attrs(Attrs),
}

thread_local! {
    /// The trailing v6 flag of the last DATA (end-of-file) or NAME (end-of-list) parsed.
    static LAST_FLAG: std::cell::Cell<Option<u8>> = const { std::cell::Cell::new(None) };
}

fn last_flag() -> Option<u8> {
    LAST_FLAG.with(|f| f.get())
}

/// One reply in `version`'s layout; v4+ NAME entries have no longname.
fn parse(out: &[u8], version: u32) -> Reply {
    let len = u32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
    assert_eq!(out.len(), 4 + len, "exactly one reply");
    let mut p = P(&out[4..]);
    let reply = match p.u8() {
        2 => {
            let v = p.u32();
            let mut exts = Vec::new();
            while !p.0.is_empty() {
                let name = String::from_utf8(p.s().to_vec()).unwrap();
                exts.push((name, p.s().to_vec()));
            }
            Reply::Version(v, exts)
        }
        101 => {
            p.u32();
            let code = p.u32();
            let msg = String::from_utf8(p.s().to_vec()).unwrap();
            assert_eq!(p.s(), b"");
            Reply::Status(code, msg)
        }
        102 => {
            p.u32();
            Reply::Handle(p.s().to_vec())
        }
        103 => {
            p.u32();
            let data = p.s().to_vec();
            // v6 DATA may end with `bool end-of-file` (-13 §9.3); Wharf always sends it.
            let flag = (version >= 6).then(|| p.u8());
            LAST_FLAG.with(|f| f.set(flag));
            Reply::Data(data)
        }
        104 => {
            p.u32();
            let count = p.u32();
            let names = (0..count)
                .map(|_| (p.s().to_vec(), parse_attrs(&mut p, version)))
                .collect();
            // v6 NAME may end with `bool end-of-list` (-13 §9.4).
            let flag = (version >= 6 && !p.0.is_empty()).then(|| p.u8());
            LAST_FLAG.with(|f| f.set(flag));
            Reply::Name(names)
        }
        105 => {
            p.u32();
            Reply::Attrs(parse_attrs(&mut p, version))
        }
        t => panic!("unexpected reply type {t}"),
    };
    assert!(p.0.is_empty(), "trailing bytes in {reply:?}");
    reply
}

struct V {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    s: SftpSession,
    version: u32,
}

fn new_session(config: SftpConfig) -> (tempfile::TempDir, std::path::PathBuf, SftpSession) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    let fs = LocalFs::new(root.clone()).unwrap();
    (tmp, root, SftpSession::new(Arc::new(fs), config))
}

/// A session whose client sent INIT `version`; returns it with the VERSION reply.
fn start(version: u32, config: SftpConfig) -> (V, Reply) {
    let (tmp, root, s) = new_session(config);
    let mut v = V {
        _tmp: tmp,
        root,
        s,
        version,
    };
    let reply = v.raw(&packet(INIT, &version.to_be_bytes()));
    (v, reply)
}

fn session(version: u32) -> V {
    let (mut v, reply) = start(version, SftpConfig::default());
    match reply {
        Reply::Version(n, _) if n == version => {}
        other => panic!("{other:?}"),
    }
    v.version = version;
    v
}

impl V {
    fn process(&mut self, bytes: &[u8]) -> Result<Vec<u8>, SftpError> {
        self.s.receive(bytes);
        let mut out = Vec::new();
        self.s.process(&mut out, usize::MAX).map(|_| out)
    }
    fn raw(&mut self, bytes: &[u8]) -> Reply {
        let out = self.process(bytes).unwrap();
        parse(&out, self.version.max(3))
    }
    fn call(&mut self, ptype: u8, body: B) -> Reply {
        self.raw(&req(ptype, 7, body))
    }
    fn status(&mut self, ptype: u8, body: B) -> u32 {
        match self.call(ptype, body) {
            Reply::Status(code, _) => code,
            other => panic!("expected STATUS, got {other:?}"),
        }
    }
    fn handle(&mut self, ptype: u8, body: B) -> Vec<u8> {
        match self.call(ptype, body) {
            Reply::Handle(h) => h,
            other => panic!("expected HANDLE, got {other:?}"),
        }
    }
    fn attrs(&mut self, ptype: u8, body: B) -> Attrs {
        match self.call(ptype, body) {
            Reply::Attrs(a) => a,
            other => panic!("expected ATTRS, got {other:?}"),
        }
    }
    fn names(&mut self, ptype: u8, body: B) -> Vec<(Vec<u8>, Attrs)> {
        match self.call(ptype, body) {
            Reply::Name(n) => n,
            other => panic!("expected NAME, got {other:?}"),
        }
    }
    /// A v5/v6 OPEN.
    fn open56(&mut self, path: &str, access: u32, flags: u32) -> Reply {
        self.call(
            OPEN,
            B::default().s(path).u32(access).u32(flags).u32(0).raw(&[5]),
        )
    }
    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.root.join(rel)
    }
}

/// Empty v4+ ATTRS: flags 0 and the type byte (UNKNOWN).
fn no_attrs(b: B) -> B {
    b.u32(0).raw(&[5])
}

fn ext<'a>(exts: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    exts.iter()
        .find(|(n, _)| n == name)
        .map(|(_, d)| d.as_slice())
}

#[test]
fn negotiation_per_version() {
    for version in [4, 5, 6] {
        let (_, reply) = start(version, SftpConfig::default());
        let Reply::Version(n, exts) = reply else {
            panic!()
        };
        assert_eq!(n, version);
        assert_eq!(ext(&exts, "newline"), Some(&b"\n"[..]));
        assert!(ext(&exts, "vendor-id").is_some());
        assert!(ext(&exts, "versions").is_none());
        assert_eq!(ext(&exts, "supported").is_some(), version == 5);
        assert_eq!(ext(&exts, "supported2").is_some(), version == 6);
        assert!(ext(&exts, "posix-rename@openssh.com").is_some());
    }
    // A client above the maximum gets the maximum; never more than it asked.
    let (_, reply) = start(
        6,
        SftpConfig {
            max_version: 5,
            ..SftpConfig::default()
        },
    );
    assert!(matches!(reply, Reply::Version(5, _)));
    let (_, reply) = start(7, SftpConfig::default());
    assert!(matches!(reply, Reply::Version(6, _)));
    // v3 learns which versions version-select may pick.
    let (_, reply) = start(3, SftpConfig::default());
    let Reply::Version(3, exts) = reply else {
        panic!()
    };
    assert_eq!(ext(&exts, "versions"), Some(&b"3,4,5,6"[..]));
}

#[test]
fn versions_1_and_2_use_v3_layouts() {
    for version in [1, 2] {
        let (mut v, reply) = start(version, SftpConfig::default());
        // Their own number, and no extension pairs (those exist since v3).
        assert!(matches!(&reply, Reply::Version(n, e) if *n == version && e.is_empty()));
        v.version = 3;
        fs::write(v.path("f"), "abc").unwrap();
        // The v3 STAT layout: no type byte, the S_IFMT bits in permissions.
        let out = v.process(&req(STAT, 1, B::default().s("f"))).unwrap();
        let mut p = P(&out[4..]);
        assert_eq!(p.u8(), 105);
        p.u32();
        assert_eq!(p.u32(), 0x0f);
        assert_eq!(p.u64(), 3);
        // STATUS keeps the v3 message and language fields.
        let code = v.status(STAT, B::default().s("missing"));
        assert_eq!(code, NO_SUCH_FILE);
    }
}

#[test]
fn version_select_switches_layouts() {
    let (mut v, _) = start(3, SftpConfig::default());
    fs::write(v.path("f"), "abcd").unwrap();
    let select = req(EXTENDED, 1, B::default().s("version-select").s("6"));
    match parse(&v.process(&select).unwrap(), 3) {
        Reply::Status(OK, _) => {}
        other => panic!("{other:?}"),
    }
    v.version = 6;
    let a = v.attrs(STAT, B::default().s("f").u32(0));
    assert_eq!((a.ftype, a.size), (1, Some(4)));
    // A second version-select is not the first request: a status, then the session ends.
    let err = v.process(&select).unwrap_err();
    assert!(
        matches!(err, SftpError::InvalidVersionSelect { .. }),
        "{err}"
    );

    // Not first after VERSION.
    let (mut v, _) = start(3, SftpConfig::default());
    v.version = 3;
    v.process(&req(STAT, 1, B::default().s("/"))).unwrap();
    assert!(matches!(
        v.process(&select),
        Err(SftpError::InvalidVersionSelect { .. })
    ));

    // A version that was not offered.
    let (mut v, _) = start(3, SftpConfig::default());
    let bad = req(EXTENDED, 1, B::default().s("version-select").s("7"));
    assert!(matches!(
        v.process(&bad),
        Err(SftpError::InvalidVersionSelect { .. })
    ));
    // Nothing was announced to a v4 session, so nothing can be selected.
    let (mut v, _) = start(4, SftpConfig::default());
    assert!(matches!(
        v.process(&select),
        Err(SftpError::InvalidVersionSelect { .. })
    ));
}

#[test]
fn stat_attrs_per_version() {
    for version in [4, 5, 6] {
        let mut v = session(version);
        fs::write(v.path("f"), "hello").unwrap();
        fs::set_permissions(v.path("f"), fs::Permissions::from_mode(0o640)).unwrap();
        let md = fs::metadata(v.path("f")).unwrap();
        // v4+ STAT carries a flags hint after the path.
        let a = v.attrs(STAT, B::default().s("f").u32(0x1fd));
        let mut want = A_SIZE | A_PERMISSIONS | A_ACCESSTIME | A_MODIFYTIME | A_OWNERGROUP;
        want |= A_SUBSECOND;
        if version >= 6 {
            want |= A_CTIME | A_LINK_COUNT;
        }
        assert_eq!(a.flags, want, "v{version}");
        assert_eq!(a.ftype, 1);
        assert_eq!(a.size, Some(5));
        // No S_IFMT bits in v4+ permissions (P4).
        assert_eq!(a.perms, Some(0o640));
        assert_eq!(
            a.mtime,
            Some((md.mtime() as u64, md.mtime_nsec() as u32)),
            "sub-second mtime"
        );
        let (owner, group) = a.owner.clone().unwrap();
        assert!(!owner.is_empty() && !group.is_empty());
        if version >= 6 {
            assert_eq!(a.link_count, Some(1));
            assert_eq!(a.ctime.map(|t| t.0), Some(md.ctime() as u64));
        }
        // Without the hint too (it is optional here), and LSTAT of a symlink is type 3.
        std::os::unix::fs::symlink("f", v.path("l")).unwrap();
        assert_eq!(v.attrs(LSTAT, B::default().s("l")).ftype, 3);
        assert_eq!(v.attrs(STAT, B::default().s("l")).ftype, 1);
        fs::create_dir(v.path("d")).unwrap();
        assert_eq!(v.attrs(STAT, B::default().s("d")).ftype, 2);
        // A FIFO is SPECIAL (4) in v4, FIFO (9) from v5.
        let status = std::process::Command::new("mkfifo")
            .arg(v.path("p"))
            .status();
        if status.map(|s| s.success()).unwrap_or(false) {
            let want = if version == 4 { 4 } else { 9 };
            assert_eq!(v.attrs(LSTAT, B::default().s("p")).ftype, want);
        }
    }
}

#[test]
fn setstat_decodes_each_version() {
    for version in [4, 5, 6] {
        let mut v = session(version);
        fs::write(v.path("f"), "0123456789").unwrap();
        // PERMISSIONS, MODIFYTIME and ACCESSTIME with nanoseconds, SIZE; v6 also sends an
        // ALLOCATION_SIZE-free layout with a CTIME, which is read-only and ignored.
        let mut flags = A_SIZE | A_PERMISSIONS | A_ACCESSTIME | A_MODIFYTIME | A_SUBSECOND;
        if version >= 6 {
            flags |= A_CTIME;
        }
        let mut b = B::default()
            .s("f")
            .u32(flags)
            .raw(&[1])
            .u64(4)
            .u32(0o604)
            .u64(1_000_000_000)
            .u32(5)
            .u64(1_234_567_890)
            .u32(123_456_789);
        if version >= 6 {
            b = b.u64(1).u32(0);
        }
        assert_eq!(v.status(SETSTAT, b), OK, "v{version}");
        let md = fs::metadata(v.path("f")).unwrap();
        assert_eq!(md.len(), 4);
        assert_eq!(md.mode() & 0o7777, 0o604);
        assert_eq!((md.mtime(), md.mtime_nsec()), (1_234_567_890, 123_456_789));
        assert_eq!(md.atime(), 1_000_000_000);
        // The file's own owner and group, as numeric strings: accepted (a no-op chown).
        let own = B::default()
            .s("f")
            .u32(A_OWNERGROUP)
            .raw(&[1])
            .s(md.uid().to_string())
            .s(md.gid().to_string());
        assert_eq!(v.status(SETSTAT, own), OK);
        // An unknown owner name.
        let unknown = B::default()
            .s("f")
            .u32(A_OWNERGROUP)
            .raw(&[1])
            .s("no-such-user-wharf")
            .s("");
        let want = match version {
            4 => FAILURE,
            5 => UNKNOWN_PRINCIPAL,
            _ => OWNER_INVALID,
        };
        assert_eq!(v.status(SETSTAT, unknown), want, "v{version}");
        // MKDIR with v4+ attributes.
        let mk = B::default().s("d").u32(A_PERMISSIONS).raw(&[2]).u32(0o700);
        assert_eq!(v.status(MKDIR, mk), OK);
        assert_eq!(fs::metadata(v.path("d")).unwrap().mode() & 0o777, 0o700);
    }
}

#[test]
fn readdir_has_no_longname() {
    for version in [4, 5, 6] {
        let mut v = session(version);
        fs::write(v.path("a"), "1").unwrap();
        fs::write(v.path("b"), "22").unwrap();
        let h = v.handle(OPENDIR, B::default().s("/"));
        // The parser fails on any longname: each entry is (name, v4+ ATTRS).
        let mut names = v.names(READDIR, B::default().s(&h));
        names.sort_by(|x, y| x.0.cmp(&y.0));
        let got: Vec<_> = names.iter().map(|(n, a)| (n.clone(), a.size)).collect();
        assert!(got.contains(&(b"a".to_vec(), Some(1))), "{got:?}");
        assert!(got.contains(&(b"b".to_vec(), Some(2))), "{got:?}");
        assert!(names.iter().all(|(_, a)| a.owner.is_some()));
        assert_eq!(v.status(READDIR, B::default().s(&h)), 1);
        assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
    }
}

#[test]
fn status_codes_per_version() {
    // (version, unknown handle, missing parent, existing dir, non-empty rmdir, opendir on a
    //  file, open a directory)
    let table = [
        (
            4,
            INVALID_HANDLE,
            NO_SUCH_PATH,
            FILE_ALREADY_EXISTS,
            FAILURE,
            NO_SUCH_PATH,
        ),
        (
            5,
            INVALID_HANDLE,
            NO_SUCH_PATH,
            FILE_ALREADY_EXISTS,
            FAILURE,
            NO_SUCH_PATH,
        ),
        (
            6,
            INVALID_HANDLE,
            NO_SUCH_PATH,
            FILE_ALREADY_EXISTS,
            DIR_NOT_EMPTY,
            NOT_A_DIRECTORY,
        ),
    ];
    for (version, handle, path, exists, not_empty, not_dir) in table {
        let mut v = session(version);
        fs::create_dir_all(v.path("d/sub")).unwrap();
        fs::write(v.path("f"), "x").unwrap();
        assert_eq!(v.status(CLOSE, B::default().s("bogus123")), handle);
        assert_eq!(
            v.status(READ, B::default().s("bogus123").u64(0).u32(1)),
            handle
        );
        assert_eq!(v.status(STAT, B::default().s("missing/x").u32(0)), path);
        // A missing file in an existing directory stays NO_SUCH_FILE.
        assert_eq!(
            v.status(STAT, B::default().s("missing").u32(0)),
            NO_SUCH_FILE
        );
        assert_eq!(v.status(MKDIR, no_attrs(B::default().s("d"))), exists);
        assert_eq!(v.status(RMDIR, B::default().s("d")), not_empty);
        assert_eq!(v.status(OPENDIR, B::default().s("f")), not_dir);
    }
    let mut v = session(6);
    fs::create_dir(v.path("d")).unwrap();
    assert_eq!(
        v.open56("d", ACE4_READ_DATA, OPEN_EXISTING).status(),
        FILE_IS_A_DIRECTORY
    );
    // An undefined disposition is INVALID_PARAMETER in v6, FAILURE in v5.
    assert_eq!(v.open56("f", ACE4_READ_DATA, 5).status(), INVALID_PARAMETER);
    let mut v = session(5);
    assert_eq!(v.open56("f", ACE4_READ_DATA, 5).status(), FAILURE);
}

impl Reply {
    fn status(&self) -> u32 {
        match self {
            Reply::Status(code, _) => *code,
            other => panic!("expected STATUS, got {other:?}"),
        }
    }
    fn handle(self) -> Vec<u8> {
        match self {
            Reply::Handle(h) => h,
            other => panic!("expected HANDLE, got {other:?}"),
        }
    }
}

#[test]
fn open_dispositions_v5_v6() {
    for version in [5, 6] {
        let mut v = session(version);
        let rw = ACE4_READ_DATA | ACE4_WRITE_DATA;
        // OPEN_EXISTING on a missing file.
        assert_eq!(v.open56("f", rw, OPEN_EXISTING).status(), NO_SUCH_FILE);
        // TRUNCATE_EXISTING on a missing file.
        assert_eq!(v.open56("f", rw, TRUNCATE_EXISTING).status(), NO_SUCH_FILE);
        // CREATE_NEW creates, then fails on the existing file.
        let h = v.open56("f", rw, CREATE_NEW).handle();
        assert_eq!(
            v.status(WRITE, B::default().s(&h).u64(0).s("hello world")),
            OK
        );
        assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
        assert_eq!(v.open56("f", rw, CREATE_NEW).status(), FILE_ALREADY_EXISTS);
        // OPEN_OR_CREATE keeps the contents; TEXT_MODE and advisory BLOCK_READ are accepted.
        let h = v
            .open56("f", ACE4_READ_DATA, OPEN_OR_CREATE | TEXT_MODE | BLOCK_READ)
            .handle();
        match v.call(READ, B::default().s(&h).u64(0).u32(100)) {
            Reply::Data(d) => assert_eq!(d, b"hello world"),
            other => panic!("{other:?}"),
        }
        // Opened for reading only: writing is refused.
        assert_eq!(
            v.status(WRITE, B::default().s(&h).u64(0).s("x")),
            3,
            "permission denied"
        );
        assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
        // APPEND_DATA ignores the offset.
        let h = v
            .open56("f", ACE4_WRITE_DATA, OPEN_EXISTING | APPEND_DATA)
            .handle();
        assert_eq!(v.status(WRITE, B::default().s(&h).u64(0).s("!")), OK);
        assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
        assert_eq!(fs::read(v.path("f")).unwrap(), b"hello world!");
        // TRUNCATE_EXISTING and CREATE_TRUNCATE empty the file.
        let h = v.open56("f", ACE4_WRITE_DATA, TRUNCATE_EXISTING).handle();
        assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
        assert_eq!(fs::read(v.path("f")).unwrap(), b"");
        fs::write(v.path("f"), "again").unwrap();
        let h = v.open56("f", ACE4_WRITE_DATA, CREATE_TRUNCATE).handle();
        assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
        assert_eq!(fs::read(v.path("f")).unwrap(), b"");
        let h = v.open56("g", ACE4_WRITE_DATA, CREATE_TRUNCATE).handle();
        assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
        assert!(v.path("g").exists());
    }
    // v4 OPEN keeps v3 pflags (with TEXT 0x40 accepted).
    let mut v = session(4);
    let h = v.handle(OPEN, no_attrs(B::default().s("t").u32(0x02 | 0x08 | 0x40)));
    assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
    assert!(v.path("t").exists());
}

#[test]
fn open_nofollow_and_delete_on_close_v6() {
    let mut v = session(6);
    fs::write(v.path("f"), "data").unwrap();
    std::os::unix::fs::symlink("f", v.path("l")).unwrap();
    assert_eq!(
        v.open56("l", ACE4_READ_DATA, OPEN_EXISTING | NOFOLLOW)
            .status(),
        LINK_LOOP
    );
    let h = v
        .open56("f", ACE4_READ_DATA, OPEN_EXISTING | NOFOLLOW)
        .handle();
    assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
    let h = v
        .open56("tmp", ACE4_WRITE_DATA, CREATE_NEW | DELETE_ON_CLOSE)
        .handle();
    assert!(v.path("tmp").exists());
    assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
    assert!(!v.path("tmp").exists());
}

#[test]
fn rename_flags() {
    for version in [5, 6] {
        let mut v = session(version);
        fs::write(v.path("a"), "A").unwrap();
        fs::write(v.path("b"), "B").unwrap();
        let rename = |flags| B::default().s("a").s("b").u32(flags);
        assert_eq!(v.status(RENAME, rename(0)), FILE_ALREADY_EXISTS);
        // ATOMIC without OVERWRITE is still a no-replace rename.
        assert_eq!(v.status(RENAME, rename(0x2)), FILE_ALREADY_EXISTS);
        assert_eq!(fs::read(v.path("b")).unwrap(), b"B");
        assert_eq!(v.status(RENAME, rename(0x1)), OK);
        assert_eq!(fs::read(v.path("b")).unwrap(), b"A");
        assert!(!v.path("a").exists());
        // NATIVE: POSIX rename, which replaces.
        fs::write(v.path("a"), "A2").unwrap();
        assert_eq!(v.status(RENAME, rename(0x4)), OK);
        assert_eq!(fs::read(v.path("b")).unwrap(), b"A2");
        // To a free name with no flags.
        assert_eq!(v.status(RENAME, B::default().s("b").s("c").u32(0)), OK);
        assert!(v.path("c").exists());
    }
    // v4 RENAME has no flags and never overwrites.
    let mut v = session(4);
    fs::write(v.path("a"), "A").unwrap();
    fs::write(v.path("b"), "B").unwrap();
    assert_eq!(
        v.status(RENAME, B::default().s("a").s("b")),
        FILE_ALREADY_EXISTS
    );
}

#[test]
fn link_replaces_symlink_in_v6() {
    let mut v = session(6);
    fs::write(v.path("f"), "data").unwrap();
    // LINK: new-link-path, existing-path, sym-link.
    assert_eq!(v.status(LINK, B::default().s("sym").s("f").raw(&[1])), OK);
    assert_eq!(fs::read_link(v.path("sym")).unwrap().as_os_str(), "f");
    assert_eq!(v.status(LINK, B::default().s("hard").s("f").raw(&[0])), OK);
    assert_eq!(fs::metadata(v.path("f")).unwrap().nlink(), 2);
    assert_eq!(
        v.status(LINK, B::default().s("hard").s("f").raw(&[0])),
        FILE_ALREADY_EXISTS
    );
    // SYMLINK does not exist in v6.
    assert_eq!(
        v.status(SYMLINK, B::default().s("x").s("f")),
        OP_UNSUPPORTED
    );
    match v.call(READLINK, B::default().s("sym")) {
        Reply::Name(n) => assert_eq!(n[0].0, b"f"),
        other => panic!("{other:?}"),
    }
    // v4/v5 SYMLINK takes the draft's order (linkpath, targetpath); LINK is unknown there.
    let mut v = session(5);
    fs::write(v.path("f"), "data").unwrap();
    assert_eq!(v.status(SYMLINK, B::default().s("l").s("f")), OK);
    assert_eq!(fs::read_link(v.path("l")).unwrap().as_os_str(), "f");
    assert_eq!(
        v.status(LINK, B::default().s("h").s("f").raw(&[0])),
        OP_UNSUPPORTED
    );
}

#[test]
fn block_and_unblock() {
    let mut v = session(6);
    fs::write(v.path("f"), "data").unwrap();
    let h = v.open56("f", ACE4_READ_DATA, OPEN_EXISTING).handle();
    let block = |o: u64, l: u64| B::default().s(&h).u64(o).u64(l).u32(0x200);
    assert_eq!(v.status(BLOCK, block(0, 10)), OK);
    assert_eq!(v.status(BLOCK, block(5, 10)), BYTE_RANGE_LOCK_REFUSED);
    // Adjacent ranges do not overlap; length 0 reaches to the end.
    assert_eq!(v.status(BLOCK, block(10, 0)), OK);
    assert_eq!(v.status(BLOCK, block(1 << 40, 1)), BYTE_RANGE_LOCK_REFUSED);
    let unblock = |o: u64, l: u64| B::default().s(&h).u64(o).u64(l);
    assert_eq!(
        v.status(UNBLOCK, unblock(0, 5)),
        NO_MATCHING_BYTE_RANGE_LOCK
    );
    assert_eq!(v.status(UNBLOCK, unblock(0, 10)), OK);
    assert_eq!(
        v.status(UNBLOCK, unblock(0, 10)),
        NO_MATCHING_BYTE_RANGE_LOCK
    );
    assert_eq!(v.status(BLOCK, block(0, 10)), OK);
    // Undefined mask bits, and unknown handles.
    assert_eq!(
        v.status(BLOCK, B::default().s(&h).u64(100).u64(1).u32(1)),
        INVALID_PARAMETER
    );
    assert_eq!(
        v.status(BLOCK, B::default().s("nope").u64(0).u64(1).u32(0x40)),
        INVALID_HANDLE
    );
    // BLOCK is v6-only.
    let mut v = session(5);
    assert_eq!(
        v.status(BLOCK, B::default().s("h").u64(0).u64(1).u32(0x40)),
        OP_UNSUPPORTED
    );
}

#[test]
fn realpath_control_and_compose() {
    let mut v = session(6);
    fs::create_dir(v.path("d")).unwrap();
    fs::write(v.path("d/f"), "12345").unwrap();
    std::os::unix::fs::symlink("d", v.path("ld")).unwrap();
    let one = |names: Vec<(Vec<u8>, Attrs)>| {
        assert_eq!(names.len(), 1);
        names.into_iter().next().unwrap()
    };
    // No control byte = NO_CHECK: lexical, a missing path is fine, attributes are dummy.
    let (name, a) = one(v.names(REALPATH, B::default().s("missing/../x")));
    assert_eq!(name, b"/x");
    assert_eq!((a.flags, a.ftype), (0, 5));
    // Compose-paths apply in order; an absolute one restarts; NO_CHECK keeps symlinks.
    let (name, _) = one(v.names(
        REALPATH,
        B::default().s("/a").raw(&[1]).s("b").s("/ld").s("f"),
    ));
    assert_eq!(name, b"/ld/f");
    // STAT_IF: stat'ed (through the symlink) when it exists; the backend's canonical form is
    // lexical, a stable view that never reveals where a link points...
    let (name, a) = one(v.names(REALPATH, B::default().s("ld").raw(&[2]).s("f")));
    assert_eq!(name, b"/ld/f");
    assert_eq!((a.ftype, a.size), (1, Some(5)));
    // ...and type UNKNOWN when it does not.
    let (name, a) = one(v.names(REALPATH, B::default().s("nope").raw(&[2])));
    assert_eq!(name, b"/nope");
    assert_eq!(a.ftype, 5);
    // STAT_ALWAYS fails for a missing path.
    assert_eq!(
        v.status(REALPATH, B::default().s("nope").raw(&[3])),
        NO_SUCH_FILE
    );
    let (_, a) = one(v.names(REALPATH, B::default().s("d").raw(&[3])));
    assert_eq!(a.ftype, 2);
    // An undefined control byte.
    assert_eq!(
        v.status(REALPATH, B::default().s("d").raw(&[9])),
        INVALID_PARAMETER
    );
    // v5 REALPATH has no control byte: a trailing byte is not read as one, and the reply's
    // attributes are the dummy ones.
    let mut v = session(5);
    let (name, a) = one(v.names(REALPATH, B::default().s("x/../d")));
    assert_eq!((name, a.flags, a.ftype), (b"/d".to_vec(), 0, 5));
}

#[test]
fn fstat_by_handle_v4() {
    let mut v = session(4);
    fs::write(v.path("f"), "abc").unwrap();
    let h = v.handle(OPEN, no_attrs(B::default().s("f").u32(0x01)));
    let a = v.attrs(FSTAT, B::default().s(&h).u32(0));
    assert_eq!((a.ftype, a.size), (1, Some(3)));
}

/// v6 end-of-file on DATA and end-of-list on READDIR's NAME (-13 §9.3, §9.4): set exactly when
/// the reply reaches the end; v5 has neither field.
#[test]
fn v6_end_of_file_and_end_of_list() {
    let mut v = session(6);
    fs::write(v.path("f"), b"0123456789").unwrap();
    let h = match v.open56("f", 1, 2) {
        Reply::Handle(h) => h,
        other => panic!("{other:?}"),
    };
    let read = |v: &mut V, offset: u64, len: u32| match v
        .call(READ, B::default().s(&h).u64(offset).u32(len))
    {
        Reply::Data(d) => (d, last_flag()),
        other => panic!("{other:?}"),
    };
    assert_eq!(read(&mut v, 0, 4), (b"0123".to_vec(), Some(0)));
    assert_eq!(read(&mut v, 4, 100), (b"456789".to_vec(), Some(1)));
    // A read ending exactly at the end has not met it: the flag stays false (no fstat).
    assert_eq!(read(&mut v, 8, 2), (b"89".to_vec(), Some(0)));
    assert_eq!(v.status(READ, B::default().s(&h).u64(10).u32(1)), 1);

    for n in 0..150 {
        fs::write(v.path(&format!("e{n:03}")), b"").unwrap();
    }
    let d = v.handle(OPENDIR, B::default().s("/"));
    // 151 entries and "."/"..": a full batch of 100, then the rest with end-of-list.
    assert_eq!(v.names(READDIR, B::default().s(&d)).len(), 100);
    assert_eq!(last_flag(), Some(0));
    assert_eq!(v.names(READDIR, B::default().s(&d)).len(), 53);
    assert_eq!(last_flag(), Some(1));
    assert_eq!(v.status(READDIR, B::default().s(&d)), 1);

    let mut v = session(5);
    fs::write(v.path("f"), b"01").unwrap();
    let h = match v.open56("f", 1, 2) {
        Reply::Handle(h) => h,
        other => panic!("{other:?}"),
    };
    // The v5 parser would fail on a trailing byte.
    assert!(matches!(
        v.call(READ, B::default().s(&h).u64(0).u32(9)),
        Reply::Data(_)
    ));
    assert_eq!(last_flag(), None);
}

/// Text mode (v4 TEXT, v5+ TEXT_MODE) ignores READ and WRITE offsets (-13 §8.1.1.1); the
/// announced newline is the server's own "\n", so the bytes are not converted.
#[test]
fn text_mode_ignores_offsets_and_keeps_bytes() {
    let mut v = session(6);
    // OPEN_OR_CREATE | TEXT_MODE, for writing.
    let h = match v.open56("t.txt", 2, 3 | 0x20) {
        Reply::Handle(h) => h,
        other => panic!("{other:?}"),
    };
    for (offset, data) in [(500u64, &b"one\n"[..]), (0, b"two\r\n"), (7, b"three\n")] {
        assert_eq!(v.status(WRITE, B::default().s(&h).u64(offset).s(data)), OK);
    }
    assert_eq!(v.status(CLOSE, B::default().s(&h)), OK);
    assert_eq!(fs::read(v.path("t.txt")).unwrap(), b"one\ntwo\r\nthree\n");
    let h = match v.open56("t.txt", 1, 2 | 0x20) {
        Reply::Handle(h) => h,
        other => panic!("{other:?}"),
    };
    let mut got = Vec::new();
    // Offsets are ignored: each READ continues where the last stopped.
    for _ in 0..3 {
        match v.call(READ, B::default().s(&h).u64(0).u32(5)) {
            Reply::Data(d) => got.extend_from_slice(&d),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, b"one\ntwo\r\nthree\n");
    assert_eq!(v.status(READ, B::default().s(&h).u64(0).u32(5)), 1);
    // v4's TEXT pflag (0x40) means the same.
    let mut v = session(4);
    fs::write(v.path("t"), b"abcdef").unwrap();
    let h = v.handle(OPEN, no_attrs(B::default().s("t").u32(0x01 | 0x40)));
    for want in [&b"abc"[..], b"def"] {
        match v.call(READ, B::default().s(&h).u64(0).u32(3)) {
            Reply::Data(d) => assert_eq!(d, want),
            other => panic!("{other:?}"),
        }
    }
}
