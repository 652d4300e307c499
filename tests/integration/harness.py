"""Start a server under test and drive it with real, independent SSH clients.

The default server is the `wharf` binary ($WHARF_BIN, else target/release/wharf).
WHARF_TEST_AGAINST=openssh runs the same tests against a throw-away OpenSSH sshd
(see openssh_backend.py); that mode exists to prove the client invocations in
this file against a reference server, and needs root.

Every client gets an explicit, isolated configuration (-F /dev/null, no agent,
a known_hosts file built from the server's host key .pub files with strict
checking) so the tests never depend on the machine's ~/.ssh or an agent, and a
server that presents the wrong host key fails the test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterable, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

# How long a client may take for an ordinary operation; big transfers pass
# their own. Generous because CI has 2 cores and may be building in parallel.
CLIENT_TIMEOUT = 60

LISTEN_RE = re.compile(r"^wharf: listening on 127\.0\.0\.1:(\d+)\s*$")

# (file stem, ssh-keygen arguments, the algorithms this key serves)
HOST_KEY_SPECS = [
    ("ssh_host_ed25519_key", ["-t", "ed25519"], ["ssh-ed25519"]),
    ("ssh_host_ecdsa_key", ["-t", "ecdsa", "-b", "256"], ["ecdsa-sha2-nistp256"]),
    ("ssh_host_ecdsa384_key", ["-t", "ecdsa", "-b", "384"], ["ecdsa-sha2-nistp384"]),
    ("ssh_host_ecdsa521_key", ["-t", "ecdsa", "-b", "521"], ["ecdsa-sha2-nistp521"]),
    ("ssh_host_rsa_key", ["-t", "rsa", "-b", "3072"], ["rsa-sha2-256", "rsa-sha2-512"]),
]


class HarnessError(RuntimeError):
    pass


@dataclasses.dataclass
class User:
    name: str
    root: Path
    password: str | None = None
    key: Path | None = None  # private key file; the .pub sits beside it


@dataclasses.dataclass
class Server:
    kind: str  # "wharf" or "openssh"
    host: str
    port: int
    base: Path
    pw_user: User
    key_user: User
    host_pubs: dict[str, Path]  # algorithm -> .pub of the key that serves it
    known_hosts: Path
    askpass: Path
    stranger_key: Path  # a key pair the server has never seen
    log_path: Path
    proc: subprocess.Popen | None = None
    _stdout_thread: threading.Thread | None = None
    _cleanup: list = dataclasses.field(default_factory=list)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 150) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"<no server log: {e}>"
        return "\n".join(text.splitlines()[-lines:])

    def host_fingerprints(self) -> list[str]:
        """SHA256:... fingerprints of every host key, as ssh-keygen -lf prints them."""
        fps = []
        for pub in sorted(set(self.host_pubs.values())):
            out = run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)]).stdout
            fps.append(out.split()[1])
        return fps

    def fingerprint_of(self, algorithm: str) -> str:
        out = run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(self.host_pubs[algorithm])]).stdout
        return out.split()[1]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for fn in reversed(self._cleanup):
            fn()
        self._cleanup.clear()


# --------------------------------------------------------------------------
# small utilities


def run(argv: Sequence[str], *, input: bytes | str | None = None, timeout: float = CLIENT_TIMEOUT,
        env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command with no terminal and no inherited stdin; text output."""
    if isinstance(input, bytes):
        input = input.decode()
    cp = subprocess.run(list(argv), input=input, stdin=None if input is not None else subprocess.DEVNULL,
                        capture_output=True, text=True, timeout=timeout, env=env, errors="replace")
    if check and cp.returncode != 0:
        raise HarnessError(f"{shlex.join(argv)} exited {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}")
    return cp


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


def assert_same_bytes(a: Path, b: Path) -> None:
    sa, sb = a.stat().st_size, b.stat().st_size
    assert sa == sb, f"size differs: {a} has {sa} bytes, {b} has {sb}"
    assert sha256_file(a) == sha256_file(b), f"content differs between {a} and {b}"


def keygen(path: Path, args: Iterable[str], comment: str) -> Path:
    if not path.exists():
        run(["ssh-keygen", "-q", *args, "-N", "", "-C", comment, "-f", str(path)])
    return path


