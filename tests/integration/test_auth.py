"""Authentication: wrong credentials are refused with the client's message, and the server keeps serving."""

from __future__ import annotations

import re

import paramiko
import pytest

from harness import paramiko_client, run_sftp

DENIED = re.compile(r"Permission denied \(([a-z,-]+)\)")


def _denied(cp) -> list[str]:
    assert cp.returncode != 0, f"login should have failed:\n{cp.stdout}\n{cp.stderr}"
    m = DENIED.search(cp.stderr)
    assert m, f"no 'Permission denied' from the client:\n{cp.stderr}"
    return m.group(1).split(",")


def _works(server):
    cp = run_sftp(server, ["pwd"], user=server.pw_user)
    assert cp.returncode == 0, cp.stderr
    assert "Remote working directory: /" in cp.stdout, cp.stdout


def test_wrong_password_refused(server):
    methods = _denied(run_sftp(server, ["pwd"], user=server.pw_user, auth="password", password="wrong-password"))
    assert "password" in methods
    assert not (server.pw_user.root / "pwd").exists()
    _works(server)


def test_empty_password_refused(server):
    _denied(run_sftp(server, ["pwd"], user=server.pw_user, auth="password", password=""))
    _works(server)


def test_unknown_key_refused(server):
    _denied(run_sftp(server, ["pwd"], user=server.key_user, auth="key", key=server.stranger_key))
    _works(server)


def test_password_for_key_only_user_refused(server):
    # The key user has no password; not even the other user's password opens it.
    _denied(run_sftp(server, ["pwd"], user=server.key_user, auth="password", password=server.pw_user.password))
    _works(server)


def test_unknown_user_refused_like_a_known_one(server):
    user = server.pw_user.__class__(name="nosuchuser", root=server.pw_user.root, password=server.pw_user.password)
    _denied(run_sftp(server, ["pwd"], user=user, auth="password"))
    _works(server)


def test_key_login_works(server):
    cp = run_sftp(server, ["pwd"], user=server.key_user, auth="key")
    assert cp.returncode == 0, cp.stderr


def test_paramiko_wrong_credentials(server):
    with pytest.raises(paramiko.AuthenticationException):
        paramiko_client(server, server.pw_user, password="wrong")
    with pytest.raises(paramiko.AuthenticationException):
        paramiko_client(server, server.key_user, key=server.stranger_key)
    with paramiko_client(server, server.pw_user) as c, c.open_sftp() as sftp:
        assert sftp.normalize(".") == "/"


def test_none_method_is_not_accepted(server):
    """An SSH 'none' request must fail and list the real methods (RFC 4252 section 5.2)."""
    with paramiko_client_transport(server) as t:
        with pytest.raises(paramiko.BadAuthenticationType) as e:
            t.auth_none(server.pw_user.name)
        assert set(e.value.allowed_types) & {"password", "publickey"}, e.value.allowed_types
        assert "none" not in e.value.allowed_types
        assert not t.is_authenticated()


class paramiko_client_transport:
    """A bare, host-key-checked Transport for protocol-level auth tests."""

    def __init__(self, server):
        self.server = server

    def __enter__(self) -> paramiko.Transport:
        hk = paramiko.HostKeys(str(self.server.known_hosts))
        t = paramiko.Transport((self.server.host, self.server.port))
        t.banner_timeout = t.auth_timeout = 15
        t.start_client(timeout=15)
        key = t.get_remote_server_key()
        known = hk.lookup(f"[{self.server.host}]:{self.server.port}") or {}
        if known.get(key.get_name()) != key:
            t.close()
            raise AssertionError(f"host key {key.get_name()} not in known_hosts")
        self.t = t
        return t

    def __exit__(self, *exc):
        self.t.close()
