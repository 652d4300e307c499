"""Hostile bytes on raw sockets: the server drops the connection promptly and keeps serving others."""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from harness import paramiko_client

CLOSE_WITHIN = 15.0  # seconds a server may take to drop a broken peer


def _connect(server) -> socket.socket:
    s = socket.create_connection((server.host, server.port), timeout=10)
    s.settimeout(10)
    return s


def _read_banner(s: socket.socket) -> bytes:
    """The server's identification line (RFC 4253 section 4.2: it may send other lines first)."""
    buf = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
        for line in buf.split(b"\r\n")[:-1]:
            if line.startswith(b"SSH-"):
                return line
        if len(buf) > 16384:
            break
    raise AssertionError(f"no SSH identification line from the server: {buf[:200]!r}")


def _closed_by_server(s: socket.socket, within: float = CLOSE_WITHIN) -> bytes:
    """Read until the server closes; fail if it is still holding the connection open."""
    got = b""
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"server kept a broken connection open for {within} s")
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk
        if len(got) > (1 << 20):
            raise AssertionError("server keeps sending to a broken peer")


def _still_serves(server):
    with paramiko_client(server) as c, c.open_sftp() as sftp:
        assert sftp.normalize(".") == "/"
        with sftp.open("alive.txt", "w") as f:
            f.write(b"ok")
    assert (server.pw_user.root / "alive.txt").read_bytes() == b"ok"


def _send_quietly(s: socket.socket, data: bytes) -> None:
    # The server may close as soon as it has seen enough; a reset while we are
    # still sending is the behaviour under test, not an error.
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_identification_is_ssh2(server):
    with _connect(server) as s:
        banner = _read_banner(s)
    assert banner.startswith(b"SSH-2.0-"), banner
    assert len(banner) <= 253, "RFC 4253 4.2: at most 255 bytes with CR LF"


def test_garbage_instead_of_version(server):
    with _connect(server) as s:
        _read_banner(s)
        _send_quietly(s, bytes(range(256)) * 8 + b"\r\n")
        _closed_by_server(s)
    _still_serves(server)


def test_huge_version_line(server):
    with _connect(server) as s:
        _read_banner(s)
        _send_quietly(s, b"SSH-2.0-" + b"A" * 200_000 + b"\r\n")
        _closed_by_server(s)
    _still_serves(server)


def test_endless_line_without_newline(server):
    with _connect(server) as s:
        _read_banner(s)
        _send_quietly(s, b"x" * 300_000)
        _closed_by_server(s)
    _still_serves(server)


def test_valid_version_then_garbage_packet(server):
    with _connect(server) as s:
        _read_banner(s)
        _send_quietly(s, b"SSH-2.0-wharf_it_garbage\r\n")
        # A plausible length with random content: a bad padding length or
        # message, never a key exchange.
        body = os.urandom(60)
        _send_quietly(s, struct.pack(">IB", 64, 7) + body[:3] + os.urandom(60))
        _send_quietly(s, os.urandom(4096))
        _closed_by_server(s)
    _still_serves(server)


@pytest.mark.parametrize("length", [0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 256 * 1024 + 1])
def test_bad_packet_length(server, length):
    """A length the server must not honour: it must not wait for (or allocate) that many bytes."""
    with _connect(server) as s:
        _read_banner(s)
        _send_quietly(s, b"SSH-2.0-wharf_it_length\r\n")
        _send_quietly(s, struct.pack(">I", length) + b"\x04" + b"\x14" + os.urandom(26))
        _closed_by_server(s)
    _still_serves(server)


def test_truncated_packet_then_close(server):
    with _connect(server) as s:
        _read_banner(s)
        _send_quietly(s, b"SSH-2.0-wharf_it_trunc\r\n")
        # KEXINIT header promising 1000 bytes, then only 100 of them.
        _send_quietly(s, struct.pack(">IBB", 1000, 8, 20) + os.urandom(98))
        s.shutdown(socket.SHUT_WR)
        _closed_by_server(s)
    _still_serves(server)


def test_abrupt_close_during_auth(server):
    """A client that vanishes after key exchange must not take the server with it."""
    import paramiko

    t = paramiko.Transport((server.host, server.port))
    t.start_client(timeout=15)
    t.sock.close()
    t.close()
    _still_serves(server)


def test_many_idle_connections_do_not_block_logins(server):
    socks = []
    try:
        for _ in range(8):
            socks.append(_connect(server))
        _still_serves(server)
    finally:
        for s in socks:
            s.close()
    _still_serves(server)
