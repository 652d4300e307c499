"""User sources and login policy, with real clients against a running server.

The server reads `[auth] sources = ["config", "sqlite", "system"]`; users are
added, changed and removed with `wharf user` while it runs, and each change
must apply at the next login. A second server uses a real PostgreSQL started
from Debian's packages (initdb/pg_ctl as user postgres, on a free loopback port).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import paramiko
import pytest

import harness
from harness import User, run, run_sftp, toml_str

DENIED = re.compile(r"Permission denied \(")


def wharf_user(db_args: list[str], *args: str, input: str | None = None, check: bool = True):
    return run([str(harness.wharf_bin()), "user", *db_args, *args], input=input, check=check)


def denied(cp) -> None:
    assert cp.returncode != 0, f"login should have failed:\n{cp.stdout}\n{cp.stderr}"
    assert DENIED.search(cp.stderr), f"no 'Permission denied' from the client:\n{cp.stderr}"


def works(srv, user: User, auth: str | None = None) -> None:
    cp = run_sftp(srv, ["pwd"], user=user, auth=auth)
    assert cp.returncode == 0, cp.stderr
    assert "Remote working directory: /" in cp.stdout, cp.stdout


def pub_line(key: Path) -> str:
    return Path(str(key) + ".pub").read_text().strip()


def fingerprint(key: Path) -> str:
    return run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(key) + ".pub"]).stdout.split()[1]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("userkeys")
    return {
        "good": harness.keygen(d / "id_good", ["-t", "ed25519"], "good@it"),
        "black": harness.keygen(d / "id_black", ["-t", "ed25519"], "black@it"),
        "dir": d,
    }


@pytest.fixture(scope="module")
def srv(server_factory, keys, tmp_path_factory):
    if os.environ.get("WHARF_TEST_AGAINST", "wharf") != "wharf":
        pytest.skip("user sources are Wharf's")
    db = tmp_path_factory.mktemp("db") / "users.db"
    blacklist = keys["dir"] / "blacklist.txt"
    blacklist.write_text(f"# compromised\n{fingerprint(keys['black'])}\n")
    extra = f"""
