//! Sink mode (`scp -t`, the client uploads): byte scripts as OpenSSH's client would send them,
//! against a jailed LocalFs, checking the server's replies byte for byte and what lands on disk.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::*;
use wharf_scp::{ScpConfig, ScpSession, MAX_LINE};

#[test]
fn uploads_a_single_file() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -t -- /", b"C0644 5 a.txt\nhello\0");
    // First \0 (ready), \0 for the C record, \0 after the data.
    assert_eq!(o.out, b"\0\0\0");
    assert_eq!(o.status, Some(0));
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_eq!(fs::read(tmp.path().join("a.txt")).unwrap(), b"hello");
    assert_eq!(mode_of(&tmp.path().join("a.txt")), 0o644);
}

#[test]
fn uploads_to_a_new_name_and_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("old.txt"), b"a much longer old content").unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -t old.txt", b"C0600 3 ignored-name\nnew\0");
    assert_eq!((o.out.as_slice(), o.status), (&b"\0\0\0"[..], Some(0)));
    assert_eq!(fs::read(tmp.path().join("old.txt")).unwrap(), b"new");
    // Without -p an existing file keeps its mode, as with OpenSSH.
    assert_eq!(mode_of(&tmp.path().join("old.txt")), 0o644);
    assert_eq!(listing(tmp.path()), ["old.txt"]);

    let o = run(&fs_, "scp -t /dir/../fresh", b"C0640 2 x\nhi\0");
    assert_eq!(o.status, Some(0));
    assert_eq!(fs::read(tmp.path().join("fresh")).unwrap(), b"hi");
}

#[test]
fn zero_length_file() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -t /", b"C0600 0 empty\n\0");
    assert_eq!((o.out.as_slice(), o.status), (&b"\0\0\0"[..], Some(0)));
    let meta = fs::metadata(tmp.path().join("empty")).unwrap();
    assert_eq!(meta.len(), 0);
    assert_eq!(mode_of(&tmp.path().join("empty")), 0o600);
}

#[test]
fn names_with_spaces_and_unicode() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -t '/'", "C0644 2 my file ☃.txt\nhi\0".as_bytes());
    assert_eq!(o.status, Some(0));
    assert_eq!(fs::read(tmp.path().join("my file ☃.txt")).unwrap(), b"hi");
}

const TREE: &[u8] = b"D0755 0 top\n\
C0644 3 f\nabc\0\
D0700 0 empty\nE\n\
D0750 0 sub\n\
C0640 2 g\nhi\0\
E\n\
E\n";

fn check_tree(root: &std::path::Path) {
    assert_eq!(listing(root), ["top"]);
    assert_eq!(listing(&root.join("top")), ["empty", "f", "sub"]);
    assert_eq!(listing(&root.join("top/empty")), Vec::<String>::new());
    assert_eq!(fs::read(root.join("top/f")).unwrap(), b"abc");
    assert_eq!(fs::read(root.join("top/sub/g")).unwrap(), b"hi");
    assert_eq!(mode_of(&root.join("top")), 0o755);
    assert_eq!(mode_of(&root.join("top/empty")), 0o700);
    assert_eq!(mode_of(&root.join("top/sub")), 0o750);
    assert_eq!(mode_of(&root.join("top/sub/g")), 0o640);
}

#[test]
fn nested_directories_with_an_empty_one() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -r -t /", TREE);
    // ready, D top, C f, f data, D empty, E, D sub, C g, g data, E, E.
    assert_eq!(o.out, [0u8; 11]);
    assert_eq!(o.status, Some(0));
    check_tree(tmp.path());
}

#[test]
fn byte_at_a_time_input_gives_the_same_result() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let mut s = session(&fs_, "scp -r -t /");
    let o = drive(&mut s, TREE, 1, true, usize::MAX);
    assert_eq!(o.out, [0u8; 11]);
    assert_eq!(o.status, Some(0));
    check_tree(tmp.path());
}