def toml_str(s: str | os.PathLike) -> str:
    # TOML basic strings accept JSON's escapes (\" \\ \n \uXXXX), so
    # json.dumps yields a valid TOML string for any path or hash.
    import json

    return json.dumps(str(s))


def _tool(name: str) -> str:
    """Resolve a client binary; WHARF_IT_OPENSSH_DIR picks a specific OpenSSH build."""
    d = os.environ.get("WHARF_IT_OPENSSH_DIR")
    if d and name in ("ssh", "sftp", "scp"):
        return str(Path(d) / name)
    found = shutil.which(name)
    if not found:
        raise HarnessError(f"{name} not found on PATH (scripts/test.sh installs it)")
    return found


def ssh_bin() -> str:
    return _tool("ssh")


def sftp_bin() -> str:
    return _tool("sftp")


def client_supports(query: str, algorithm: str) -> bool:
    """Whether the OpenSSH client knows an algorithm (`ssh -Q kex|cipher|mac|HostKeyAlgorithms`)."""
    out = run([ssh_bin(), "-Q", query]).stdout.split()
    return algorithm in out


# --------------------------------------------------------------------------
# common fixture material (keys, users, known_hosts) for any backend


def prepare_common(base: Path, pw_name: str, key_name: str, roots_base: Path | None = None) -> dict:
    base.mkdir(parents=True, exist_ok=True)
    state = base / "state"
    keys = base / "keys"
    state.mkdir(exist_ok=True)
    keys.mkdir(exist_ok=True)
    roots_base = roots_base or (base / "data")
    roots_base.mkdir(exist_ok=True)

    host_pubs: dict[str, Path] = {}
    host_keys: list[Path] = []
    for stem, args, algs in HOST_KEY_SPECS:
        k = keygen(state / stem, args, f"wharf-it-host-{stem}")
        host_keys.append(k)
        for a in algs:
            host_pubs[a] = Path(str(k) + ".pub")

    bob_key = keygen(keys / "id_ed25519_key_user", ["-t", "ed25519"], f"{key_name}@wharf-it")
    stranger = keygen(keys / "id_ed25519_stranger", ["-t", "ed25519"], "stranger@wharf-it")

    pw_root = roots_base / pw_name
    key_root = roots_base / key_name
    pw_root.mkdir(exist_ok=True)
    key_root.mkdir(exist_ok=True)

    password = "pw-" + os.urandom(9).hex()
    pw_user = User(name=pw_name, root=pw_root, password=password)
    key_user = User(name=key_name, root=key_root, key=bob_key)

    askpass = base / "askpass.sh"
    # ssh runs this for every password prompt (SSH_ASKPASS_REQUIRE=force);
    # the password comes through the environment, never the command line.
    askpass.write_text('#!/bin/sh\nprintf \'%s\\n\' "$WHARF_IT_PASSWORD"\n')
    askpass.chmod(0o700)
    return dict(state=state, host_keys=host_keys, host_pubs=host_pubs, pw_user=pw_user,
                key_user=key_user, askpass=askpass, stranger=stranger)


def write_known_hosts(path: Path, port: int, host_pubs: dict[str, Path]) -> Path:
    lines = []
    for pub in sorted(set(host_pubs.values())):
        ktype, blob = pub.read_text().split()[:2]
        lines.append(f"[{HOST}]:{port} {ktype} {blob}")
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------
# the Wharf backend


def wharf_bin() -> Path:
    b = os.environ.get("WHARF_BIN")
    p = Path(b) if b else REPO_ROOT / "target" / "release" / "wharf"
    if not p.is_absolute():
        p = REPO_ROOT / p
    if not p.exists():
        raise HarnessError(f"wharf binary not found at {p}; build it (cargo build --release -p wharf) or set WHARF_BIN")
    return p


def hash_password(password: str) -> str:
    # No trailing newline: a reader that takes one line and one that takes all
    # of stdin then agree on the password.
    cp = run([str(wharf_bin()), "hash-password"], input=password, timeout=60)
    for line in reversed(cp.stdout.splitlines()):
        line = line.strip()
        if line.startswith("$argon2"):
            return line
    raise HarnessError(f"wharf hash-password printed no PHC hash:\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}")


