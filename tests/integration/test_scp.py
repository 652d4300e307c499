"""SCP against the server with real, independent clients (issue 4).

OpenSSH's scp in both modes (-O: the legacy rcp protocol that Wharf's SCP
engine serves; no flag: SFTP under the hood in OpenSSH 9), PuTTY's pscp
(-scp and -sftp), AsyncSSH's scp(), and a minimal SCP client written here over
a paramiko channel, which checks the framing against a non-OpenSSH peer.

Every test asserts what reached the disk (bytes, names, modes and times with
os.stat) and what the client said (messages, exit codes), not only exit codes.
Each test works in its own fresh folder of the user's root, so the tests do
not depend on one another or on their order.

The legacy-protocol tests run against Wharf only: the OpenSSH reference
backend's users have no shell (nologin) and so cannot exec `scp -t/-f`.
"""

from __future__ import annotations

import asyncio
import calendar
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import asyncssh
import pytest

import harness
from harness import CLIENT_TIMEOUT, assert_same_bytes, make_random_file, paramiko_client

DISABLED_MSG = "scp: SCP is disabled on this server; use sftp instead"

# Distinctive times for -p: 2001-02-03 04:05:06 UTC and 2002-03-04 05:06:07 UTC.
# Both are far older than a day, so a server that read the file before taking
# its atime would (with relatime) report "now", and the test would see it.
MTIME = calendar.timegm((2001, 2, 3, 4, 5, 6))
ATIME = calendar.timegm((2002, 3, 4, 5, 6, 7))


# --------------------------------------------------------------------------
# helpers local to this file (the harness has no scp/pscp runners)


def _legacy_only(server) -> None:
    if server.kind != "wharf":
        pytest.skip("legacy SCP needs exec of scp, which the reference sshd's nologin users lack")


def _scp_bin() -> str:
    return harness._tool("scp")


def _out(cp: subprocess.CompletedProcess) -> str:
    return f"{cp.args!r} exited {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"


def run_scp(server, args, *, user=None, legacy: bool = True, auth: str | None = None,
            timeout: float = CLIENT_TIMEOUT) -> subprocess.CompletedProcess:
    """OpenSSH scp with the harness's isolated client options; -O unless legacy=False.

    The key user is the default: public-key login costs the server no
    password hash, which keeps the file fast.
    """
    user = user or server.key_user
    auth = auth or harness.default_auth(server, user)
    aopts, env = harness.auth_opts(server, user, auth)
    argv = [_scp_bin(), "-S", harness.ssh_bin(), "-P", str(server.port), "-q"]
    if legacy:
        argv.append("-O")
    argv += harness.ssh_common_opts(server) + aopts + [str(a) for a in args]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                          timeout=timeout, errors="replace")


def rspec(server, user, path: str) -> str:
    return f"{user.name}@{server.host}:{path}"


def run_pscp(server, proto: str, args, *, user=None, timeout: float = CLIENT_TIMEOUT):
    """PuTTY pscp in batch mode, password on the command line, host keys pinned by fingerprint."""
    if not shutil.which("pscp"):
        raise harness.HarnessError("pscp not found (Debian package putty-tools)")
    user = user or server.pw_user
    home = server.base / "pscp-home"
    home.mkdir(exist_ok=True)
    argv = ["pscp", proto, "-batch", "-q", "-noagent", "-P", str(server.port), "-l", user.name,
            "-pw", user.password]
    for fp in server.host_fingerprints():
        argv += ["-hostkey", fp]
    argv += [str(a) for a in args]
    env = dict(os.environ, HOME=str(home))  # keep ~/.putty out of the real home
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                          timeout=timeout, errors="replace")


@pytest.fixture
def rdir(server, request):
    """A fresh folder in the key user's root: (its path as the client names it, its path on disk)."""
    test = request.node.name.replace("[", "-").replace("]", "").replace(" ", "_")[:60]
    name = f"t-{test}-{os.urandom(3).hex()}"
    on_disk = server.key_user.root / name
    on_disk.mkdir()
    return "/" + name, on_disk


