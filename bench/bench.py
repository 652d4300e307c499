#!/usr/bin/env python3
"""Wharf against OpenSSH sshd (internal-sftp) and ProFTPD 1.3.8 mod_sftp, on
one machine, in one run: server CPU per GiB, per login, per small file and per
directory entry; memory per idle session; throughput over a 50 ms path; and
the machine's own cipher speed. Started by bench/run (which installs the peers
and the client venv); see bench/README.md for what each figure means.

Every server runs in its own cgroup (v1 cpuacct), so a forking server's
children and grandchildren are counted; the clients (OpenSSH's sftp and scp)
run outside those cgroups and are not. Repetitions alternate the servers (the
order rotates each repetition) and tables give median (min-max).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import filecmp
import hashlib
import os
import platform
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
USER = "wharfbench"
SERVERS = ["openssh", "proftpd", "wharf"]  # table columns
ACTIVE = list(SERVERS)  # the ones measured (--servers)
LABEL = {"openssh": "OpenSSH", "proftpd": "ProFTPD", "wharf": "Wharf", "russh": "russh"}
PORTS = {"openssh": 2201, "proftpd": 2202, "wharf": 2203, "russh": 2204}
CGROOT = Path("/sys/fs/cgroup/cpuacct/wharf-bench")
# The 50 ms path: client namespace, server namespace, their TUN addresses.
NS_C, NS_S = "wharfbench-c", "wharfbench-s"
ADDR_C, ADDR_S = "10.77.0.1", "10.77.0.2"
# The relay that makes it: bench/tunrelay (Rust, built by bench/run) when
# built, else relay.py (same command line; slower, see bench/README.md).
TUNRELAY = HERE / "tunrelay" / "target" / "release" / "tunrelay"


# The minimal russh + russh-sftp server issue 6 names as a reference
# (bench/russh-peer, built by bench/run); measured in its own section.
RUSSH_PEER = HERE / "russh-peer" / "target" / "release" / "russh-peer"


def relay_cmd() -> list:
    """argv prefix for `relay`, `sink` and `send` of the 50 ms path."""
    if os.access(TUNRELAY, os.X_OK):
        return [TUNRELAY]
    return [sys.executable, HERE / "relay.py"]


def relay_name() -> str:
    return "bench/tunrelay (Rust)" if os.access(TUNRELAY, os.X_OK) else "bench/relay.py (Python; tunrelay not built)"


CIPHERS = [
    ("aes128-gcm", "aes128-gcm@openssh.com", None),
    ("chacha20-poly1305", "chacha20-poly1305@openssh.com", None),
    ("aes128-ctr+hmac-sha2-256-etm", "aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
]
BULK_OPS = ["sftp get", "sftp put", "scp -O get", "scp -O put"]
SECTIONS = ["crypto", "bulk", "russh", "login", "memory", "small", "wan"]
GIB = 1 << 30
MIB = 1 << 20


@dataclass
class Sizes:
    big: int
    small_files: int
    small_size: int
    list_entries: int
    logins: int
    mem_steps: list
    mem_max: int
    wan: int
    openssl_seconds: int

    @staticmethod
    def for_mode(quick: bool) -> "Sizes":
        if quick:
            return Sizes(big=64 * MIB, small_files=200, small_size=4096, list_entries=1000, logins=12,
                         mem_steps=[20, 50], mem_max=100, wan=16 * MIB, openssl_seconds=1)
        return Sizes(big=GIB, small_files=2000, small_size=4096, list_entries=10_000, logins=100,
                     mem_steps=[200, 1000], mem_max=10_000, wan=256 * MIB, openssl_seconds=3)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(argv, check=True, timeout=600, **kw) -> subprocess.CompletedProcess:
    cp = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                        stdin=kw.pop("stdin", subprocess.DEVNULL), **kw)
    if check and cp.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {cp.returncode}:\n{cp.stdout}\n{cp.stderr}")
    return cp


# ---------------------------------------------------------------------------
# results


@dataclass
class Result:
    section: str
    metric: str
    unit: str
    values: dict = field(default_factory=lambda: {s: [] for s in SERVERS})
    note: str = ""
    # Lower is better unless said otherwise (MB/s, sessions held).
    higher_better: bool = False

    def add(self, server: str, v: float | None) -> None:
        if v is not None:
            self.values.setdefault(server, []).append(v)


class Results:
    def __init__(self) -> None:
        self.rows: dict[tuple, Result] = {}
        self.targets: list[dict] = []
        self.notes: list[str] = []

    def row(self, section: str, metric: str, unit: str, **kw) -> Result:
        key = (section, metric)
        if key not in self.rows:
            self.rows[key] = Result(section, metric, unit, **kw)
        return self.rows[key]

    def get(self, section: str, metric: str) -> Result | None:
        return self.rows.get((section, metric))


def med(vals):
    return statistics.median(vals) if vals else None


def fmt_num(v: float | None) -> str:
    if v is None:
        return "–"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_cell(vals) -> str:
    if not vals:
        return "failed/n.a."
    m = med(vals)
    if len(vals) == 1:
        return fmt_num(m)
    return f"{fmt_num(m)} ({fmt_num(min(vals))}–{fmt_num(max(vals))})"


# ---------------------------------------------------------------------------
# set-up: user, keys, files, configs


class Setup:
    def __init__(self, base: Path, sizes: Sizes, wharf_bin: Path) -> None:
        self.base = base
        self.sizes = sizes
        self.wharf_bin = wharf_bin
        self.home = base / "home"
        self.client = base / "client"
        self.etc = base / "etc"
        self.logs = base / "logs"
        self.key = self.client / "id_ed25519"
        self.known_hosts = self.client / "known_hosts"

    def prepare(self) -> None:
        for d in (self.base, self.client, self.etc, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        self._user()
        self._keys()
        self._files()

    def _user(self) -> None:
        try:
            pw = pwd.getpwnam(USER)
            if pw.pw_dir != str(self.home):
                sh(["usermod", "-d", self.home, USER])
        except KeyError:
            sh(["useradd", "--system", "--user-group", "--home-dir", self.home, "--shell", "/bin/sh", USER])
        # Not "!" (locked): sshd without PAM refuses locked accounts even for
        # public keys. "*" matches no password, so only the key logs in.
        sh(["usermod", "-p", "*", "-s", "/bin/sh", USER])
        pw = pwd.getpwnam(USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.home.mkdir(exist_ok=True)
        os.chown(self.home, self.uid, self.gid)
        os.chmod(self.home, 0o755)

    def _keys(self) -> None:
        if not self.key.exists():
            sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "client@wharf-bench", "-f", self.key])
        host = self.etc / "host_ed25519"
        if not host.exists():
            sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "host@wharf-bench", "-f", host])
        pub = Path(str(self.key) + ".pub").read_text().strip()
        self.client_pub = pub
        ssh_dir = self.home / ".ssh"
        ssh_dir.mkdir(exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(pub + "\n")
        for p, mode in ((ssh_dir, 0o700), (ssh_dir / "authorized_keys", 0o600)):
            os.chown(p, self.uid, self.gid)
            os.chmod(p, mode)
        # One host key for all three servers, in a copy each server can read:
        # root's for sshd and ProFTPD, the bench user's for Wharf (which runs
        # as that user, as sshd's and ProFTPD's session processes do).
        for name, owner in (("openssh", 0), ("proftpd", 0), ("wharf", self.uid)):
            d = self.etc / name
            d.mkdir(exist_ok=True)
            dst = d / "host_ed25519"
            shutil.copyfile(host, dst)
            os.chown(dst, owner, self.gid if owner else 0)
            os.chmod(dst, 0o600)
            os.chown(d, owner, self.gid if owner else 0)
        # ProFTPD wants RFC 4716 public keys.
        rfc = sh(["ssh-keygen", "-e", "-f", Path(str(self.key) + ".pub")]).stdout
        (self.etc / "proftpd" / "authorized_keys").write_text(rfc)
        hostpub = Path(str(host) + ".pub").read_text().split()[:2]
        lines = []
        for s in PORTS:
            for addr in ("127.0.0.1", ADDR_S):
                lines.append(f"[{addr}]:{PORTS[s]} {hostpub[0]} {hostpub[1]}")
        self.known_hosts.write_text("\n".join(lines) + "\n")

    def _files(self) -> None:
        z = self.sizes
        big = self.home / "big.bin"
        if not big.exists() or big.stat().st_size != z.big:
            log(f"writing a {z.big >> 20} MiB random file")
            write_random(big, z.big)
        self.big = big
        self.client_big = self.client / "big.bin"
        if not self.client_big.exists() or self.client_big.stat().st_size != z.big:
            shutil.copyfile(big, self.client_big)
        wan = self.home / "wan.bin"
        if not wan.exists() or wan.stat().st_size != z.wan:
            write_random(wan, z.wan)
        self.wan = wan
        self.client_wan = self.client / "wan.bin"
        if not self.client_wan.exists() or self.client_wan.stat().st_size != z.wan:
            shutil.copyfile(wan, self.client_wan)
        self.small = self.home / "small"
        self.client_small = self.client / "small"
        for d in (self.small, self.client_small):
            if d.exists() and len(os.listdir(d)) != z.small_files:
                shutil.rmtree(d)
            if not d.exists():
                d.mkdir()
                for i in range(z.small_files):
                    (d / f"f{i:05d}").write_bytes(os.urandom(z.small_size))
        self.listdir = self.home / "list"
        if self.listdir.exists() and len(os.listdir(self.listdir)) != z.list_entries:
            shutil.rmtree(self.listdir)
        if not self.listdir.exists():
            self.listdir.mkdir()
            for i in range(z.list_entries):
                (self.listdir / f"entry-{i:05d}.txt").write_bytes(b"x" * (i % 1000))
        sh(["chown", "-R", f"{self.uid}:{self.gid}", self.home])

    # -- server configurations ------------------------------------------------

    def sshd_config(self, addr: str, tag: str) -> Path:
        d = self.etc / "openssh"
        # reference/peers/sshd_config, with this run's paths and addresses.
        text = f"""Port {PORTS['openssh']}
