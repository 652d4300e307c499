"""Every SFTP status code the server can return, provoked by a real client and checked.

AsyncSSH at version 6 sees the precise codes (and at version 5, UNKNOWN_PRINCIPAL);
Paramiko, which speaks version 3, sees each one mapped down to the nearest code v3
knows (the spec digest's §6.2 table).

Codes the server never returns, and why:
- NO_CONNECTION (6), CONNECTION_LOST (7): client-local conditions, never sent by a server.
- NO_MEDIA (13): there is no removable medium behind a path.
- LOCK_CONFLICT (17): OPEN's lock flags are accepted as advisory and not enforced.
- CANNOT_DELETE (22): POSIX has no separate "cannot delete" error; a refused unlink is
  EACCES/EPERM, sent as PERMISSION_DENIED.
- BYTE_RANGE_LOCK_CONFLICT (25): BLOCK ranges are advisory; READ and WRITE are never
  blocked by them.
- DELETE_PENDING (27): a POSIX unlink takes effect at once.
- FILE_CORRUPT (28): the filesystem reports no such condition.
- UNKNOWN_PRINCIPAL (16) is only what OWNER_INVALID / GROUP_INVALID become for a v5 client.
QUOTA_EXCEEDED (15) is returned for EDQUOT, but this machine has no filesystem quotas to
exceed, so it is not provoked here. WRITE_PROTECT (12) and NO_SPACE_ON_FILESYSTEM (14) need
a read-only and a full filesystem: small tmpfs mounts inside the user's root (skipped when
the test cannot mount).
"""

from __future__ import annotations

import asyncio
import os
import subprocess

import asyncssh
import paramiko
import pytest
from asyncssh.packet import Boolean, String, UInt32, UInt64
from asyncssh.sftp import FXP_STAT

from harness import paramiko_client

# Status codes (draft-ietf-secsh-filexfer-13 §9.1).
OK, EOF, NO_SUCH_FILE, PERMISSION_DENIED, FAILURE, BAD_MESSAGE = 0, 1, 2, 3, 4, 5
OP_UNSUPPORTED, INVALID_HANDLE, NO_SUCH_PATH, FILE_ALREADY_EXISTS, WRITE_PROTECT = 8, 9, 10, 11, 12
NO_SPACE_ON_FILESYSTEM, UNKNOWN_PRINCIPAL = 14, 16
DIR_NOT_EMPTY, NOT_A_DIRECTORY, INVALID_FILENAME, LINK_LOOP = 18, 19, 20, 21
INVALID_PARAMETER, FILE_IS_A_DIRECTORY, BYTE_RANGE_LOCK_REFUSED = 23, 24, 26
OWNER_INVALID, GROUP_INVALID, NO_MATCHING_BYTE_RANGE_LOCK = 29, 30, 31

# (condition, v6 code, v3 code as Paramiko sees it)
EXPECTED = {
    "eof": (EOF, EOF),
    "no_such_file": (NO_SUCH_FILE, NO_SUCH_FILE),
    "permission_denied": (PERMISSION_DENIED, PERMISSION_DENIED),
    "failure": (FAILURE, FAILURE),
    "bad_message": (BAD_MESSAGE, BAD_MESSAGE),
    "op_unsupported": (OP_UNSUPPORTED, OP_UNSUPPORTED),
    "invalid_handle": (INVALID_HANDLE, FAILURE),
    "no_such_path": (NO_SUCH_PATH, NO_SUCH_FILE),
    "file_already_exists": (FILE_ALREADY_EXISTS, FAILURE),
    "dir_not_empty": (DIR_NOT_EMPTY, FAILURE),
    "not_a_directory": (NOT_A_DIRECTORY, NO_SUCH_FILE),
    "invalid_filename": (INVALID_FILENAME, FAILURE),
    "link_loop": (LINK_LOOP, NO_SUCH_FILE),
    "file_is_a_directory": (FILE_IS_A_DIRECTORY, FAILURE),
    "invalid_parameter": (INVALID_PARAMETER, FAILURE),
}


@pytest.fixture(scope="module")
def tree(server):
    """Files every provocation needs, in the password user's root."""
    if server.kind != "wharf":
        pytest.skip("status codes beyond v3 are Wharf's; OpenSSH's server speaks only v3")
    root = server.pw_user.root / "codes"
    root.mkdir()
    (root / "file").write_bytes(b"0123456789")
    (root / "full-dir").mkdir()
    (root / "full-dir" / "x").write_bytes(b"x")
    (root / "empty-dir").mkdir()
    os.symlink("loop", root / "loop")
    os.mkfifo(root / "fifo")
    return root


def _mount(target, options):
    target.mkdir(exist_ok=True)
    cp = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                        capture_output=True, text=True)
    return cp.returncode == 0