def make_tree(top: Path) -> Path:
    """Nested folders, files of several sizes (one empty) and two EMPTY folders."""
    (top / "sub" / "deeper").mkdir(parents=True)
    (top / "empty").mkdir()
    (top / "sub" / "empty2").mkdir()
    (top / "a.txt").write_bytes(b"alpha\n")
    (top / "zero.bin").write_bytes(b"")
    make_random_file(top / "sub" / "b.bin", 70_001)
    make_random_file(top / "sub" / "deeper" / "c.bin", 200_000)
    (top / "sub" / "deeper" / "naïve café.txt").write_bytes("unicode name\n".encode())
    return top


def listing(top: Path) -> tuple[list[str], list[str]]:
    dirs, files = [], []
    for dirpath, dirnames, filenames in os.walk(top):
        rel = os.path.relpath(dirpath, top)
        dirs += [os.path.normpath(os.path.join(rel, d)) for d in dirnames]
        files += [os.path.normpath(os.path.join(rel, f)) for f in filenames]
    return sorted(dirs), sorted(files)


def assert_same_tree(a: Path, b: Path) -> None:
    la, lb = listing(a), listing(b)
    assert la[0] == lb[0], f"folders differ:\n{a}: {la[0]}\n{b}: {lb[0]}"
    assert la[1] == lb[1], f"files differ:\n{a}: {la[1]}\n{b}: {lb[1]}"
    for f in la[1]:
        assert_same_bytes(a / f, b / f)


def assert_times_and_mode(p: Path, mode: int) -> None:
    st = os.stat(p)
    assert int(st.st_mtime) == MTIME, f"{p}: mtime {st.st_mtime}, expected {MTIME} (2001-02-03)"
    assert int(st.st_atime) == ATIME, f"{p}: atime {st.st_atime}, expected {ATIME} (2002-03-04)"
    assert stat.S_IMODE(st.st_mode) == mode, f"{p}: mode {oct(stat.S_IMODE(st.st_mode))}, expected {oct(mode)}"


# --------------------------------------------------------------------------
# 1. OpenSSH scp -O (legacy protocol)


@pytest.mark.parametrize("size", [0, 1, 1 << 20], ids=["0B", "1B", "1MiB"])
def test_legacy_upload_download_sizes(server, local, rdir, size):
    _legacy_only(server)
    rpath, on_disk = rdir
    src = make_random_file(local / "src.bin", size)
    cp = run_scp(server, [src, rspec(server, server.key_user, f"{rpath}/up.bin")])
    assert cp.returncode == 0, _out(cp)
    assert cp.stderr == "", _out(cp)
    assert_same_bytes(src, on_disk / "up.bin")
    # Without -p the sink applies the client's mode (0644 from a 0644 file) minus its umask.
    assert stat.S_IMODE((on_disk / "up.bin").stat().st_mode) == stat.S_IMODE(src.stat().st_mode) & ~0o022

    back = local / "back.bin"
    cp = run_scp(server, [rspec(server, server.key_user, f"{rpath}/up.bin"), back])
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, back)


@pytest.mark.parametrize("name", ["with space.txt", "naïve café.txt"], ids=["space", "unicode"])
def test_legacy_awkward_names(server, local, rdir, name):
    _legacy_only(server)
    rpath, on_disk = rdir
    src = local / name
    src.write_bytes(os.urandom(777))
    # Upload into the folder: the name travels in the C record, not the command line.
    cp = run_scp(server, [src, rspec(server, server.key_user, rpath + "/")])
    assert cp.returncode == 0, _out(cp)
    assert os.listdir(on_disk) == [name]
    assert_same_bytes(src, on_disk / name)

    # Download: legacy scp puts the remote path on the remote command line
    # unquoted (a shell splits it on OpenSSH), so the space is escaped as a
    # user of scp -O must; the server's word splitting has to undo it.
    dest = local / "dl"
    dest.mkdir()
    escaped = f"{rpath}/{name}".replace(" ", "\\ ")
    cp = run_scp(server, [rspec(server, server.key_user, escaped), dest])
    assert cp.returncode == 0, _out(cp)
    assert os.listdir(dest) == [name]
    assert_same_bytes(src, dest / name)