ListenAddress {addr}
HostKey {d / 'host_ed25519'}
PidFile {self.base / f'sshd-{tag}.pid'}
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
Subsystem sftp internal-sftp
MaxStartups 1000:30:2000
MaxSessions 100
LogLevel ERROR
Ciphers +aes128-cbc,aes256-cbc,3des-cbc
MACs +hmac-md5,hmac-sha1-96
"""
        p = d / f"sshd_config.{tag}"
        p.write_text(text)
        return p

    def proftpd_config(self, addr: str, tag: str) -> Path:
        d = self.etc / "proftpd"
        # reference/peers/proftpd.conf, with this run's paths and addresses.
        # Changes, each so the comparison measures the server and not a
        # setting: MaxInstances 12000 (the peer file's 2000 would cap the
        # memory section below its 10,000-session goal); TransferLog NONE
        # (OpenSSH writes no per-file log; ProFTPD's xferlog would add a
        # write per small file); a host key and auth method like the others.
        text = f"""ServerName "bench-proftpd"
ServerType standalone
DefaultServer on
Port 0
User nobody
Group nogroup
PidFile {self.base / f'proftpd-{tag}.pid'}
ScoreboardFile {self.base / f'proftpd-{tag}.scoreboard'}
DelayTable none
WtmpLog off
UseReverseDNS off
SocketBindTight on
MaxInstances 12000
TransferLog NONE
SystemLog {self.logs / f'proftpd-{tag}.system.log'}
ModulePath /usr/lib/proftpd
LoadModule mod_sftp.c
<IfModule mod_sftp.c>
 <VirtualHost {addr}>
  Port {PORTS['proftpd']}
  SFTPEngine on
  SFTPLog {self.logs / f'proftpd-{tag}.sftp.log'}
  SFTPHostKey {d / 'host_ed25519'}
  SFTPAuthorizedUserKeys file:{d / 'authorized_keys'}
  SFTPAuthMethods publickey
  SFTPCompression off
  RequireValidShell off
  AllowOverwrite on
  MaxLoginAttempts 6
  TimeoutIdle 3600
  TimeoutNoTransfer 3600
  AuthOrder mod_auth_unix.c
  <Limit ALL>
   AllowAll
  </Limit>
 </VirtualHost>
</IfModule>
"""
        p = d / f"proftpd.conf.{tag}"
        p.write_text(text)
        return p

    def wharf_config(self, addr: str, tag: str) -> Path:
        d = self.etc / "wharf"
        text = f"""# written by bench/bench.py
[server]
listen = ["{addr}:{PORTS['wharf']}"]
host_keys = ["{d / 'host_ed25519'}"]
max_startups = 1000