@pytest.fixture(scope="module")
def mounts(tree):
    """A read-only and a 64 KiB tmpfs under the user's root, or None when mounting is not allowed."""
    ro, full = tree / "ro", tree / "full"
    if not (_mount(ro, "size=64k,mode=0777") and _mount(full, "size=64k,mode=0777")):
        subprocess.run(["umount", str(ro)], capture_output=True)
        yield None
        return
    subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
    yield ro, full
    for m in (ro, full):
        subprocess.run(["umount", str(m)], capture_output=True)


# --------------------------------------------------------------------------
# AsyncSSH


async def _code(coro) -> int:
    try:
        await coro
    except asyncssh.SFTPError as e:
        return e.code
    return OK


def _connect_kw(server):
    u = server.pw_user
    return dict(host=server.host, port=server.port, username=u.name, password=u.password,
                known_hosts=str(server.known_hosts), client_keys=None, preferred_auth="password",
                agent_path=None, config=None, connect_timeout=15, login_timeout=15)


async def _v6_codes(server, mounts) -> dict:
    got = {}
    async with asyncssh.connect(**_connect_kw(server)) as conn:
        async with conn.start_sftp_client(sftp_version=6) as sftp:
            assert sftp.version == 6
            h = sftp._handler
            f = await h.open56(b"codes/file", asyncssh.ACE4_READ_DATA, asyncssh.FXF_OPEN_EXISTING,
                               asyncssh.SFTPAttrs())
            got["eof"] = await _code(h.read(f, 10, 5))
            got["no_such_file"] = await _code(sftp.stat("codes/missing"))
            got["permission_denied"] = await _code(h.write(f, 0, b"no"))
            # Copying a FIFO: not a regular file, FAILURE.
            got["failure"] = await _code(h._make_request(
                b"copy-file", String(b"codes/fifo"), String(b"codes/copy"), Boolean(False)))
            # A STAT whose path length runs past the end of the packet.
            got["bad_message"] = await _code(h._make_request(FXP_STAT, UInt32(9), b"ab"))
            got["op_unsupported"] = await _code(h._make_request(b"no-such-extension@example.com"))
            got["invalid_handle"] = await _code(h.read(b"not-a-handle", 0, 5))
            got["no_such_path"] = await _code(sftp.stat("codes/no-dir/x"))
            got["file_already_exists"] = await _code(sftp.mkdir("codes/empty-dir"))
            got["dir_not_empty"] = await _code(sftp.rmdir("codes/full-dir"))
            got["not_a_directory"] = await _code(h.opendir(b"codes/file"))
            got["invalid_filename"] = await _code(sftp.stat("codes/" + "n" * 300))
            got["link_loop"] = await _code(sftp.stat("codes/loop"))
            got["file_is_a_directory"] = await _code(h.open56(
                b"codes/empty-dir", asyncssh.ACE4_READ_DATA, asyncssh.FXF_OPEN_EXISTING,
                asyncssh.SFTPAttrs()))
            # Disposition 5 is undefined (-13 §8.1.1).
            got["invalid_parameter"] = await _code(h.open56(
                b"codes/file", asyncssh.ACE4_READ_DATA, 5, asyncssh.SFTPAttrs()))
            got["owner_invalid"] = await _code(sftp.setstat(
                "codes/file", asyncssh.SFTPAttrs(owner="no-such-user-wharf-it", group="root")))
            got["group_invalid"] = await _code(sftp.setstat(
                "codes/file", asyncssh.SFTPAttrs(owner="root", group="no-such-group-wharf-it")))
            # (AsyncSSH sends owner and group together.)
            # BLOCK: an overlapping range is refused; UNBLOCK must match a granted range.
            got["lock"] = await _code(h.lock(f, 0, 4, asyncssh.FXF_BLOCK_ADVISORY))
            got["byte_range_lock_refused"] = await _code(h.lock(f, 2, 4, asyncssh.FXF_BLOCK_ADVISORY))
            got["no_matching_byte_range_lock"] = await _code(h.unlock(f, 0, 3))
            await h.close(f)
            if mounts:
                got["write_protect"] = await _code(sftp.mkdir("codes/ro/d"))
                w = await h.open56(b"codes/full/big", asyncssh.ACE4_WRITE_DATA,
                                   asyncssh.FXF_CREATE_TRUNCATE, asyncssh.SFTPAttrs())
                got["no_space"] = await _code(h.write(w, 0, b"\0" * (128 * 1024)))
                await h.close(w)
                await sftp.remove("codes/full/big")
        async with conn.start_sftp_client(sftp_version=5) as sftp:
            assert sftp.version == 5
            got["v5_unknown_principal"] = await _code(sftp.setstat(
                "codes/file", asyncssh.SFTPAttrs(owner="no-such-user-wharf-it", group="root")))
    return got