def test_legacy_multiple_sources_into_directory(server, local, rdir):
    _legacy_only(server)
    rpath, on_disk = rdir
    srcs = [make_random_file(local / n, s) for n, s in (("a.bin", 10), ("b.bin", 0), ("c.bin", 65_537))]
    cp = run_scp(server, [*srcs, rspec(server, server.key_user, rpath + "/")])
    assert cp.returncode == 0, _out(cp)
    assert sorted(os.listdir(on_disk)) == ["a.bin", "b.bin", "c.bin"]
    for s in srcs:
        assert_same_bytes(s, on_disk / s.name)

    # And back, several files in one command through the server's glob expansion.
    (on_disk / "other.txt").write_bytes(b"not matched by *.bin\n")
    dest = local / "dl"
    dest.mkdir()
    cp = run_scp(server, [rspec(server, server.key_user, rpath + "/*.bin"), dest])
    assert cp.returncode == 0, _out(cp)
    assert sorted(os.listdir(dest)) == ["a.bin", "b.bin", "c.bin"]
    for s in srcs:
        assert_same_bytes(s, dest / s.name)


def test_legacy_recursive_upload(server, local, rdir):
    _legacy_only(server)
    rpath, on_disk = rdir
    tree = make_tree(local / "tree")
    cp = run_scp(server, ["-r", tree, rspec(server, server.key_user, rpath + "/")])
    assert cp.returncode == 0, _out(cp)
    assert os.listdir(on_disk) == ["tree"]
    assert_same_tree(tree, on_disk / "tree")
    assert (on_disk / "tree" / "empty").is_dir() and not os.listdir(on_disk / "tree" / "empty")


def test_legacy_recursive_download(server, local, rdir):
    _legacy_only(server)
    rpath, on_disk = rdir
    tree = make_tree(on_disk / "tree")
    dest = local / "dl"
    dest.mkdir()
    cp = run_scp(server, ["-r", rspec(server, server.key_user, rpath + "/tree"), dest])
    assert cp.returncode == 0, _out(cp)
    assert os.listdir(dest) == ["tree"]
    assert_same_tree(tree, dest / "tree")
    assert (dest / "tree" / "empty").is_dir() and not os.listdir(dest / "tree" / "empty")


def test_legacy_preserve_upload(server, local, rdir):
    _legacy_only(server)
    rpath, on_disk = rdir
    src = make_random_file(local / "keep.bin", 4099)
    os.chmod(src, 0o640)
    os.utime(src, (ATIME, MTIME))
    cp = run_scp(server, ["-p", src, rspec(server, server.key_user, rpath + "/")])
    assert cp.returncode == 0, _out(cp)
    # Times first: reading the file to compare bytes updates its atime.
    assert_times_and_mode(on_disk / "keep.bin", 0o640)
    assert_same_bytes(src, on_disk / "keep.bin")


def test_legacy_preserve_download(server, local, rdir):
    _legacy_only(server)
    rpath, on_disk = rdir
    f = make_random_file(on_disk / "keep.bin", 4099)
    os.chmod(f, 0o640)
    os.utime(f, (ATIME, MTIME))
    dest = local / "dl"
    dest.mkdir()
    cp = run_scp(server, ["-p", rspec(server, server.key_user, rpath + "/keep.bin"), dest])
    assert cp.returncode == 0, _out(cp)
    assert_times_and_mode(dest / "keep.bin", 0o640)
    assert_same_bytes(f, dest / "keep.bin")


def test_legacy_preserve_recursive_directory_modes_and_times(server, local, rdir):
    """-rp: a folder's mode and times come across too (set after its contents, at the E record)."""
    _legacy_only(server)
    rpath, on_disk = rdir
    top = local / "ptree"
    (top / "inner").mkdir(parents=True)
    (top / "inner" / "f.txt").write_bytes(b"x" * 100)
    os.chmod(top / "inner" / "f.txt", 0o640)
    os.chmod(top / "inner", 0o750)
    for p in (top / "inner" / "f.txt", top / "inner"):
        os.utime(p, (ATIME, MTIME))
    cp = run_scp(server, ["-rp", top, rspec(server, server.key_user, rpath + "/")])
    assert cp.returncode == 0, _out(cp)
    # Times before contents: reading a file or listing a folder updates its atime.
    assert_times_and_mode(on_disk / "ptree" / "inner" / "f.txt", 0o640)
    assert_times_and_mode(on_disk / "ptree" / "inner", 0o750)
    assert_same_tree(top, on_disk / "ptree")

    # Reset the server copy's times (the comparison above read them) and take it back.
    for p in (on_disk / "ptree" / "inner" / "f.txt", on_disk / "ptree" / "inner"):
        os.utime(p, (ATIME, MTIME))
    dest = local / "dl"
    dest.mkdir()
    cp = run_scp(server, ["-rp", rspec(server, server.key_user, rpath + "/ptree"), dest])
    assert cp.returncode == 0, _out(cp)
    assert_times_and_mode(dest / "ptree" / "inner" / "f.txt", 0o640)
    assert_times_and_mode(dest / "ptree" / "inner", 0o750)
    assert_same_tree(top, dest / "ptree")


