//! Interop: OpenSSH's `sftp` client against the engine, through the `stdio_server` example
//! (`sftp -D`), checking the bytes that land on disk.
//!
//! Skipped (with a message) when `sftp` is not installed.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sftp_available() -> bool {
    Command::new("sftp")
        .arg("-V")
        .output()
        .map(|_| true)
        .unwrap_or(false)
}

/// The example binary, built by `cargo test` next to this test's own executable
/// (`target/<profile>/examples/`); built on demand when a filtered run skipped it.
fn stdio_server() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples").join("stdio_server");
    if !path.exists() {
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let status = Command::new(cargo)
            .args(["build", "-p", "wharf-sftp", "--example", "stdio_server"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert!(path.exists(), "{} missing", path.display());
    path
}

fn run_batch(work: &Path, root: &Path, extra: &str, batch: &str) -> Output {
    let batch_file = work.join("batch");
    fs::write(&batch_file, batch).unwrap();
    let server = format!("{} {extra} {}", stdio_server().display(), root.display());
    Command::new("sftp")
        .current_dir(work)
        .arg("-b")
        .arg(&batch_file)
        .arg("-D")
        .arg(server)
        .output()
        .unwrap()
}

fn pattern(len: usize) -> Vec<u8> {
    // A sequence with period 251 (prime), so misplaced blocks do not compare equal.
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn openssh_sftp_batch_session() {
    if !sftp_available() {
        eprintln!("sftp not installed; skipping");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    let root = tmp.path().join("root");
    fs::create_dir(&work).unwrap();
    fs::create_dir(&root).unwrap();
    // Larger than one read or write request, so transfers are pipelined.
    let big = pattern(3 * 1024 * 1024 + 12345);
    fs::write(work.join("upload.bin"), &big).unwrap();
    fs::write(work.join("small.txt"), "small\n").unwrap();

    let output = run_batch(
        &work,
        &root,
        "",
        "put upload.bin up.bin\n\
         get up.bin down.bin\n\
         mkdir dir\n\
         rename up.bin dir/moved.bin\n\
         ls -l dir\n\
         symlink dir/moved.bin link.bin\n\
         ln dir/moved.bin hard.bin\n\
         chmod 600 dir/moved.bin\n\
         df /\n\
         put small.txt dir/small.txt\n\
         rm dir/small.txt\n\
         rm hard.bin\n\
         get link.bin via_link.bin\n\
         cd dir\n\
         pwd\n\
         get ../../../dir/moved.bin dotdot.bin\n\
         mkdir gone\n\
         rmdir gone\n",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "sftp failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    assert_eq!(fs::read(root.join("dir/moved.bin")).unwrap(), big);
    assert_eq!(fs::read(work.join("down.bin")).unwrap(), big);
    assert_eq!(fs::read(work.join("via_link.bin")).unwrap(), big);
    assert_eq!(fs::read(work.join("dotdot.bin")).unwrap(), big);
    assert!(!root.join("up.bin").exists());
    assert!(!root.join("hard.bin").exists());
    assert!(!root.join("dir/small.txt").exists());
    assert!(!root.join("dir/gone").exists());
    assert_eq!(
        fs::read_link(root.join("link.bin")).unwrap(),
        PathBuf::from("dir/moved.bin")
    );
    let md = fs::metadata(root.join("dir/moved.bin")).unwrap();
    assert_eq!(md.permissions().mode() & 0o777, 0o600);
    assert_eq!(md.nlink(), 1);
    // `ls -l` prints our longname verbatim; `pwd` shows the virtual path.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("-rw") && l.ends_with("moved.bin")),
        "{stdout}"
    );
    assert!(
        stdout.contains("Remote working directory: /dir"),
        "{stdout}"
    );
}

#[test]
fn openssh_sftp_read_only_session() {
    if !sftp_available() {
        eprintln!("sftp not installed; skipping");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    let root = tmp.path().join("root");
    fs::create_dir(&work).unwrap();
    fs::create_dir(&root).unwrap();
    fs::write(root.join("present.txt"), "present\n").unwrap();
    fs::write(work.join("local.txt"), "local\n").unwrap();

    // Reads work; every write is refused and the batch's `-` prefix lets it continue.
    let output = run_batch(
        &work,
        &root,
        "-R",
        "get present.txt fetched.txt\n\
         -put local.txt uploaded.txt\n\
         -mkdir newdir\n\
         -rm present.txt\n\
         -rename present.txt renamed.txt\n",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(fs::read(work.join("fetched.txt")).unwrap(), b"present\n");
    assert!(stderr.contains("Permission denied"), "{stderr}");
    let mut names: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["present.txt"]);
}

#[test]
fn openssh_sftp_server_side_copy() {
    if !sftp_available() {
        eprintln!("sftp not installed; skipping");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    let root = tmp.path().join("root");
    fs::create_dir(&work).unwrap();
    fs::create_dir(&root).unwrap();
    // Several copy-data chunks.
    let big = pattern(1024 * 1024 + 777);
    fs::write(root.join("orig.bin"), &big).unwrap();

    // `cp` (OpenSSH 9.0+) copies with copy-data.
    let output = run_batch(
        &work,
        &root,
        "",
        "cp orig.bin copy.bin\n\
         get copy.bin fetched.bin\n",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("Invalid command") {
        eprintln!("this sftp has no cp command; skipping: {stderr}");
        return;
    }
    assert!(output.status.success(), "{stderr}");
    assert_eq!(fs::read(root.join("copy.bin")).unwrap(), big);
    assert_eq!(fs::read(work.join("fetched.bin")).unwrap(), big);
    assert_eq!(fs::read(root.join("orig.bin")).unwrap(), big);

    // Read-only: the copy is refused and nothing is created.
    let output = run_batch(&work, &root, "-R", "-cp orig.bin second.bin\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!root.join("second.bin").exists());
}
