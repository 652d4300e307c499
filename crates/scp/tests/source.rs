//! Source mode (`scp -f`, the client downloads): the client's replies are scripted up front
//! (the engine takes one per record), and the emitted records and data are checked byte for
//! byte, T lines included.

mod common;

use std::fs::{self, File, FileTimes};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::*;

fn set_times(path: &Path, mtime: u64, atime: u64) {
    let t = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
    let times = FileTimes::new()
        .set_modified(t(mtime))
        .set_accessed(t(atime));
    // Directories can be opened read-only to set their times too.
    File::open(path).unwrap().set_times(times).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Enough `\0` replies for `n` records.
fn acks(n: usize) -> Vec<u8> {
    vec![0; n]
}

#[test]
fn sends_a_single_file() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("a.txt"), b"hello").unwrap();
    chmod(&tmp.path().join("a.txt"), 0o640);
    let fs_ = local_fs(tmp.path());
    let mut s = session(&fs_, "scp -f /a.txt");
    // Nothing is sent before the client's first \0.
    let o = drive(&mut s, b"", 1, false, usize::MAX);
    assert_eq!(o.out, b"");
    assert_eq!(o.status, None);
    assert!(!s.wants_process());
    let o = drive(&mut s, &acks(3), 1, false, usize::MAX);
    assert_eq!(o.out, b"C0640 5 a.txt\nhello\0");
    assert_eq!(o.status, Some(0));
}

#[test]
fn sends_times_with_p() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("a.txt"), b"hello").unwrap();
    set_times(&tmp.path().join("a.txt"), 1_234_567_890, 1_234_567_000);
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -p -f a.txt", &acks(4));
    assert_eq!(
        o.out,
        b"T1234567890 0 1234567000 0\nC0644 5 a.txt\nhello\0".to_vec()
    );
    assert_eq!(o.status, Some(0));
}

#[test]
fn zero_length_and_multiple_files() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("empty"), b"").unwrap();
    fs::write(tmp.path().join("b"), b"bb").unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -f empty /b", &acks(5));
    assert_eq!(o.out, b"C0644 0 empty\n\0C0644 2 b\nbb\0");
    assert_eq!(o.status, Some(0));
}

/// The records OpenSSH's `rsource()` would send for `dir`, walking it in readdir order (the
/// order the engine sees as well, since the directory does not change).
fn expected_tree(dir: &Path, name: &str, out: &mut Vec<u8>) -> usize {
    let meta = fs::metadata(dir).unwrap();
    let mut records = 0;
    let times = |m: &fs::Metadata| {
        use std::os::unix::fs::MetadataExt;
        format!("T{} 0 {} 0\n", m.mtime(), m.atime())
    };
    out.extend_from_slice(times(&meta).as_bytes());
    out.extend_from_slice(
        format!("D{:04o} 0 {name}\n", meta.permissions().mode() & 0o6777).as_bytes(),
    );
    records += 2;
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let name = entry.file_name().into_string().unwrap();
        let m = fs::metadata(&path).unwrap();
        if m.is_dir() {
            records += expected_tree(&path, &name, out);
        } else {
            out.extend_from_slice(times(&m).as_bytes());
            out.extend_from_slice(
                format!(
                    "C{:04o} {} {name}\n",
                    m.permissions().mode() & 0o6777,
                    m.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(&fs::read(&path).unwrap());
            out.push(0);
            records += 3;
        }
    }
    out.extend_from_slice(b"E\n");
    records + 1
}

#[test]
fn sends_a_tree_with_r_and_p() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    fs::create_dir_all(d.join("sub/deep")).unwrap();
    fs::create_dir(d.join("empty")).unwrap();
    fs::write(d.join("with space.txt"), b"one").unwrap();
    fs::write(d.join("sub/deep/ü.bin"), [0u8, 1, 2, 255]).unwrap();
    fs::write(d.join("sub/z"), b"").unwrap();
    chmod(&d.join("sub/deep/ü.bin"), 0o600);
    chmod(&d.join("empty"), 0o700);
    chmod(&d.join("sub"), 0o750);
    // Access times in the future (2065 on): reading a file or listing a directory does not
    // move them under `relatime` (or `noatime`), so the T lines below stay predictable.
    set_times(&d.join("sub/deep/ü.bin"), 1_000_000_001, 3_000_000_002);
    set_times(&d.join("sub/deep"), 1_100_000_001, 3_100_000_002);
    set_times(&d.join("empty"), 1_200_000_001, 3_200_000_002);
    set_times(&d.join("with space.txt"), 1_300_000_001, 3_300_000_002);
    set_times(&d.join("sub/z"), 1_400_000_001, 3_400_000_002);
    set_times(&d.join("sub"), 1_500_000_001, 3_500_000_002);
    set_times(&d, 1_600_000_001, 3_600_000_002);

    let mut expected = Vec::new();
    let records = expected_tree(&d, "d", &mut expected);
    let fs_ = local_fs(tmp.path());
    let mut s = session(&fs_, "scp -r -p -f /d/");
    // Replies one byte at a time, as a slow client would.
    let o = drive(&mut s, &acks(records + 1), 1, true, usize::MAX);
    assert_eq!(
        String::from_utf8_lossy(&o.out),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(o.out, expected);
    assert_eq!(o.status, Some(0));
    // The T values are the ones set above, and every item is there.
    let text = String::from_utf8_lossy(&o.out);
    for line in [
        "T1600000001 0 3600000002 0\nD0755 0 d\n",
        "T1500000001 0 3500000002 0\nD0750 0 sub\n",
        "T1100000001 0 3100000002 0\nD0755 0 deep\n",
        "T1000000001 0 3000000002 0\nC0600 4 ü.bin\n",
        "T1200000001 0 3200000002 0\nD0700 0 empty\nE\n",
        "T1300000001 0 3300000002 0\nC0644 3 with space.txt\none\0",
        "T1400000001 0 3400000002 0\nC0644 0 z\n\0",
    ] {
        assert!(text.contains(line), "{line:?} missing from {text:?}");
    }
}

#[test]
fn a_missing_source_is_a_warning_and_the_rest_is_sent() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("a.txt"), b"hello").unwrap();
    fs::create_dir(tmp.path().join("d")).unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -f /x d a.txt", &acks(3));
    assert_eq!(
        String::from_utf8_lossy(&o.out),
        "\x01scp: /x: No such file or directory\n\
         \x01scp: d: not a regular file\n\
         C0644 5 a.txt\nhello\0"
    );
    assert_eq!(o.status, Some(1));
}

