"""Authentication settings stored per user in the user database, with real clients.

- TOTP enrolled with `wharf user totp enable NAME` (the secret printed once):
  paramiko's keyboard-interactive answers the password and a code computed here
  from the printed secret; a wrong code is refused; after `totp disable` the
  single password prompt is back.
- Per-user method chains with `wharf user set NAME --auth-methods "publickey,password"`.
- A database made before these columns existed is migrated when opened.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import paramiko
import pytest

import harness
from harness import User, run, toml_str
from test_auth_methods import totp  # RFC 6238 computed independently of the server

pytestmark = pytest.mark.skipif(os.environ.get("WHARF_TEST_AGAINST", "wharf") != "wharf",
                                reason="Wharf's user database")


def wharf_user(db_args: list[str], *args: str, input: str | None = None, check: bool = True):
    return run([str(harness.wharf_bin()), "user", *db_args, *args], input=input, check=check)


def pub_line(key: Path) -> str:
    return Path(str(key) + ".pub").read_text().strip()


@pytest.fixture(scope="module")
def srv(server_factory, tmp_path_factory):
    db = tmp_path_factory.mktemp("dbauth") / "users.db"
    s = server_factory("dbauth", f'\n[auth]\nsources = ["config", "sqlite"]\nsqlite_path = {toml_str(db)}\n')
    s.db_args = ["--db", str(db)]
    return s


def add_user(srv, name: str, *flags: str, key: Path | None = None) -> User:
    root = srv.base / "roots" / name
    root.mkdir(parents=True, exist_ok=True)
    password = "pw-" + os.urandom(6).hex()
    args = ["add", name, "--root", str(root), "--password", *flags]
    if key is not None:
        args += ["--key", pub_line(key)]
    wharf_user(srv.db_args, *args, input=password)
    return User(name=name, root=root, password=password, key=key)


def transport(srv):
    """A paramiko transport whose host key was checked against known_hosts."""
    t = paramiko.Transport((srv.host, srv.port))
    t.start_client(timeout=15)
    entry = paramiko.HostKeys(str(srv.known_hosts)).lookup(f"[{srv.host}]:{srv.port}")
    key = t.get_remote_server_key()
    assert entry is not None and entry.get(key.get_name()) == key, "host key mismatch"
    return t


def interactive(srv, user: str, password: str, code: str | None, seen: list) -> tuple[bool, list]:
    """keyboard-interactive; returns (authenticated, prompts seen)."""
    def handler(title, instructions, prompts):
        seen.append([p for p, _echo in prompts])
        return [password if p.startswith("Password") else (code or "") for p, _echo in prompts]

    t = transport(srv)
    try:
        try:
            t.auth_interactive(user, handler)
        except paramiko.AuthenticationException:
            return False, seen
        if not t.is_authenticated():
            return False, seen
        sftp = paramiko.SFTPClient.from_transport(t)
        assert sftp.normalize(".") == "/"
        sftp.close()
        return True, seen
    finally:
        t.close()


def password_only(srv, user: User) -> bool:
    t = transport(srv)
    try:
        try:
            t.auth_password(user.name, user.password)
        except paramiko.AuthenticationException:
            return False
        return t.is_authenticated()
    finally:
        t.close()


def fresh_code(secret: str, spent: set) -> str:
    import time
    for _ in range(40):
        c = totp(secret)
        if c not in spent:
            return c
        time.sleep(1)
    raise AssertionError("no fresh TOTP step within 40 s")


def test_totp_enrolled_with_the_cli(srv):
    u = add_user(srv, "tess")
    assert password_only(srv, u)
    out = wharf_user(srv.db_args, "totp", "enable", "tess").stdout
    secret = re.search(r"^secret: ([A-Z2-7]+)$", out, re.M).group(1)
    uri = re.search(r"^uri: (otpauth://totp/\S+)$", out, re.M).group(1)
    assert f"secret={secret}" in uri and "Wharf:tess" in uri, uri
    shown = wharf_user(srv.db_args, "show", "tess").stdout
    assert "totp: on" in shown and secret not in shown, shown
    # The password alone no longer logs in, with either method.
    assert not password_only(srv, u)
    ok, seen = interactive(srv, "tess", u.password, None, [])
    assert not ok
    # A wrong code is refused; the prompts ask for both.
    wrong = str((int(totp(secret)) + 1) % 10 ** 6).zfill(6)
    ok, seen = interactive(srv, "tess", u.password, wrong, [])
    assert not ok and seen and seen[0] == ["Password: ", "Verification code: "], seen
    # The right password and code from the printed secret log in.
    code = fresh_code(secret, set())
    ok, _ = interactive(srv, "tess", u.password, code, [])
    assert ok, srv.log_tail()
    # A policy change keeps the enrolment (set rewrites the row).
    wharf_user(srv.db_args, "set", "tess", "--umask", "027")
    assert "totp: on" in wharf_user(srv.db_args, "show", "tess").stdout
    # Disabled: one password prompt again, and the password method works.
    assert "TOTP disabled" in wharf_user(srv.db_args, "totp", "disable", "tess").stdout
    assert "totp: off" in wharf_user(srv.db_args, "show", "tess").stdout
    ok, seen = interactive(srv, "tess", u.password, None, [])
    assert ok and seen == [["Password: "]], seen
    assert password_only(srv, u)


def test_totp_needs_a_password(srv, tmp_path):
    key = harness.keygen(tmp_path / "id_kim", ["-t", "ed25519"], "kim@it")
    root = srv.base / "roots" / "kim"
    root.mkdir(parents=True, exist_ok=True)
    wharf_user(srv.db_args, "add", "kim", "--root", str(root), "--no-password", "--key", pub_line(key))
    cp = wharf_user(srv.db_args, "totp", "enable", "kim", check=False)
    assert cp.returncode != 0 and "has no password" in cp.stderr, cp.stderr
    assert "totp: off" in wharf_user(srv.db_args, "show", "kim").stdout


def test_per_user_chain_in_the_database(srv, tmp_path):
    key_path = harness.keygen(tmp_path / "id_dan", ["-t", "ed25519"], "dan@it")
    u = add_user(srv, "dan", "--auth-methods", "publickey,password", key=key_path)
    assert "authentication_methods: publickey,password" in wharf_user(srv.db_args, "show", "dan").stdout
    key = paramiko.Ed25519Key.from_private_key_file(str(key_path))
    # The password alone is refused.
    assert not password_only(srv, u)
    # The key alone is partial success; then the password completes the chain.
    t = transport(srv)
    try:
        remaining = t.auth_publickey("dan", key)
        assert remaining == ["password"], remaining
        assert not t.is_authenticated()
        t.auth_password("dan", u.password)
        assert t.is_authenticated()
    finally:
        t.close()
    # Back to the server's setting: the key alone logs in.
    wharf_user(srv.db_args, "set", "dan", "--auth-methods", "default")
    t = transport(srv)
    try:
        assert t.auth_publickey("dan", key) == []
        assert t.is_authenticated()
    finally:
        t.close()
    cp = wharf_user(srv.db_args, "set", "dan", "--auth-methods", "publickey,telepathy", check=False)
    assert cp.returncode != 0 and "telepathy" in cp.stderr, cp.stderr


# The first release's schema, before totp_secret and authentication_methods.
OLD_SCHEMA = """
CREATE TABLE wharf_users (
    name TEXT PRIMARY KEY, password_hash TEXT, root TEXT NOT NULL, home TEXT,
    disabled BIGINT NOT NULL DEFAULT 0, expires_at BIGINT, read_only BIGINT NOT NULL DEFAULT 0,
    upload_only BIGINT NOT NULL DEFAULT 0, umask BIGINT, quota_bytes BIGINT, quota_files BIGINT,
    upload_bandwidth BIGINT, download_bandwidth BIGINT, max_sessions BIGINT, scp BIGINT,
    allowed_networks TEXT NOT NULL DEFAULT '[]', permissions TEXT NOT NULL DEFAULT '[]',
    name_allow TEXT NOT NULL DEFAULT '[]', name_deny TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL
);
CREATE TABLE wharf_user_keys (
    user_name TEXT NOT NULL REFERENCES wharf_users(name) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL, line TEXT NOT NULL, added_at BIGINT NOT NULL,
    PRIMARY KEY (user_name, fingerprint)
);
"""


def test_an_older_database_is_migrated(tmp_path):
    db = tmp_path / "old.db"
    c = sqlite3.connect(db)
    c.executescript(OLD_SCHEMA)
    c.execute("INSERT INTO wharf_users (name, password_hash, root, created_at) VALUES (?, ?, ?, 1)",
              ("olga", harness.hash_password("pw-olga"), str(tmp_path)))
    c.commit()
    c.close()
    shown = wharf_user(["--db", str(db)], "show", "olga").stdout
    assert "totp: off" in shown and "authentication_methods: default" in shown, shown
    c = sqlite3.connect(db)
    cols = [r[1] for r in c.execute("PRAGMA table_info(wharf_users)")]
    c.close()
    assert "totp_secret" in cols and "authentication_methods" in cols, cols
    out = wharf_user(["--db", str(db)], "totp", "enable", "olga").stdout
    assert "TOTP enabled for olga" in out
