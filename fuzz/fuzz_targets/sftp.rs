//! The SFTP engine fed a valid INIT for the version the first input byte
//! picks (1 to 6, so every version's codec is reached) and then arbitrary
//! bytes, over a real jailed filesystem in a scratch directory: requests
//! must be answered or refused, never panic, and nothing may appear
//! outside the root.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use wharf_sftp::{SftpConfig, SftpSession};
use wharf_vfs::{LocalFs, Vfs};

fn fs() -> Arc<dyn Vfs> {
    static FS: OnceLock<Arc<dyn Vfs>> = OnceLock::new();
    FS.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("wharf-fuzz-sftp-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("scratch root");
        Arc::new(LocalFs::new(root).expect("open scratch root"))
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else { return };
    let version = 1 + pick % 6;
    let mut session = SftpSession::new(fs(), SftpConfig::default());
    // SSH_FXP_INIT with the chosen version.
    session.receive(&[0, 0, 0, 5, 1, 0, 0, 0, version]);
    session.receive(data);
    let mut out = Vec::new();
    for _ in 0..64 {
        out.clear();
        match session.process(&mut out, 64 * 1024) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
});
