"""Extensions few clients drive on their own, through real clients' request machinery.

- Paramiko's SFTPFile.check() (its `check-file` request with a handle) against hashlib;
- ProFTPD's xattr@proftpd.org requests sent with Paramiko's raw request API, checked on disk
  with os.getxattr;
- v6's end-of-file and end-of-list flags as AsyncSSH at version 6 receives them;
- `[sftp] disabled_extensions`: what is switched off is neither announced nor served.
"""

from __future__ import annotations

import asyncio
import hashlib
import os

import asyncssh
import paramiko
import pytest
from asyncssh.packet import String

from harness import make_random_file, paramiko_client, run_sftp


@pytest.fixture(autouse=True)
def _wharf_only(server):
    if server.kind != "wharf":
        pytest.skip("Wharf's extensions")


def test_paramiko_check_matches_hashlib(server, local):
    src = make_random_file(local / "src.bin", 300_000)
    data = src.read_bytes()
    c = paramiko_client(server)
    try:
        sftp = c.open_sftp()
        sftp.put(str(src), "check.bin")
        with sftp.open("check.bin", "r") as f:
            assert f.check("sha1") == hashlib.sha1(data).digest()
            assert f.check("md5") == hashlib.md5(data).digest()
            # A range, and per-block digests (the last block short).
            assert f.check("sha256", 1000, 5000) == hashlib.sha256(data[1000:6000]).digest()
            blocks = f.check("md5", 0, 0, 65536)
            want = b"".join(hashlib.md5(data[i:i + 65536]).digest() for i in range(0, len(data), 65536))
            assert blocks == want
    finally:
        c.close()


def _xattr_supported(path) -> bool:
    try:
        os.setxattr(path, "user.wharf-probe", b"1")
        os.removexattr(path, "user.wharf-probe")
        return True
    except OSError:
        return False


def test_xattr_requests_reach_the_file(server):
    root = server.pw_user.root
    target = root / "xattr.txt"
    target.write_bytes(b"contents")
    if not _xattr_supported(target):
        pytest.skip("the test filesystem has no user xattrs")
    c = paramiko_client(server)
    try:
        sftp = c.open_sftp()
        ext = paramiko.sftp.CMD_EXTENDED
        sftp._request(ext, "setxattr@proftpd.org", "xattr.txt", "user.colour", b"blue", 0)
        assert os.getxattr(target, "user.colour") == b"blue"
        _, msg = sftp._request(ext, "getxattr@proftpd.org", "xattr.txt", "user.colour", 0)
        assert msg.get_binary() == b"blue"
        os.setxattr(target, "user.size", b"large")
        _, msg = sftp._request(ext, "listxattr@proftpd.org", "xattr.txt")
        names = sorted(msg.get_binary() for _ in range(msg.get_int()))
        assert names == [b"user.colour", b"user.size"]
        # By handle: a write handle may change attributes.
        with sftp.open("xattr.txt", "r+") as f:
            sftp._request(ext, "fsetxattr@proftpd.org", f.handle, "user.via-handle", b"1", 0)
            _, msg = sftp._request(ext, "fgetxattr@proftpd.org", f.handle, "user.size", 100)
            assert msg.get_binary() == b"large"
            sftp._request(ext, "fremovexattr@proftpd.org", f.handle, "user.size")
        sftp._request(ext, "removexattr@proftpd.org", "xattr.txt", "user.colour")
        assert os.listxattr(target) == ["user.via-handle"]
        # Only the user namespace is reachable, whoever the server runs as.
        with pytest.raises(IOError) as e:
            sftp._request(ext, "setxattr@proftpd.org", "xattr.txt", "trusted.x", b"1", 0)
        assert e.value.errno == 13
        assert target.read_bytes() == b"contents"
    finally:
        c.close()


async def _v6_flags(server):
    u = server.pw_user
    async with asyncssh.connect(host=server.host, port=server.port, username=u.name, password=u.password,
                                known_hosts=str(server.known_hosts), client_keys=None,
                                preferred_auth="password", agent_path=None, config=None) as conn:
        async with conn.start_sftp_client(sftp_version=6) as sftp:
            assert sftp.version == 6
            h = sftp._handler
            f = await h.open56(b"eof/data.bin", asyncssh.ACE4_READ_DATA, asyncssh.FXF_OPEN_EXISTING,
                               asyncssh.SFTPAttrs())
            reads = [await h.read(f, 0, 1000), await h.read(f, 1000, 100_000)]
            await h.close(f)
            d = await h.opendir(b"eof/dir")
            batches = []
            while True:
                try:
                    names, at_end = await h.readdir(d)
                except asyncssh.SFTPEOFError:
                    batches.append(("EOF", True))
                    break
                batches.append((len(names), at_end))
                if at_end:
                    break
            await h.close(d)
            # The high-level calls stop at the flags too.
            listing = await sftp.listdir("eof/dir")
            whole = await (await sftp.open("eof/data.bin", "rb")).read()
            return reads, batches, listing, whole


def test_asyncssh_v6_end_of_file_and_list(server):
    d = server.pw_user.root / "eof"
    (d / "dir").mkdir(parents=True)
    data = os.urandom(5000)
    (d / "data.bin").write_bytes(data)
    for i in range(120):
        (d / "dir" / f"f{i:03}").write_bytes(b"")
    reads, batches, listing, whole = asyncio.run(_v6_flags(server))
    assert reads == [(data[:1000], False), (data[1000:], True)]
    # 122 entries with "." and "..": a batch of 100, then the rest marked end-of-list, and
    # no READDIR after it.
    assert batches == [(100, False), (22, True)]
    assert len([n for n in listing if n not in (".", "..")]) == 120
    assert whole == data


def test_disabled_extensions_are_gone(server_factory):
    srv = server_factory("no-ext", '[sftp]\ndisabled_extensions = ["copy-data", "hardlink@openssh.com"]\n')
    cp = run_sftp(srv, ["pwd"], extra_opts=["-vv"])
    assert cp.returncode == 0, cp.stderr
    assert 'extension "posix-rename@openssh.com"' in cp.stderr
    assert '"copy-data"' not in cp.stderr and "hardlink@openssh.com" not in cp.stderr

    async def probe():
        u = srv.pw_user
        async with asyncssh.connect(host=srv.host, port=srv.port, username=u.name, password=u.password,
                                    known_hosts=str(srv.known_hosts), client_keys=None,
                                    preferred_auth="password", agent_path=None, config=None) as conn:
            async with conn.start_sftp_client() as sftp:
                try:
                    await sftp._handler._make_request(b"hardlink@openssh.com", String(b"a"), String(b"b"))
                except asyncssh.SFTPError as e:
                    return e.code
        return 0

    assert asyncio.run(probe()) == asyncssh.FX_OP_UNSUPPORTED
