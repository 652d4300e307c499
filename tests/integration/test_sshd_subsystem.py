"""`wharf sftp-server` as the SFTP subsystem of a real OpenSSH sshd on loopback.

sshd runs `Subsystem sftp <wharf> sftp-server ...` for the logged-in user through the user's
shell, as it would OpenSSH's own sftp-server; OpenSSH's sftp client then transfers files
through it. Needs root (a throw-away uid-0 alias user with a real shell and its own home,
as openssh_backend.py does for its users) and sshd.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

import openssh_backend as ob
from harness import (
    HOST,
    Server,
    assert_same_bytes,
    make_random_file,
    prepare_common,
    run,
    run_sftp,
    sftp_quote as q,
    wharf_bin,
    write_known_hosts,
)

USER = "wtsubsys"


def _start_sshd(base: Path, user: str, subsystem_args: str) -> Server:
    os.chmod(base, 0o755)
    common = prepare_common(base, user, user + "k")
    home = common["pw_user"].root
    for p in (base / "data", home):
        os.chmod(p, 0o755)
    # A real shell: sshd starts subsystems with `$SHELL -c`.
    subprocess.run(["userdel", "-f", user], capture_output=True)
    run(["useradd", "-o", "-u", "0", "-g", "0", "-M", "-d", str(home), "-s", "/bin/sh", user])
    run(["chpasswd"], input=f"{user}:{common['pw_user'].password}\n")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    port = ob._free_port()
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
PubkeyAuthentication no
StrictModes no
PermitTTY no
PrintMotd no
LogLevel VERBOSE
Subsystem sftp {wharf_bin()} sftp-server {subsystem_args}
AllowUsers {user}
""")
    log_path = base / "sshd.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([ob.SSHD, "-D", "-e", "-f", str(cfg)], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, start_new_session=True)
    try:
        ob._wait_ready(proc, port, log_path)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return Server(kind="openssh", host=HOST, port=port, base=base, pw_user=common["pw_user"],
                  key_user=common["key_user"], host_pubs=common["host_pubs"],
                  known_hosts=write_known_hosts(base / "known_hosts", port, common["host_pubs"]),
                  askpass=common["askpass"], stranger_key=common["stranger"], log_path=log_path, proc=proc)


@pytest.fixture(scope="module")
def sshd_factory():
    if os.geteuid() != 0:
        pytest.skip("needs root to run sshd and add a user")
    if not Path(ob.SSHD).exists():
        pytest.skip("sshd not installed (Debian package openssh-server)")
    started: list[Server] = []

    def make(subsystem_args: str = "") -> Server:
        ob.BASE_PARENT.mkdir(mode=0o755, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix="subsys-", dir=ob.BASE_PARENT))
        # One user per sshd: a uid-0 alias cannot be changed while its sessions linger.
        srv = _start_sshd(base, f"{USER}{len(started)}", subsystem_args)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()
        subprocess.run(["userdel", "-f", srv.pw_user.name], capture_output=True)
        subprocess.run(["rm", "-rf", "--one-file-system", str(srv.base)], capture_output=True)


def _ok(cp, srv):
    assert cp.returncode == 0, (f"sftp exited {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}\n"
                                f"sshd log:\n{srv.log_tail()}")
    return cp


def test_put_get_through_sshd(sshd_factory, local):
    srv = sshd_factory("-l ERROR")
    home = srv.pw_user.root
    src = make_random_file(local / "src.bin", 3 * 1024 * 1024 + 7)
    back = local / "back.bin"
    cp = _ok(run_sftp(srv, ["mkdir up", f"put {q(src)} up/f.bin", f"get up/f.bin {q(back)}", "pwd", "df -h"],
                      extra_opts=["-vv"]), srv)
    # The session starts in the user's home, as with OpenSSH's sftp-server.
    assert f"Remote working directory: {home}" in cp.stdout
    assert_same_bytes(src, home / "up" / "f.bin")
    assert_same_bytes(src, back)
    # Wharf, not OpenSSH's sftp-server, answered: it announces extensions sftp-server lacks.
    assert 'Unrecognised server extension "check-file"' in cp.stderr, cp.stderr
    assert f"Starting session: subsystem 'sftp' for {srv.pw_user.name}" in srv.log_tail(1000), srv.log_tail()


def test_read_only_and_denied_requests(sshd_factory, local):
    srv = sshd_factory("-R")
    home = srv.pw_user.root
    (home / "present.txt").write_bytes(b"hello\n")
    src = make_random_file(local / "src.bin", 1000)
    back = local / "back.txt"
    cp = run_sftp(srv, [f"get present.txt {q(back)}", f"-put {q(src)} nope.bin", "-mkdir d"])
    _ok(cp, srv)
    assert back.read_bytes() == b"hello\n"
    assert not (home / "nope.bin").exists() and not (home / "d").exists()
    assert "Permission denied" in cp.stderr

    srv = sshd_factory("-P remove,posix-rename,rename")
    home = srv.pw_user.root
    (home / "keep.txt").write_bytes(b"keep")
    cp = run_sftp(srv, [f"put {q(src)} new.bin", "-rm keep.txt", "-rename new.bin other.bin"])
    _ok(cp, srv)
    assert_same_bytes(src, home / "new.bin")
    assert (home / "keep.txt").read_bytes() == b"keep"
    assert not (home / "other.bin").exists()
    assert cp.stderr.count("Permission denied") == 2, cp.stderr
