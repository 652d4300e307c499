//! A minimal russh + russh-sftp server, the reference point issue 6 names
//! ("a minimal russh + russh-sftp server"): public-key login for one key,
//! the sftp subsystem over one directory, files read and written with
//! pread/pwrite. Only what OpenSSH's `sftp` needs for get and put. For the
//! benchmark only: no jail, no error detail, not for serving anyone.

use std::collections::HashMap;
use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use russh::server::{Auth, Msg, Server as _, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId};
use russh_sftp::protocol::{
    Attrs, Data, File as SftpFile, FileAttributes, Handle, Name, OpenFlags, Status, StatusCode,
    Version,
};
use tokio::sync::Mutex;

#[derive(Clone)]
struct Server {
    user_key: Arc<russh::keys::ssh_key::PublicKey>,
    root: Arc<PathBuf>,
}

impl russh::server::Server for Server {
    type Handler = SshSession;

    fn new_client(&mut self, _: Option<SocketAddr>) -> SshSession {
        SshSession {
            server: self.clone(),
            channels: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

struct SshSession {
    server: Server,
    channels: Arc<Mutex<HashMap<ChannelId, Channel<Msg>>>>,
}

impl russh::server::Handler for SshSession {
    type Error = anyhow::Error;

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if key.public_key.key_data() == self.server.user_key.key_data() {
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.lock().await.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.close(channel)?;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel_id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let channel = self.channels.lock().await.remove(&channel_id);
        match channel {
            Some(channel) if name == "sftp" => {
                session.channel_success(channel_id)?;
                let sftp = Sftp {
                    root: self.server.root.clone(),
                    files: HashMap::new(),
                    next: 0,
                };
                russh_sftp::server::run(channel.into_stream(), sftp).await;
            }
            _ => session.channel_failure(channel_id)?,
        }
        Ok(())
    }
}

struct Sftp {
    root: Arc<PathBuf>,
    files: HashMap<String, File>,
    next: u64,
}

impl Sftp {
    /// Paths are taken relative to the root, as the client's home.
    fn path(&self, p: &str) -> PathBuf {
        let rel = p.trim_start_matches('/');
        if rel.is_empty() || rel == "." {
            self.root.to_path_buf()
        } else {
            self.root.join(rel)
        }
    }
}

fn ok(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Ok".into(),
        language_tag: "en-US".into(),
    }
}

fn io_status(e: std::io::Error) -> StatusCode {
    match e.kind() {
        std::io::ErrorKind::NotFound => StatusCode::NoSuchFile,
        std::io::ErrorKind::PermissionDenied => StatusCode::PermissionDenied,
        _ => StatusCode::Failure,
    }
}

impl russh_sftp::server::Handler for Sftp {
    type Error = StatusCode;

    fn unimplemented(&self) -> StatusCode {
        StatusCode::OpUnsupported
    }

    async fn init(
        &mut self,
        _version: u32,
        _ext: HashMap<String, String>,
    ) -> Result<Version, StatusCode> {
        Ok(Version::new())
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, StatusCode> {
        let mut clean = String::from("/");
        clean.push_str(path.trim_start_matches('/').trim_start_matches("./"));
        if clean.len() > 1 && clean.ends_with('/') {
            clean.pop();
        }
        if clean == "/." {
            clean = "/".into();
        }
        Ok(Name {
            id,
            files: vec![SftpFile::dummy(&clean)],
        })
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, StatusCode> {
        let m = std::fs::metadata(self.path(&path)).map_err(io_status)?;
        Ok(Attrs {
            id,
            attrs: FileAttributes::from(&m),
        })
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, StatusCode> {
        let m = std::fs::symlink_metadata(self.path(&path)).map_err(io_status)?;
        Ok(Attrs {
            id,
            attrs: FileAttributes::from(&m),
        })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, StatusCode> {
        let f = self.files.get(&handle).ok_or(StatusCode::Failure)?;
        let m = f.metadata().map_err(io_status)?;
        Ok(Attrs {
            id,
            attrs: FileAttributes::from(&m),
        })
    }

    async fn setstat(
        &mut self,
        id: u32,
        _path: String,
        _attrs: FileAttributes,
    ) -> Result<Status, StatusCode> {
        Ok(ok(id))
    }

    async fn fsetstat(
        &mut self,
        id: u32,
        _handle: String,
        _attrs: FileAttributes,
    ) -> Result<Status, StatusCode> {
        Ok(ok(id))
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        _attrs: FileAttributes,
    ) -> Result<Handle, StatusCode> {
        let opts: std::fs::OpenOptions = pflags.into();
        let f = opts.open(self.path(&filename)).map_err(io_status)?;
        self.next += 1;
        let handle = self.next.to_string();
        self.files.insert(handle.clone(), f);
        Ok(Handle { id, handle })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, StatusCode> {
        self.files.remove(&handle);
        Ok(ok(id))
    }

    async fn read(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        len: u32,
    ) -> Result<Data, StatusCode> {
        let f = self.files.get(&handle).ok_or(StatusCode::Failure)?;
        let mut data = vec![0u8; len.min(256 * 1024) as usize];
        let n = f.read_at(&mut data, offset).map_err(io_status)?;
        if n == 0 {
            return Err(StatusCode::Eof);
        }
        data.truncate(n);
        Ok(Data { id, data })
    }

    async fn write(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<Status, StatusCode> {
        let f = self.files.get(&handle).ok_or(StatusCode::Failure)?;
        f.write_all_at(&data, offset).map_err(io_status)?;
        Ok(ok(id))
    }
}

fn arg(name: &str) -> anyhow::Result<String> {
    let mut args = std::env::args();
    while let Some(a) = args.next() {
        if a == name {
            return args.next().with_context(|| format!("{name} needs a value"));
        }
    }
    anyhow::bail!("usage: russh-peer --listen ADDR:PORT --host-key FILE --user-key FILE.pub --root DIR (missing {name})")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen: SocketAddr = arg("--listen")?.parse().context("--listen")?;
    let host_key =
        russh::keys::load_secret_key(Path::new(&arg("--host-key")?), None).context("host key")?;
    let user_key = russh::keys::load_public_key(arg("--user-key")?).context("user key")?;
    let root = PathBuf::from(arg("--root")?);
    // russh leaves aes128-gcm out of its default list; the benchmark asks for it.
    let preferred = russh::Preferred {
        cipher: std::borrow::Cow::Borrowed(&[
            russh::cipher::CHACHA20_POLY1305,
            russh::cipher::AES_128_GCM,
            russh::cipher::AES_256_GCM,
            russh::cipher::AES_128_CTR,
            russh::cipher::AES_256_CTR,
        ]),
        ..Default::default()
    };
    let config = russh::server::Config {
        keys: vec![host_key],
        preferred,
        ..Default::default()
    };
    let mut server = Server {
        user_key: Arc::new(user_key),
        root: Arc::new(root),
    };
    server.run_on_address(Arc::new(config), listen).await?;
    Ok(())
}