def test_legacy_download_missing_file(server, local):
    _legacy_only(server)
    dest = local / "x"
    cp = run_scp(server, [rspec(server, server.key_user, "/missing"), dest])
    assert cp.returncode != 0, _out(cp)
    assert "scp: /missing: No such file or directory" in cp.stderr, _out(cp)
    assert not dest.exists()


def test_legacy_upload_into_missing_directory(server, local):
    _legacy_only(server)
    src = make_random_file(local / "f", 10)
    cp = run_scp(server, [src, rspec(server, server.key_user, "/nodir/f")])
    assert cp.returncode != 0, _out(cp)
    assert "No such file or directory" in cp.stderr, _out(cp)
    assert "/nodir/f" in cp.stderr, _out(cp)
    assert not (server.key_user.root / "nodir").exists()


def test_legacy_password_user(server, local):
    """One round trip with password authentication (the askpass route), to the other user's root."""
    _legacy_only(server)
    user = server.pw_user
    name = "pwscp-" + os.urandom(3).hex() + ".bin"
    src = make_random_file(local / "src.bin", 12_345)
    cp = run_scp(server, [src, rspec(server, user, "/" + name)], user=user)
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, user.root / name)
    back = local / "back.bin"
    cp = run_scp(server, [rspec(server, user, "/" + name), back], user=user)
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, back)


# --------------------------------------------------------------------------
# 2. plain scp: OpenSSH 9 speaks SFTP under the hood


def test_sftp_mode_single_file(server, local, rdir):
    rpath, on_disk = rdir
    src = make_random_file(local / "src.bin", 300_001)
    cp = run_scp(server, [src, rspec(server, server.key_user, rpath + "/up.bin")], legacy=False)
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, on_disk / "up.bin")
    back = local / "back.bin"
    cp = run_scp(server, [rspec(server, server.key_user, rpath + "/up.bin"), back], legacy=False)
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, back)


def test_sftp_mode_recursive(server, local, rdir):
    rpath, on_disk = rdir
    tree = make_tree(local / "tree")
    cp = run_scp(server, ["-r", tree, rspec(server, server.key_user, rpath + "/")], legacy=False)
    assert cp.returncode == 0, _out(cp)
    assert_same_tree(tree, on_disk / "tree")
    dest = local / "dl"
    dest.mkdir()
    cp = run_scp(server, ["-r", rspec(server, server.key_user, rpath + "/tree"), dest], legacy=False)
    assert cp.returncode == 0, _out(cp)
    assert_same_tree(tree, dest / "tree")


# --------------------------------------------------------------------------
# 3. the jail


def _escape_candidates(user, name: str) -> list[Path]:
    """Where a file named `name` would land if a path escaped the root."""
    places = [Path("/tmp") / name, Path("/") / name]
    for anc in user.root.parents:
        places += [anc / name, anc / "tmp" / name]
    return places


def _found_outside(server, user, name: str) -> list[str]:
    found = [str(p) for p in _escape_candidates(user, name) if os.path.lexists(p)]
    for dirpath, _dirs, files in os.walk(server.base):
        inside = Path(dirpath) == user.root or user.root in Path(dirpath).parents
        if name in files and not inside:
            found.append(os.path.join(dirpath, name))
    return found


