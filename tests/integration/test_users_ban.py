"""Bans: failed logins from one address ban it for a while; it is dropped at
accept (before the SSH identification line) until the ban expires."""

from __future__ import annotations

import os
import socket
import time

import pytest

from harness import run_sftp


@pytest.fixture(scope="module")
def srv(server_factory):
    if os.environ.get("WHARF_TEST_AGAINST", "wharf") != "wharf":
        pytest.skip("bans are Wharf's")
    return server_factory("ban", '\n[ban]\nmax_failures = 3\nwindow = "1m"\nduration = "4s"\n')


def _banner(srv) -> bytes:
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        s.settimeout(10)
        try:
            return s.recv(256)
        except ConnectionResetError:
            return b""


def test_failures_ban_the_address_until_the_ban_expires(srv):
    assert _banner(srv).startswith(b"SSH-2.0-")
    for _ in range(3):
        cp = run_sftp(srv, ["pwd"], user=srv.pw_user, auth="password", password="wrong")
        assert cp.returncode != 0
    # Banned: closed before any identification line.
    assert _banner(srv) == b""
    assert "address banned" in srv.log_tail(60)
    assert "banned address: connection dropped" in srv.log_tail(60)
    cp = run_sftp(srv, ["pwd"], user=srv.pw_user)
    assert cp.returncode != 0, "the right password must not pass a ban either"
    time.sleep(4.5)
    cp = run_sftp(srv, ["pwd"], user=srv.pw_user)
    assert cp.returncode == 0, cp.stderr
