"""The jail: nothing outside the user's root can be read, listed or written.

Every escape is tried with the host's real /etc/passwd as the prize: reading
its real bytes, through any path, fails the test. Writes are checked on the
disk around the root, which must stay exactly as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import paramiko
import pytest

from harness import paramiko_client



def real_passwd() -> bytes:
    # Read when checking, not at import: creating test users changes it.
    return Path("/etc/passwd").read_bytes()

READ_ESCAPES = [
    "/etc/passwd",
    "../etc/passwd",
    "../../../../../../../../etc/passwd",
    "/../../../etc/passwd",
    "/./etc/../../etc/passwd",
    "sub/../../../../../../etc/passwd",
    "//etc//passwd",
    "/etc/passwd\x00.txt",
]


@pytest.fixture(scope="module")
def jail(server):
    """The password user's root with a marker, a subdirectory, and hostile symlinks planted on disk.

    The planted links stand for anything that ends up in a root without going
    through the server (another process, an unpacked archive): the server must
    stay inside whatever the links say.
    """
    root = server.pw_user.root
    (root / "marker.txt").write_bytes(b"inside the root\n")
    (root / "sub").mkdir(exist_ok=True)
    outside = server.base / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_bytes(b"outside secret\n")
    links = {
        "planted-etc": "/etc",
        "planted-passwd": "/etc/passwd",
        "planted-up": "../../../../../../..",
        "planted-parent": "..",
        "planted-outside": str(outside),
        "planted-outside-rel": os.path.relpath(outside, root),
        "sub/planted-up2": "../../../../../../../..",
    }
    for name, target in links.items():
        p = root / name
        if not p.is_symlink():
            os.symlink(target, p)
    return root, outside


def _snapshot(dirs) -> dict:
    """Every name and size under the given directories (not following links)."""
    seen = {}
    for d in dirs:
        for dirpath, dirnames, filenames in os.walk(d):
            for n in dirnames + filenames:
                p = Path(dirpath) / n
                st = p.lstat()
                seen[str(p)] = (st.st_mode, st.st_size)
    return seen


def _must_not_read_passwd(sftp, path):
    try:
        with sftp.open(path, "r") as f:
            data = f.read()
    except (IOError, OSError, EOFError, paramiko.SSHException):
        # An error status, or (as OpenSSH's sftp-server does for a NUL in a
        # path) the session ends: either way nothing was read.
        return
    assert data != real_passwd(), f"read the host's /etc/passwd through {path!r}"
    pytest.fail(f"{path!r} opened inside the jail although nothing is there (got {len(data)} bytes)")


@pytest.mark.parametrize("path", READ_ESCAPES)
def test_read_escape_by_path(server, jail, path):
    with paramiko_client(server) as c, c.open_sftp() as sftp:
        _must_not_read_passwd(sftp, path)


@pytest.mark.parametrize("path", ["planted-etc/passwd", "planted-passwd", "planted-up/etc/passwd",
                                  "planted-parent/../etc/passwd", "sub/planted-up2/etc/passwd",
                                  "planted-outside/secret.txt", "planted-outside-rel/secret.txt"])
def test_read_escape_by_planted_symlink(server, jail, path):
    with paramiko_client(server) as c, c.open_sftp() as sftp:
        try:
            with sftp.open(path, "r") as f:
                data = f.read()
        except (IOError, OSError):
            return
    assert data not in (real_passwd(), b"outside secret\n"), f"read outside the root through {path!r}"
    pytest.fail(f"{path!r} opened although its target is outside the root")


def test_symlinks_created_by_client_stay_inside(server, jail):
    with paramiko_client(server) as c, c.open_sftp() as sftp:
        for target, link in [("/etc", "mk-etc"), ("../../..", "mk-up"), ("/etc/passwd", "mk-passwd"),
                             ("..", "mk-parent")]:
            try:
                sftp.symlink(target, link)  # a server may refuse; if it accepts, the link must not lead out
            except IOError:
                continue
            for p in (f"{link}/passwd", f"{link}/etc/passwd", link, f"{link}/../etc/passwd"):
                _must_not_read_passwd(sftp, p)
            # Listing through the link must not show the host's directories.
            try:
                names = set(sftp.listdir(link))
            except IOError:
                names = set()
            assert not ({"passwd", "shadow", "hostname"} <= names), f"{link} lists the host's /etc"
            assert not ({"etc", "usr", "proc"} <= names), f"{link} lists the host's /"


def test_dotdot_stays_at_root(server, jail):
    with paramiko_client(server) as c, c.open_sftp() as sftp:
        for p in ("/..", "/../..", "..", "../../..", "/sub/../..", "/./.."):
            assert sftp.normalize(p) == "/", p
        root_names = set(sftp.listdir("/"))
        assert "marker.txt" in root_names
        for p in ("/..", "../..", "/sub/../../.."):
            assert set(sftp.listdir(p)) == root_names, p
            st = sftp.stat(p)
            assert st.st_mode == sftp.stat("/").st_mode
        with sftp.open("/../../marker.txt") as f:
            assert f.read() == b"inside the root\n"
        # planted-parent is ".." of the root: it must show the root, never its parent.
        try:
            names = set(sftp.listdir("planted-parent"))
        except IOError:
            names = root_names
        assert names == root_names, "the link '..' at the root listed the root's parent"


def test_writes_never_land_outside(server, jail, local):
    root, outside = jail
    parent = root.parent
    # The roots' parent holds the other user's root too; `outside` is a sibling of it.
    watched = [parent, outside]
    host_paths = [Path(p) for p in ("/tmp/escape3.txt", "/tmp/escape4.txt", "/tmp/escape8.txt",
                                    "/etc/wharf-escape9", "/tmp/escdir")]
    for p in host_paths:  # left by an earlier run: this run must not be blamed or excused by them
        if p.is_dir():
            p.rmdir()
        elif p.exists():
            p.unlink()
    (root / "tomove.txt").write_bytes(b"move me\n")
    before = _snapshot(watched)
    payload = b"pwned\n"
    with paramiko_client(server) as c, c.open_sftp() as sftp:
        for path in ("../escape1.txt", "/../escape2.txt", "../../../../../../tmp/escape3.txt",
                     "planted-up/tmp/escape4.txt", "planted-outside/escape5.txt",
                     "planted-outside-rel/escape6.txt", "planted-parent/escape7.txt",
                     "sub/planted-up2/tmp/escape8.txt", "planted-etc/wharf-escape9"):
            try:
                with sftp.open(path, "w") as f:
                    f.write(payload)
            except IOError:
                pass
        for path in ("../escdir", "planted-outside/escdir", "planted-up/tmp/escdir"):
            try:
                sftp.mkdir(path)
            except IOError:
                pass
        for src, dst in (("tomove.txt", "../moved1.txt"), ("tomove.txt", "planted-outside/moved2.txt"),
                         ("tomove.txt", "planted-up/tmp/moved3.txt")):
            try:
                sftp.rename(src, dst)
            except IOError:
                pass
    after = _snapshot(watched)
    # Whatever was created must be below the root; nothing else may change.
    changed = {p for p in set(before) ^ set(after) if not p.startswith(str(root) + os.sep)}
    changed |= {p for p in set(before) & set(after) if before[p] != after[p] and not p.startswith(str(root) + os.sep)}
    assert not changed, f"writes escaped the root: {sorted(changed)}"
    for p in host_paths + [Path("/tmp/moved3.txt")]:
        assert not p.exists(), f"{p} was created outside the root"
    assert (outside / "secret.txt").read_bytes() == b"outside secret\n"
