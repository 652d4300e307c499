//! tunrelay: the benchmark's 50 ms path, and a plain TCP stream to measure it.
//!
//!     tunrelay relay --ns-a C --addr-a 10.77.0.1 --ns-b S --addr-b 10.77.0.2 [--dev wbtun0] [--delay-ms 25] [--mtu 65000]
//!     tunrelay sink --bind 10.77.0.2 [--port 5001]            (inside the server netns)
//!     tunrelay send --host 10.77.0.2 [--port 5001] --bytes N  (inside the client netns; prints seconds)
//!
//! Same command line and wire protocol as bench/relay.py, which it replaces
//! when built (bench.py falls back to relay.py otherwise). One TUN device in
//! each namespace; every IP packet read from one is written to the other
//! `--delay-ms` later. TCP stays end to end between the namespaces' stacks.
//! The delay is constant, so each direction is a FIFO and nothing is
//! reordered.
//!
//! Why it is fast where relay.py was not: one thread per direction sleeping
//! in ppoll (microsecond timeout) until a packet arrives or the oldest held
//! one is due; each wake reads every packet waiting (up to a bound) straight
//! into a preallocated ring and writes every due packet straight out of it;
//! no allocation, no copy beyond the kernel's own.

mod line;
mod sys;

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{exit, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::libc;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::time::TimeSpec;

use line::DelayLine;

/// Packets read per wake before the due ones are written: bounds how long a
/// flood in one direction can postpone releases in the same thread.
const BURST: usize = 256;
/// Ring per direction. At 1 GB/s a 25 ms hold is 25 MB; twice that leaves
/// room. calloc'd, so only the part actually used is ever touched.
const RING_BYTES: usize = 64 << 20;
/// Slots per direction: bounds the ACK direction (tiny packets) too.
const MAX_PACKETS: usize = 65_536;

fn usage() -> ! {
    eprintln!(
        "usage: tunrelay relay --ns-a NS --addr-a IP --ns-b NS --addr-b IP [--dev NAME] [--delay-ms MS] [--mtu N]\n\
         \x20      tunrelay sink --bind IP [--port N]\n\
         \x20      tunrelay send --host IP [--port N] --bytes N"
    );
    exit(2)
}

/// `--key value` pairs after the subcommand; unknown keys are an error.
struct Args(Vec<(String, String)>);

impl Args {
    fn parse(rest: &[String], known: &[&str]) -> Self {
        let mut out = Vec::new();
        let mut it = rest.iter();
        while let Some(k) = it.next() {
            let Some(key) = k.strip_prefix("--").filter(|k| known.contains(k)) else {
                eprintln!("tunrelay: unknown argument {k:?}");
                usage()
            };
            let Some(v) = it.next() else {
                eprintln!("tunrelay: {k} needs a value");
                usage()
            };
            out.push((key.to_string(), v.clone()));
        }
        Args(out)
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn req(&self, key: &str) -> &str {
        self.get(key).unwrap_or_else(|| {
            eprintln!("tunrelay: --{key} is required");
            usage()
        })
    }
    fn num<T: std::str::FromStr>(&self, key: &str, default: Option<T>) -> T {
        match self.get(key) {
            Some(v) => v.parse().unwrap_or_else(|_| {
                eprintln!("tunrelay: --{key} {v:?} is not a number");
                usage()
            }),
            None => default.unwrap_or_else(|| {
                eprintln!("tunrelay: --{key} is required");
                usage()
            }),
        }
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = argv.split_first() else {
        usage()
    };
    let res = match cmd.as_str() {
        "relay" => relay(&Args::parse(
            rest,
            &["ns-a", "addr-a", "ns-b", "addr-b", "dev", "delay-ms", "mtu"],
        )),
        "sink" => sink(&Args::parse(rest, &["bind", "port"])),
        "send" => send(&Args::parse(rest, &["host", "port", "bytes"])),
        _ => usage(),
    };
    if let Err(e) = res {
        eprintln!("tunrelay {cmd}: {e}");
        exit(1);
    }
}

fn ctx<T>(r: io::Result<T>, what: impl FnOnce() -> String) -> io::Result<T> {
    r.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", what())))
}

fn enter_netns(ns: &File, what: &str) -> io::Result<()> {
    setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("setns({what}): {e}")))
}

fn ip(args: &[&str]) -> io::Result<()> {
    let st = ctx(Command::new("ip").args(args).status(), || {
        format!("ip {}", args.join(" "))
    })?;
    if !st.success() {
        return Err(io::Error::other(format!(
            "ip {} failed: {st}",
            args.join(" ")
        )));
    }
    Ok(())
}

/// Opens a TUN device created inside netns `ns` and configures it. TUNSETIFF
/// creates the device in the calling thread's namespace, so the thread
/// enters `ns` for that call; the descriptor keeps working after it leaves,
/// and the device vanishes when the descriptor is closed (process exit).
fn tun_in(ns: &str, dev: &str, addr: &str, peer: &str, mtu: u32) -> io::Result<File> {
    let path = format!("/run/netns/{ns}");
    let nsf = ctx(File::open(&path), || path.clone())?;
    enter_netns(&nsf, &path)?;
    let tun = ctx(
        OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/net/tun"),
        || "/dev/net/tun".into(),
    )?;
    sys::tunsetiff(&tun, dev)?;
    let mtu = mtu.to_string();
    ip(&["-n", ns, "link", "set", "lo", "up"])?;
    ip(&["-n", ns, "addr", "add", addr, "peer", peer, "dev", dev])?;
    ip(&[
        "-n",
        ns,
        "link",
        "set",
        "dev",
        dev,
        "mtu",
        &mtu,
        "txqueuelen",
        "10000",
        "up",
    ])?;
    Ok(tun)
}

#[derive(Default)]
struct Stats {
    packets: AtomicU64,
    bytes: AtomicU64,
    dropped_full: AtomicU64,
    write_errors: AtomicU64,
    max_held: AtomicU64,
}

fn relay(a: &Args) -> io::Result<()> {
    let delay = Duration::from_secs_f64(a.num::<f64>("delay-ms", Some(25.0)) / 1000.0);
    let mtu: u32 = a.num("mtu", Some(65000));
    if !(576..=65535).contains(&mtu) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--mtu must be 576..65535",
        ));
    }
    let dev = a.get("dev").unwrap_or("wbtun0");
    let (ns_a, addr_a, ns_b, addr_b) = (
        a.req("ns-a"),
        a.req("addr-a"),
        a.req("ns-b"),
        a.req("addr-b"),
    );

    // setns applies to this thread only: remember where it started and go
    // back, so the worker threads (which inherit it) and nothing else of
    // ours lives in the test namespaces.
    let home = ctx(File::open("/proc/thread-self/ns/net"), || {
        "/proc/thread-self/ns/net".into()
    })?;
    let ta = Arc::new(tun_in(ns_a, dev, addr_a, addr_b, mtu)?);
    let tb = Arc::new(tun_in(ns_b, dev, addr_b, addr_a, mtu)?);
    enter_netns(&home, "home")?;

    // SIGTERM/SIGINT/SIGHUP are blocked before the workers start (they
    // inherit the mask) and collected by sigwait below, so the shutdown path
    // is ordinary code: report, then exit, which closes both descriptors and
    // so removes both devices and their addresses.
    let mut sigs = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        sigs.add(s);
    }
    sigs.thread_block().map_err(io::Error::from)?;

    let max_pkt = mtu as usize + 64;
    let mut stats = Vec::new();
    for (name, src, dst) in [
        (format!("{ns_a}->{ns_b}"), ta.clone(), tb.clone()),
        (format!("{ns_b}->{ns_a}"), tb, ta),
    ] {
        let st = Arc::new(Stats::default());
        stats.push((name.clone(), st.clone()));
        thread::Builder::new().name(name.clone()).spawn(move || {
            if let Err(e) = pump(&src, &dst, delay, max_pkt, &st) {
                eprintln!("tunrelay relay {name}: {e}");
                exit(1);
            }
        })?;
    }
    println!("ready");
    io::stdout().flush()?;
    let sig = sigs.wait().map_err(io::Error::from)?;
    for (name, st) in &stats {
        eprintln!(
            "tunrelay {name}: {} packets, {} bytes, {} dropped (line full), {} write errors, at most {} held; stopping on {sig}",
            st.packets.load(Ordering::Relaxed),
            st.bytes.load(Ordering::Relaxed),
            st.dropped_full.load(Ordering::Relaxed),
            st.write_errors.load(Ordering::Relaxed),
            st.max_held.load(Ordering::Relaxed),
        );
    }
    exit(0)
}