def write_wharf_config(base: Path, common: dict, extra_server_toml: str = "") -> Path:
    pw_user: User = common["pw_user"]
    key_user: User = common["key_user"]
    pub = Path(str(key_user.key) + ".pub").read_text().strip()
    host_keys = ", ".join(toml_str(os.path.relpath(k, base)) for k in common["host_keys"])
    cfg = f"""# written by tests/integration/harness.py
[server]
listen = ["127.0.0.1:0"]
host_keys = [{host_keys}]
{extra_server_toml}

[[users]]
name = {toml_str(pw_user.name)}
password_hash = {toml_str(hash_password(pw_user.password))}
root = {toml_str(pw_user.root)}

[[users]]
name = {toml_str(key_user.name)}
authorized_keys = [{toml_str(pub)}]
root = {toml_str(key_user.root)}
"""
    path = base / "wharf.toml"
    path.write_text(cfg)
    return path


def _pump(stream, sink_path: Path, q: "queue.Queue[str | None]") -> None:
    """Copy a child's stdout to a file and hand each line to the waiter."""
    with open(sink_path, "a", errors="replace") as sink:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace")
            sink.write(line)
            sink.flush()
            q.put(line)
    q.put(None)


def start_wharf(base: Path, extra_server_toml: str = "") -> Server:
    common = prepare_common(base, "alice", "bob")
    cfg = write_wharf_config(base, common, extra_server_toml)
    log_path = base / "wharf.stderr.log"
    out_path = base / "wharf.stdout.log"
    log = open(log_path, "ab")
    env = dict(os.environ)
    env.setdefault("RUST_BACKTRACE", "1")
    proc = subprocess.Popen(
        [str(wharf_bin()), "serve", "--config", str(cfg), "--listen", f"{HOST}:0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, cwd=base, env=env,
        start_new_session=True,  # a Ctrl-C in the terminal goes to pytest, which stops us cleanly
    )
    log.close()
    q: "queue.Queue[str | None]" = queue.Queue()
    t = threading.Thread(target=_pump, args=(proc.stdout, out_path, q), daemon=True)
    t.start()

    deadline = time.monotonic() + 20
    port = None
    while port is None:
        left = deadline - time.monotonic()
        try:
            line = q.get(timeout=max(left, 0.01)) if left > 0 else None
        except queue.Empty:
            line = None
        if line is None:
            why = "exited with %s" % proc.poll() if proc.poll() is not None else "did not print its listen line within 20 s"
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise HarnessError(
                f"wharf {why}\ncommand: {shlex.join(proc.args)}\nstdout:\n{_read(out_path)}\nstderr:\n{_read(log_path)}"
            )
        m = LISTEN_RE.match(line.strip())
        if m:
            port = int(m.group(1))

    srv = Server(kind="wharf", host=HOST, port=port, base=base, pw_user=common["pw_user"],
                 key_user=common["key_user"], host_pubs=common["host_pubs"],
                 known_hosts=write_known_hosts(base / "known_hosts", port, common["host_pubs"]),
                 askpass=common["askpass"], stranger_key=common["stranger"], log_path=log_path,
                 proc=proc, _stdout_thread=t)
    return srv


def _read(p: Path) -> str:
    try:
        return p.read_text(errors="replace")
    except OSError:
        return ""


def smoke_check(server: Server) -> None:
    """Fail fast when the server cannot serve a login at all.

    Without this, a server that accepts TCP but never answers would make every
    test wait for its own client time-outs (tens of minutes in all); with it,
    the module's fixture fails once and every test in the module reports why.
    """
    import socket

    try:
        with socket.create_connection((server.host, server.port), timeout=10) as s:
            s.settimeout(10)
            banner = b""
            while b"\n" not in banner and len(banner) < 8192:
                chunk = s.recv(1024)
                if not chunk:
                    break
                banner += chunk
    except OSError as e:
        what = "sent no SSH identification line within 10 s" if isinstance(e, socket.timeout) else f"failed: {e}"
        raise HarnessError(f"connection to {server.kind} on port {server.port} {what}\n"
                           f"server log:\n{server.log_tail()}") from e
    if b"SSH-2.0-" not in banner:
        raise HarnessError(f"{server.kind} sent no SSH-2.0 identification within 10 s (got {banner[:100]!r})\n"
                           f"server log:\n{server.log_tail()}")
    failures = []
    for user in (server.pw_user, server.key_user):
        cp = run_sftp(server, ["pwd"], user=user, timeout=30)
        if cp.returncode == 0:
            return
        failures.append(f"sftp as {user.name} ({default_auth(server, user)}) exited {cp.returncode}:\n{cp.stderr}")
    raise HarnessError(f"{server.kind} answers but no login works:\n" + "\n".join(failures)
                       + f"\nserver log:\n{server.log_tail()}")


# --------------------------------------------------------------------------
# OpenSSH clients


def ssh_common_opts(server: Server) -> list[str]:
    return [
        "-F", "/dev/null",  # ignore ~/.ssh/config and /etc/ssh/ssh_config
        "-o", f"UserKnownHostsFile={server.known_hosts}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "UpdateHostKeys=no",
        "-o", "CheckHostIP=no",
        "-o", "IdentityAgent=none",
        "-o", "ConnectTimeout=15",
        "-o", "ServerAliveInterval=0",
    ]


def auth_opts(server: Server, user: User, auth: str, key: Path | None = None) -> tuple[list[str], dict]:
    """Options and environment for one authentication route.

    auth="password": ssh asks SSH_ASKPASS (forced, so no terminal is needed and
    stdin stays free for the sftp batch); auth="key": public key only, BatchMode.
    """
    env = dict(os.environ)
    env.pop("SSH_AUTH_SOCK", None)
    env.pop("DISPLAY", None)
    if auth == "password":
        env.update(SSH_ASKPASS=str(server.askpass), SSH_ASKPASS_REQUIRE="force",
                   WHARF_IT_PASSWORD=user.password or "")
        opts = ["-o", "BatchMode=no", "-o", "PreferredAuthentications=password",
                "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1"]
    elif auth == "key":
        k = key or user.key
        opts = ["-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey",
                "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
                "-o", "IdentitiesOnly=yes", "-i", str(k)]
    else:
        raise ValueError(auth)
    return opts, env


def default_auth(server: Server, user: User) -> str:
    return "password" if user.password is not None else "key"


def run_sftp(server: Server, batch_lines: Sequence[str], user: User | None = None, auth: str | None = None,
             extra_opts: Sequence[str] = (), verbose: bool = False, timeout: float = CLIENT_TIMEOUT,
             key: Path | None = None, password: str | None = None) -> subprocess.CompletedProcess:
    """OpenSSH `sftp -b -` with the given batch lines on stdin.

    Returns the CompletedProcess (returncode, stdout, stderr); with verbose the
    client's -vv debug output is in stderr (parse it with negotiated()).
    In batch mode sftp stops at the first failing command and exits non-zero,
    unless that command is prefixed with '-'.
    """
    user = user or server.pw_user
    auth = auth or default_auth(server, user)
    if password is not None:
        user = dataclasses.replace(user, password=password)
    aopts, env = auth_opts(server, user, auth, key)
    ssh = ssh_bin()
    # sftp -b adds -oBatchMode=yes to ssh's arguments when it parses -b, and
    # ssh keeps the first value of an option, so the auth options (BatchMode=no
    # for the askpass route) must come before -b.
    argv = [sftp_bin(), "-S", ssh] + ssh_common_opts(server) + aopts + list(extra_opts)
    if verbose:
        argv.append("-vv")
    argv += ["-b", "-", "-P", str(server.port), f"{user.name}@{server.host}"]
    batch = "\n".join(batch_lines) + "\n"
    return subprocess.run(argv, input=batch, capture_output=True, text=True, env=env, timeout=timeout,
                          errors="replace")


def run_ssh(server: Server, remote_args: Sequence[str] = (), user: User | None = None, auth: str | None = None,
            extra_opts: Sequence[str] = (), timeout: float = 30) -> subprocess.CompletedProcess:
    """Plain `ssh -p PORT user@127.0.0.1 [command]` (exec, or shell when no command)."""
    user = user or server.pw_user
    auth = auth or default_auth(server, user)
    aopts, env = auth_opts(server, user, auth)
    argv = [ssh_bin(), "-p", str(server.port)] + ssh_common_opts(server) + aopts + list(extra_opts)
    argv += [f"{user.name}@{server.host}", *remote_args]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                          timeout=timeout, errors="replace")


