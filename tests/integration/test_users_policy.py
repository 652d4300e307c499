"""Per-user policy enforced end to end: rights per path, upload-only users,
file-name patterns, byte and file quotas, and bandwidth limits.

Users are made with `wharf user add` in the server's SQLite store; each test
drives a real client (OpenSSH sftp, or AsyncSSH at SFTP v6 where the exact
status code matters: PERMISSION_DENIED and QUOTA_EXCEEDED exist from v5 on)
and checks the bytes on disk.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import asyncssh
import pytest

import harness
from harness import User, run, run_sftp, toml_str

FX_PERMISSION_DENIED = 3
FX_FAILURE = 4
FX_QUOTA_EXCEEDED = 15


def wharf_user(srv, *args: str, input: str | None = None):
    return run([str(harness.wharf_bin()), "user", "--db", str(srv.db), *args], input=input)


def new_user(srv, name: str, *flags: str) -> User:
    root = srv.base / "roots" / name
    root.mkdir(parents=True, exist_ok=True)
    password = "pw-" + os.urandom(6).hex()
    wharf_user(srv, "add", name, "--root", str(root), "--password", *flags, input=password)
    return User(name=name, root=root, password=password)


@pytest.fixture(scope="module")
def srv(server_factory, tmp_path_factory):
    if os.environ.get("WHARF_TEST_AGAINST", "wharf") != "wharf":
        pytest.skip("per-user policy is Wharf's")
    db = tmp_path_factory.mktemp("policydb") / "users.db"
    s = server_factory("policy", f'\n[auth]\nsources = ["config", "sqlite"]\nsqlite_path = {toml_str(db)}\n')
    s.db = db
    return s


def sftp_v6(srv, user: User, actions):
    """Runs `actions(sftp)` in an AsyncSSH SFTP v6 session; returns its result."""

    async def go():
        async with asyncssh.connect(srv.host, srv.port, username=user.name, password=user.password,
                                    known_hosts=str(srv.known_hosts), client_keys=None, agent_path=None,
                                    config=None, preferred_auth="password", connect_timeout=15) as conn:
            async with conn.start_sftp_client(sftp_version=6) as sftp:
                return await actions(sftp)

    return asyncio.run(asyncio.wait_for(go(), 60))


async def status_of(coro) -> int | None:
    try:
        await coro
    except asyncssh.SFTPError as e:
        return e.code
    return None


def test_upload_only_user_drops_files_but_cannot_read_replace_or_delete(srv, local):
    u = new_user(srv, "dropbox", "--upload-only")
    (u.root / "old.txt").write_bytes(b"old\n")
    src = local / "drop.txt"
    src.write_bytes(b"dropped\n")
    cp = run_sftp(srv, [f"put {src} drop.txt"], user=u)
    assert cp.returncode == 0, cp.stderr
    assert (u.root / "drop.txt").read_bytes() == b"dropped\n"

    async def refused(sftp):
        return (
            await status_of(sftp.get("old.txt", str(local / "got.txt"))),
            await status_of(sftp.put(str(src), "old.txt")),
            await status_of(sftp.remove("drop.txt")),
        )

    assert sftp_v6(srv, u, refused) == (FX_PERMISSION_DENIED,) * 3
    assert (u.root / "old.txt").read_bytes() == b"old\n"
    assert (u.root / "drop.txt").exists()
    assert not (local / "got.txt").exists()


def test_path_rules_open_one_folder_of_a_read_only_user(srv, local):
    u = new_user(srv, "clerk", "--read-only", "--perm", "/inbox/**:+upload,+mkdir")
    (u.root / "inbox").mkdir()
    src = local / "form.txt"
    src.write_bytes(b"form\n")
    cp = run_sftp(srv, [f"put {src} inbox/form.txt", "mkdir inbox/sub"], user=u)
    assert cp.returncode == 0, cp.stderr
    assert (u.root / "inbox/form.txt").read_bytes() == b"form\n"
    assert (u.root / "inbox/sub").is_dir()
    cp = run_sftp(srv, [f"put {src} form.txt"], user=u)
    assert cp.returncode != 0
    assert "Permission denied" in cp.stderr, cp.stderr
    assert not (u.root / "form.txt").exists()


def test_file_name_patterns(srv, local):
    u = new_user(srv, "namer", "--deny-name", "*.exe", "--deny-name", ".*")
    src = local / "n.bin"
    src.write_bytes(b"n")

    async def tries(sftp):
        return (
            await status_of(sftp.put(str(src), "tool.exe")),
            await status_of(sftp.mkdir(".hidden")),
            await status_of(sftp.put(str(src), "tool.txt")),
            await status_of(sftp.rename("tool.txt", "tool2.exe")),
        )

    assert sftp_v6(srv, u, tries) == (FX_PERMISSION_DENIED, FX_PERMISSION_DENIED, None,
                                       FX_PERMISSION_DENIED)
    assert sorted(p.name for p in u.root.iterdir()) == ["tool.txt"]


def test_byte_quota_is_enforced_and_freed(srv, local):
    u = new_user(srv, "quotaed", "--quota-bytes", "100K")
    a = local / "a.bin"
    a.write_bytes(os.urandom(60 * 1024))

    async def fill(sftp):
        first = await status_of(sftp.put(str(a), "a.bin"))
        second = await status_of(sftp.put(str(a), "b.bin"))
        await sftp.remove("a.bin")
        third = await status_of(sftp.put(str(a), "c.bin"))
        return first, second, third

    assert sftp_v6(srv, u, fill) == (None, FX_QUOTA_EXCEEDED, None)
    assert (u.root / "c.bin").read_bytes() == a.read_bytes()
    # Before v5 there is no quota code: OpenSSH's sftp (v3) sees a failure.
    cp = run_sftp(srv, [f"put {a} d.bin"], user=u)
    assert cp.returncode != 0
    assert "Failure" in cp.stderr or "quota" in cp.stderr.lower(), cp.stderr


def test_file_quota(srv, local):
    u = new_user(srv, "counted", "--quota-files", "2")
    (u.root / "existing").write_bytes(b"1")
    src = local / "f.txt"
    src.write_bytes(b"f")

    async def create(sftp):
        ok = await status_of(sftp.put(str(src), "one.txt"))
        over = await status_of(sftp.put(str(src), "two.txt"))
        again = await status_of(sftp.put(str(src), "one.txt"))
        return ok, over, again

    assert sftp_v6(srv, u, create) == (None, FX_QUOTA_EXCEEDED, None)
    assert sorted(p.name for p in u.root.iterdir()) == ["existing", "one.txt"]


@pytest.mark.parametrize("direction", ["download", "upload"])
def test_bandwidth_limit(srv, local, direction):
    """A 1.5 MiB transfer at 512 KiB/s takes about 3 s (less one 64 KiB
    burst). Only a lower bound on the time is asserted tightly; the upper
    bound is generous, as CI machines are slow and shared."""
    rate = 512 * 1024
    size = 3 * rate
    u = new_user(srv, f"slow{direction}", f"--{direction}-bandwidth", str(rate))
    data = os.urandom(size)
    (u.root / "big.bin").write_bytes(data)
    src = local / f"big-{direction}.bin"
    src.write_bytes(data)
    back = local / f"back-{direction}.bin"
    cmd = f"get big.bin {back}" if direction == "download" else f"put {src} up.bin"
    started = time.monotonic()
    cp = run_sftp(srv, [cmd], user=u, timeout=60)
    took = time.monotonic() - started
    assert cp.returncode == 0, cp.stderr
    got = back if direction == "download" else u.root / "up.bin"
    assert got.read_bytes() == data
    expected = (size - rate / 10) / rate
    assert took >= 0.85 * expected, f"{direction} of {size} B took {took:.2f}s, limit allows {expected:.2f}s"
    assert took <= 3 * expected + 5, f"{direction} took {took:.2f}s, far over {expected:.2f}s"


def test_each_right_can_be_taken_away(srv, local):
    """Every right in a path rule, denied one at a time on its own folder,
    gets PERMISSION_DENIED for exactly the operation it guards."""
    rules = [f"/{right}/**:-{right}" for right in
             ("list", "download", "upload", "overwrite", "delete", "rename", "mkdir", "rmdir", "chmod",
              "chown", "symlink")]
    args = [a for rule in rules for a in ("--perm", rule)]
    u = new_user(srv, "partial", *args)
    src = local / "p.txt"
    src.write_bytes(b"p\n")
    for right in ("list", "download", "overwrite", "delete", "rename", "rmdir", "chmod", "chown", "symlink"):
        d = u.root / right
        d.mkdir()
        (d / "f.txt").write_bytes(b"f\n")
        (d / "sub").mkdir()
    (u.root / "upload").mkdir()
    (u.root / "mkdir").mkdir()
    uid = os.getuid()

    async def each(sftp):
        return {
            "list": await status_of(sftp.listdir("list")),
            "download": await status_of(sftp.get("download/f.txt", str(local / "d.txt"))),
            "upload": await status_of(sftp.put(str(src), "upload/new.txt")),
            "overwrite": await status_of(sftp.put(str(src), "overwrite/f.txt")),
            "delete": await status_of(sftp.remove("delete/f.txt")),
            "rename": await status_of(sftp.rename("rename/f.txt", "rename/g.txt")),
            "mkdir": await status_of(sftp.mkdir("mkdir/new")),
            "rmdir": await status_of(sftp.rmdir("rmdir/sub")),
            "chmod": await status_of(sftp.chmod("chmod/f.txt", 0o600)),
            "chown": await status_of(sftp.chown("chown/f.txt", uid, 0)),
            "symlink": await status_of(sftp.symlink("f.txt", "symlink/l")),
            # The same operations elsewhere are allowed.
            "allowed": [
                await status_of(sftp.listdir("download")),
                await status_of(sftp.put(str(src), "list/new.txt")),
                await status_of(sftp.remove("list/new.txt")),
            ],
        }

    got = sftp_v6(srv, u, each)
    allowed = got.pop("allowed")
    assert got == {right: FX_PERMISSION_DENIED for right in got}, got
    assert allowed == [None, None, None]
    assert (u.root / "overwrite/f.txt").read_bytes() == b"f\n"
    assert (u.root / "delete/f.txt").exists() and (u.root / "rename/f.txt").exists()
    assert (u.root / "rmdir/sub").is_dir() and not (u.root / "mkdir/new").exists()
    assert not (u.root / "upload/new.txt").exists() and not (u.root / "symlink/l").exists()
