//! The file-transfer engines a session channel can run, behind one face
//! so the driver moves bytes and applies flow control the same way for
//! both. Both are blocking (filesystem calls) and run on the pool.

use wharf_scp::ScpSession;
use wharf_sftp::SftpSession;

pub enum Engine {
    Sftp(SftpSession),
    Scp(ScpSession),
}

impl Engine {
    pub fn receive(&mut self, data: &[u8]) {
        match self {
            Engine::Sftp(s) => s.receive(data),
            Engine::Scp(s) => s.receive(data),
        }
    }

    /// The client sent EOF. SFTP ends when its input is used up; SCP has
    /// to know, to tell a finished upload from a truncated one.
    pub fn receive_eof(&mut self) {
        if let Engine::Scp(s) = self {
            s.receive_eof();
        }
    }

    /// Does what work the buffered input allows; returns input consumed.
    pub fn process(&mut self, out: &mut Vec<u8>, out_limit: usize) -> Result<usize, String> {
        match self {
            Engine::Sftp(s) => s.process(out, out_limit).map_err(|e| e.to_string()),
            Engine::Scp(s) => s.process(out, out_limit).map_err(|e| e.to_string()),
        }
    }

    /// The exit status once the engine has finished by itself (SCP).
    pub fn finished(&self) -> Option<u32> {
        match self {
            Engine::Sftp(_) => None,
            Engine::Scp(s) => s.finished(),
        }
    }

    /// Whether `process` can make progress without new input.
    pub fn wants_process(&self) -> bool {
        match self {
            Engine::Sftp(_) => false,
            Engine::Scp(s) => s.wants_process(),
        }
    }

    /// Diagnostics for the client's stderr (scp -v).
    pub fn take_stderr(&mut self) -> Vec<u8> {
        match self {
            Engine::Sftp(_) => Vec::new(),
            Engine::Scp(s) => s.take_stderr(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Engine::Sftp(_) => "sftp",
            Engine::Scp(_) => "scp",
        }
    }
}
