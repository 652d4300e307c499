"""Transport and authentication policy seen from OpenSSH's client:
rekeying started by either side during a transfer, the pre-auth banner,
the attempt limit, and the login grace time."""

from __future__ import annotations

import socket
import time

import pytest

import harness

pytestmark = pytest.mark.skipif(
    __import__("os").environ.get("WHARF_TEST_AGAINST", "wharf") != "wharf",
    reason="Wharf configuration variants",
)


def _kex_count(stderr: str) -> int:
    return stderr.count("SSH2_MSG_KEXINIT sent")


def test_client_initiated_rekey_during_transfer(server, local):
    src = harness.make_random_file(local / "src.bin", 8 << 20)
    r = harness.run_sftp(server, [f"put {src} rk.bin", f"get rk.bin {local / 'back.bin'}"],
                         user=server.key_user, extra_opts=["-o", "RekeyLimit=1M"], verbose=True)
    assert r.returncode == 0, r.stderr[-2000:]
    harness.assert_same_bytes(src, server.key_user.root / "rk.bin")
    harness.assert_same_bytes(src, local / "back.bin")
    # 16 MiB through a 1 MiB limit: many exchanges, all completed.
    assert _kex_count(r.stderr) >= 8, r.stderr[-3000:]


def test_server_initiated_rekey_by_bytes(server_factory, local):
    srv = server_factory("rekeysrv", 'rekey_limit = "1M"')
    src = harness.make_random_file(local / "src.bin", 8 << 20)
    r = harness.run_sftp(srv, [f"put {src} rk.bin", f"get rk.bin {local / 'back.bin'}"],
                         user=srv.key_user, verbose=True)
    assert r.returncode == 0, r.stderr[-2000:]
    harness.assert_same_bytes(src, srv.key_user.root / "rk.bin")
    harness.assert_same_bytes(src, local / "back.bin")
    # The client only answers: each rekey after the first was the server's.
    assert r.stderr.count("SSH2_MSG_KEXINIT received") >= 8, r.stderr[-3000:]


def test_banner_is_shown_before_authentication(server_factory):
    srv = server_factory("bannersrv", 'banner = "Authorised use only: wharf test banner\\n"')
    r = harness.run_sftp(srv, ["pwd"], user=srv.key_user, extra_opts=["-o", "LogLevel=info"])
    assert r.returncode == 0, r.stderr
    assert "Authorised use only: wharf test banner" in r.stderr


def test_attempt_limit_disconnects(server_factory):
    import paramiko

    srv = server_factory("limitsrv", 'max_auth_tries = 2\nauth_failure_delay = "0s"')
    with socket.create_connection((srv.host, srv.port), timeout=15) as sock:
        t = paramiko.Transport(sock)
        try:
            t.start_client(timeout=15)
            with pytest.raises(paramiko.AuthenticationException):
                t.auth_password(srv.pw_user.name, "wrong-1")
            assert t.is_active(), "one failure must not end the connection"
            with pytest.raises((paramiko.AuthenticationException, paramiko.SSHException, EOFError)):
                t.auth_password(srv.pw_user.name, "wrong-2")
            deadline = time.monotonic() + 5
            while t.is_active() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not t.is_active(), "the second failure must end the connection"
        finally:
            t.close()
    assert "too many authentication failures" in srv.log_tail().lower()
    # The server goes on serving good logins.
    ok = harness.run_sftp(srv, ["pwd"], user=srv.pw_user, auth="password")
    assert ok.returncode == 0, ok.stderr


def test_failed_password_costs_the_client_the_delay(server_factory):
    srv = server_factory("delaysrv", 'auth_failure_delay = "1500ms"')
    t0 = time.monotonic()
    r = harness.run_sftp(srv, ["pwd"], user=srv.pw_user, auth="password", password="wrong")
    took = time.monotonic() - t0
    assert r.returncode != 0
    # A lower bound only: the refusal cannot come before the delay.
    assert took >= 1.5, took


def test_login_grace_time_closes_idle_unauthenticated_connections(server_factory):
    srv = server_factory("gracesrv", 'login_grace_time = "2s"')
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        s.sendall(b"SSH-2.0-idle_client\r\n")
        s.settimeout(10)
        t0 = time.monotonic()
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        took = time.monotonic() - t0
    assert data.startswith(b"SSH-2.0-")
    assert 1.5 <= took < 9, took