/// One direction: read packets from `src`, write each to `dst` `delay` later.
fn pump(src: &File, dst: &File, delay: Duration, max_pkt: usize, st: &Stats) -> io::Result<()> {
    let mut line = DelayLine::new(RING_BYTES, MAX_PACKETS, max_pkt);
    // Where a packet goes when the line is full: read and dropped, as a
    // router with a full queue would, so poll does not spin on it.
    let mut scratch = vec![0u8; max_pkt];
    let mut src_r = src;
    let mut dst_w = dst;
    let mut max_held = 0usize;
    loop {
        let timeout = line.next_due().map(|d| {
            // Round up to the microsecond so a wake is never early.
            let left = d.saturating_duration_since(Instant::now());
            TimeSpec::from(Duration::from_micros(left.as_nanos().div_ceil(1000) as u64))
        });
        let mut fds = [PollFd::new(src.as_fd(), PollFlags::POLLIN)];
        match ppoll(&mut fds, timeout, None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                return Err(io::Error::new(
                    io::Error::from(e).kind(),
                    format!("ppoll: {e}"),
                ))
            }
        }
        let (mut n, mut bytes) = (0u64, 0u64);
        for _ in 0..BURST {
            let due = Instant::now() + delay;
            let got = match line.push(due, |buf| match src_r.read(buf) {
                Ok(len) => Ok(Some(len)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
                Err(e) => Err(e),
            }) {
                Ok(r) => r,
                Err(()) => match src_r.read(&mut scratch) {
                    Ok(_) => {
                        st.dropped_full.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
                    Err(e) => Err(e),
                },
            };
            match got {
                Ok(Some(len)) => {
                    n += 1;
                    bytes += len as u64;
                }
                Ok(None) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io::Error::new(e.kind(), format!("read from TUN: {e}"))),
            }
        }
        if n > 0 {
            st.packets.fetch_add(n, Ordering::Relaxed);
            st.bytes.fetch_add(bytes, Ordering::Relaxed);
            if line.len() > max_held {
                max_held = line.len();
                st.max_held.store(max_held as u64, Ordering::Relaxed);
            }
        }
        let mut errs = 0u64;
        line.release(Instant::now(), |pkt| {
            // A TUN write hands the packet to the stack and does not block;
            // an error means the kernel refused (or dropped) it, which TCP
            // treats as loss, so count it and go on.
            if dst_w.write(pkt).is_err() {
                errs += 1;
            }
        });
        if errs > 0 {
            st.write_errors.fetch_add(errs, Ordering::Relaxed);
        }
    }
}

