//! The SFTP engine fed a valid INIT for the version the first input byte
//! picks (1 to 6, so every version's codec is reached) and then arbitrary
//! bytes, over a real jailed filesystem in a scratch directory: requests
//! must be answered or refused, never panic, and nothing may appear
//! outside the root.
//!
//! When the first byte's high bit is set, the second byte picks an
//! extension name and the rest becomes the body of one EXTENDED request
//! with that name, so every extension's parser (xattr, check-file,
//! copy-data, ...) is reached without the fuzzer having to guess names.
//!
//! Bits 4 and 5 of the first byte pick how READ replies leave: through the
//! output buffer only, or also through a direct sink (as the SSH driver
//! reads them into packets) that takes them, makes every other one wait, or refuses them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::IoSliceMut;
use std::sync::{Arc, OnceLock};
use wharf_sftp::{DirectOutcome, DirectReply, SftpConfig, SftpSession};
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

/// SSH_FXP_EXTENDED (200) with request id 1, `name`, then `body`.
fn extended(name: &str, body: &[u8]) -> Vec<u8> {
    let len = 1 + 4 + 4 + name.len() + body.len();
    let mut p = Vec::with_capacity(4 + len);
    p.extend_from_slice(&(len as u32).to_be_bytes());
    p.push(200);
    p.extend_from_slice(&1u32.to_be_bytes());
    p.extend_from_slice(&(name.len() as u32).to_be_bytes());
    p.extend_from_slice(name.as_bytes());
    p.extend_from_slice(body);
    p
}

/// A direct sink with areas of `area` bytes: `mode` 1 takes everything, 2
/// makes every other reply wait, 3 refuses.
struct Sink {
    mode: u8,
    area: usize,
    calls: u32,
    waited: bool,
}

impl DirectReply for Sink {
    fn send_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [IoSliceMut<'_>]) -> usize,
    ) -> DirectOutcome {
        self.calls += 1;
        match self.mode {
            2 if self.calls % 2 == 1 => {
                self.waited = true;
                return DirectOutcome::Later;
            }
            3 => return DirectOutcome::Refused,
            _ => {}
        }
        let mut bufs: Vec<Vec<u8>> = (0..len.div_ceil(self.area))
            .map(|i| vec![0; self.area.min(len - i * self.area)])
            .collect();
        let mut areas: Vec<IoSliceMut<'_>> = bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
        let n = fill(&mut areas);
        assert!(n <= len, "a filler reported more than it was given");
        DirectOutcome::Sent(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let version = 1 + (pick & 0x7f) % 6;
    let mut session = SftpSession::new(fs(), SftpConfig::default());
    // SSH_FXP_INIT with the chosen version.
    session.receive(&[0, 0, 0, 5, 1, 0, 0, 0, version]);
    if pick & 0x80 != 0 {
        let Some((&which, body)) = data.split_first() else {
            return;
        };
        let names = wharf_sftp::extension_names();
        let name = names[usize::from(which) % names.len()];
        session.receive(&extended(name, body));
    } else {
        session.receive(data);
    }
    let mut sink = Sink {
        mode: (pick >> 4) & 3,
        area: 512 + usize::from(pick) * 131,
        calls: 0,
        waited: false,
    };
    let mut out = Vec::new();
    for _ in 0..64 {
        out.clear();
        sink.waited = false;
        let direct = (sink.mode != 0).then_some(&mut sink as &mut dyn DirectReply);
        match session.process_with(&mut out, 64 * 1024, direct) {
            Ok(0) if !sink.waited => break,
            Err(_) => break,
            Ok(_) => {}
        }
    }
});
