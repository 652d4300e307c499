//! The local backend against escape attempts and for each operation's basic behaviour.
//!
//! Layout for every test:
//! ```text
//! <tmp>/outside/secret          "OUTSIDE"   must never be reachable
//! <tmp>/root/                   the jail, the user's "/"
//! <tmp>/root/etc/passwd         "INSIDE"
//! <tmp>/root/file               "hello"
//! ```

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wharf_vfs::{
    FileType, LocalFs, OpenOptions, RenameMode, SetAttrs, Timestamp, VPath, Vfs, VfsErrorKind,
};

struct Jail {
    _tmp: tempfile::TempDir,
    outside: PathBuf,
    root: PathBuf,
    fs: LocalFs,
}

fn jail() -> Jail {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    let root = tmp.path().join("root");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("secret"), "OUTSIDE").unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/passwd"), "INSIDE").unwrap();
    fs::write(root.join("file"), "hello").unwrap();
    let fs = LocalFs::new(root.clone()).unwrap();
    Jail {
        _tmp: tmp,
        outside,
        root,
        fs,
    }
}

fn p(s: &str) -> VPath {
    VPath::from_absolute(s.as_bytes())
}

fn read_all(fs: &LocalFs, path: &VPath) -> Result<Vec<u8>, VfsErrorKind> {
    let file = fs
        .open(path, &OpenOptions::default())
        .map_err(|e| e.kind())?;
    let mut buf = vec![0u8; 4096];
    let n = file.read_at(&mut buf, 0).map_err(|e| e.kind())?;
    buf.truncate(n);
    Ok(buf)
}

fn root_ino(root: &Path) -> u64 {
    fs::metadata(root).unwrap().ino()
}

#[test]
fn dotdot_in_client_paths_stays_inside() {
    let j = jail();
    let path = j.fs.resolve(b"../../etc/passwd");
    assert_eq!(read_all(&j.fs, &path).unwrap(), b"INSIDE");
    let top = j.fs.resolve(b"/../..");
    assert!(top.is_root());
    assert_eq!(j.fs.stat(&top).unwrap().ino, root_ino(&j.root));
    assert_eq!(
        read_all(&j.fs, &j.fs.resolve(b"../outside/secret")),
        Err(VfsErrorKind::NotFound)
    );
}

#[test]
fn absolute_symlink_resolves_inside_root() {
    let j = jail();
    symlink("/etc", j.root.join("etc_link")).unwrap();
    assert_eq!(read_all(&j.fs, &p("/etc_link/passwd")).unwrap(), b"INSIDE");
    assert_eq!(
        j.fs.stat(&p("/etc_link")).unwrap().file_type,
        FileType::Directory
    );
    assert_eq!(
        j.fs.lstat(&p("/etc_link")).unwrap().file_type,
        FileType::Symlink
    );
}

#[test]
fn relative_symlink_climbing_out_stops_at_root() {
    let j = jail();
    symlink("../../..", j.root.join("up")).unwrap();
    fs::create_dir(j.root.join("sub")).unwrap();
    symlink("../../../../outside/secret", j.root.join("sub/deep")).unwrap();
    assert_eq!(j.fs.stat(&p("/up")).unwrap().ino, root_ino(&j.root));
    assert_eq!(read_all(&j.fs, &p("/up/file")).unwrap(), b"hello");
    assert_eq!(
        read_all(&j.fs, &p("/up/outside/secret")),
        Err(VfsErrorKind::NotFound)
    );
    assert_eq!(
        read_all(&j.fs, &p("/sub/deep")),
        Err(VfsErrorKind::NotFound)
    );
}