#[test]
fn a_negative_reply_skips_the_item() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("a"), b"aaa").unwrap();
    fs::write(tmp.path().join("b"), b"bb").unwrap();
    let fs_ = local_fs(tmp.path());
    // The client cannot create "a" locally: it answers the C record with a warning.
    let mut script = vec![0u8];
    script.extend_from_slice(b"\x01scp: a: Permission denied\n");
    script.extend_from_slice(&[0, 0]);
    let o = run(&fs_, "scp -f a b", &script);
    assert_eq!(o.out, b"C0644 3 a\nC0644 2 b\nbb\0");
    assert_eq!(o.status, Some(1));
}

#[test]
fn a_read_error_pads_the_data_and_warns_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("f"), b"0123456789").unwrap();
    fs::write(tmp.path().join("g"), b"ok").unwrap();
    // Reads fail from offset 4 on.
    let fs_ = faulty_fs(tmp.path(), u64::MAX, 4);
    let o = run(&fs_, "scp -f /f /g", &acks(5));
    assert_eq!(
        o.out,
        b"C0644 10 f\n0123\0\0\0\0\0\0\x01scp: /f: Input/output error\nC0644 2 g\nok\0".to_vec()
    );
    assert_eq!(o.status, Some(1));
}

#[test]
fn output_is_cut_at_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(tmp.path().join("f"), &data).unwrap();
    let fs_ = local_fs(tmp.path());
    let mut s = session(&fs_, "scp -f f");
    s.receive(&[0, 0]);
    let mut out = Vec::new();
    s.process(&mut out, 1000).unwrap();
    assert!(out.len() >= 1000 && out.len() < 1100, "{}", out.len());
    // More to send without any input.
    assert!(s.wants_process());
    let o = drive(&mut s, &[0], 1, true, 1000);
    out.extend_from_slice(&o.out);
    let mut expected = b"C0644 10000 f\n".to_vec();
    expected.extend_from_slice(&data);
    expected.push(0);
    assert_eq!(out, expected);
    assert_eq!(o.status, Some(0));
}

#[test]
fn sizes_beyond_4_gib_are_announced_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    // Sparse: takes no space.
    let f = File::create(tmp.path().join("big")).unwrap();
    f.set_len(5 * 1024 * 1024 * 1024 + 3).unwrap();
    drop(f);
    let fs_ = local_fs(tmp.path());
    let mut s = session(&fs_, "scp -f big");
    s.receive(&[0, 0]);
    let mut out = Vec::new();
    s.process(&mut out, 100).unwrap();
    assert!(out.starts_with(b"C0644 5368709123 big\n"));
    assert!(s.wants_process());
}