#[test]
fn times_and_modes_with_p() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let script = b"T1000000000 0 1100000000 0\n\
D0751 0 d\n\
T1234567890 500000 1234567000 0\n\
C0666 3 f\nabc\0\
C4755 1 suid\nx\0\
E\n";
    let o = run(&fs_, "scp -r -p -t /", script);
    // ready, T, D, T, C, data, C, data, E.
    assert_eq!(o.out, [0u8; 9]);
    assert_eq!(o.status, Some(0));
    let f = fs::metadata(tmp.path().join("d/f")).unwrap();
    assert_eq!((f.mtime(), f.mtime_nsec()), (1_234_567_890, 500_000_000));
    assert_eq!((f.atime(), f.atime_nsec()), (1_234_567_000, 0));
    // -p applies the client's mode as sent (no umask), but never set-id bits.
    assert_eq!(mode_of(&tmp.path().join("d/f")), 0o666);
    assert_eq!(mode_of(&tmp.path().join("d/suid")), 0o755);
    let d = fs::metadata(tmp.path().join("d")).unwrap();
    assert_eq!(d.mtime(), 1_000_000_000);
    assert_eq!(d.atime(), 1_100_000_000);
    assert_eq!(mode_of(&tmp.path().join("d")), 0o751);
}

#[test]
fn modes_without_p_are_under_the_umask() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let config = ScpConfig {
        umask: 0o027,
        ..ScpConfig::default()
    };
    let script =
        b"C0666 1 a\nx\0C0444 1 ro\nx\0C6777 1 s\nx\0D0777 0 d\nE\nT1 0 1 0\nC0644 0 t\n\0";
    let o = run_with(&fs_, "scp -r -t /", config, script);
    assert_eq!(o.status, Some(0), "{:?}", o);
    assert_eq!(mode_of(&tmp.path().join("a")), 0o640);
    // Created owner-writable to write the data, then set to the client's (masked) mode.
    assert_eq!(mode_of(&tmp.path().join("ro")), 0o440);
    assert_eq!(mode_of(&tmp.path().join("s")), 0o750);
    assert_eq!(mode_of(&tmp.path().join("d")), 0o750);
    // Without -p a T record is accepted; OpenSSH's client sends none then anyway.
    assert!(tmp.path().join("t").exists());
}

#[test]
fn huge_declared_size_is_parsed_and_a_truncated_transfer_cleaned_up() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    // 5 GiB declared, 1000 bytes sent, then EOF.
    let mut script = b"C0644 5368709120 huge\n".to_vec();
    script.extend_from_slice(&[7u8; 1000]);
    let mut s = session(&fs_, "scp -t /");
    let o = drive(&mut s, &script, usize::MAX, false, usize::MAX);
    // The record was accepted (u64 size, no overflow) and data is being written.
    assert_eq!(o.out, b"\0\0");
    assert_eq!(o.status, None);
    assert_eq!(fs::metadata(tmp.path().join("huge")).unwrap().len(), 1000);
    s.receive_eof();
    let o = drive(&mut s, b"", 1, false, usize::MAX);
    assert_eq!(o.out, b"\x02scp: lost connection\n");
    assert_eq!(o.status, Some(1));
    assert!(has_error(&o, "mid-transfer"), "{:?}", o.errors);
    assert_eq!(listing(tmp.path()), Vec::<String>::new());
}

#[test]
fn eof_mid_file_removes_the_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -t /", b"C0644 1 done\nx\0C0644 10 f\nabc");
    assert_eq!(o.out, b"\0\0\0\0\x02scp: lost connection\n");
    assert_eq!(o.status, Some(1));
    assert_eq!(listing(tmp.path()), ["done"]);

    // All data, but EOF before the status byte: not confirmed, so removed too.
    let o = run(&fs_, "scp -t /", b"C0644 3 g\nabc");
    assert_eq!(o.status, Some(1));
    assert_eq!(listing(tmp.path()), ["done"]);

    // An existing file overwritten and cut short is removed as well: no partial file under
    // the target's name.
    let o = run(&fs_, "scp -t /done", b"C0644 5 x\nab");
    assert_eq!(o.status, Some(1));
    assert_eq!(listing(tmp.path()), Vec::<String>::new());
}

#[test]
fn keep_partial_keeps_it() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let config = ScpConfig {
        keep_partial: true,
        ..ScpConfig::default()
    };
    let o = run_with(&fs_, "scp -t /", config, b"C0644 10 f\nabc");
    assert_eq!(o.status, Some(1));
    assert_eq!(fs::read(tmp.path().join("f")).unwrap(), b"abc");
}