[[users]]
name = "{USER}"
authorized_keys = ["{self.client_pub}"]
root = "{self.home}"
"""
        p = d / f"wharf.toml.{tag}"
        p.write_text(text)
        os.chown(p, self.uid, self.gid)
        return p


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n


# ---------------------------------------------------------------------------
# servers in cgroups


class Server:
    """One server process tree in its own cpuacct cgroup."""

    def __init__(self, name: str, setup: Setup, addr: str = "127.0.0.1", netns: str | None = None) -> None:
        self.name = name
        self.setup = setup
        self.addr = addr
        self.netns = netns
        self.tag = "wan" if netns else "lo"
        self.port = PORTS[name]
        self.cg = CGROOT / f"{name}-{self.tag}"
        self.proc: subprocess.Popen | None = None

    def argv(self) -> list:
        s = self.setup
        if self.name == "openssh":
            Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation chroot
            return ["/usr/sbin/sshd", "-D", "-e", "-f", s.sshd_config(self.addr, self.tag)]
        if self.name == "proftpd":
            return ["/usr/sbin/proftpd", "-n", "-q", "-c", s.proftpd_config(self.addr, self.tag)]
        if self.name == "russh":
            return ["setpriv", f"--reuid={s.uid}", f"--regid={s.gid}", "--init-groups", RUSSH_PEER,
                    "--listen", f"{self.addr}:{self.port}", "--host-key", s.etc / "wharf" / "host_ed25519",
                    "--user-key", f"{s.key}.pub", "--root", s.home]
        # Wharf runs as the bench user, like the session processes of the
        # other two (it needs no privilege to jail a user).
        return ["setpriv", f"--reuid={s.uid}", f"--regid={s.gid}", "--init-groups",
                s.wharf_bin, "serve", "--config", s.wharf_config(self.addr, self.tag)]

    def start(self) -> None:
        CGROOT.mkdir(exist_ok=True)
        self.cg.mkdir(exist_ok=True)
        self.kill_all()
        # The launcher joins the cgroup before exec, so every process the
        # server ever forks is accounted there.
        # (Joined before `ip netns exec`, which remounts /sys without cgroups.)
        launcher = ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && ulimit -n "$(ulimit -Hn)" && exec "$@"', self.cg]
        if self.netns:
            launcher += ["ip", "netns", "exec", self.netns]
        logf = open(self.setup.logs / f"{self.name}-{self.tag}.log", "ab")
        self.proc = subprocess.Popen([str(a) for a in launcher + self.argv()], stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf, start_new_session=True)
        logf.close()
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}; see {logf.name}")
            if self.banner_ok():
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer on {self.addr}:{self.port}; see {logf.name}")
            time.sleep(0.2)
        self.base_procs = len(self.pids())

    def banner_ok(self) -> bool:
        if self.netns:
            cp = subprocess.run(["ip", "netns", "exec", self.netns, sys.executable, "-c",
                                 "import socket,sys;s=socket.create_connection((sys.argv[1],int(sys.argv[2])),2);"
                                 "s.settimeout(2);sys.exit(0 if s.recv(64).startswith(b'SSH-') else 1)",
                                 self.addr, str(self.port)], capture_output=True)
            return cp.returncode == 0
        try:
            with socket.create_connection((self.addr, self.port), timeout=2) as sock:
                sock.settimeout(2)
                return sock.recv(64).startswith(b"SSH-")
        except OSError:
            return False

    def pids(self) -> list[int]:
        try:
            return [int(x) for x in (self.cg / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def cpu_ns(self) -> int:
        return int((self.cg / "cpuacct.usage").read_text())

    def quiesce(self, timeout: float = 10.0) -> None:
        """Waits until the session processes are gone, so their last CPU is in."""
        deadline = time.monotonic() + timeout
        while len(self.pids()) > self.base_procs and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.05)

    def pss_kib(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                            break
            except OSError:
                pass  # exited meanwhile
        return total

    def kill_all(self) -> None:
        """Stops every process in this server's cgroup (all started by us)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.05)
            if not self.pids():
                break

    def stop(self) -> None:
        self.kill_all()
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            self.cg.rmdir()


# ---------------------------------------------------------------------------
# OpenSSH clients


def client_opts(setup: Setup, port: int, cipher: str | None = None, mac: str | None = None) -> list[str]:
    o = [
        "-F", "/dev/null",
        "-o", f"Port={port}",
        "-o", f"User={USER}",
        "-o", f"IdentityFile={setup.key}",
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", "BatchMode=yes",
        "-o", f"UserKnownHostsFile={setup.known_hosts}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "UpdateHostKeys=no",
        "-o", "CheckHostIP=no",
        "-o", "ControlMaster=no",
        "-o", "Compression=no",
        "-o", "KexAlgorithms=curve25519-sha256",
        "-o", "HostKeyAlgorithms=ssh-ed25519",
        "-o", "PubkeyAcceptedAlgorithms=ssh-ed25519",
        "-o", "ConnectTimeout=30",
    ]
    if cipher:
        o += ["-o", f"Ciphers={cipher}"]
    if mac:
        o += ["-o", f"MACs={mac}"]
    return o


def sftp_batch(setup: Setup, srv: Server, commands: str, cipher=None, mac=None, netns=None,
               timeout=900) -> subprocess.CompletedProcess:
    batch = setup.client / f"batch.{os.getpid()}.{threading.get_ident()}"
    batch.write_text(commands)
    argv = ["sftp", "-q", "-b", batch] + client_opts(setup, srv.port, cipher, mac) + [srv.addr]
    if netns:
        argv = ["ip", "netns", "exec", netns] + argv
    try:
        return sh(argv, timeout=timeout)
    finally:
        batch.unlink(missing_ok=True)


def scp(setup: Setup, srv: Server, src: str, dst: str, cipher=None, mac=None, netns=None,
        timeout=900) -> subprocess.CompletedProcess:
    argv = ["scp", "-O", "-q"] + client_opts(setup, srv.port, cipher, mac) + [src, dst]
    if netns:
        argv = ["ip", "netns", "exec", netns] + argv
    return sh(argv, timeout=timeout)


def empty_session(setup: Setup, srv: Server) -> None:
    """Log in, start the sftp subsystem (INIT/VERSION), quit."""
    sftp_batch(setup, srv, "")


def measure_cpu(srv: Server, fn) -> tuple[float, float]:
    """(server CPU seconds, client wall seconds) of fn()."""
    srv.quiesce()
    c0, t0 = srv.cpu_ns(), time.monotonic()
    fn()
    wall = time.monotonic() - t0
    srv.quiesce()
    return (srv.cpu_ns() - c0) / 1e9, wall


def same_file(a: Path, b: Path) -> bool:
    """Byte-for-byte equal (cmp(1): a GiB in well under a second on tmpfs)."""
    return a.exists() and a.stat().st_size == b.stat().st_size and \
        subprocess.run(["cmp", "-s", a, b]).returncode == 0


def rotated(rep: int) -> list[str]:
    k = rep % len(ACTIVE)
    return ACTIVE[k:] + ACTIVE[:k]


# ---------------------------------------------------------------------------
# sections


def section_crypto(ctx) -> None:
    secs = ctx.sizes.openssl_seconds
    for label, evp in (("aes-128-gcm", "aes-128-gcm"), ("chacha20-poly1305", "chacha20-poly1305")):
        vals = []
        for _ in range(ctx.reps):
            out = sh(["openssl", "speed", "-evp", evp, "-bytes", "16384", "-seconds", secs], timeout=120).stdout
            # Last line: "<name>  <N>k" in 1000s of bytes per second.
            last = [ln for ln in out.splitlines() if ln.strip()][-1].split()[-1]
            vals.append(float(last.rstrip("k")) * 1000 / 1e6)
        r = ctx.res.row("crypto", f"openssl speed -evp {label}, 16 KiB blocks, one core", "MB/s",
                        higher_better=True)
        r.values.setdefault("machine", []).extend(vals)
        f = ctx.res.row("crypto", f"{label} floor (1 GiB at that speed)", "s/GiB")
        for v in vals:
            f.values.setdefault("machine", []).append(GIB / (v * 1e6))