def test_asyncssh_v6_gets_each_code(server, tree, mounts):
    got = asyncio.run(_v6_codes(server, mounts))
    for name, (v6, _) in EXPECTED.items():
        assert got[name] == v6, f"{name}: expected {v6}, got {got[name]}"
    assert got["owner_invalid"] == OWNER_INVALID
    assert got["group_invalid"] == GROUP_INVALID
    assert got["lock"] == OK
    assert got["byte_range_lock_refused"] == BYTE_RANGE_LOCK_REFUSED
    assert got["no_matching_byte_range_lock"] == NO_MATCHING_BYTE_RANGE_LOCK
    assert got["v5_unknown_principal"] == UNKNOWN_PRINCIPAL
    # Nothing was changed by the refusals.
    assert (tree / "file").read_bytes() == b"0123456789"
    assert not (tree / "copy").exists()
    if mounts is None:
        pytest.skip("cannot mount tmpfs here: WRITE_PROTECT and NO_SPACE_ON_FILESYSTEM not provoked")
    assert got["write_protect"] == WRITE_PROTECT
    assert got["no_space"] == NO_SPACE_ON_FILESYSTEM


# --------------------------------------------------------------------------
# Paramiko (v3)


class _Codes:
    """Records the raw code of every STATUS Paramiko receives (its exceptions keep only
    ENOENT/EACCES/EOF apart), then lets Paramiko handle the status as usual."""

    def __init__(self, sftp: paramiko.SFTPClient):
        self.last = None
        orig = sftp._convert_status

        def convert(msg):
            msg.rewind()
            msg.get_int()  # request id
            self.last = msg.get_int()
            msg.rewind()
            msg.get_int()
            return orig(msg)

        sftp._convert_status = convert

    def of(self, fn, *args) -> int:
        self.last = None
        try:
            fn(*args)
        except (IOError, EOFError):
            pass
        assert self.last is not None, "no STATUS was received"
        return self.last


def _raw(sftp, t, *args):
    return lambda: sftp._request(t, *args)


def test_paramiko_v3_gets_each_code_mapped(server, tree, mounts):
    c = paramiko_client(server)
    try:
        sftp = c.open_sftp()
        codes = _Codes(sftp)
        got = {}
        f = sftp.open("codes/file", "r")
        got["eof"] = codes.of(_raw(sftp, paramiko.sftp.CMD_READ, f.handle, paramiko.sftp.int64(10), 5))
        got["no_such_file"] = codes.of(sftp.stat, "codes/missing")
        got["permission_denied"] = codes.of(
            _raw(sftp, paramiko.sftp.CMD_WRITE, f.handle, paramiko.sftp.int64(0), b"no"))
        got["failure"] = codes.of(_raw(sftp, paramiko.sftp.CMD_EXTENDED, "copy-file", "codes/fifo",
                                       "codes/copy", False))
        got["bad_message"] = codes.of(_raw(sftp, paramiko.sftp.CMD_STAT, 9))
        got["op_unsupported"] = codes.of(_raw(sftp, paramiko.sftp.CMD_EXTENDED, "no-such@example.com"))
        got["invalid_handle"] = codes.of(
            _raw(sftp, paramiko.sftp.CMD_READ, b"not-a-handle", paramiko.sftp.int64(0), 5))
        got["no_such_path"] = codes.of(sftp.stat, "codes/no-dir/x")
        got["file_already_exists"] = codes.of(sftp.mkdir, "codes/empty-dir")
        got["dir_not_empty"] = codes.of(sftp.rmdir, "codes/full-dir")
        got["not_a_directory"] = codes.of(sftp.listdir, "codes/file")
        got["invalid_filename"] = codes.of(sftp.stat, "codes/" + "n" * 300)
        got["link_loop"] = codes.of(sftp.stat, "codes/loop")
        got["file_is_a_directory"] = codes.of(sftp.open, "codes/empty-dir", "r")
        # A check-file block size below 256 is INVALID_PARAMETER, FAILURE in v3.
        got["invalid_parameter"] = codes.of(_raw(
            sftp, paramiko.sftp.CMD_EXTENDED, "check-file-name", "codes/file", "md5",
            paramiko.sftp.int64(0), paramiko.sftp.int64(0), 100))
        f.close()
        for name, (_, v3) in EXPECTED.items():
            assert got[name] == v3, f"{name}: expected {v3}, got {got[name]}"
        if mounts is None:
            pytest.skip("cannot mount tmpfs here: WRITE_PROTECT and NO_SPACE_ON_FILESYSTEM not provoked")
        # WRITE_PROTECT becomes PERMISSION_DENIED, NO_SPACE_ON_FILESYSTEM FAILURE.
        assert codes.of(sftp.mkdir, "codes/ro/d") == PERMISSION_DENIED
        w = sftp.open("codes/full/big", "w")
        assert codes.of(_raw(sftp, paramiko.sftp.CMD_WRITE, w.handle, paramiko.sftp.int64(0),
                             b"\0" * (128 * 1024))) == FAILURE
        w.close()
        sftp.remove("codes/full/big")
    finally:
        c.close()