def sftp_quote(p: str | os.PathLike) -> str:
    """Quote a path for an sftp batch line (sftp understands double quotes and backslashes)."""
    s = str(p).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


_KEX_PATTERNS = {
    "kex": re.compile(r"^debug1: kex: algorithm: (\S+)", re.M),
    "hostkey": re.compile(r"^debug1: kex: host key algorithm: (\S+)", re.M),
    "s2c": re.compile(r"^debug1: kex: server->client cipher: (\S+) MAC: (\S+) compression: (\S+)", re.M),
    "c2s": re.compile(r"^debug1: kex: client->server cipher: (\S+) MAC: (\S+) compression: (\S+)", re.M),
    "server_key": re.compile(r"^debug1: Server host key: (\S+) (SHA256:\S+)", re.M),
    "server_version": re.compile(r"^debug1: Remote protocol version ([\d.]+), remote software version (.*)$", re.M),
}


def negotiated(stderr: str) -> dict:
    """What the OpenSSH client (run with -vv) says was negotiated in the first key exchange."""
    r: dict = {}
    for k, pat in _KEX_PATTERNS.items():
        m = pat.search(stderr)
        if not m:
            continue
        if k in ("s2c", "c2s"):
            r[f"{k}_cipher"], r[f"{k}_mac"], r[f"{k}_compression"] = m.group(1), m.group(2), m.group(3)
        elif k == "server_key":
            r["server_key_type"], r["server_key_fp"] = m.group(1), m.group(2)
        elif k == "server_version":
            r["protocol"], r["software"] = m.group(1), m.group(2).strip()
        else:
            r[k] = m.group(1)
    return r