def bulk_transfer(setup: Setup, srv: Server, op: str, cipher: str, mac: str | None = None) -> tuple[float, float]:
    """One bulk `op` (BULK_OPS) of the big file: the server's CPU seconds net
    of an empty session's (so a 64 MiB quick run is not dominated by the
    handshake; at 1 GiB it is ~1%) and the wall seconds. Raises
    RuntimeError if the copy differs; the copy is removed either way."""
    dl = setup.client / "dl.bin"
    up = setup.home / "up.bin"

    def run():
        if op == "sftp get":
            sftp_batch(setup, srv, f"get big.bin {dl}\n", cipher, mac)
        elif op == "sftp put":
            sftp_batch(setup, srv, f"put {setup.client_big} up.bin\n", cipher, mac)
        elif op == "scp -O get":
            scp(setup, srv, f"{srv.addr}:big.bin", str(dl), cipher, mac)
        else:
            scp(setup, srv, str(setup.client_big), f"{srv.addr}:up.bin", cipher, mac)

    try:
        login_cpu, _ = measure_cpu(srv, lambda: sftp_batch(setup, srv, "", cipher, mac))
        cpu, wall = measure_cpu(srv, run)
        got, want = (dl, setup.big) if op.endswith("get") else (up, setup.client_big)
        if not same_file(got, want):
            raise RuntimeError(f"{got} differs from {want}")
        return max(cpu - login_cpu, 0.0), wall
    finally:
        dl.unlink(missing_ok=True)
        up.unlink(missing_ok=True)


def section_bulk(ctx) -> None:
    setup, z = ctx.setup, ctx.sizes
    gib = z.big / GIB
    for rep in range(ctx.reps):
        for label, cipher, mac in CIPHERS:
            for op in BULK_OPS:
                row = ctx.res.row("bulk", f"{op}, {label}", "server CPU s/GiB")
                for name in rotated(rep):
                    if name in ctx.failed_combo.get((label, op), set()):
                        continue
                    try:
                        cpu, wall = bulk_transfer(setup, ctx.servers[name], op, cipher, mac)
                        row.add(name, cpu / gib)
                        log(f"bulk {op} {label} {name}: {cpu:.3f} s CPU (net), {wall:.2f} s wall")
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        ctx.failed_combo.setdefault((label, op), set()).add(name)
                        msg = [ln for ln in str(e).strip().splitlines() if ln.strip()]
                        why = server_log_reason(setup, name)
                        if why:
                            msg.append(f"server log: {why}")
                        ctx.res.notes.append(f"{LABEL[name]} failed {op} with {label}: "
                                             f"{' | '.join(msg[-3:])[:300]}")
                        log(f"bulk {op} {label} {name}: FAILED {msg[-1:] if msg else ''}")


RUSSH_OPS = ["sftp get", "sftp put"]


def section_russh(ctx) -> None:
    """sftp get and put of the bulk file with aes128-gcm, Wharf against the
    minimal russh + russh-sftp server, alternating, measured as in bulk."""
    setup, z = ctx.setup, ctx.sizes
    if "wharf" not in ACTIVE:
        return
    if not os.access(RUSSH_PEER, os.X_OK):
        ctx.res.notes.append("russh section skipped: bench/russh-peer was not built (see bench/run's output)")
        return
    gib = z.big / GIB
    russh = Server("russh", setup)
    servers = {"wharf": ctx.servers["wharf"], "russh": russh}
    russh.start()
    try:
        for rep in range(ctx.reps):
            for op in RUSSH_OPS:
                row = ctx.res.row("russh", f"{op}, aes128-gcm", "server CPU s/GiB")
                for name in (["wharf", "russh"] if rep % 2 == 0 else ["russh", "wharf"]):
                    try:
                        cpu, wall = bulk_transfer(setup, servers[name], op, "aes128-gcm@openssh.com")
                        row.add(name, cpu / gib)
                        log(f"russh section {op} {name}: {cpu:.3f} s CPU (net), {wall:.2f} s wall")
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        ctx.res.notes.append(f"{LABEL[name]} failed {op} in the russh section: {str(e)[-200:]}")
    finally:
        russh.stop()


def server_log_reason(setup: Setup, name: str) -> str | None:
    """The server's own account of a refused connection, when it logs one
    (ProFTPD 1.3.8 offers no chacha20-poly1305 and says so in its SFTPLog)."""
    if name != "proftpd":
        return None
    try:
        lines = (setup.logs / "proftpd-lo.sftp.log").read_text(errors="replace").splitlines()
    except OSError:
        return None
    hits = [ln.split("]: ", 1)[-1] for ln in lines[-20:] if "no shared" in ln]
    return hits[-1][:250] if hits else None