@pytest.mark.parametrize("ups", [4, 16])
@pytest.mark.parametrize("jail_tmp", [False, True], ids=["no-jail-tmp", "jail-tmp"])
def test_jail_upload_dotdot(server, local, ups, jail_tmp):
    """`..` above the root stops at the root: the upload lands in the jail's /tmp or nowhere."""
    _legacy_only(server)
    user = server.key_user
    name = "escape_" + os.urandom(6).hex()
    src = local / "f"
    src.write_bytes(b"must stay in the jail\n")
    target = "../" * ups + "tmp/" + name
    if jail_tmp:
        (user.root / "tmp").mkdir()
    try:
        cp = run_scp(server, [src, rspec(server, user, target)])
        assert _found_outside(server, user, name) == [], _out(cp)
        assert not Path("/tmp", name).exists()
        if jail_tmp:
            # The jail's /tmp exists, so the path resolves to it, as in a chroot.
            assert cp.returncode == 0, _out(cp)
            assert (user.root / "tmp" / name).read_bytes() == src.read_bytes()
        else:
            assert cp.returncode != 0, _out(cp)
            assert "No such file or directory" in cp.stderr, _out(cp)
            assert not (user.root / "tmp").exists()
    finally:
        if (user.root / "tmp").exists():
            shutil.rmtree(user.root / "tmp")


def test_jail_download_etc_passwd(server, local):
    _legacy_only(server)
    user = server.key_user
    real = Path("/etc/passwd").read_bytes()
    dest = local / "passwd"
    cp = run_scp(server, [rspec(server, user, "/../../etc/passwd"), dest])
    if cp.returncode == 0:
        assert dest.read_bytes() != real, "the real /etc/passwd came out of the jail"
    else:
        assert not dest.exists() or dest.read_bytes() != real
        assert "No such file or directory" in cp.stderr, _out(cp)

    # With a decoy at the jail's /etc/passwd, the same path must give the decoy:
    # the jail maps / (and anything above it) to the user's root.
    decoy = b"decoy passwd " + os.urandom(8).hex().encode() + b"\n"
    (user.root / "etc").mkdir(exist_ok=True)
    (user.root / "etc" / "passwd").write_bytes(decoy)
    try:
        dest2 = local / "passwd2"
        cp = run_scp(server, [rspec(server, user, "/../../etc/passwd"), dest2])
        assert cp.returncode == 0, _out(cp)
        assert dest2.read_bytes() == decoy
    finally:
        (user.root / "etc" / "passwd").unlink()
        (user.root / "etc").rmdir()


def test_jail_symlinks_pointing_out(server, local, rdir, tmp_path):
    """A link planted in the root (not made through the server) must not lead outside it, either way."""
    _legacy_only(server)
    user = server.key_user
    rpath, on_disk = rdir
    outside = tmp_path / "outside"
    outside.mkdir()
    (on_disk / "passwd-link").symlink_to("/etc/passwd")
    (on_disk / "out-dir").symlink_to(outside)

    dest = local / "got"
    cp = run_scp(server, [rspec(server, user, rpath + "/passwd-link"), dest])
    if cp.returncode == 0:
        assert dest.read_bytes() != Path("/etc/passwd").read_bytes(), "read /etc/passwd through a symlink"
    else:
        assert not dest.exists() or dest.read_bytes() != Path("/etc/passwd").read_bytes()

    src = local / "f"
    src.write_bytes(b"must not land outside\n")
    cp = run_scp(server, [src, rspec(server, user, rpath + "/out-dir/f")])
    assert os.listdir(outside) == [], f"wrote through a symlink to {outside}\n" + _out(cp)
    assert cp.returncode != 0, _out(cp)


# --------------------------------------------------------------------------
# 4. PuTTY pscp


def test_pscp_scp_upload_download(server, local):
    _legacy_only(server)
    if not shutil.which("pscp"):
        pytest.skip("pscp not installed (putty-tools)")
    user = server.pw_user
    name = "pscp-" + os.urandom(3).hex() + ".bin"
    src = make_random_file(local / "src.bin", 300_000)
    cp = run_pscp(server, "-scp", [src, f"{server.host}:/{name}"])
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, user.root / name)
    back = local / "back.bin"
    cp = run_pscp(server, "-scp", [f"{server.host}:/{name}", back])
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, back)

    # -r both ways through SCP
    tree = make_tree(local / ("ptree-" + os.urandom(2).hex()))
    cp = run_pscp(server, "-scp", ["-r", tree, f"{server.host}:/"])
    assert cp.returncode == 0, _out(cp)
    assert_same_tree(tree, user.root / tree.name)
    dest = local / "dl"
    dest.mkdir()
    cp = run_pscp(server, "-scp", ["-r", f"{server.host}:/{tree.name}", dest])
    assert cp.returncode == 0, _out(cp)
    assert_same_tree(tree, dest / tree.name)


