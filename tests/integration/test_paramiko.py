"""Paramiko (a pure-Python SSH and SFTP v3 client) against the server."""

from __future__ import annotations

import stat

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