#[test]
fn dropping_the_session_mid_file_removes_the_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let mut s = session(&fs_, "scp -t /");
    let o = drive(&mut s, b"C0644 10 f\nabc", usize::MAX, false, usize::MAX);
    assert_eq!(o.status, None);
    assert!(tmp.path().join("f").exists());
    drop(s);
    assert!(!tmp.path().join("f").exists());
}

#[test]
fn bad_names_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("jail")).unwrap();
    let fs_ = local_fs(&tmp.path().join("jail"));
    for (name, shown) in [
        (&b"../x"[..], &b"../x"[..]),
        (b"a/b", b"a/b"),
        (b"", b""),
        (b"..", b".."),
        (b".", b"."),
        (b"/etc", b"/etc"),
        (b"x\0y", b"x\\000y"),
    ] {
        for kind in [b'C', b'D'] {
            let mut script = vec![kind];
            script.extend_from_slice(b"0644 1 ");
            script.extend_from_slice(name);
            script.extend_from_slice(b"\nx\0");
            let o = run(&fs_, "scp -r -t /", &script);
            let mut expected = b"\0\x02scp: error: unexpected filename: ".to_vec();
            expected.extend_from_slice(shown);
            expected.push(b'\n');
            assert_eq!(o.out, expected, "{:?}", String::from_utf8_lossy(name));
            assert_eq!(o.status, Some(1));
            assert!(has_error(&o, "unexpected filename"));
        }
    }
    // A newline ends the record: "x\ny" is a file "x" followed by a garbage status byte,
    // which ends the transfer and removes "x". Nothing named "x\ny" (or "x") remains.
    let o = run(&fs_, "scp -t /", b"C0644 0 x\ny\n");
    assert_eq!(o.status, Some(1));
    assert!(has_error(&o, "fatal"), "{:?}", o.errors);
    assert_eq!(listing(&tmp.path().join("jail")), Vec::<String>::new());
    assert_eq!(listing(tmp.path()), ["jail"]);
}

#[test]
fn bad_modes_and_garbage_records_are_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let too_long = vec![b'C'; MAX_LINE + 10];
    let cases: Vec<(&[u8], &str)> = vec![
        (b"C0648 1 x\n", "bad mode"),
        (b"C644 1 x\n", "bad mode"),
        (b"Cabcd 1 x\n", "bad mode"),
        (b"C0644x 1 x\n", "mode not delimited"),
        (b"C0644 -1 x\n", "size not present"),
        (b"C0644 1x x\n", "size not delimited"),
        (b"C0644 99999999999999999999 x\n", "size out of range"),
        (b"T1 0 1\n", "atime.sec not delimited"),
        (b"T1 1000000 1 0\n", "mtime.usec not delimited"),
        (b"T99999999999999999999 0 0 0\n", "mtime.sec out of range"),
        (b"hello\n", "expected control record"),
        (b"\n", "unexpected <newline>"),
        (&too_long, "record too long"),
        (b"D0755 0 d\n", "received directory without -r"),
    ];
    for (script, why) in cases {
        let o = run(&fs_, "scp -t /", script);
        let expected = format!("\0\x02scp: protocol error: {why}\n");
        assert_eq!(
            String::from_utf8_lossy(&o.out),
            expected,
            "{:?}",
            String::from_utf8_lossy(script)
        );
        assert_eq!(o.status, Some(1));
        assert!(has_error(&o, why), "{:?}", o.errors);
    }
    assert_eq!(listing(tmp.path()), Vec::<String>::new());

    // A record cut short by EOF.
    let o = run(&fs_, "scp -t /", b"C0644 1");
    assert_eq!(o.out, b"\0\x02scp: lost connection\n");
    assert_eq!(o.status, Some(1));
}

#[test]
fn target_must_be_a_directory_with_d() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("file"), b"x").unwrap();
    fs::create_dir(tmp.path().join("dir")).unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -d -t /file", b"C0644 1 a\nx\0");
    assert_eq!(o.out, b"\x02scp: /file: Not a directory\n");
    assert_eq!(o.status, Some(1));
    let o = run(&fs_, "scp -d -t nope", b"");
    assert_eq!(o.out, b"\x02scp: nope: No such file or directory\n");
    assert_eq!(o.status, Some(1));
    let o = run(&fs_, "scp -d -t /dir", b"C0644 1 a\nx\0C0644 1 b\ny\0");
    assert_eq!((o.out.as_slice(), o.status), (&[0u8; 5][..], Some(0)));
    assert_eq!(listing(&tmp.path().join("dir")), ["a", "b"]);
    assert_eq!(fs::read(tmp.path().join("file")).unwrap(), b"x");
}

