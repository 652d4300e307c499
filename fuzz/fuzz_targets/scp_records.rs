//! Arbitrary bytes into a sink-mode (`scp -t`, upload) session over a LocalFs jailed in a temp
//! directory: records, file data and replies, cut into pieces of varying size. Checks that
//! nothing panics, that the session always finishes once it has seen EOF, and that nothing is
//! written outside the jail.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use wharf_scp::{ScpConfig, ScpSession};
use wharf_vfs::{LocalFs, Vfs};

struct Jail {
    base: PathBuf,
    root: PathBuf,
    fs: Arc<dyn Vfs>,
}

/// Created once per fuzzing process: `base/root` is the user's `/`, `base/outside` a sentinel.
fn jail() -> &'static Jail {
    static JAIL: OnceLock<Jail> = OnceLock::new();
    JAIL.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("wharf-scp-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(base.join("outside"), b"sentinel").unwrap();
        let fs = Arc::new(LocalFs::new(root.clone()).unwrap());
        Jail { base, root, fs }
    })
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Makes a tree removable whatever modes the input gave its directories.
fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                open_up(&entry.path());
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let jail = jail();
    let work = jail.root.join("w");
    let _ = std::fs::create_dir(&work);
    // The first byte picks the options and how the input is cut.
    let (ctl, script) = data.split_first().map_or((0, &[][..]), |(c, s)| (*c, s));
    let command = match ctl & 3 {
        0 => "scp -t /w",
        1 => "scp -r -t /w",
        2 => "scp -r -p -t /w",
        _ => "scp -v -r -p -d -t -- /w",
    };
    let config = ScpConfig {
        keep_partial: ctl & 4 != 0,
        max_file_size: Some(1 << 20),
        ..ScpConfig::default()
    };
    let mut session = ScpSession::from_command(jail.fs.clone(), command, config).unwrap();
    let chunk = 1 + usize::from(ctl >> 3) * 7;
    let mut out = Vec::new();
    let _ = session.process(&mut out, 4096);
    for piece in script.chunks(chunk) {
        if session.finished().is_some() {
            break;
        }
        session.receive(piece);
        out.clear();
        let _ = session.process(&mut out, 4096);
    }
    session.receive_eof();
    let mut rounds = 0;
    while session.finished().is_none() {
        rounds += 1;
        assert!(rounds < 1_000_000, "session never finished after EOF");
        out.clear();
        let _ = session.process(&mut out, 4096);
    }
    let _ = session.take_stderr();
    drop(session);

    // Nothing escaped the jail.
    assert_eq!(names(&jail.base), ["outside", "root"]);
    assert_eq!(
        std::fs::read(jail.base.join("outside")).unwrap(),
        b"sentinel"
    );
    let top = names(&jail.root);
    assert!(top.is_empty() || top == ["w"], "{top:?}");

    open_up(&work);
    let _ = std::fs::remove_dir_all(&work);
});
