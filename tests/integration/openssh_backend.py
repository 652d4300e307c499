"""Optional reference backend: the same tests against OpenSSH's sshd (WHARF_TEST_AGAINST=openssh).

It proves the harness (client invocations, askpass, -vv parsing, jail and
robustness expectations) on a server known to be right. Needs root: the two
test users are uid-0 aliases (so they may write in a root-owned
ChrootDirectory, which is what makes OpenSSH's "/" the user's root as Wharf's
is), and their login shell is nologin, so exec and shell requests fail with a
message while the internal-sftp subsystem works.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from harness import HOST, HarnessError, Server, prepare_common, run, write_known_hosts

SSHD = "/usr/sbin/sshd"
# ChrootDirectory demands that every component of the path be root-owned and
# not group- or world-writable, which rules out anything under /tmp.
BASE_PARENT = Path("/var/lib/wharf-it-openssh")
USERS = ("wtalice", "wtbob")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _ensure_user(name: str, password: str | None) -> None:
    if subprocess.run(["id", "-u", name], capture_output=True).returncode != 0:
        run(["useradd", "-o", "-u", "0", "-g", "0", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", name])
    # A key-only user gets a random password nobody knows.
    run(["chpasswd"], input=f"{name}:{password or os.urandom(16).hex()}\n")


def start_openssh(_unused_base: Path) -> Server:
    if os.geteuid() != 0:
        raise HarnessError("WHARF_TEST_AGAINST=openssh needs root")
    BASE_PARENT.mkdir(mode=0o755, exist_ok=True)
    os.chmod(BASE_PARENT, 0o755)
    base = Path(tempfile.mkdtemp(prefix="sshd-", dir=BASE_PARENT))
    try:
        return _start(base)
    except BaseException:
        _remove(base)
        raise


def _remove(base: Path) -> None:
    for u in USERS:
        subprocess.run(["userdel", "-f", u], capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", str(base)], capture_output=True)


def _wait_ready(proc: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise HarnessError(f"sshd exited {proc.returncode}:\n{log_path.read_text()}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                if s.recv(64).startswith(b"SSH-"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise HarnessError(f"sshd did not come up:\n{log_path.read_text()}")
        time.sleep(0.1)


def _start(base: Path) -> Server:
    if not Path(SSHD).exists():
        raise HarnessError("sshd not found (Debian package openssh-server)")
    os.chmod(base, 0o755)
    common = prepare_common(base, USERS[0], USERS[1])
    for p in (base / "data", common["pw_user"].root, common["key_user"].root):
        os.chmod(p, 0o755)
    _ensure_user(USERS[0], common["pw_user"].password)
    _ensure_user(USERS[1], None)
    ak = base / "authorized_keys"
    ak.mkdir()
    (ak / USERS[1]).write_text(Path(str(common["key_user"].key) + ".pub").read_text())
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)

    port = _free_port()
    host_keys = "\n".join(f"HostKey {k}" for k in common["host_keys"])
    cfg = base / "sshd_config"
    cfg.write_text(f"""Port {port}
ListenAddress {HOST}
{host_keys}
PidFile {base}/sshd.pid
UsePAM no
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile {ak}/%u
StrictModes no
PermitTTY no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
Subsystem sftp internal-sftp
AllowUsers {" ".join(USERS)}
Match User {USERS[0]}
    ChrootDirectory {common["pw_user"].root}
Match User {USERS[1]}
    ChrootDirectory {common["key_user"].root}
""")
    log_path = base / "sshd.log"
    log = open(log_path, "ab")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(cfg)], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log, start_new_session=True)
    log.close()
    try:
        _wait_ready(proc, port, log_path)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise

    srv = Server(kind="openssh", host=HOST, port=port, base=base, pw_user=common["pw_user"],
                 key_user=common["key_user"], host_pubs=common["host_pubs"],
                 known_hosts=write_known_hosts(base / "known_hosts", port, common["host_pubs"]),
                 askpass=common["askpass"], stranger_key=common["stranger"], log_path=log_path, proc=proc)

    srv._cleanup.append(lambda: _remove(base))
    return srv