#[test]
fn symlink_to_absolute_path_existing_only_outside() {
    let j = jail();
    let secret = j.outside.join("secret");
    symlink(&secret, j.root.join("abs")).unwrap();
    symlink(&j.outside, j.root.join("absdir")).unwrap();
    assert_eq!(read_all(&j.fs, &p("/abs")), Err(VfsErrorKind::NotFound));
    assert_eq!(
        read_all(&j.fs, &p("/absdir/secret")),
        Err(VfsErrorKind::NotFound)
    );
    assert_eq!(
        j.fs.stat(&p("/abs")).unwrap_err().kind(),
        VfsErrorKind::NotFound
    );
    assert!(j.fs.open_dir(&p("/absdir")).is_err());
    assert!(j.fs.statvfs(&p("/abs")).is_err());
    // Following for setstat must not reach the outside file either.
    let before = fs::metadata(&secret).unwrap().permissions().mode();
    let chmod = SetAttrs {
        permissions: Some(0o777),
        ..SetAttrs::default()
    };
    assert_eq!(
        j.fs.set_stat(&p("/abs"), &chmod).unwrap_err().kind(),
        VfsErrorKind::NotFound
    );
    let truncate = SetAttrs {
        size: Some(0),
        ..SetAttrs::default()
    };
    assert!(j.fs.set_stat(&p("/abs"), &truncate).is_err());
    assert_eq!(fs::metadata(&secret).unwrap().permissions().mode(), before);
    assert_eq!(fs::read(&secret).unwrap(), b"OUTSIDE");
    // The link itself can be removed; the target stays.
    j.fs.remove(&p("/abs")).unwrap();
    assert!(secret.exists());
}

/// `/proc/self/root` would lead back to the host's `/`; inside the jail `/proc` is just a path
/// under the root (and magic links are refused outright by `RESOLVE_NO_MAGICLINKS`).
#[test]
fn proc_paths_resolve_inside_root() {
    let j = jail();
    symlink("/proc/self/root/etc/passwd", j.root.join("magic")).unwrap();
    assert_eq!(read_all(&j.fs, &p("/magic")), Err(VfsErrorKind::NotFound));
    assert_eq!(
        read_all(&j.fs, &p("/proc/self/root/etc/passwd")),
        Err(VfsErrorKind::NotFound)
    );
}

#[test]
fn creating_through_links_never_writes_outside() {
    let j = jail();
    symlink(&j.outside, j.root.join("absdir")).unwrap();
    symlink(j.outside.join("created"), j.root.join("dangling")).unwrap();
    let create = OpenOptions {
        read: false,
        write: true,
        create: true,
        ..OpenOptions::default()
    };
    assert!(j.fs.open(&p("/dangling"), &create).is_err());
    assert!(j.fs.open(&p("/absdir/created"), &create).is_err());
    assert!(j.fs.mkdir(&p("/absdir/newdir"), 0o755).is_err());
    assert!(j
        .fs
        .rename(&p("/file"), &p("/absdir/x"), RenameMode::Overwrite)
        .is_err());
    assert!(j
        .fs
        .rename(
            &p("/file"),
            &j.fs.resolve(b"../../outside/x"),
            RenameMode::NoReplace
        )
        .is_err());
    assert!(j.fs.hard_link(&p("/file"), &p("/absdir/x")).is_err());
    assert!(j.fs.symlink(b"/anything", &p("/absdir/x")).is_err());
    assert!(j.fs.remove(&p("/absdir/secret")).is_err());
    let names: Vec<_> = fs::read_dir(&j.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("secret")]);
    assert!(j.root.join("file").exists());
}

#[test]
fn symlink_creation_stores_any_text_but_following_stays_inside() {
    let j = jail();
    let target = j.outside.join("secret");
    let target = target.as_os_str().as_encoded_bytes();
    j.fs.symlink(target, &p("/out")).unwrap();
    assert_eq!(j.fs.read_link(&p("/out")).unwrap(), target);
    assert_eq!(read_all(&j.fs, &p("/out")), Err(VfsErrorKind::NotFound));
    j.fs.symlink(b"../../../etc/passwd", &p("/rel")).unwrap();
    assert_eq!(read_all(&j.fs, &p("/rel")).unwrap(), b"INSIDE");
    // Hard-linking the symlink links the link itself, which still resolves inside.
    j.fs.hard_link(&p("/out"), &p("/out2")).unwrap();
    assert_eq!(
        j.fs.lstat(&p("/out2")).unwrap().file_type,
        FileType::Symlink
    );
    assert_eq!(read_all(&j.fs, &p("/out2")), Err(VfsErrorKind::NotFound));
}

