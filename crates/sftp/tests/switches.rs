//! Per-extension switches, the request filter (`-P`/`-p`) and the xattr extension, through
//! the engine's wire interface.

mod common;

use std::fs;

use common::*;
use wharf_sftp::{ConfigError, RequestFilter, SftpConfig};

fn ext(id: u32, name: &str, b: B) -> Vec<u8> {
    req(EXTENDED, id, B::default().s(name).raw(&b.0))
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The extension names a fresh session announces under `config`.
fn announced(config: SftpConfig) -> Vec<String> {
    let (_tmp, mut s) = fresh_with(config);
    s.receive(&init());
    let mut out = Vec::new();
    s.process(&mut out, usize::MAX).unwrap();
    match &parse(&out)[..] {
        [Reply::Version(3, exts)] => exts.iter().map(|(n, _)| n.clone()).collect(),
        other => panic!("{other:?}"),
    }
}

fn fresh_with(config: SftpConfig) -> (tempfile::TempDir, wharf_sftp::SftpSession) {
    let tmp = tempfile::tempdir().unwrap();
    let fs = wharf_vfs::LocalFs::new(tmp.path().to_path_buf()).unwrap();
    (
        tmp,
        wharf_sftp::SftpSession::new(std::sync::Arc::new(fs), config),
    )
}

#[test]
fn disabled_extensions_are_neither_announced_nor_served() {
    let all = announced(SftpConfig::default());
    assert!(all.contains(&"copy-data".to_string()));
    assert!(all.contains(&"hardlink@openssh.com".to_string()));
    let config = SftpConfig {
        disabled_extensions: names(&["copy-data", "hardlink@openssh.com", "xattr@proftpd.org"]),
        ..SftpConfig::default()
    };
    let some = announced(config.clone());
    for gone in ["copy-data", "hardlink@openssh.com", "xattr@proftpd.org"] {
        assert!(!some.contains(&gone.to_string()), "{gone} still announced");
    }
    assert_eq!(some.len(), all.len() - 3);

    let mut t = session_with(config);
    fs::write(t.path("a"), b"x").unwrap();
    let link = ext(1, "hardlink@openssh.com", B::default().s("a").s("b"));
    assert_eq!(t.status(&link), FX_OP_UNSUPPORTED);
    assert!(!t.path("b").exists());
    let get = ext(
        2,
        "getxattr@proftpd.org",
        B::default().s("a").s("user.x").u32(0),
    );
    assert_eq!(t.status(&get), FX_OP_UNSUPPORTED);
    // What stays on still works.
    let rename = ext(3, "posix-rename@openssh.com", B::default().s("a").s("c"));
    assert_eq!(t.status(&rename), FX_OK);
}

#[test]
fn request_filter_denies_like_sftp_server() {
    let mut t = session_with(SftpConfig {
        requests: RequestFilter {
            deny: names(&["remove", "posix-rename"]),
            allow: None,
        },
        ..SftpConfig::default()
    });
    fs::write(t.path("a"), b"x").unwrap();
    assert_eq!(
        t.status(&req(REMOVE, 1, B::default().s("a"))),
        FX_PERMISSION_DENIED
    );
    let rename = ext(2, "posix-rename@openssh.com", B::default().s("a").s("b"));
    assert_eq!(t.status(&rename), FX_PERMISSION_DENIED);
    assert!(t.path("a").exists());
    // Denied requests are still announced, as in OpenSSH: the filter is about serving.
    assert_eq!(t.status(&req(RENAME, 3, B::default().s("a").s("b"))), FX_OK);

    // An allow list refuses everything else.
    let mut t = session_with(SftpConfig {
        requests: RequestFilter {
            deny: Vec::new(),
            allow: Some(names(&["open", "read", "close", "stat", "realpath"])),
        },
        ..SftpConfig::default()
    });
    fs::write(t.path("a"), b"x").unwrap();
    let h = t.open("a", PF_READ);
    assert!(matches!(
        t.one(&req(READ, 4, B::default().s(&h).u64(0).u32(9))),
        Reply::Data(_, d) if d == b"x"
    ));
    assert_eq!(
        t.status(&req(LSTAT, 5, B::default().s("a"))),
        FX_PERMISSION_DENIED
    );
    assert_eq!(
        t.status(&req(MKDIR, 6, B::default().s("d").no_attrs())),
        FX_PERMISSION_DENIED
    );
    let limits = ext(7, "limits@openssh.com", B::default());
    assert_eq!(t.status(&limits), FX_PERMISSION_DENIED);
}

#[test]
fn config_check_names_unknown_entries() {
    let ok = SftpConfig {
        disabled_extensions: names(&["check-file", "check-file-name", "versions", "vendor-id"]),
        requests: RequestFilter {
            deny: names(&["write", "hardlink", "copy-data"]),
            allow: Some(names(&["read"])),
        },
        ..SftpConfig::default()
    };
    assert_eq!(ok.check(), Ok(()));
    let bad = SftpConfig {
        disabled_extensions: names(&["copy-dta"]),
        ..SftpConfig::default()
    };
    match bad.check() {
        Err(ConfigError::UnknownExtension { name, known }) => {
            assert_eq!(name, "copy-dta");
            assert!(known.contains("copy-data") && known.contains("xattr@proftpd.org"));
        }
        other => panic!("{other:?}"),
    }
    let bad = SftpConfig {
        requests: RequestFilter {
            deny: Vec::new(),
            allow: Some(names(&["read", "frobnicate"])),
        },
        ..SftpConfig::default()
    };
    assert!(matches!(
        bad.check(),
        Err(ConfigError::UnknownRequest { name, .. }) if name == "frobnicate"
    ));
}

fn extended_body(reply: Reply) -> Vec<u8> {
    match reply {
        Reply::Extended(_, body) => body,
        other => panic!("expected EXTENDED_REPLY, got {other:?}"),
    }
}

/// The tempdir must support user xattrs (tmpfs and ext4 do); otherwise OP_UNSUPPORTED is the
/// right answer and the rest is skipped.
#[test]
fn xattr_by_path_and_handle() {
    let mut t = session();
    fs::write(t.path("f"), b"data").unwrap();
    let set = |id, name: &str, value: &[u8], flags| {
        ext(
            id,
            "setxattr@proftpd.org",
            B::default().s("f").s(name).s(value).u32(flags),
        )
    };
    let code = t.status(&set(1, "user.colour", b"blue", 0));
    if code == FX_OP_UNSUPPORTED {
        eprintln!("skipped: no user xattrs on the temp filesystem");
        return;
    }
    assert_eq!(code, FX_OK);
    // CREATE on an existing attribute, REPLACE on a missing one.
    assert_eq!(t.status(&set(2, "user.colour", b"red", 1)), FX_FAILURE);
    assert_eq!(t.status(&set(3, "user.size", b"9", 2)), FX_NO_SUCH_FILE);
    assert_eq!(t.status(&set(4, "user.colour", b"green", 2)), FX_OK);
    // Outside the user namespace: refused, whatever the process may do.
    assert_eq!(
        t.status(&set(5, "security.capability", b"\0", 0)),
        FX_PERMISSION_DENIED
    );
    assert_eq!(t.status(&set(6, "user.bad", b"x", 3)), FX_FAILURE);

    let get = |id, name: &str, max: u32| {
        ext(
            id,
            "getxattr@proftpd.org",
            B::default().s("f").s(name).u32(max),
        )
    };
    let body = extended_body(t.one(&get(7, "user.colour", 0)));
    assert_eq!(P(&body).s(), b"green");
    // A value longer than max-size is refused (getxattr's ERANGE).
    assert_eq!(t.status(&get(8, "user.colour", 3)), FX_FAILURE);
    assert_eq!(t.status(&get(9, "user.none", 0)), FX_NO_SUCH_FILE);

    let list = ext(10, "listxattr@proftpd.org", B::default().s("f"));
    let body = extended_body(t.one(&list));
    let mut p = P(&body);
    assert_eq!(p.u32(), 1);
    assert_eq!(p.s(), b"user.colour");
    assert_eq!(
        std::fs::read(t.path("f")).unwrap(),
        b"data",
        "contents untouched"
    );

    // By handle: reading is fine on a read handle, changing needs a write handle.
    let r = t.open("f", PF_READ);
    let fget = ext(
        11,
        "fgetxattr@proftpd.org",
        B::default().s(&r).s("user.colour").u32(100),
    );
    assert_eq!(P(&extended_body(t.one(&fget))).s(), b"green");
    let flist = ext(12, "flistxattr@proftpd.org", B::default().s(&r));
    assert_eq!(P(&extended_body(t.one(&flist))).u32(), 1);
    let fset = |id, h: &[u8]| {
        ext(
            id,
            "fsetxattr@proftpd.org",
            B::default().s(h).s("user.n").s("1").u32(0),
        )
    };
    assert_eq!(t.status(&fset(13, &r)), FX_PERMISSION_DENIED);
    let w = t.open("f", PF_WRITE);
    assert_eq!(t.status(&fset(14, &w)), FX_OK);
    let fremove = ext(
        15,
        "fremovexattr@proftpd.org",
        B::default().s(&w).s("user.n"),
    );
    assert_eq!(t.status(&fremove), FX_OK);
    let remove = ext(
        16,
        "removexattr@proftpd.org",
        B::default().s("f").s("user.colour"),
    );
    assert_eq!(t.status(&remove), FX_OK);
    let body = extended_body(t.one(&ext(17, "listxattr@proftpd.org", B::default().s("f"))));
    assert_eq!(P(&body).u32(), 0);
    assert_eq!(t.status(&get(18, "user.colour", 0)), FX_NO_SUCH_FILE);
    // Bad handles, missing files, and the jail.
    let bad = ext(
        19,
        "fgetxattr@proftpd.org",
        B::default().s("zz").s("user.a").u32(0),
    );
    assert_eq!(t.status(&bad), FX_FAILURE);
    let missing = ext(20, "listxattr@proftpd.org", B::default().s("nope"));
    assert_eq!(t.status(&missing), FX_NO_SUCH_FILE);
    let outside = ext(21, "listxattr@proftpd.org", B::default().s("../secret"));
    // `..` stops at the jail's root, where no "secret" exists.
    assert_eq!(t.status(&outside), FX_NO_SUCH_FILE);

    // Read-only sessions may read attributes but not change them.
    let mut t = session_with(SftpConfig {
        read_only: true,
        ..SftpConfig::default()
    });
    fs::write(t.path("f"), b"data").unwrap();
    assert_eq!(t.status(&set(1, "user.a", b"1", 0)), FX_PERMISSION_DENIED);
    let body = extended_body(t.one(&ext(2, "listxattr@proftpd.org", B::default().s("f"))));
    assert_eq!(P(&body).u32(), 0);
}