def test_pscp_scp_download_larger_than_the_output_bound(server, local):
    """pscp grants a window of nearly 2 GiB and sends nothing while it receives: once the server
    has 1 MiB of unwritten output it pauses the file data, and only the socket draining (no
    message from the client) can resume it."""
    _legacy_only(server)
    if not shutil.which("pscp"):
        pytest.skip("pscp not installed (putty-tools)")
    user = server.pw_user
    name = "pscp-big-" + os.urandom(3).hex() + ".bin"
    src = make_random_file(user.root / name, 6 * 1024 * 1024 + 123)
    back = local / "big-back.bin"
    cp = run_pscp(server, "-scp", [f"{server.host}:/{name}", back], timeout=60)
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, back)


def test_pscp_scp_missing_file(server, local):
    _legacy_only(server)
    if not shutil.which("pscp"):
        pytest.skip("pscp not installed (putty-tools)")
    cp = run_pscp(server, "-scp", [f"{server.host}:/missing-pscp", local / "x"])
    assert cp.returncode != 0, _out(cp)
    assert "/missing-pscp: No such file or directory" in cp.stdout + cp.stderr, _out(cp)
    assert not (local / "x").exists()


def test_pscp_sftp(server, local):
    if not shutil.which("pscp"):
        pytest.skip("pscp not installed (putty-tools)")
    user = server.pw_user
    name = "pscp-sftp-" + os.urandom(3).hex() + ".bin"
    src = make_random_file(local / "src.bin", 200_003)
    cp = run_pscp(server, "-sftp", [src, f"{server.host}:/{name}"])
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, user.root / name)
    back = local / "back.bin"
    cp = run_pscp(server, "-sftp", [f"{server.host}:/{name}", back])
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, back)


# --------------------------------------------------------------------------
# 5. Python clients: AsyncSSH's scp() and raw SCP over paramiko


def _asyncssh_kw(server, user):
    kw = dict(host=server.host, port=server.port, username=user.name, known_hosts=str(server.known_hosts),
              agent_path=None, config=None, connect_timeout=15, login_timeout=15)
    if user.password is not None:
        kw.update(password=user.password, client_keys=None, preferred_auth="password")
    else:
        kw.update(client_keys=[str(user.key)], preferred_auth="publickey")
    return kw


def test_asyncssh_scp_recursive_preserve(server, local, rdir):
    _legacy_only(server)
    rpath, on_disk = rdir
    tree = make_tree(local / "atree")
    os.chmod(tree / "a.txt", 0o640)
    os.utime(tree / "a.txt", (ATIME, MTIME))
    os.chmod(tree / "sub", 0o750)
    os.utime(tree / "sub", (ATIME, MTIME))
    dest = local / "dl"
    dest.mkdir()

    def run(*steps):
        async def go():
            async with asyncssh.connect(**_asyncssh_kw(server, server.key_user)) as conn:
                for src, dst, kw in steps:
                    src = (conn, src[1]) if isinstance(src, tuple) else src
                    dst = (conn, dst[1]) if isinstance(dst, tuple) else dst
                    await asyncssh.scp(src, dst, **kw)

        asyncio.run(asyncio.wait_for(go(), 60))

    both = dict(preserve=True, recurse=True)
    run((str(tree), ("r", rpath), both))
    # Times before contents: reading a file or listing a folder updates its atime.
    assert_times_and_mode(on_disk / "atree" / "a.txt", 0o640)
    assert_times_and_mode(on_disk / "atree" / "sub", 0o750)
    run((("r", rpath + "/atree"), str(dest), both))
    assert_times_and_mode(dest / "atree" / "a.txt", 0o640)
    assert_times_and_mode(dest / "atree" / "sub", 0o750)
    assert_same_tree(tree, on_disk / "atree")
    assert_same_tree(tree, dest / "atree")

    # A plain single file, no flags, both ways.
    run((str(tree / "sub" / "b.bin"), ("r", rpath + "/single.bin"), {}),
        (("r", rpath + "/single.bin"), str(local / "single.bin"), {}))
    assert_same_bytes(tree / "sub" / "b.bin", on_disk / "single.bin")
    assert_same_bytes(tree / "sub" / "b.bin", local / "single.bin")