def section_login(ctx) -> None:
    setup, n = ctx.setup, ctx.sizes.logins
    seq = ctx.res.row("login", "login + sftp start + quit, sequential", "server CPU ms/login")
    par = ctx.res.row("login", "login + sftp start + quit, 4 parallel clients", "server CPU ms/login")
    for rep in range(ctx.reps):
        for name in rotated(rep):
            srv = ctx.servers[name]
            empty_session(setup, srv)  # warm: binaries and keys in cache
            cpu, wall = measure_cpu(srv, lambda: [empty_session(setup, srv) for _ in range(n)])
            seq.add(name, cpu / n * 1000)
            log(f"login seq {name}: {cpu / n * 1000:.2f} ms/login ({wall / n * 1000:.1f} ms wall)")

            def parallel():
                errs = []

                def worker():
                    try:
                        for _ in range(n // 4):
                            empty_session(setup, srv)
                    except Exception as e:  # reported below
                        errs.append(e)

                ts = [threading.Thread(target=worker) for _ in range(4)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                if errs:
                    raise errs[0]

            cpu, wall = measure_cpu(srv, parallel)
            done = (n // 4) * 4
            par.add(name, cpu / done * 1000)
            log(f"login par {name}: {cpu / done * 1000:.2f} ms/login ({wall:.2f} s wall for {done})")


def section_memory(ctx) -> None:
    setup, z = ctx.setup, ctx.sizes
    steps = list(z.mem_steps) + [z.mem_max]
    rows = {s: ctx.res.row("memory", f"PSS per idle SFTP session at {s if s != z.mem_max else 'max'}"
                            + (" sessions" if s != z.mem_max else f" (stop at {z.mem_max:,})"),
                            "KiB/session") for s in steps}
    held = ctx.res.row("memory", "idle SFTP sessions held", "sessions", higher_better=True)
    answered = ctx.res.row("memory", "a new login answered while they are held (1 = yes)", "", higher_better=True)
    # One pass per server: PSS at a given session count barely varies, and a
    # 10,000-session pass costs minutes per server.
    for name in ACTIVE:
        srv = ctx.servers[name]
        # A fresh server, so the idle baseline does not hold heap that
        # earlier sections' transfers left behind (which new sessions would
        # then reuse, hiding their cost); one login first, as every server
        # has served some before it is idle in practice.
        srv.stop()
        srv.start()
        empty_session(setup, srv)
        srv.quiesce()
        base = srv.pss_kib()
        holder = subprocess.Popen(
            [ctx.python, HERE / "hold_sessions.py", "--port", str(srv.port), "--user", USER,
             "--key", setup.key, "--known-hosts", setup.known_hosts,
             # Generous headroom: the machine may be shared (compilers).
             "--min-free-mib", "4096"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(setup.logs / f"holder-{name}.log", "ab"),
            text=True)
        try:
            count = 0
            for s in steps:
                holder.stdin.write(f"grow {s}\n")
                holder.stdin.flush()
                answer = holder.stdout.readline().split(maxsplit=2)
                if not answer:
                    raise RuntimeError(f"session holder died; see {setup.logs / f'holder-{name}.log'}")
                count = int(answer[1])
                time.sleep(2)  # let the last sessions settle into idle
                pss = srv.pss_kib()
                per = (pss - base) / count if count else None
                rows[s].add(name, per)
                log(f"memory {name}: {count} sessions, server PSS {pss / 1024:.1f} MiB "
                    f"(idle {base / 1024:.1f} MiB), {per and round(per, 1)} KiB/session")
                if answer[0] == "stopped":
                    ctx.res.notes.append(f"{LABEL[name]}: sessions stopped at {count}: {answer[2].strip()}")
                    break
            held.add(name, count)
            try:
                t0 = time.monotonic()
                sftp_batch(setup, srv, "", timeout=60)
                answered.add(name, 1)
                log(f"memory {name}: new login answered in {time.monotonic() - t0:.2f} s with {count} held")
            except (RuntimeError, subprocess.TimeoutExpired):
                answered.add(name, 0)
        finally:
            with contextlib.suppress(OSError, BrokenPipeError):
                holder.stdin.write("quit\n")
                holder.stdin.flush()
            try:
                holder.wait(timeout=300)
            except subprocess.TimeoutExpired:
                holder.kill()
                holder.wait()
            srv.quiesce(timeout=60)


def section_small(ctx) -> None:
    setup, z = ctx.setup, ctx.sizes
    up_row = ctx.res.row("small", f"upload {z.small_files:,} files of {z.small_size // 1024} KiB (sftp put)",
                         "server CPU ms/file")
    down_row = ctx.res.row("small", f"download {z.small_files:,} files of {z.small_size // 1024} KiB (sftp get)",
                           "server CPU ms/file")
    ls_row = ctx.res.row("small", f"list a {z.list_entries:,}-entry directory (sftp ls -l)",
                         "server CPU µs/entry")
    dl = setup.client / "dl_small"
    up = setup.home / "up_small"
    for rep in range(ctx.reps):
        for name in rotated(rep):
            srv = ctx.servers[name]
            login_cpu, _ = measure_cpu(srv, lambda: empty_session(setup, srv))
            shutil.rmtree(up, ignore_errors=True)
            up.mkdir()
            os.chown(up, setup.uid, setup.gid)
            cpu, _ = measure_cpu(srv, lambda: sftp_batch(setup, srv, f"put {setup.client_small}/* up_small/\n"))
            same = sorted(os.listdir(up)) == sorted(os.listdir(setup.client_small)) and all(
                filecmp.cmp(up / f, setup.client_small / f, shallow=False) for f in os.listdir(up))
            up_row.add(name, max(cpu - login_cpu, 0) / z.small_files * 1000 if same else None)
            if not same:
                ctx.res.notes.append(f"{LABEL[name]}: small-file upload did not reproduce the files")
            shutil.rmtree(up, ignore_errors=True)

            shutil.rmtree(dl, ignore_errors=True)
            dl.mkdir()
            cpu, _ = measure_cpu(srv, lambda: sftp_batch(setup, srv, f"get small/* {dl}/\n"))
            same = sorted(os.listdir(dl)) == sorted(os.listdir(setup.small)) and all(
                filecmp.cmp(dl / f, setup.small / f, shallow=False) for f in os.listdir(dl))
            down_row.add(name, max(cpu - login_cpu, 0) / z.small_files * 1000 if same else None)
            if not same:
                ctx.res.notes.append(f"{LABEL[name]}: small-file download did not reproduce the files")
            shutil.rmtree(dl, ignore_errors=True)

            out = {}
            cpu, _ = measure_cpu(srv, lambda: out.setdefault("cp", sftp_batch(setup, srv, "ls -l list\n")))
            listed = sum(1 for ln in out["cp"].stdout.splitlines() if "entry-" in ln)
            ok = listed == z.list_entries
            ls_row.add(name, max(cpu - login_cpu, 0) / z.list_entries * 1e6 if ok else None)
            if not ok:
                ctx.res.notes.append(f"{LABEL[name]}: listing showed {listed} of {z.list_entries} entries")
            log(f"small {name}: up {up_row.values[name][-1:]} down {down_row.values[name][-1:]} "
                f"ls {ls_row.values[name][-1:]}")


@contextlib.contextmanager
def delay_path(ctx, one_way_ms: float = 25.0):
    """Two namespaces joined by the relay holding each packet `one_way_ms`
    (25: the 50 ms round trip; 0: the same path without the delay)."""
    for ns in (NS_C, NS_S):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        sh(["ip", "netns", "add", ns])
        # Socket buffers that can hold a 50 ms path's bandwidth-delay
        # product, on both ends, so TCP itself is not what limits the
        # servers (per-namespace sysctls: the host is untouched).
        # The default receive buffer is 4 MiB, not the stock 128 KiB: with
        # the 65000-byte MTU the stock one opens with a one-segment window,
        # and BBR's start-up (the host default, and the only other choice
        # than reno a namespace may pick) then takes that receiver-limited
        # rate for the path's bandwidth in about half the connections, which
        # made the ceiling swing between ~110 and ~270 MB/s. No metrics
        # save: every connection starts fresh instead of from what the
        # previous server's connection left in the route cache.
        sh(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
            "net.ipv4.tcp_rmem=4096 4194304 67108864", "net.ipv4.tcp_wmem=4096 65536 67108864",
            "net.ipv4.tcp_no_metrics_save=1"])
    relay = subprocess.Popen([*relay_cmd(), "relay", "--ns-a", NS_C, "--addr-a", ADDR_C,
                              "--ns-b", NS_S, "--addr-b", ADDR_S, "--delay-ms", str(one_way_ms)],
                             stdout=subprocess.PIPE, stderr=open(ctx.setup.logs / "relay.log", "ab"), text=True)
    sink = None
    try:
        if relay.stdout.readline().strip() != "ready":
            raise RuntimeError(f"relay failed; see {ctx.setup.logs / 'relay.log'}")
        sink = subprocess.Popen(["ip", "netns", "exec", NS_S, *relay_cmd(), "sink",
                                 "--bind", ADDR_S], stdout=subprocess.PIPE, text=True)
        if sink.stdout.readline().strip() != "ready":
            raise RuntimeError("TCP sink failed to start")
        yield
    finally:
        for p in (sink, relay):
            if p is not None:
                p.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=5)
        for ns in (NS_C, NS_S):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def section_wan(ctx) -> None:
    setup, z = ctx.setup, ctx.sizes
    size = f"{z.wan >> 20} MiB"
    ceil = ctx.res.row("wan", f"path ceiling: one plain TCP stream, {size}", "MB/s", higher_better=True)
    up = ctx.res.row("wan", f"scp -O upload {size}, aes128-gcm, 50 ms RTT", "MB/s", higher_better=True)
    down = ctx.res.row("wan", f"sftp download {size}, aes128-gcm, 50 ms RTT", "MB/s", higher_better=True)
    # The same upload over the same relay and namespaces with no delay: what
    # client, relay and server manage together on this machine, so the 50 ms
    # row can be read as "how much of that survives the delay".
    ceil0 = ctx.res.row("wan", f"no delay: path ceiling, one plain TCP stream, {size}", "MB/s",
                        higher_better=True)
    up0 = ctx.res.row("wan", f"no delay: scp -O upload {size}, aes128-gcm", "MB/s", higher_better=True)
    kept = ctx.res.row("wan", "scp -O upload at 50 ms as a share of the same with no delay", "ratio",
                       higher_better=True)
    for one_way_ms, ceil_row, up_row, down_row in ((25.0, ceil, up, down), (0.0, ceil0, up0, None)):
        with delay_path(ctx, one_way_ms):
            servers = {n: Server(n, setup, ADDR_S, NS_S) for n in ACTIVE}
            try:
                for s in servers.values():
                    s.start()
                for rep in range(ctx.reps):
                    wan_rep(ctx, servers, rep, one_way_ms, ceil_row, up_row, down_row)
            finally:
                for s in servers.values():
                    s.stop()
    for name in ACTIVE:
        a, b = med(up.values.get(name, [])), med(up0.values.get(name, []))
        if a and b:
            kept.add(name, a / b)


def wan_rep(ctx, servers, rep, one_way_ms, ceil, up, down) -> None:
    """One repetition over the path as it is set up: the plain TCP ceiling,
    then each server's scp -O upload and (if `down`) sftp download."""
    setup, z = ctx.setup, ctx.sizes
    mb = z.wan / 1e6
    cipher = "aes128-gcm@openssh.com"
    path = f"{2 * one_way_ms:g} ms"
    secs = float(sh(["ip", "netns", "exec", NS_C, *relay_cmd(), "send",
                     "--host", ADDR_S, "--bytes", z.wan]).stdout.strip())
    ceil.values.setdefault("path", []).append(mb / secs)
    log(f"wan {path} ceiling: {mb / secs:.1f} MB/s")
    for name in rotated(rep):
        srv = servers[name]
        timed_transfer(ctx, up, name, f"{path} scp upload",
                       lambda: scp(setup, srv, str(setup.client_wan), f"{ADDR_S}:up_wan.bin", cipher, netns=NS_C),
                       setup.home / "up_wan.bin", setup.client_wan)
        if down is not None:
            got = setup.client / "dl_wan.bin"
            timed_transfer(ctx, down, name, f"{path} sftp download",
                           lambda: sftp_batch(setup, srv, f"get wan.bin {got}\n", cipher, netns=NS_C),
                           got, setup.wan)


def timed_transfer(ctx, row, name, what, run, got: Path, want: Path) -> None:
    """Adds the wall MB/s of `run` to `row` if it left `got` equal to
    `want`; `got` is removed afterwards, and a failure is noted."""
    mb = ctx.sizes.wan / 1e6
    try:
        t0 = time.monotonic()
        run()
        wall = time.monotonic() - t0
        row.add(name, mb / wall if same_file(got, want) else None)
        log(f"wan {what} {name}: {mb / wall:.1f} MB/s")
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        ctx.res.notes.append(f"{LABEL[name]} failed the {what}: {str(e)[-200:]}")
    finally:
        got.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# targets and report


def ratio(res: Results, section: str, metric: str, num="wharf", den="openssh"):
    r = res.get(section, metric)
    if not r:
        return None
    a, b = med(r.values.get(num, [])), med(r.values.get(den, []))
    if a is None or not b:
        return None
    return a / b


def evaluate_targets(ctx) -> None:
    res = ctx.res
    T = res.targets

    def add(what, value, goal, ok, measured_as="Wharf/OpenSSH", is_ratio=True):
        T.append(dict(what=what, value=value, goal=goal, measured_as=measured_as, is_ratio=is_ratio,
                      met=None if ok is None else bool(ok)))

    for label, _, _ in CIPHERS:
        for op in BULK_OPS:
            m = f"{op}, {label}"
            if res.get("bulk", m):
                q = ratio(res, "bulk", m)
                add(f"server CPU/GiB, {m}", q, "≤ 0.4×", None if q is None else q <= 0.4)
    for op, ref in (("sftp get", 0.42), ("sftp put", 0.68)):
        r = res.get("russh", f"{op}, aes128-gcm")
        if r:
            q = ratio(res, "russh", r.metric, "wharf", "russh")
            add(f"{op}, aes128-gcm below a minimal russh server, both measured in this run", q, "< 1×",
                None if q is None else q < 1, "Wharf/russh")
        r = res.get("bulk", f"{op}, aes128-gcm")
        if r:
            v = med(r.values["wharf"])
            add(f"{op}, aes128-gcm below a minimal russh server ({ref} s/GiB on the reference machine)",
                v, f"< {ref} s/GiB", None if v is None else v < ref, "Wharf s/GiB (absolute)", False)
    for m in ("login + sftp start + quit, sequential", "login + sftp start + quit, 4 parallel clients"):
        if res.get("login", m):
            q = ratio(res, "login", m)
            add(f"server CPU per login, {m.split(', ')[-1]}", q, "≤ 0.1×", None if q is None else q <= 0.1)
    for r in [r for (s, _), r in res.rows.items() if s == "memory" and r.unit == "KiB/session"]:
        v = med(r.values["wharf"])
        add(r.metric, v, "≤ 64 KiB", None if v is None else v <= 64, "Wharf KiB/session", False)
    h = res.get("memory", "idle SFTP sessions held")
    if h:
        v = med(h.values["wharf"])
        a = res.get("memory", "a new login answered while they are held (1 = yes)")
        ans = med(a.values["wharf"]) if a else None
        add("idle sessions held with logins still answered", v, "≥ 10,000",
            None if v is None else (v >= 10_000 and ans == 1), "Wharf sessions", False)
    for (s, m), r in res.rows.items():
        if s == "small":
            q = ratio(res, s, m)
            add(f"server CPU, {m}", q, "≤ 0.5×", None if q is None else q <= 0.5)
    up = next((r for (s, m), r in res.rows.items() if s == "wan" and m.startswith("scp -O upload")), None)
    if up:
        q = ratio(res, "wan", up.metric)
        add("50 ms RTT scp -O upload MB/s", q, "≥ 4×", None if q is None else q >= 4)
        c = next((r for (s, m), r in res.rows.items() if s == "wan" and m.startswith("path ceiling")), None)
        w = med(up.values["wharf"])
        cv = med(c.values.get("path", [])) if c else None
        q2 = w / cv if w and cv else None
        add("50 ms RTT scp -O upload, share of the path's ceiling", q2, "≥ 0.8", None if q2 is None else q2 >= 0.8,
            "Wharf/ceiling")


def machine_info(ctx) -> list[tuple[str, str]]:
    lscpu = sh(["lscpu"], check=False).stdout
    model = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "?")

    def pkg(name):
        cp = sh(["dpkg-query", "-W", "-f", "${Version}", name], check=False)
        return cp.stdout.strip() or "not installed"

    wharf_ver = sh([ctx.setup.wharf_bin, "--version"], check=False).stdout.strip()
    mem = next((ln.split(":")[1].strip() for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), "?")
    return [
        ("host", platform.node()),
        ("CPU", f"{model}, {os.cpu_count()} cores (lscpu)"),
        ("memory", mem),
        ("kernel", platform.release()),
        ("OpenSSH (server and client)", f"openssh-server {pkg('openssh-server')}, "
                                        f"openssh-client {pkg('openssh-client')}"),
        ("ProFTPD", f"proftpd-core {pkg('proftpd-core')}, proftpd-mod-crypto {pkg('proftpd-mod-crypto')}"),
        ("OpenSSL", pkg("openssl")),
        ("Wharf", f"{wharf_ver or 'wharf'}, tree at git {ctx.git} when the run started, binary built "
                  f"{ctx.wharf_built} (sha256 {ctx.wharf_sha}…, copied at the start and used throughout)"),
        ("load average at start / end", f"{ctx.load_start} / {open('/proc/loadavg').read().split()[0]}"),
        ("mode", f"{'--quick' if ctx.quick else 'full'}, {ctx.reps} repetition(s)"
                 + (f", sections {','.join(ctx.only)}" if ctx.only != SECTIONS else "")
                 + (f", servers {','.join(ACTIVE)}" if ACTIVE != SERVERS else "")),
    ]


SECTION_TITLE = {
    "crypto": "Machine limits (one core)",
    "bulk": "Server CPU per GiB transferred (net of one login)",
    "login": "Server CPU per login (curve25519-sha256, ssh-ed25519 host and user keys)",
    "memory": "Memory per idle authenticated SFTP session (PSS of the server's cgroup)",
    "small": "Small files and listing (server CPU, net of one login)",
    "russh": "Against a minimal russh + russh-sftp server (server CPU per GiB, net of one login)",
    "wan": "50 ms round trip (TUN relay between two network namespaces), wall MB/s",
}


def render(ctx) -> tuple[str, list[list[str]]]:
    res = ctx.res
    lines = []
    csv_rows = [["section", "metric", "unit", "server", "median", "min", "max", "n", "values"]]
    info = machine_info(ctx)
    lines.append(f"# Wharf benchmark, {ctx.started.strftime('%Y-%m-%d %H:%M')} on {platform.node()}")
    lines.append("")
    lines.append("Command: `bench/run " + " ".join(ctx.argv) + "`. Cells: median (min–max) over the "
                 "repetitions; servers alternate order each repetition. Ratios are medians over medians.")
    lines.append("")
    for k, v in info:
        lines.append(f"- **{k}**: {v}")
    lines.append("")
    for sec in SECTIONS:
        rows = [r for (s, _), r in res.rows.items() if s == sec]
        if not rows:
            continue
        lines.append(f"## {SECTION_TITLE[sec]}")
        lines.append("")
        if sec == "russh":
            lines.append("| measure | unit | Wharf | russh | Wharf/russh |")
            lines.append("|---|---|---|---|---|")
            for r in rows:
                q = ratio(res, r.section, r.metric, "wharf", "russh")
                lines.append(f"| {r.metric} | {r.unit} | {fmt_cell(r.values.get('wharf', []))} | "
                             f"{fmt_cell(r.values.get('russh', []))} | {fmt_num(q) + '×' if q is not None else '–'} |")
        elif sec in ("crypto",):
            lines.append("| measure | unit | value |")
            lines.append("|---|---|---|")
            for r in rows:
                lines.append(f"| {r.metric} | {r.unit} | {fmt_cell(r.values.get('machine', []))} |")
        else:
            extra = " path |" if sec == "wan" else ""
            lines.append(f"| measure | unit | OpenSSH | ProFTPD | Wharf | Wharf/OpenSSH | ProFTPD/OpenSSH |{extra}")
            lines.append("|---|---|---|---|---|---|---|" + ("---|" if extra else ""))
            for r in rows:
                q = ratio(res, r.section, r.metric)
                qp = ratio(res, r.section, r.metric, "proftpd")
                cells = [fmt_cell(r.values[s]) for s in SERVERS]
                if "path ceiling" in r.metric:
                    cells = ["", "", ""]
                row = (f"| {r.metric} | {r.unit} | " + " | ".join(cells)
                       + f" | {fmt_num(q) + '×' if q is not None else '–'} | "
                       f"{fmt_num(qp) + '×' if qp is not None else '–'} |")
                if extra:
                    row += f" {fmt_cell(r.values['path']) if 'path ceiling' in r.metric else ''} |"
                lines.append(row)
        lines.append("")
        for r in rows:
            for srv, vals in r.values.items():
                if vals:
                    csv_rows.append([r.section, r.metric, r.unit, srv, f"{med(vals):.6g}", f"{min(vals):.6g}",
                                     f"{max(vals):.6g}", str(len(vals)), " ".join(f"{v:.6g}" for v in vals)])
    if res.targets:
        lines.append("## Targets (issue 6)")
        lines.append("")
        lines.append("| target | measured as | value | goal | status |")
        lines.append("|---|---|---|---|---|")
        for t in res.targets:
            status = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
            v = t["value"]
            vs = "–" if v is None else (fmt_num(v) + ("×" if t["is_ratio"] else ""))
            lines.append(f"| {t['what']} | {t['measured_as']} | {vs} | {t['goal']} | {status} |")
            csv_rows.append(["target", t["what"], t["measured_as"], "wharf", "" if v is None else f"{v:.6g}",
                             "", "", "", f"goal {t['goal']}: {status.strip('*')}"])
        lines.append("")
    lines.append("## How it was measured")
    lines.append("")
    for n in method_notes(ctx):
        lines.append(f"- {n}")
    if res.notes:
        lines.append("")
        lines.append("## Problems during the run")
        lines.append("")
        for n in res.notes:
            lines.append(f"- {n}")
    lines.append("")
    return "\n".join(lines), csv_rows


def host_cc() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/sys/net/ipv4/tcp_congestion_control").read_text().strip()
    return "unknown"


def method_notes(ctx) -> list[str]:
    z = ctx.sizes
    return [
        "Servers on loopback: OpenSSH sshd (Subsystem sftp internal-sftp, UsePAM no), ProFTPD with mod_sftp "
        "(proftpd -n, TransferLog NONE, MaxInstances 12000), Wharf (`wharf serve`, run as the bench user). "
        "Configurations follow shared/reference/peers/ and are written to "
        f"{ctx.setup.etc}/. All serve the same user ({USER}, home {ctx.setup.home} on tmpfs), "
        "the same ed25519 host key and the same ed25519 user key.",
        "Server CPU = cpuacct.usage of a cgroup v1 made for each server; its launcher joins the cgroup before "
        "exec, so sshd's per-connection processes and ProFTPD's session children are included. The reading "
        "is taken after the session's processes have exited. Clients run outside these cgroups.",
        f"Bulk: a {z.big >> 20} MiB random file, `sftp -b` get/put and `scp -O` get/put from OpenSSH "
        f"{sh(['ssh', '-V'], check=False).stderr.strip()}, default client buffer sizes, Compression=no, "
        "KexAlgorithms=curve25519-sha256; every transfer is compared byte for byte afterwards. The CPU of an "
        "empty sftp session (measured just before, same cipher) is subtracted.",
        f"Login: {z.logins} × `sftp -b /dev/null` (connect, curve25519-sha256, ed25519 host key and user key, "
        "sftp subsystem INIT/VERSION, quit), one after another and then 4 at a time.",
        f"Memory: AsyncSSH ({'hold_sessions.py'}) opens sessions 16 at a time, each one connection with the "
        "sftp subsystem started, then idle; per-session = (sum of Pss from /proc/PID/smaps_rollup over the "
        "server cgroup's processes − the same with no session) / sessions. One pass per server; the last step "
        f"stops at {z.mem_max:,} sessions, on the first failed login, or when MemAvailable < 4 GiB.",
        f"Small files: `sftp -b` put/get of {z.small_files} × {z.small_size} B files (glob), "
        f"and `ls -l` of a {z.list_entries}-entry directory; CPU of an empty session subtracted.",
        f"50 ms path: two network namespaces joined by {relay_name()}, a user-space relay moving IP packets "
        "between two TUN devices (MTU 65000) after holding each 25 ms; TCP is end to end, with the host's "
        f"congestion control ({host_cc()}). Both namespaces get tcp_rmem/tcp_wmem max 64 MiB so kernel buffers "
        "do not cap the path, a 4 MiB default receive buffer (so the first window is not one 65000-byte "
        "segment) and tcp_no_metrics_save=1 (no connection inherits another's cached metrics); the ceiling row "
        "is one plain TCP stream of the same size through the same path (the relay's own `send`/`sink`). "
        "MB/s = bytes / wall time of the whole client command (connection set-up and TCP start-up included). "
        "The \"no delay\" rows repeat the ceiling and the scp -O upload through the same namespaces and relay "
        "holding packets 0 ms: on a small machine client, relay and server share the cores, and these rows show "
        "what the three manage together without the delay; the \"share\" row divides each server's 50 ms "
        "upload by its own no-delay upload.",
        "russh: bench/russh-peer, a minimal server on russh 0.65.1 and russh-sftp 3.0.1 (aws-lc-rs crypto, "
        "as Wharf's AES-GCM): public-key login, the sftp subsystem with the operations OpenSSH's sftp needs "
        "for get and put, files read and written with pread/pwrite; run as the bench user like Wharf, and "
        "measured like the bulk rows, Wharf and russh alternating.",
        "Crypto: `openssl speed -evp` with 16 KiB blocks, one process (one core).",
    ]


# ---------------------------------------------------------------------------


class Ctx:
    pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes and 1 repetition, for development")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections: {','.join(SECTIONS)}")
    ap.add_argument("--reps", type=int, help="repetitions (default 3, or 1 with --quick)")
    ap.add_argument("--no-build", action="store_true", help="(bench/run) use target/release/wharf as it is")
    ap.add_argument("--servers", default=",".join(SERVERS), help="measure only these (for development)")
    ap.add_argument("--mem-max", type=int, help="last step of the memory section (default 10000, --quick 100)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (files, configs, logs)")
    ap.add_argument("--dir", default=os.environ.get("WHARF_BENCH_DIR", "/dev/shm/wharf-bench"),
                    help="work directory (tmpfs recommended)")
    ap.add_argument("--wharf", default=str(REPO / "target" / "release" / "wharf"))
    ap.add_argument("--python", default=sys.executable, help="a Python with asyncssh (bench/run sets it)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.py: needs root")
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        sys.exit(f"unknown section(s) {bad}; choose from {SECTIONS}")
    ctx = Ctx()
    argv = sys.argv[1:]
    # As the user typed it to bench/run (which adds --python itself).
    ctx.argv = [a for i, a in enumerate(argv) if a != "--python" and (i == 0 or argv[i - 1] != "--python")]
    ctx.quick = args.quick
    ctx.only = [s for s in SECTIONS if s in only]
    ctx.reps = args.reps or (1 if args.quick else 3)
    ctx.sizes = Sizes.for_mode(args.quick)
    ctx.python = args.python
    ctx.res = Results()
    ctx.failed_combo = {}
    ctx.started = datetime.datetime.now()
    ctx.load_start = open("/proc/loadavg").read().split()[0]
    wharf = Path(args.wharf)
    if not wharf.exists():
        sys.exit(f"{wharf} not found: cargo build --release -p wharf")
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    # Every Wharf instance of the run execs this snapshot, so a rebuild of
    # target/release meanwhile (other work on the same tree) cannot mix two
    # builds into one table; the report names the snapshot's build time and hash.
    snap = base / "wharf"
    shutil.copy2(wharf, snap)
    os.chmod(snap, 0o755)
    ctx.wharf_built = datetime.datetime.fromtimestamp(wharf.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    ctx.wharf_sha = hashlib.sha256(snap.read_bytes()).hexdigest()[:12]
    rev = sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = sh(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"], check=False).stdout.strip()
    ctx.git = f"{rev}{' with uncommitted changes' if dirty else ''}"
    ctx.setup = Setup(base, ctx.sizes, snap)
    log(f"preparing {base} (load average {ctx.load_start})")
    ctx.setup.prepare()
    ACTIVE[:] = [s for s in SERVERS if s in args.servers.split(",")]
    if args.mem_max:
        ctx.sizes.mem_max = args.mem_max
        ctx.sizes.mem_steps = [s for s in ctx.sizes.mem_steps if s < args.mem_max]
    ctx.servers = {n: Server(n, ctx.setup) for n in ACTIVE}
    needs_servers = any(s in ctx.only for s in ("bulk", "russh", "login", "memory", "small"))
    interrupted = False

    def on_term(*_):
        raise KeyboardInterrupt

    # A plain `kill` stops the run as Ctrl-C does: servers, relay and
    # namespaces are cleaned up and the partial table is still written.
    signal.signal(signal.SIGTERM, on_term)
    try:
        if needs_servers:
            for s in ctx.servers.values():
                s.start()
                empty_session(ctx.setup, s)  # fail early if a server cannot serve a login
            log("servers up: " + ", ".join(f"{LABEL[n]} :{s.port}" for n, s in ctx.servers.items()))
        for sec in ctx.only:
            log(f"section {sec}")
            try:
                globals()[f"section_{sec}"](ctx)
            except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                ctx.res.notes.append(f"section {sec} aborted: {str(e).strip()[-400:]}")
                log(f"section {sec} aborted: {e}")
    except KeyboardInterrupt:
        interrupted = True
        ctx.res.notes.append("interrupted by the user; partial results")
    finally:
        for s in ctx.servers.values():
            s.stop()
        with contextlib.suppress(OSError):
            CGROOT.rmdir()
    evaluate_targets(ctx)
    md, rows = render(ctx)
    print(md)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    stem = f"{ctx.started.strftime('%Y-%m-%d')}-{platform.node()}"
    if ctx.quick:
        stem += "-quick"
    if ctx.only != SECTIONS:
        stem += "-" + "-".join(ctx.only)
    if ACTIVE != SERVERS:
        stem += "-" + "-".join(ACTIVE)
    (out / f"{stem}.md").write_text(md)
    with open(out / f"{stem}.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    log(f"wrote {out / stem}.md and .csv")
    if not args.keep and not ctx.quick:
        shutil.rmtree(base, ignore_errors=True)
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    main()
