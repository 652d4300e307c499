"""Paramiko (a pure-Python SSH and SFTP v3 client) against the server."""

from __future__ import annotations

import stat
import struct
import threading
import time

import pytest

from harness import assert_same_bytes, make_random_file, paramiko_client

AUTHS = ["password", "key"]


@pytest.mark.parametrize("auth", AUTHS)
def test_paramiko_put_get_listdir_stat(server, local, auth):
    user = server.pw_user if auth == "password" else server.key_user
    src = make_random_file(local / "src.bin", 700_001)
    back = local / "back.bin"
    with paramiko_client(server, user) as c:
        with c.open_sftp() as sftp:
            assert sftp.normalize(".") == "/"
            sftp.mkdir("pm")
            sftp.put(str(src), "pm/file.bin")
            sftp.get("pm/file.bin", str(back))
            assert sorted(sftp.listdir("pm")) == ["file.bin"]
            st = sftp.stat("pm/file.bin")
            assert st.st_size == src.stat().st_size
            assert stat.S_ISREG(st.st_mode)
            assert stat.S_ISDIR(sftp.stat("pm").st_mode)
            sftp.chmod("pm/file.bin", 0o604)
            assert stat.S_IMODE(sftp.stat("pm/file.bin").st_mode) == 0o604
            attrs = {a.filename: a for a in sftp.listdir_attr("pm")}
            assert attrs["file.bin"].st_size == src.stat().st_size
            sftp.rename("pm/file.bin", "pm/moved.bin")
            with pytest.raises(FileNotFoundError):
                sftp.stat("pm/file.bin")

            # Random-access writes and reads on one handle.
            with sftp.open("pm/rw.bin", "w+") as f:
                f.write(b"0123456789")
                f.seek(3)
                f.write(b"abc")
                f.seek(0)
                assert f.read() == b"012abc6789"

    assert_same_bytes(src, back)
    assert_same_bytes(src, user.root / "pm" / "moved.bin")
    assert stat.S_IMODE((user.root / "pm" / "moved.bin").stat().st_mode) == 0o604
    assert (user.root / "pm" / "rw.bin").read_bytes() == b"012abc6789"
    assert not (user.root / "pm" / "file.bin").exists()

    with paramiko_client(server, user) as c, c.open_sftp() as sftp:
        for name in sftp.listdir("pm"):
            sftp.remove(f"pm/{name}")
        sftp.rmdir("pm")
    assert not (user.root / "pm").exists()


def test_paramiko_errors_map_to_exceptions(server):
    with paramiko_client(server) as c, c.open_sftp() as sftp:
        with pytest.raises(FileNotFoundError):
            sftp.stat("/no/such/file")
        with pytest.raises(FileNotFoundError):
            sftp.open("missing.bin", "r")
        with pytest.raises(IOError):
            sftp.rmdir("not-a-dir-either")
        sftp.mkdir("dup")
        with pytest.raises(IOError):
            sftp.mkdir("dup")
        sftp.rmdir("dup")


def test_a_client_that_reopens_its_window_only_once_it_is_used_up(server):
    """Most clients give window back once they have used part of it (Paramiko a tenth, OpenSSH
    half). One that waits until the window is used up entirely must still get every byte: the
    server holds a READ reply that does not fit the window, to read it straight into packets once
    the window reopens, only for a while, then sends what the window takes."""
    import paramiko

    data = make_random_file(server.pw_user.root / "window.bin", 300_000).read_bytes()
    with paramiko_client(server) as c:
        window = 100_000
        chan = c.get_transport().open_session(window_size=window, max_packet_size=32768)
        # Give window back only when all of it has been used.
        chan.in_window_threshold = window - 1
        chan.settimeout(15)
        chan.invoke_subsystem("sftp")
        sftp = paramiko.SFTPClient(chan)
        # One 32 KiB READ at a time: three replies use 98,343 bytes of the window, and the fourth
        # does not fit the 1,657 left.
        with sftp.open("window.bin", "rb") as f:
            got = b"".join(iter(lambda: f.read(32768), b""))
        sftp.close()
    assert got == data


def _recv_exact(chan, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        got = chan.recv(n - len(buf))
        assert got, "channel closed early"
        buf += got
    return buf


def _sftp_packet(kind: int, body: bytes) -> bytes:
    return struct.pack(">IB", len(body) + 1, kind) + body


def _sftp_reply(chan) -> tuple[int, bytes]:
    (length,) = struct.unpack(">I", _recv_exact(chan, 4))
    body = _recv_exact(chan, length)
    return body[0], body[1:]


def _rekey_within(transport, seconds: float) -> None:
    """Runs a key exchange, failing rather than hanging if the server does not answer."""
    done = threading.Thread(target=transport.renegotiate_keys, daemon=True)
    done.start()
    done.join(seconds)
    assert not done.is_alive(), "the server did not answer KEXINIT"


def test_a_key_exchange_in_the_middle_of_an_sftp_request(server):
    """The server may ask the kernel to wake it only once the rest of a request it has started to
    receive has arrived. A client that starts a key exchange sends nothing more until it is
    answered, so that wait must give way."""
    data = bytes(range(256)) * 800  # 204,800 bytes
    with paramiko_client(server) as c:
        chan = c.get_transport().open_session()
        chan.settimeout(15)
        chan.invoke_subsystem("sftp")
        chan.sendall(_sftp_packet(1, struct.pack(">I", 3)))
        assert _sftp_reply(chan)[0] == 2  # VERSION
        name = b"rekeyed.bin"
        flags = 0x02 | 0x08 | 0x10  # WRITE | CREAT | TRUNC
        chan.sendall(_sftp_packet(3, struct.pack(">I", 1) + struct.pack(">I", len(name)) + name
                                  + struct.pack(">II", flags, 0)))
        kind, body = _sftp_reply(chan)
        assert kind == 102, body  # HANDLE
        (hlen,) = struct.unpack(">I", body[4:8])
        handle = body[8:8 + hlen]
        write = _sftp_packet(6, struct.pack(">I", 2) + struct.pack(">I", hlen) + handle
                             + struct.pack(">QI", 0, len(data)) + data)
        half = len(write) // 2
        chan.sendall(write[:half])
        time.sleep(0.2)  # let the server see the first half and wait for the rest
        _rekey_within(c.get_transport(), 10)
        chan.sendall(write[half:])
        kind, body = _sftp_reply(chan)
        assert (kind, body[:8]) == (101, struct.pack(">II", 2, 0)), body  # STATUS OK
        chan.close()
    assert (server.pw_user.root / "rekeyed.bin").read_bytes() == data


def test_a_key_exchange_in_the_middle_of_an_scp_file(server):
    data = bytes(range(256)) * 800
    with paramiko_client(server) as c:
        chan = c.get_transport().open_session()
        chan.settimeout(15)
        chan.exec_command("scp -t scp-rekeyed.bin")
        assert _recv_exact(chan, 1) == b"\0"
        chan.sendall(f"C0644 {len(data)} scp-rekeyed.bin\n".encode())
        assert _recv_exact(chan, 1) == b"\0"
        chan.sendall(data[:50_000])
        time.sleep(0.2)
        _rekey_within(c.get_transport(), 10)
        chan.sendall(data[50_000:] + b"\0")
        assert _recv_exact(chan, 1) == b"\0"
        chan.shutdown_write()
        assert chan.recv_exit_status() == 0
    assert (server.pw_user.root / "scp-rekeyed.bin").read_bytes() == data