/// Accepts streams of `uint64 length || bytes` and answers each with b"k".
fn sink(a: &Args) -> io::Result<()> {
    let bind = a.req("bind");
    let port: u16 = a.num("port", Some(5001));
    // std sets SO_REUSEADDR on Unix listeners, as relay.py does.
    let srv = ctx(TcpListener::bind((bind, port)), || {
        format!("bind {bind}:{port}")
    })?;
    println!("ready");
    io::stdout().flush()?;
    let mut buf = vec![0u8; 4 << 20];
    loop {
        let (conn, _) = srv.accept()?;
        // A broken stream is the sender's problem; keep serving.
        if let Err(e) = drain(conn, &mut buf) {
            eprintln!("tunrelay sink: {e}");
        }
    }
}

fn drain(mut conn: TcpStream, buf: &mut [u8]) -> io::Result<()> {
    let mut hdr = [0u8; 8];
    conn.read_exact(&mut hdr)?;
    let mut left = u64::from_be_bytes(hdr);
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = conn.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("stream ended {left} bytes short"),
            ));
        }
        left -= n as u64;
    }
    conn.write_all(b"k")
}

/// Sends --bytes and prints the wall seconds until the sink confirmed.
fn send(a: &Args) -> io::Result<()> {
    let host = a.req("host");
    let port: u16 = a.num("port", Some(5001));
    let total: u64 = a.num("bytes", None);
    let mut block = vec![0u8; 1 << 20];
    ctx(
        File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut block)),
        || "/dev/urandom".into(),
    )?;
    let start = Instant::now();
    let mut s = ctx(TcpStream::connect((host, port)), || {
        format!("connect {host}:{port}")
    })?;
    // relay.py's 600 s socket timeout, so a dead path fails instead of hanging.
    s.set_read_timeout(Some(Duration::from_secs(600)))?;
    s.set_write_timeout(Some(Duration::from_secs(600)))?;
    s.write_all(&total.to_be_bytes())?;
    let mut left = total;
    while left > 0 {
        let n = block.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        s.write_all(&block[..n])?;
        left -= n as u64;
    }
    let mut k = [0u8; 1];
    s.read_exact(&mut k)
        .map_err(|e| io::Error::new(e.kind(), format!("sink did not confirm the stream: {e}")))?;
    if k != *b"k" {
        return Err(io::Error::other("sink did not confirm the stream"));
    }
    let secs = start.elapsed().as_secs_f64();
    let _ = s.shutdown(Shutdown::Both);
    println!("{secs:.6}");
    Ok(())
}