#[test]
fn ambiguous_target() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -t a b", b"");
    assert_eq!(o.out, b"\x02scp: ambiguous target\n");
    assert_eq!(o.status, Some(1));
}

#[test]
fn a_file_that_cannot_be_created_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("adir")).unwrap();
    let fs_ = local_fs(tmp.path());
    // The client skips the data after a warning, and goes on with the next file.
    let o = run(&fs_, "scp -t /nodir/x", b"C0644 3 a\n");
    assert_eq!(o.out, b"\0\x01scp: /nodir/x: No such file or directory\n");
    assert_eq!(o.status, Some(1));
    let o = run(&fs_, "scp -t /", b"C0644 3 adir\nC0644 1 ok\nx\0");
    assert_eq!(o.out, b"\0\x01scp: /adir: Is a directory\n\0\0");
    assert_eq!(o.status, Some(1));
    assert_eq!(fs::read(tmp.path().join("ok")).unwrap(), b"x");
    // A D record onto a file: the client skips the directory's contents.
    let o = run(&fs_, "scp -r -t /", b"D0755 0 ok\nC0644 1 z\nz\0");
    assert_eq!(o.out, b"\0\x01scp: /ok: Not a directory\n\0\0");
    assert_eq!(o.status, Some(1));
}

#[test]
fn a_write_error_consumes_the_data_and_is_reported_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    // Writes fail once more than 4 bytes would have been written to one file.
    let fs_ = faulty_fs(tmp.path(), 4, u64::MAX);
    let mut s = session(&fs_, "scp -t /");
    let script = b"C0644 10 f\n0123456789\0C0644 2 g\nok\0";
    // In small pieces so that several writes happen.
    let o = drive(&mut s, script, 3, true, usize::MAX);
    assert_eq!(o.out, b"\0\0\x01scp: /f: Input/output error\n\0\0".to_vec());
    assert_eq!(o.status, Some(1));
    // The failed file is removed; the stream stayed in step for the next one.
    assert_eq!(listing(tmp.path()), ["g"]);
    assert_eq!(fs::read(tmp.path().join("g")).unwrap(), b"ok");
}

#[test]
fn client_replies_after_data() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    // The client could not read its file: it pads and sends a warning instead of \0.
    let o = run(
        &fs_,
        "scp -t /",
        b"C0644 3 f\n\0\0\0\x01scp: f: Input/output error\n",
    );
    assert_eq!(o.out, b"\0\0\0");
    assert_eq!(o.status, Some(1));
    assert_eq!(listing(tmp.path()), Vec::<String>::new());
    // A fatal reply ends the transfer and removes the file.
    let o = run(
        &fs_,
        "scp -t /",
        b"C0644 3 f\nabc\x02scp: gone\nC0644 1 g\nx\0",
    );
    assert_eq!(o.out, b"\0\0");
    assert_eq!(o.status, Some(1));
    assert!(has_error(&o, "scp: gone"));
    assert_eq!(listing(tmp.path()), Vec::<String>::new());
    // Warning records between files are counted, and the transfer goes on.
    let o = run(&fs_, "scp -t /", b"\x01scp: x: skipped\nC0644 1 g\nx\0");
    assert_eq!(o.out, b"\0\0\0");
    assert_eq!(o.status, Some(1));
    assert_eq!(listing(tmp.path()), ["g"]);
}

#[test]
fn max_file_size_refuses_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let config = ScpConfig {
        max_file_size: Some(10),
        ..ScpConfig::default()
    };
    let o = run_with(
        &fs_,
        "scp -t /",
        config,
        b"C0644 11 big\nC0644 10 ok\n0123456789\0",
    );
    assert_eq!(o.out, b"\0\x01scp: /big: File too large\n\0\0");
    assert_eq!(o.status, Some(1));
    assert_eq!(listing(tmp.path()), ["ok"]);
}