[auth]
sources = ["config", "sqlite", "system"]
sqlite_path = {toml_str(db)}
system_min_uid = 1000
key_blacklist_file = {toml_str(blacklist)}
"""
    s = server_factory("users", extra)
    s.db_args = ["--db", str(db)]
    return s


def new_user(srv, name: str, *flags: str, password: str | None = "random", key: Path | None = None) -> User:
    root = srv.base / "roots" / name
    root.mkdir(parents=True, exist_ok=True)
    if password == "random":
        password = "pw-" + os.urandom(6).hex()
    args = ["add", name, "--root", str(root), *flags]
    if password is not None:
        args.append("--password")
    else:
        args.append("--no-password")
    if key is not None:
        args += ["--key", pub_line(key)]
    wharf_user(srv.db_args, *args, input=password)
    return User(name=name, root=root, password=password, key=key)


def test_cli_added_user_logs_in_while_the_server_runs(srv, local):
    u = new_user(srv, "carol")
    src = local / "hello.txt"
    src.write_bytes(b"from carol\n")
    cp = run_sftp(srv, [f"put {src} hello.txt"], user=u)
    assert cp.returncode == 0, cp.stderr
    assert (u.root / "hello.txt").read_bytes() == b"from carol\n"
    listing = wharf_user(srv.db_args, "list").stdout
    assert re.search(r"^carol\s+active\s+yes\s+0\s", listing, re.M), listing
    shown = wharf_user(srv.db_args, "show", "carol").stdout
    assert "password: set (argon2)" in shown
    assert "$argon2" not in shown and "$argon2" not in listing
    # A wrong password is still wrong.
    denied(run_sftp(srv, ["pwd"], user=u, password="nope"))


def test_disabled_user_is_refused_then_enabled(srv):
    u = new_user(srv, "dave")
    works(srv, u)
    wharf_user(srv.db_args, "disable", "dave")
    denied(run_sftp(srv, ["pwd"], user=u))
    assert "disabled" in wharf_user(srv.db_args, "list").stdout
    wharf_user(srv.db_args, "enable", "dave")
    works(srv, u)


def test_expired_user_is_refused(srv):
    u = new_user(srv, "olga", "--expires", "2001-02-03")
    denied(run_sftp(srv, ["pwd"], user=u))
    assert "account expired" in srv.log_tail(40)
    wharf_user(srv.db_args, "set", "olga", "--expires", "never")
    works(srv, u)


def test_deleted_user_is_refused(srv):
    u = new_user(srv, "gone")
    works(srv, u)
    wharf_user(srv.db_args, "delete", "gone")
    denied(run_sftp(srv, ["pwd"], user=u))
    assert wharf_user(srv.db_args, "show", "gone", check=False).returncode != 0


def test_key_add_and_remove(srv, keys):
    root = srv.base / "roots" / "erin"
    root.mkdir(parents=True, exist_ok=True)
    wharf_user(srv.db_args, "add", "erin", "--root", str(root), "--no-password", "--key", pub_line(keys["good"]))
    u = User(name="erin", root=root, key=keys["good"])
    works(srv, u, auth="key")
    wharf_user(srv.db_args, "key", "remove", "erin", fingerprint(keys["good"]))
    denied(run_sftp(srv, ["pwd"], user=u, auth="key"))
    wharf_user(srv.db_args, "key", "add", "erin", pub_line(keys["good"]))
    works(srv, u, auth="key")
    # Removing by the key line works too.
    wharf_user(srv.db_args, "key", "remove", "erin", pub_line(keys["good"]))
    denied(run_sftp(srv, ["pwd"], user=u, auth="key"))


def test_from_option_is_honoured(srv, keys):
    root = srv.base / "roots" / "fred"
    root.mkdir(parents=True, exist_ok=True)
    line = f'from="10.0.0.0/8" {pub_line(keys["good"])}'
    wharf_user(srv.db_args, "add", "fred", "--root", str(root), "--no-password", "--key", line)
    u = User(name="fred", root=root, key=keys["good"])
    denied(run_sftp(srv, ["pwd"], user=u, auth="key"))
    assert "from= does not match" in srv.log_tail(40)
    wharf_user(srv.db_args, "key", "remove", "fred", fingerprint(keys["good"]))
    wharf_user(srv.db_args, "key", "add", "fred", f'from="127.0.0.1,!10.*",no-pty {pub_line(keys["good"])}')
    works(srv, u, auth="key")


def test_expiry_time_option(srv, keys):
    root = srv.base / "roots" / "gina"
    root.mkdir(parents=True, exist_ok=True)
    wharf_user(srv.db_args, "add", "gina", "--root", str(root), "--no-password", "--key",
               f'expiry-time="20000101Z" {pub_line(keys["good"])}')
    u = User(name="gina", root=root, key=keys["good"])
    denied(run_sftp(srv, ["pwd"], user=u, auth="key"))
    wharf_user(srv.db_args, "key", "remove", "gina", fingerprint(keys["good"]))
    wharf_user(srv.db_args, "key", "add", "gina", f'expiry-time="29991231Z" {pub_line(keys["good"])}')
    works(srv, u, auth="key")


def test_forced_commands_other_than_sftp_are_refused_by_the_cli(srv, keys):
    cp = wharf_user(srv.db_args, "key", "add", "carol", f'command="/bin/sh" {pub_line(keys["good"])}', check=False)
    assert cp.returncode != 0 and "cannot be honoured" in cp.stderr, cp.stderr


def test_allowed_networks(srv):
    u = new_user(srv, "hank", "--allow-network", "10.0.0.0/8")
    denied(run_sftp(srv, ["pwd"], user=u))
    wharf_user(srv.db_args, "set", "hank", "--allow-network", "127.0.0.0/8")
    works(srv, u)


def test_max_sessions(srv):
    u = new_user(srv, "ivan", "--max-sessions", "1")
    first = harness.paramiko_client(srv, user=u)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            harness.paramiko_client(srv, user=u).close()
        assert "max_sessions reached" in srv.log_tail(40)
    finally:
        first.close()
    # The session is released when its connection ends.
    deadline = time.monotonic() + 10
    while True:
        cp = run_sftp(srv, ["pwd"], user=u)
        if cp.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert cp.returncode == 0, cp.stderr


def test_blacklisted_key_is_refused(srv, keys):
    root = srv.base / "roots" / "judy"
    root.mkdir(parents=True, exist_ok=True)
    wharf_user(srv.db_args, "add", "judy", "--root", str(root), "--no-password",
               "--key", pub_line(keys["black"]), "--key", pub_line(keys["good"]))
    denied(run_sftp(srv, ["pwd"], user=User(name="judy", root=root, key=keys["black"]), auth="key"))
    assert "blacklisted key refused" in srv.log_tail(40)
    works(srv, User(name="judy", root=root, key=keys["good"]), auth="key")


def test_read_only_user_cannot_upload(srv, local):
    u = new_user(srv, "reader", "--read-only")
    (u.root / "report.txt").write_bytes(b"numbers\n")
    src = local / "x.txt"
    src.write_bytes(b"x")
    cp = run_sftp(srv, [f"get report.txt {local / 'got.txt'}", f"put {src} x.txt"], user=u)
    assert cp.returncode != 0
    assert (local / "got.txt").read_bytes() == b"numbers\n"
    assert not (u.root / "x.txt").exists()


@pytest.fixture
def system_user(srv):
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("needs root and useradd to create a system account")
    name = "wharfit" + os.urandom(3).hex()
    home = Path(tempfile.mkdtemp(prefix="wharf-sys-")) / name
    password = "sys-" + os.urandom(6).hex()
    run(["useradd", "-M", "-d", str(home), "-s", "/usr/sbin/nologin", "-K", "UID_MIN=20000", name])
    try:
        home.mkdir(mode=0o755)
        os.chown(home, pwd.getpwnam(name).pw_uid, pwd.getpwnam(name).pw_gid)
        # SHA-512-crypt: Debian's default, yescrypt, is not supported (documented).
        run(["chpasswd", "-c", "SHA512"], input=f"{name}:{password}\n")
        yield User(name=name, root=home, password=password)
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(home.parent, ignore_errors=True)


def test_system_user_logs_in_to_their_home(srv, system_user, local):
    src = local / "s.txt"
    src.write_bytes(b"system\n")
    cp = run_sftp(srv, [f"put {src} s.txt"], user=system_user)
    assert cp.returncode == 0, cp.stderr
    assert (system_user.root / "s.txt").read_bytes() == b"system\n"
    denied(run_sftp(srv, ["pwd"], user=system_user, password="wrong"))


# --------------------------------------------------------------------------
# PostgreSQL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not bins:
        pytest.skip("PostgreSQL is not installed (scripts/test.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("starting PostgreSQL as user postgres needs root")
    bindir = bins[-1].parent
    # Under /tmp itself: pytest's folders are 0700 root, which user
    # postgres could not enter.
    top = Path(tempfile.mkdtemp(prefix="wharf-pg-"))
    data, sock = top / "data", top / "sock"
    sock.mkdir()
    shutil.chown(top, "postgres")
    shutil.chown(sock, "postgres")
    port = _free_port()
    as_pg = ["runuser", "-u", "postgres", "--"]
    run(as_pg + [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"], timeout=120)
    log = top / "pg.log"
    run(as_pg + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                 f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"], timeout=90)
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        subprocess.run(as_pg + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(top, ignore_errors=True)


def test_postgres_source(server_factory, postgres, keys):
    extra = f"""
[auth]
sources = ["config", "postgres"]
postgres_url = {toml_str(postgres)}
postgres_pool_size = 2
"""
    s = server_factory("users-pg", extra)
    db = ["--postgres", postgres]
    u = new_user(type("S", (), {"base": s.base, "db_args": db})(), "pgalice")
    works(s, u)
    denied(run_sftp(s, ["pwd"], user=u, password="wrong"))
    wharf_user(db, "key", "add", "pgalice", pub_line(keys["good"]))
    works(s, User(name="pgalice", root=u.root, key=keys["good"]), auth="key")
    wharf_user(db, "disable", "pgalice")
    denied(run_sftp(s, ["pwd"], user=u))
    assert re.search(r"^pgalice\s+disabled", wharf_user(db, "list").stdout, re.M)
    wharf_user(db, "delete", "pgalice")
    denied(run_sftp(s, ["pwd"], user=u))