#[test]
fn readdir_dotdot_at_root_is_the_root() {
    let j = jail();
    symlink("/", j.root.join("self")).unwrap();
    for dir in ["/..", "/self"] {
        let mut listing = j.fs.open_dir(&j.fs.resolve(dir.as_bytes())).unwrap();
        let mut entries = Vec::new();
        loop {
            let before = entries.len();
            listing.read_batch(&mut entries, 2).unwrap();
            if entries.len() == before {
                break;
            }
            assert!(entries.len() - before <= 2);
        }
        let find = |name: &[u8]| entries.iter().find(|e| e.name == name).unwrap();
        assert_eq!(find(b"..").metadata.ino, root_ino(&j.root), "{dir}");
        assert_eq!(find(b".").metadata.ino, root_ino(&j.root), "{dir}");
        assert_eq!(find(b"file").metadata.size, 5);
        assert_eq!(find(b"self").metadata.file_type, FileType::Symlink);
    }
    // Below the root, `..` is the real parent.
    let mut listing = j.fs.open_dir(&p("/etc")).unwrap();
    let mut entries = Vec::new();
    listing.read_batch(&mut entries, 100).unwrap();
    let dotdot = entries.iter().find(|e| e.name == b"..").unwrap();
    assert_eq!(dotdot.metadata.ino, root_ino(&j.root));
}

#[test]
fn symlink_loop_is_reported() {
    let j = jail();
    symlink("b", j.root.join("a")).unwrap();
    symlink("a", j.root.join("b")).unwrap();
    assert_eq!(
        j.fs.stat(&p("/a")).unwrap_err().kind(),
        VfsErrorKind::LinkLoop
    );
}

#[test]
fn root_cannot_be_removed_or_renamed() {
    let j = jail();
    assert_eq!(j.fs.rmdir(&p("/")).unwrap_err().kind(), VfsErrorKind::Busy);
    assert_eq!(j.fs.remove(&p("/")).unwrap_err().kind(), VfsErrorKind::Busy);
    assert!(j
        .fs
        .rename(&p("/"), &p("/x"), RenameMode::Overwrite)
        .is_err());
    assert_eq!(
        j.fs.mkdir(&p("/"), 0o755).unwrap_err().kind(),
        VfsErrorKind::AlreadyExists
    );
}

#[test]
fn open_read_write_append_truncate_exclusive() {
    let j = jail();
    let rw = OpenOptions {
        read: true,
        write: true,
        create: true,
        mode: 0o640,
        ..OpenOptions::default()
    };
    let f = j.fs.open(&p("/new"), &rw).unwrap();
    f.write_all_at(b"abcdef", 0).unwrap();
    f.write_all_at(b"XY", 10).unwrap();
    let mut buf = [0u8; 32];
    let n = f.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"abcdef\0\0\0\0XY");
    assert_eq!(f.read_at(&mut buf, 100).unwrap(), 0);
    assert_eq!(f.stat().unwrap().size, 12);
    drop(f);
    assert_eq!(
        fs::metadata(j.root.join("new"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
            & !0o022,
        0o640
    );

    let excl = OpenOptions {
        exclusive: true,
        ..rw
    };
    assert_eq!(
        j.fs.open(&p("/new"), &excl).unwrap_err().kind(),
        VfsErrorKind::AlreadyExists
    );

    let append = OpenOptions {
        read: false,
        write: true,
        append: true,
        ..OpenOptions::default()
    };
    j.fs.open(&p("/file"), &append)
        .unwrap()
        .write_all_at(b" world", 0)
        .unwrap();
    assert_eq!(fs::read(j.root.join("file")).unwrap(), b"hello world");

    let trunc = OpenOptions {
        read: false,
        write: true,
        truncate: true,
        ..OpenOptions::default()
    };
    drop(j.fs.open(&p("/file"), &trunc).unwrap());
    assert_eq!(fs::read(j.root.join("file")).unwrap(), b"");

    assert_eq!(
        j.fs.open(&p("/missing"), &OpenOptions::default())
            .unwrap_err()
            .kind(),
        VfsErrorKind::NotFound
    );
    assert_eq!(
        j.fs.open(&p("/etc"), &OpenOptions::default())
            .unwrap_err()
            .kind(),
        VfsErrorKind::IsADirectory
    );
    // Read-only handle refuses writes.
    let ro =
        j.fs.open(&p("/etc/passwd"), &OpenOptions::default())
            .unwrap();
    assert!(ro.write_at(b"x", 0).is_err());
}

#[test]
fn fifo_is_refused_without_blocking() {
    let j = jail();
    let status = std::process::Command::new("mkfifo")
        .arg(j.root.join("fifo"))
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        return; // no mkfifo binary: nothing to check
    }
    let err = j.fs.open(&p("/fifo"), &OpenOptions::default()).unwrap_err();
    assert_eq!(err.kind(), VfsErrorKind::NotRegularFile);
}