#[test]
fn the_jail_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let jail = tmp.path().join("jail");
    let outside = tmp.path().join("outside");
    fs::create_dir(&jail).unwrap();
    fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, jail.join("link")).unwrap();
    std::os::unix::fs::symlink("../../outside", jail.join("rel")).unwrap();
    let fs_ = local_fs(&jail);
    for target in [
        "/../../outside",
        "/link",
        "/rel",
        "../outside",
        "~/../outside",
    ] {
        let command = format!("scp -r -t {target}");
        let o = run(
            &fs_,
            &command,
            b"C0644 1 f\nx\0D0755 0 d\nC0644 1 g\ny\0E\n",
        );
        assert!(o.status.is_some(), "{target}");
    }
    assert_eq!(listing(&outside), Vec::<String>::new());
}

#[test]
fn top_level_e_ends_the_transfer_and_eof_inside_a_directory_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -r -t /", b"E\nC0644 1 late\nx\0");
    assert_eq!((o.out.as_slice(), o.status), (&b"\0\0"[..], Some(0)));
    assert!(!tmp.path().join("late").exists());
    // A tree cut short between records: complete files stay, directories get their
    // attributes, and the status says it went wrong.
    let o = run(&fs_, "scp -r -p -t /", b"D0700 0 d\nC0644 1 f\nx\0");
    assert_eq!(o.status, Some(1));
    assert_eq!(fs::read(tmp.path().join("d/f")).unwrap(), b"x");
    assert_eq!(mode_of(&tmp.path().join("d")), 0o700);
}

#[test]
fn bytes_missing_counts_the_rest_of_the_file_being_received() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let mut s = ScpSession::from_command(fs_, "scp -t /", ScpConfig::default()).unwrap();
    let mut out = Vec::new();
    s.process(&mut out, 1024).unwrap();
    assert_eq!(s.input_bytes_missing(), 0);
    s.receive(b"C0644 100000 big\n");
    s.process(&mut out, 1024).unwrap();
    assert_eq!(s.input_bytes_missing(), 100_000);
    // Received but not yet processed counts as arrived.
    s.receive(&[7; 30_000]);
    assert_eq!(s.input_bytes_missing(), 70_000);
    s.process(&mut out, 1024).unwrap();
    assert_eq!(s.input_bytes_missing(), 70_000);
    s.receive(&[7; 70_000]);
    s.process(&mut out, 1024).unwrap();
    // Waiting for the status byte, not file data.
    assert_eq!(s.input_bytes_missing(), 0);
}

#[test]
fn wants_process_and_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let mut s = ScpSession::from_command(fs_, "scp -t /", ScpConfig::default()).unwrap();
    // The sink speaks first.
    assert!(s.wants_process());
    assert_eq!(s.finished(), None);
    let mut out = Vec::new();
    assert_eq!(s.process(&mut out, 1024).unwrap(), 0);
    assert_eq!(out, b"\0");
    assert!(!s.wants_process());
    s.receive(b"C0644 2 a\nhi");
    assert!(s.wants_process());
    out.clear();
    // The record and both data bytes are consumed.
    assert_eq!(s.process(&mut out, 1024).unwrap(), 12);
    assert_eq!(out, b"\0");
    s.receive(b"\0");
    out.clear();
    assert_eq!(s.process(&mut out, 1024).unwrap(), 1);
    assert_eq!(out, b"\0");
    assert_eq!(s.finished(), None);
    s.receive_eof();
    out.clear();
    assert_eq!(s.process(&mut out, 1024).unwrap(), 0);
    assert_eq!(s.finished(), Some(0));
    assert!(!s.wants_process());
    // Finished: nothing more happens.
    s.receive(b"C0644 1 b\nx\0");
    assert_eq!(s.process(&mut out, 1024).unwrap(), 0);
}

#[test]
fn verbose_diagnostics_go_to_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let mut s = session(&fs_, "scp -v -t /");
    drive(&mut s, b"C0644 1 a\nx\0", usize::MAX, true, usize::MAX);
    assert_eq!(s.take_stderr(), b"Sink: C0644 1 a\n");
    assert!(s.take_stderr().is_empty());
    let mut quiet = session(&fs_, "scp -t /");
    drive(&mut quiet, b"C0644 1 a\nx\0", usize::MAX, true, usize::MAX);
    assert!(quiet.take_stderr().is_empty());
}

#[test]
fn commands_that_are_not_scp_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    for command in [
        "ls",
        "scp",
        "scp -x -t /",
        "scp -t / ; rm -rf /",
        "sh -c 'scp -t /'",
    ] {
        assert!(
            ScpSession::from_command(fs_.clone(), command, ScpConfig::default()).is_err(),
            "{command}"
        );
    }
}