#[test]
fn globs_in_the_last_component() {
    let tmp = tempfile::tempdir().unwrap();
    let g = tmp.path().join("g");
    fs::create_dir(&g).unwrap();
    for name in ["b.txt", "a.txt", ".hidden.txt", "c.bin", "*.txt"] {
        fs::write(g.join(name), name).unwrap();
    }
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -f /g/*.txt", &acks(20));
    assert_eq!(
        String::from_utf8_lossy(&o.out),
        "C0644 5 *.txt\n*.txt\0C0644 5 a.txt\na.txt\0C0644 5 b.txt\nb.txt\0"
    );
    // Quoted: literal.
    let o = run(&fs_, "scp -f '/g/*.txt'", &acks(20));
    assert_eq!(String::from_utf8_lossy(&o.out), "C0644 5 *.txt\n*.txt\0");
    let o = run(&fs_, "scp -f g/[ab].txt g/?.bin", &acks(20));
    assert_eq!(
        String::from_utf8_lossy(&o.out),
        "C0644 5 a.txt\na.txt\0C0644 5 b.txt\nb.txt\0C0644 5 c.bin\nc.bin\0"
    );
    // No match: the pattern stays as written, as in sh.
    let o = run(&fs_, "scp -f g/*.none", &acks(20));
    assert_eq!(
        String::from_utf8_lossy(&o.out),
        "\x01scp: g/*.none: No such file or directory\n"
    );
    assert_eq!(o.status, Some(1));
}

#[test]
fn quoted_names_with_spaces_and_unicode() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("my file ☃.txt"), b"x").unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(
        &fs_,
        "scp -f \"my file ☃.txt\" my\\ file\\ ☃.txt",
        &acks(20),
    );
    assert_eq!(
        String::from_utf8_lossy(&o.out),
        "C0644 1 my file ☃.txt\nx\0C0644 1 my file ☃.txt\nx\0"
    );
}

#[test]
fn a_name_with_a_newline_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    fs::create_dir(&d).unwrap();
    fs::write(d.join("x\ny"), b"bad").unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -r -f d", &acks(20));
    assert_eq!(
        String::from_utf8_lossy(&o.out),
        "D0755 0 d\n\x01scp: d/x\\012y: skipping, filename contains a newline\nE\n"
    );
    assert_eq!(o.status, Some(1));
    let o = run(&fs_, "scp -f 'd/x\ny'", &acks(20));
    assert_eq!(
        String::from_utf8_lossy(&o.out),
        "\x01scp: d/x\\012y: skipping, filename contains a newline\n"
    );
}

#[test]
fn the_jail_holds_for_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let jail = tmp.path().join("jail");
    fs::create_dir(&jail).unwrap();
    let mut secret = File::create(tmp.path().join("secret")).unwrap();
    secret.write_all(b"secret").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret"), jail.join("abs")).unwrap();
    std::os::unix::fs::symlink("../secret", jail.join("rel")).unwrap();
    let fs_ = local_fs(&jail);
    let o = run(
        &fs_,
        "scp -r -f ../secret /abs rel /../secret ~/../secret",
        &acks(20),
    );
    let text = String::from_utf8_lossy(&o.out);
    assert!(!text.contains("secret\0"), "{text:?}");
    assert!(!text.contains('C'), "{text:?}");
    assert_eq!(o.status, Some(1));
}

#[test]
fn the_root_cannot_be_sent_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -r -f /", &acks(5));
    assert_eq!(
        String::from_utf8_lossy(&o.out),
        "\x01scp: /: cannot copy the root directory by name\n"
    );
}

#[test]
fn fatal_reply_and_eof_end_the_transfer() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("a"), b"a").unwrap();
    fs::write(tmp.path().join("b"), b"b").unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -f a b", b"\0\x02scp: disk full\n");
    assert_eq!(o.out, b"C0644 1 a\n");
    assert_eq!(o.status, Some(1));
    assert!(has_error(&o, "disk full"));
    let o = run(&fs_, "scp -f a b", b"\0\0");
    assert_eq!(o.out, b"C0644 1 a\na\0");
    assert_eq!(o.status, Some(1));
    assert!(has_error(&o, "mid-transfer"));
    // An unknown status byte is fatal, like OpenSSH's response().
    let o = run(&fs_, "scp -f a b", b"\0X\n");
    assert_eq!(o.status, Some(1));
    assert!(has_error(&o, "fatal"));
}

#[test]
fn no_operands_is_an_empty_transfer() {
    let tmp = tempfile::tempdir().unwrap();
    let fs_ = local_fs(tmp.path());
    let o = run(&fs_, "scp -f", &acks(1));
    assert_eq!((o.out.as_slice(), o.status), (&b""[..], Some(0)));
}

#[test]
fn verbose_source_logs_records() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("a"), b"a").unwrap();
    let fs_ = local_fs(tmp.path());
    let mut s = session(&fs_, "scp -v -f a");
    drive(&mut s, &acks(3), 1, true, usize::MAX);
    assert_eq!(s.take_stderr(), b"Sending file modes: C0644 1 a\n");
}

#[test]
fn special_files_are_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(tmp.path().join("fifo"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !made {
        eprintln!("mkfifo not available; skipping");
        return;
    }
    fs::write(tmp.path().join("a"), b"a").unwrap();
    let fs_ = local_fs(tmp.path());
    // Reading a FIFO with no writer would block forever; it is skipped with a warning.
    let o = run(&fs_, "scp -f fifo a", &acks(3));
    assert_eq!(
        String::from_utf8_lossy(&o.out),
        "\x01scp: fifo: not a regular file\nC0644 1 a\na\0"
    );
    // Writing one (no reader) would block too: the upload gets a warning instead.
    let o = run(&fs_, "scp -t /fifo", b"C0644 1 x\n");
    assert_eq!(o.out[0], 0);
    assert!(
        o.out.starts_with(b"\0\x01scp: /fifo: "),
        "{:?}",
        String::from_utf8_lossy(&o.out)
    );
    assert_eq!(o.status, Some(1));
    assert!(tmp.path().join("fifo").exists());
}

/// Takes file data straight "into packets" of `area` bytes, as the SSH driver does, until
/// `room` runs out; then asks the engine to wait.
struct Packets {
    area: usize,
    room: usize,
    sent: Vec<u8>,
}

impl wharf_vfs::DirectReply for Packets {
    fn send_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [std::io::IoSliceMut<'_>]) -> usize,
    ) -> wharf_vfs::DirectOutcome {
        if len > self.room {
            return wharf_vfs::DirectOutcome::Later;
        }
        let mut bufs: Vec<Vec<u8>> = (0..len.div_ceil(self.area))
            .map(|i| vec![0xee; self.area.min(len - i * self.area)])
            .collect();
        let mut areas: Vec<_> = bufs
            .iter_mut()
            .map(|b| std::io::IoSliceMut::new(b))
            .collect();
        let n = fill(&mut areas);
        self.sent.extend_from_slice(&bufs.concat()[..n]);
        self.room -= n;
        wharf_vfs::DirectOutcome::Sent(n)
    }
}

#[test]
fn file_data_goes_straight_to_the_packets_and_waits_for_room() {
    let tmp = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..700_000u32).map(|i| (i * 31 % 253) as u8).collect();
    fs::write(tmp.path().join("big"), &data).unwrap();
    chmod(&tmp.path().join("big"), 0o600);
    let fs_ = local_fs(tmp.path());
    let mut s = session(&fs_, "scp -f /big");
    let mut packets = Packets {
        area: 32_704,
        room: 300_000,
        sent: Vec::new(),
    };
    let step = |s: &mut wharf_scp::ScpSession, input: &[u8], packets: &mut Packets| {
        s.receive(input);
        let mut out = Vec::new();
        s.process_with(&mut out, usize::MAX, Some(packets)).unwrap();
        out
    };
    // The record goes through `out`; its reply lets the data flow.
    assert_eq!(step(&mut s, b"\0", &mut packets), b"C0600 700000 big\n");
    // One 256 KiB chunk fits the room; the next waits for it.
    assert_eq!(step(&mut s, b"\0", &mut packets), b"");
    assert_eq!(packets.sent.len(), 256 * 1024);
    assert!(s.wants_process(), "paused with data left to send");
    assert_eq!(step(&mut s, b"", &mut packets), b"");
    assert_eq!(packets.sent.len(), 256 * 1024);
    // Room again: the rest, then the end-of-file \0 (through `out`).
    packets.room = usize::MAX;
    assert_eq!(step(&mut s, b"", &mut packets), b"\0");
    assert_eq!(packets.sent, data);
}