#[test]
fn set_stat_by_path_and_handle() {
    let j = jail();
    let attrs = SetAttrs {
        size: Some(2),
        permissions: Some(0o600),
        atime: Some(Timestamp::from_secs(1_000_000_000)),
        mtime: Some(Timestamp {
            secs: 1_200_000_000,
            nanos: 5,
        }),
        ..SetAttrs::default()
    };
    j.fs.set_stat(&p("/file"), &attrs).unwrap();
    let md = j.fs.stat(&p("/file")).unwrap();
    assert_eq!(md.size, 2);
    assert_eq!(md.permissions, 0o600);
    assert_eq!(md.atime, Timestamp::from_secs(1_000_000_000));
    assert_eq!(
        md.mtime,
        Timestamp {
            secs: 1_200_000_000,
            nanos: 5
        }
    );

    // The owner may chmod a file they cannot open at all.
    fs::set_permissions(j.root.join("file"), fs::Permissions::from_mode(0o000)).unwrap();
    let chmod = SetAttrs {
        permissions: Some(0o644),
        ..SetAttrs::default()
    };
    j.fs.set_stat(&p("/file"), &chmod).unwrap();
    assert_eq!(
        fs::metadata(j.root.join("file"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o644
    );

    // Only mtime: atime is left alone.
    let only_mtime = SetAttrs {
        mtime: Some(Timestamp::from_secs(5)),
        ..SetAttrs::default()
    };
    j.fs.set_stat(&p("/file"), &only_mtime).unwrap();
    let md = j.fs.stat(&p("/file")).unwrap();
    assert_eq!(md.atime, Timestamp::from_secs(1_000_000_000));
    assert_eq!(md.mtime, Timestamp::from_secs(5));

    // Owner change to our own ids is allowed without privileges.
    let me = fs::metadata(j.root.join("file")).unwrap();
    let chown = SetAttrs {
        uid: Some(me.uid()),
        gid: Some(me.gid()),
        ..SetAttrs::default()
    };
    j.fs.set_stat(&p("/file"), &chown).unwrap();

    let rw = OpenOptions {
        write: true,
        ..OpenOptions::default()
    };
    let f = j.fs.open(&p("/file"), &rw).unwrap();
    f.set_stat(&SetAttrs {
        size: Some(10),
        permissions: Some(0o604),
        mtime: Some(Timestamp::from_secs(77)),
        uid: Some(me.uid()),
        ..SetAttrs::default()
    })
    .unwrap();
    let md = f.stat().unwrap();
    assert_eq!((md.size, md.permissions, md.mtime.secs), (10, 0o604, 77));
    f.sync().unwrap();
    assert!(f.statvfs().unwrap().block_size > 0);
}

#[test]
fn rename_modes() {
    let j = jail();
    fs::write(j.root.join("other"), "other").unwrap();
    let err =
        j.fs.rename(&p("/file"), &p("/other"), RenameMode::NoReplace)
            .unwrap_err();
    assert_eq!(err.kind(), VfsErrorKind::AlreadyExists);
    assert_eq!(fs::read(j.root.join("other")).unwrap(), b"other");
    j.fs.rename(&p("/file"), &p("/moved"), RenameMode::NoReplace)
        .unwrap();
    assert_eq!(fs::read(j.root.join("moved")).unwrap(), b"hello");
    j.fs.rename(&p("/moved"), &p("/other"), RenameMode::Overwrite)
        .unwrap();
    assert_eq!(fs::read(j.root.join("other")).unwrap(), b"hello");
    assert_eq!(
        j.fs.rename(&p("/nope"), &p("/x"), RenameMode::NoReplace)
            .unwrap_err()
            .kind(),
        VfsErrorKind::NotFound
    );
}

#[test]
fn directories_links_and_statvfs() {
    let j = jail();
    j.fs.mkdir(&p("/d"), 0o750).unwrap();
    assert!(j.fs.stat(&p("/d")).unwrap().is_dir());
    assert_eq!(
        j.fs.mkdir(&p("/d"), 0o750).unwrap_err().kind(),
        VfsErrorKind::AlreadyExists
    );
    fs::write(j.root.join("d/x"), "x").unwrap();
    assert_eq!(
        j.fs.rmdir(&p("/d")).unwrap_err().kind(),
        VfsErrorKind::DirectoryNotEmpty
    );
    assert_eq!(
        j.fs.remove(&p("/d")).unwrap_err().kind(),
        VfsErrorKind::IsADirectory
    );
    j.fs.remove(&p("/d/x")).unwrap();
    j.fs.rmdir(&p("/d")).unwrap();
    assert!(!j.root.join("d").exists());

    j.fs.hard_link(&p("/file"), &p("/hard")).unwrap();
    assert_eq!(j.fs.stat(&p("/hard")).unwrap().nlink, 2);
    assert_eq!(
        j.fs.read_link(&p("/file")).unwrap_err().kind(),
        VfsErrorKind::InvalidInput
    );
    assert_eq!(
        j.fs.remove(&p("/missing")).unwrap_err().kind(),
        VfsErrorKind::NotFound
    );

    let st = j.fs.statvfs(&p("/")).unwrap();
    assert!(st.block_size > 0 && st.name_max > 0);
    assert_eq!(
        j.fs.realpath(&j.fs.resolve(b"a/../b/./c"))
            .unwrap()
            .as_bytes(),
        b"/b/c"
    );
}

#[test]
fn home_directory_anchors_relative_paths() {
    let j = jail();
    let fs = LocalFs::new(j.root.clone()).unwrap().with_home(p("/etc"));
    assert_eq!(fs.resolve(b"passwd").as_bytes(), b"/etc/passwd");
    assert_eq!(read_all(&fs, &fs.resolve(b"passwd")).unwrap(), b"INSIDE");
    assert_eq!(fs.resolve(b"").as_bytes(), b"/etc");
}

#[test]
fn missing_root_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = LocalFs::new(tmp.path().join("nope")).unwrap_err();
    assert_eq!(err.kind(), VfsErrorKind::NotFound);
}

#[test]
fn lset_stat_never_follows_a_final_symlink() {
    let j = jail();
    // A link whose target is outside the jail by host path: lset_stat must act on the link.
    symlink(j.outside.join("secret"), j.root.join("out")).unwrap();
    fs::set_permissions(j.outside.join("secret"), fs::Permissions::from_mode(0o644)).unwrap();
    let secret_mtime = fs::metadata(j.outside.join("secret")).unwrap().mtime();
    let times = SetAttrs {
        atime: Some(Timestamp {
            secs: 1_100_000_000,
            nanos: 0,
        }),
        mtime: Some(Timestamp {
            secs: 1_200_000_000,
            nanos: 0,
        }),
        ..SetAttrs::default()
    };
    j.fs.lset_stat(&p("/out"), &times).unwrap();
    let link = fs::symlink_metadata(j.root.join("out")).unwrap();
    assert_eq!(link.mtime(), 1_200_000_000);
    assert_eq!(
        fs::metadata(j.outside.join("secret")).unwrap().mtime(),
        secret_mtime
    );
    // Symlinks have no mode on Linux: refused, and the target is untouched.
    let chmod = SetAttrs {
        permissions: Some(0o600),
        ..SetAttrs::default()
    };
    let err = j.fs.lset_stat(&p("/out"), &chmod).unwrap_err();
    assert_eq!(err.kind(), VfsErrorKind::Unsupported);
    let mode = fs::metadata(j.outside.join("secret")).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o644);
    // A regular file is changed like set_stat would; a size is refused.
    j.fs.lset_stat(&p("/file"), &chmod).unwrap();
    assert_eq!(
        fs::metadata(j.root.join("file")).unwrap().mode() & 0o777,
        0o600
    );
    let size = SetAttrs {
        size: Some(0),
        ..SetAttrs::default()
    };
    let err = j.fs.lset_stat(&p("/file"), &size).unwrap_err();
    assert_eq!(err.kind(), VfsErrorKind::InvalidInput);
    assert_eq!(fs::read(j.root.join("file")).unwrap(), b"hello");
    // The root itself is a directory: its times can be set.
    j.fs.lset_stat(&p("/"), &times).unwrap();
    assert_eq!(fs::metadata(&j.root).unwrap().mtime(), 1_200_000_000);
}
