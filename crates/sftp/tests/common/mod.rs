//! Shared helpers for the engine tests: a request builder, a reply parser, and a session over a
//! `LocalFs` in a temp dir.
#![allow(dead_code)]

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use wharf_sftp::{SftpConfig, SftpSession};
use wharf_vfs::LocalFs;

// Packet types and status codes from draft-ietf-secsh-filexfer-02 §3 and §7.
pub const INIT: u8 = 1;
pub const VERSION: u8 = 2;
pub const OPEN: u8 = 3;
pub const CLOSE: u8 = 4;
pub const READ: u8 = 5;
pub const WRITE: u8 = 6;
pub const LSTAT: u8 = 7;
pub const FSTAT: u8 = 8;
pub const SETSTAT: u8 = 9;
pub const FSETSTAT: u8 = 10;
pub const OPENDIR: u8 = 11;
pub const READDIR: u8 = 12;
pub const REMOVE: u8 = 13;
pub const MKDIR: u8 = 14;
pub const RMDIR: u8 = 15;
pub const REALPATH: u8 = 16;
pub const STAT: u8 = 17;
pub const RENAME: u8 = 18;
pub const READLINK: u8 = 19;
pub const SYMLINK: u8 = 20;
pub const EXTENDED: u8 = 200;

pub const FX_OK: u32 = 0;
pub const FX_EOF: u32 = 1;
pub const FX_NO_SUCH_FILE: u32 = 2;
pub const FX_PERMISSION_DENIED: u32 = 3;
pub const FX_FAILURE: u32 = 4;
pub const FX_BAD_MESSAGE: u32 = 5;
pub const FX_OP_UNSUPPORTED: u32 = 8;

pub const PF_READ: u32 = 0x01;
pub const PF_WRITE: u32 = 0x02;
pub const PF_APPEND: u32 = 0x04;
pub const PF_CREAT: u32 = 0x08;
pub const PF_TRUNC: u32 = 0x10;
pub const PF_EXCL: u32 = 0x20;

/// Request body builder.
#[derive(Default, Clone)]
pub struct B(pub Vec<u8>);

impl B {
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn s(self, v: impl AsRef<[u8]>) -> Self {
        let v = v.as_ref();
        let mut b = self.u32(v.len() as u32);
        b.0.extend_from_slice(v);
        b
    }
    pub fn raw(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    /// Empty ATTRS.
    pub fn no_attrs(self) -> Self {
        self.u32(0)
    }
}

pub fn packet(ptype: u8, body: &[u8]) -> Vec<u8> {
    let mut p = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    p.push(ptype);
    p.extend_from_slice(body);
    p
}

pub fn req(ptype: u8, id: u32, body: B) -> Vec<u8> {
    packet(ptype, &B::default().u32(id).raw(&body.0).0)
}

pub fn init() -> Vec<u8> {
    packet(INIT, &3u32.to_be_bytes())
}

/// A parsed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Version(u32, Vec<(String, Vec<u8>)>),
    Status(u32, u32, String),
    Handle(u32, Vec<u8>),
    Data(u32, Vec<u8>),
    Name(u32, Vec<(Vec<u8>, Vec<u8>, Attrs)>),
    Attrs(u32, Attrs),
    Extended(u32, Vec<u8>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs {
    pub size: Option<u64>,
    pub ids: Option<(u32, u32)>,
    pub mode: Option<u32>,
    pub times: Option<(u32, u32)>,
}

pub struct P<'a>(pub &'a [u8]);

impl<'a> P<'a> {
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    pub fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take(4).try_into().unwrap())
    }
    pub fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.take(8).try_into().unwrap())
    }
    pub fn s(&mut self) -> &'a [u8] {
        let n = self.u32() as usize;
        self.take(n)
    }
    pub fn attrs(&mut self) -> Attrs {
        let flags = self.u32();
        let mut a = Attrs::default();
        if flags & 1 != 0 {
            a.size = Some(self.u64());
        }
        if flags & 2 != 0 {
            a.ids = Some((self.u32(), self.u32()));
        }
        if flags & 4 != 0 {
            a.mode = Some(self.u32());
        }
        if flags & 8 != 0 {
            a.times = Some((self.u32(), self.u32()));
        }
        assert_eq!(flags & !0xf, 0, "server sent unexpected attribute flags");
        a
    }
}