def test_asyncssh_scp_missing_file(server, local):
    _legacy_only(server)

    async def go():
        async with asyncssh.connect(**_asyncssh_kw(server, server.key_user)) as conn:
            await asyncssh.scp((conn, "/missing-async"), str(local / "x"))

    with pytest.raises(asyncssh.SFTPError) as ei:
        asyncio.run(asyncio.wait_for(go(), 60))
    assert "/missing-async: No such file or directory" in str(ei.value.reason), ei.value
    assert not (local / "x").exists()


class RawScp:
    """Just enough of the SCP client side, written from scp.c's protocol, over one paramiko channel."""

    def __init__(self, client, command: str):
        self.chan = client.get_transport().open_session(timeout=15)
        self.chan.settimeout(15)
        self.chan.exec_command(command)
        self.buf = b""

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.chan.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise EOFError(f"channel closed after {len(self.buf)} of {n} bytes")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def line(self) -> bytes:
        while b"\n" not in self.buf:
            chunk = self.chan.recv(4096)
            if not chunk:
                raise EOFError(f"channel closed mid-line: {self.buf!r}")
            self.buf += chunk
        out, _, self.buf = self.buf.partition(b"\n")
        return out

    def ack(self) -> None:
        """One status byte: \\0 is ok, \\1/\\2 carry a message line."""
        b = self.read(1)
        if b != b"\0":
            raise AssertionError(f"status {b!r}: {self.line().decode(errors='replace')}")

    def finish(self) -> tuple[int, bytes]:
        self.chan.shutdown_write()
        rest = self.buf
        while True:
            chunk = self.chan.recv(4096)
            if not chunk:
                break
            rest += chunk
        status = self.chan.recv_exit_status()
        err = b""
        while self.chan.recv_stderr_ready():
            err += self.chan.recv_stderr(4096)
        self.chan.close()
        return status, rest + err


def test_paramiko_raw_scp_upload(server, rdir):
    _legacy_only(server)
    rpath, on_disk = rdir
    data = os.urandom(150_000)
    client = paramiko_client(server, user=server.key_user)
    try:
        s = RawScp(client, f"scp -t -p {rpath}")
        s.ack()  # the sink is ready
        s.chan.sendall(f"T{MTIME} 0 {ATIME} 0\n".encode())
        s.ack()
        s.chan.sendall(f"C0640 {len(data)} raw.bin\n".encode())
        s.ack()
        s.chan.sendall(data + b"\0")
        s.ack()
        status, rest = s.finish()
    finally:
        client.close()
    assert status == 0, rest
    assert_times_and_mode(on_disk / "raw.bin", 0o640)  # before reading, which updates atime
    assert (on_disk / "raw.bin").read_bytes() == data


def test_paramiko_raw_scp_download(server, rdir):
    _legacy_only(server)
    rpath, on_disk = rdir
    data = os.urandom(150_001)
    f = on_disk / "raw.bin"
    f.write_bytes(data)
    os.chmod(f, 0o640)
    os.utime(f, (ATIME, MTIME))
    client = paramiko_client(server, user=server.key_user)
    try:
        s = RawScp(client, f"scp -f -p {rpath}/raw.bin")
        s.chan.sendall(b"\0")  # ready
        assert s.line() == f"T{MTIME} 0 {ATIME} 0".encode()
        s.chan.sendall(b"\0")
        assert s.line() == f"C0640 {len(data)} raw.bin".encode()
        s.chan.sendall(b"\0")
        got = s.read(len(data))
        s.ack()  # the source's status after the data
        s.chan.sendall(b"\0")
        status, rest = s.finish()
        assert status == 0, rest
        assert rest == b"", rest
        assert got == data

        # A missing file: a warning (\x01 + message line), then exit status 1.
        s = RawScp(client, "scp -f /no-such-raw")
        s.chan.sendall(b"\0")
        assert s.read(1) == b"\x01"
        assert s.line() == b"scp: /no-such-raw: No such file or directory"
        status, _ = s.finish()
        assert status == 1
    finally:
        client.close()