# --------------------------------------------------------------------------
# PuTTY psftp


def run_psftp(server: Server, batch_lines: Sequence[str], user: User | None = None, password: str | None = None,
              extra_opts: Sequence[str] = (), timeout: float = CLIENT_TIMEOUT,
              cwd: Path | None = None, hostkeys: Sequence[str] | None = None) -> subprocess.CompletedProcess:
    """PuTTY `psftp -batch -bc -b FILE`, password from a file, host keys pinned by SHA256 fingerprint.

    -hostkey replaces PuTTY's host key cache, so nothing is written to ~/.putty
    and a server presenting any other key is refused.
    """
    user = user or server.pw_user
    pw = password if password is not None else user.password
    if not shutil.which("psftp"):
        raise HarnessError("psftp not found (Debian package putty-tools)")
    tmp = server.base / "psftp"
    tmp.mkdir(exist_ok=True)
    n = len(list(tmp.iterdir()))
    batch = tmp / f"batch{n}.txt"
    batch.write_text("\n".join(batch_lines) + "\n")
    pwfile = tmp / f"pw{n}.txt"
    pwfile.write_text((pw or "") + "\n")
    pwfile.chmod(0o600)
    argv = ["psftp", "-batch", "-bc", "-b", str(batch), "-P", str(server.port), "-l", user.name,
            "-pwfile", str(pwfile), "-noagent"]
    for fp in server.host_fingerprints() if hostkeys is None else hostkeys:
        argv += ["-hostkey", fp]
    argv += list(extra_opts) + [server.host]
    env = dict(os.environ)
    env["HOME"] = str(tmp)  # keep PuTTY's ~/.putty out of the real home
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd, errors="replace")


# --------------------------------------------------------------------------
# Paramiko


def paramiko_client(server: Server, user: User | None = None, password: str | None = None,
                    key: Path | None = None, timeout: float = 15):
    """A connected paramiko.SSHClient; host key checked against known_hosts.

    With neither password nor key given, the user's own credential is used.
    """
    import paramiko

    user = user or server.pw_user
    if password is None and key is None:
        password, key = user.password, user.key
    c = paramiko.SSHClient()
    c.load_host_keys(str(server.known_hosts))
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        c.connect(server.host, port=server.port, username=user.name, password=password,
                  key_filename=str(key) if key else None, look_for_keys=False, allow_agent=False,
                  timeout=timeout, banner_timeout=timeout, auth_timeout=timeout, channel_timeout=timeout)
    except BaseException:
        c.close()
        raise
    return c
