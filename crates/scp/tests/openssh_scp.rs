//! Interop: OpenSSH's real `scp` client (legacy protocol, `-O`) against the engine, through
//! the `scp_stdio` example standing in for ssh (`scp -S`). Checks bytes, modes and mtimes on
//! disk on both sides, and the messages the client prints for errors.
//!
//! Skipped (with a message) when `scp` is not installed.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

fn scp_available() -> bool {
    // `scp` without arguments prints its usage and exits 1; only a spawn failure matters.
    Command::new("scp").output().is_ok()
}

/// The example binary, built by `cargo test` next to this test's executable
/// (`target/<profile>/examples/`); built on demand when a filtered run skipped it.
fn scp_stdio() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples").join("scp_stdio");
    if !path.exists() {
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let status = Command::new(cargo)
            .args(["build", "-p", "wharf-scp", "--example", "scp_stdio"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert!(path.exists(), "{} missing", path.display());
    path
}

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    local: PathBuf,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let local = tmp.path().join("local");
    fs::create_dir(&root).unwrap();
    fs::create_dir(&local).unwrap();
    Env {
        _tmp: tmp,
        root,
        local,
    }
}

/// Runs `scp -O -q -S scp_stdio <args>` in `env.local`, serving `env.root`.
fn scp(env: &Env, args: &[&str]) -> Output {
    let output = Command::new("scp")
        .current_dir(&env.local)
        .env("WHARF_SCP_ROOT", &env.root)
        .arg("-O")
        .arg("-q")
        .arg("-S")
        .arg(scp_stdio())
        .args(args)
        .output()
        .unwrap();
    eprintln!(
        "scp {args:?} -> {:?}\nstderr: {:?}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    // Period 251 (prime), so misplaced blocks do not compare equal.
    (0..len)
        .map(|i| ((i % 251) as u8).wrapping_add(seed))
        .collect()
}

fn set_mtime(path: &Path, secs: u64) {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    let times = fs::FileTimes::new().set_modified(t).set_accessed(t);
    fs::File::open(path).unwrap().set_times(times).unwrap();
}

/// A tree with nested and empty directories, a name with spaces, unicode, odd modes, and
/// mtimes set (directories' last, since writing into them moves theirs).
fn make_tree(dir: &Path) {
    fs::create_dir_all(dir.join("sub/deep")).unwrap();
    fs::create_dir(dir.join("empty")).unwrap();
    fs::write(dir.join("with space.txt"), b"spaced out\n").unwrap();
    fs::write(dir.join("sub/deep/ünïcødé ☃.bin"), pattern(200_000, 7)).unwrap();
    fs::write(dir.join("sub/zero"), b"").unwrap();
    fs::write(dir.join("sub/x.sh"), b"#!/bin/sh\n").unwrap();
    let modes = [
        ("with space.txt", 0o640),
        ("sub/x.sh", 0o755),
        ("sub/zero", 0o600),
        ("sub/deep/ünïcødé ☃.bin", 0o444),
        ("empty", 0o700),
        ("sub/deep", 0o750),
        ("sub", 0o755),
    ];
    for (i, (name, mode)) in modes.iter().enumerate() {
        let path = dir.join(name);
        fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
        set_mtime(&path, 1_500_000_000 + i as u64 * 1000);
    }
    set_mtime(dir, 1_400_000_000);
}

/// Asserts two trees are equal in names, types, bytes, modes and mtimes.
fn assert_same_tree(a: &Path, b: &Path) {
    let list = |p: &Path| {
        let mut names: Vec<_> = fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let (ma, mb) = (fs::metadata(a).unwrap(), fs::metadata(b).unwrap());
    assert_eq!(ma.is_dir(), mb.is_dir(), "{}", b.display());
    assert_eq!(
        ma.mode() & 0o7777,
        mb.mode() & 0o7777,
        "mode of {}",
        b.display()
    );
    assert_eq!(ma.mtime(), mb.mtime(), "mtime of {}", b.display());
    if ma.is_dir() {
        let names = list(a);
        assert_eq!(names, list(b), "entries of {}", b.display());
        for name in names {
            assert_same_tree(&a.join(&name), &b.join(&name));
        }
    } else {
        assert!(
            fs::read(a).unwrap() == fs::read(b).unwrap(),
            "bytes of {}",
            b.display()
        );
    }
}

#[test]
fn single_files_up_and_down() {
    if !scp_available() {
        eprintln!("scp not installed; skipping");
        return;
    }
    let env = env();
    // Several channel-sized chunks and not a multiple of any buffer size.
    let big = pattern(3 * 1024 * 1024 + 12345, 0);
    fs::write(env.local.join("big.bin"), &big).unwrap();
    fs::write(env.local.join("empty"), b"").unwrap();

    let out = scp(&env, &["big.bin", "empty", "host:/"]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
    assert!(fs::read(env.root.join("big.bin")).unwrap() == big);
    assert_eq!(fs::read(env.root.join("empty")).unwrap(), b"");

    // To a new name, then back under another.
    let out = scp(&env, &["big.bin", "host:renamed.bin"]);
    assert!(out.status.success());
    let out = scp(&env, &["host:renamed.bin", "back.bin"]);
    assert!(out.status.success());
    assert!(fs::read(env.local.join("back.bin")).unwrap() == big);

    // A name with spaces, escaped for the remote shell the way scp users must. (Quotes work
    // for the server too, but OpenSSH's client then refuses the name it gets back, as the
    // quoted text is also its pattern for checking incoming names.)
    fs::write(env.root.join("a b.txt"), b"spaces").unwrap();
    let out = scp(&env, &["host:a\\ b.txt", "ab.txt"]);
    assert!(out.status.success());
    assert_eq!(fs::read(env.local.join("ab.txt")).unwrap(), b"spaces");

    // A glob, expanded by the engine as the remote shell would.
    fs::create_dir(env.local.join("globbed")).unwrap();
    let out = scp(&env, &["host:/*.bin", "globbed/"]);
    assert!(out.status.success());
    let mut got: Vec<_> = fs::read_dir(env.local.join("globbed"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, ["big.bin", "renamed.bin"]);
}

#[test]
fn trees_with_r_and_p_up_and_down() {
    if !scp_available() {
        eprintln!("scp not installed; skipping");
        return;
    }
    let env = env();
    make_tree(&env.local.join("tree"));

    let out = scp(&env, &["-r", "-p", "tree", "host:"]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
    assert_same_tree(&env.local.join("tree"), &env.root.join("tree"));

    let out = scp(&env, &["-r", "-p", "host:/tree", "back"]);
    assert!(out.status.success());
    assert_same_tree(&env.root.join("tree"), &env.local.join("back"));

    // Into an existing directory, under a directory with spaces in its name.
    fs::create_dir(env.root.join("dest dir")).unwrap();
    let out = scp(&env, &["-r", "-p", "tree", "host:'dest dir'"]);
    assert!(out.status.success());
    assert_same_tree(&env.local.join("tree"), &env.root.join("dest dir/tree"));
}

#[test]
fn error_messages_as_the_client_prints_them() {
    if !scp_available() {
        eprintln!("scp not installed; skipping");
        return;
    }
    let env = env();
    fs::write(env.local.join("f"), b"f").unwrap();
    fs::write(env.root.join("file"), b"remote").unwrap();
    fs::create_dir(env.root.join("dir")).unwrap();

    let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();

    // A missing source: the client prints the engine's warning as it came.
    let out = scp(&env, &["host:/x", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "scp: /x: No such file or directory\n");
    assert!(!env.local.join("x").exists());

    // One missing among several: the others still arrive.
    fs::create_dir(env.local.join("many")).unwrap();
    let out = scp(&env, &["host:/file", "host:/nope", "many/"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "scp: /nope: No such file or directory\n");
    assert_eq!(fs::read(env.local.join("many/file")).unwrap(), b"remote");

    // A directory without -r.
    let out = scp(&env, &["host:dir", "d"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "scp: dir: not a regular file\n");

    // Several files to a target that is not a directory (the client sends -d).
    let out = scp(&env, &["f", "f", "host:file"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "scp: file: Not a directory\n");
    assert_eq!(fs::read(env.root.join("file")).unwrap(), b"remote");

    // Into a directory that does not exist.
    let out = scp(&env, &["f", "host:/nodir/f"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "scp: /nodir/f: No such file or directory\n");

    // A file onto a directory's name inside the target.
    fs::create_dir(env.root.join("dir/f")).unwrap();
    let out = scp(&env, &["f", "host:dir"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "scp: dir/f: Is a directory\n");
}