# --------------------------------------------------------------------------
# 6. SCP switched off: [server] scp = false, and one user who overrides it


@pytest.fixture(scope="module")
def scp_off(server_factory, tmp_path_factory):
    """A server with scp = false, plus a user `carol` whose own `scp = true` overrides it.

    The harness writes extra_server_toml at the end of [server] and its own
    [[users]] after it, so a [[users]] table here is one more user.
    """
    own = tmp_path_factory.mktemp("scp-off-carol")
    carol_root = own / "root"
    carol_root.mkdir()
    key = harness.keygen(own / "id_carol", ["-t", "ed25519"], "carol@wharf-it")
    pub = Path(str(key) + ".pub").read_text().strip()
    extra = (f"scp = false\n\n[[users]]\nname = \"carol\"\nauthorized_keys = [{harness.toml_str(pub)}]\n"
             f"root = {harness.toml_str(carol_root)}\nscp = true\n")
    srv = server_factory("scp-off", extra_server_toml=extra)
    return srv, harness.User(name="carol", root=carol_root, key=key)


def test_disabled_scp_refuses_legacy_upload(scp_off, local):
    srv, _carol = scp_off
    user = srv.key_user
    before = sorted(os.listdir(user.root))
    src = make_random_file(local / "f.bin", 1000)
    cp = run_scp(srv, [src, rspec(srv, user, "/f.bin")])
    assert cp.returncode != 0, _out(cp)
    assert DISABLED_MSG in cp.stderr, _out(cp)
    assert sorted(os.listdir(user.root)) == before

    cp = run_scp(srv, [rspec(srv, user, "/f.bin"), local / "back.bin"])
    assert cp.returncode != 0, _out(cp)
    assert DISABLED_MSG in cp.stderr, _out(cp)
    assert not (local / "back.bin").exists()

    # The remote program's exit status itself is 1, as ssh reports it.
    cp = harness.run_ssh(srv, ["scp", "-t", "/x"], user=user)
    assert cp.returncode == 1, _out(cp)
    assert DISABLED_MSG in cp.stderr, _out(cp)
    assert not (user.root / "x").exists()


def test_disabled_scp_sftp_mode_still_works(scp_off, local):
    srv, _carol = scp_off
    user = srv.key_user
    src = make_random_file(local / "f.bin", 100_000)
    cp = run_scp(srv, [src, rspec(srv, user, "/via-sftp.bin")], legacy=False)
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, user.root / "via-sftp.bin")
    back = local / "back.bin"
    cp = run_scp(srv, [rspec(srv, user, "/via-sftp.bin"), back], legacy=False)
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, back)


def test_disabled_scp_user_override_allows(scp_off, local):
    srv, carol = scp_off
    src = make_random_file(local / "f.bin", 5000)
    cp = run_scp(srv, [src, rspec(srv, carol, "/carol.bin")], user=carol, auth="key")
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, carol.root / "carol.bin")
    back = local / "back.bin"
    cp = run_scp(srv, [rspec(srv, carol, "/carol.bin"), back], user=carol, auth="key")
    assert cp.returncode == 0, _out(cp)
    assert_same_bytes(src, back)


@pytest.mark.parametrize("how", ["channel_eof", "connection_drop"])
def test_upload_cut_off_mid_file_leaves_no_partial_file(server, rdir, how):
    """The client goes away after 100 KB of a 1 MB file: nothing may be left
    under the target's name (the issue: no partial file named as the target)."""
    _legacy_only(server)
    rpath, on_disk = rdir
    name = f"cut-{how}.bin"
    client = paramiko_client(server, user=server.key_user)
    try:
        s = RawScp(client, f"scp -t {rpath}")
        s.ack()
        s.chan.sendall(f"C0644 1000000 {name}\n".encode())
        s.ack()
        s.chan.sendall(os.urandom(100_000))
        if how == "channel_eof":
            s.chan.shutdown_write()
            time.sleep(0.5)
    finally:
        client.close()
    target = on_disk / name
    deadline = time.monotonic() + 10
    while target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not target.exists(), f"partial upload left at {target} ({target.stat().st_size} bytes)"