pub fn parse(mut out: &[u8]) -> Vec<Reply> {
    let mut replies = Vec::new();
    while !out.is_empty() {
        let len = u32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
        let mut p = P(&out[4..4 + len]);
        out = &out[4 + len..];
        let reply = match p.u8() {
            VERSION => {
                let v = p.u32();
                let mut exts = Vec::new();
                while !p.0.is_empty() {
                    let name = String::from_utf8(p.s().to_vec()).unwrap();
                    exts.push((name, p.s().to_vec()));
                }
                Reply::Version(v, exts)
            }
            101 => {
                let id = p.u32();
                let code = p.u32();
                let msg = String::from_utf8(p.s().to_vec()).unwrap();
                assert_eq!(p.s(), b"", "language tag");
                Reply::Status(id, code, msg)
            }
            102 => Reply::Handle(p.u32(), p.s().to_vec()),
            103 => Reply::Data(p.u32(), p.s().to_vec()),
            104 => {
                let id = p.u32();
                let count = p.u32();
                let entries = (0..count)
                    .map(|_| (p.s().to_vec(), p.s().to_vec(), p.attrs()))
                    .collect();
                Reply::Name(id, entries)
            }
            105 => Reply::Attrs(p.u32(), p.attrs()),
            201 => Reply::Extended(p.u32(), p.0.to_vec()),
            t => panic!("unexpected reply type {t}"),
        };
        assert!(
            p.0.is_empty() || matches!(reply, Reply::Extended(..)),
            "trailing bytes"
        );
        replies.push(reply);
    }
    replies
}

pub struct T {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub s: SftpSession,
}

pub fn session_with(config: SftpConfig) -> T {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    fs::write(tmp.path().join("secret"), "OUTSIDE").unwrap();
    let fs = LocalFs::new(root.clone()).unwrap();
    let mut t = T {
        _tmp: tmp,
        root,
        s: SftpSession::new(Arc::new(fs), config),
    };
    match &t.call(&init())[..] {
        [Reply::Version(3, _)] => {}
        other => panic!("bad VERSION: {other:?}"),
    }
    t
}

pub fn session() -> T {
    session_with(SftpConfig::default())
}

impl T {
    pub fn call(&mut self, bytes: &[u8]) -> Vec<Reply> {
        self.s.receive(bytes);
        let mut out = Vec::new();
        let consumed = self.s.process(&mut out, usize::MAX).unwrap();
        assert_eq!(consumed, bytes.len());
        assert_eq!(self.s.buffered(), 0);
        parse(&out)
    }

    pub fn one(&mut self, bytes: &[u8]) -> Reply {
        let mut replies = self.call(bytes);
        assert_eq!(replies.len(), 1, "{replies:?}");
        replies.pop().unwrap()
    }

    pub fn status(&mut self, bytes: &[u8]) -> u32 {
        match self.one(bytes) {
            Reply::Status(_, code, _) => code,
            other => panic!("expected STATUS, got {other:?}"),
        }
    }

    pub fn handle(&mut self, bytes: &[u8]) -> Vec<u8> {
        match self.one(bytes) {
            Reply::Handle(_, h) => h,
            other => panic!("expected HANDLE, got {other:?}"),
        }
    }

    pub fn open(&mut self, path: &str, pflags: u32) -> Vec<u8> {
        self.handle(&req(OPEN, 1, B::default().s(path).u32(pflags).no_attrs()))
    }

    pub fn attrs(&mut self, bytes: &[u8]) -> Attrs {
        match self.one(bytes) {
            Reply::Attrs(_, a) => a,
            other => panic!("expected ATTRS, got {other:?}"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

pub fn fresh() -> (tempfile::TempDir, SftpSession) {
    let tmp = tempfile::tempdir().unwrap();
    let fs = LocalFs::new(tmp.path().to_path_buf()).unwrap();
    (tmp, SftpSession::new(Arc::new(fs), SftpConfig::default()))
}
