"""OpenSSH's sftp client commands that ride on the server's extensions, checked on disk.

`df` (statvfs@openssh.com), `ln` (hardlink@openssh.com), `ln -s`, `rename`
(posix-rename@openssh.com), `cp` (copy-data), `put -f` (fsync@openssh.com), `chmod -h`
(lsetstat@openssh.com), `reput`/`reget` (resumed transfers), limits@openssh.com (read at
start-up) and expand-path@openssh.com. The client runs with -vvv so each test can also
see that the extension, not a fallback, did the work.

Runs with Debian 12's sftp (OpenSSH 9.2) or the one in $WHARF_IT_OPENSSH_DIR.
"""

from __future__ import annotations

import os
import re
import stat

import pytest

from harness import (
    assert_same_bytes,
    auth_opts,
    make_random_file,
    run_sftp,
    sftp_bin,
    ssh_bin,
    ssh_common_opts,
    sftp_quote as q,
)


def _ok(cp):
    assert cp.returncode == 0, f"sftp exited {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"
    return cp


def _sftp(server, lines):
    return _ok(run_sftp(server, lines, extra_opts=["-vvv"]))


@pytest.fixture
def work(server, request):
    d = server.pw_user.root / f"cmd-{request.node.name}"
    d.mkdir()
    return d


def test_limits_read_at_start(server):
    cp = _sftp(server, ["pwd"])
    assert "Sent message limits@openssh.com" in cp.stderr
    # Wharf announces 255 KiB reads and writes (OpenSSH's sftp-server's sizes).
    if server.kind == "wharf":
        assert re.search(r"server upload/download buffer sizes 261120 / 261120", cp.stderr), cp.stderr


def test_df_uses_statvfs(server, work):
    cp = _sftp(server, [f"cd {work.name}", "df", "df -h", "df -i"])
    assert "SSH2_FXP_EXTENDED(statvfs@openssh.com)" in cp.stderr
    assert re.search(r"^\s+Size\s+Used\s+Avail\s+\(root\)\s+%Capacity$", cp.stdout, re.M), cp.stdout
    assert re.search(r"^\s+Inodes\s+Used\s+Avail", cp.stdout, re.M), cp.stdout
    # The byte counts match the filesystem's own (df prints KiB in its first form).
    st = os.statvfs(work)
    first = next(line for line in cp.stdout.splitlines() if re.match(r"^\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+%$", line))
    size_kib = int(first.split()[0])
    assert size_kib == st.f_blocks * st.f_frsize // 1024


def test_ln_hard_and_symbolic(server, local, work):
    src = make_random_file(local / "src.bin", 5000)
    cp = _sftp(server, [f"cd {work.name}", f"put {q(src)} a.bin", "ln a.bin hard.bin", "ln -s a.bin soft.bin"])
    assert "hardlink@openssh.com" in cp.stderr
    a, hard, soft = work / "a.bin", work / "hard.bin", work / "soft.bin"
    assert a.stat().st_ino == hard.stat().st_ino, "ln did not make a hard link"
    assert a.stat().st_nlink == 2
    assert soft.is_symlink() and os.readlink(soft) == "a.bin"
    assert_same_bytes(src, hard)


def test_rename_is_posix_rename(server, local, work):
    src = make_random_file(local / "src.bin", 3000)
    (work / "target.bin").write_bytes(b"old contents")
    cp = _sftp(server, [f"cd {work.name}", f"put {q(src)} a.bin", "rename a.bin target.bin"])
    assert "SSH2_FXP_EXTENDED(posix-rename@openssh.com)" in cp.stderr
    # POSIX rename replaces the existing target (a v3 RENAME would refuse).
    assert not (work / "a.bin").exists()
    assert_same_bytes(src, work / "target.bin")


def test_cp_uses_copy_data(server, local, work):
    src = make_random_file(local / "src.bin", 3 * 1024 * 1024 + 11)
    cp = run_sftp(server, [f"cd {work.name}", f"put {q(src)} a.bin", "cp a.bin b.bin"], extra_opts=["-vvv"])
    if "Invalid command" in cp.stderr + cp.stdout:
        pytest.skip("this sftp client has no cp command (OpenSSH < 9.0)")
    _ok(cp)
    assert "copy-data" in cp.stderr
    assert_same_bytes(src, work / "b.bin")


def test_put_f_uses_fsync(server, local, work):
    src = make_random_file(local / "src.bin", 70000)
    cp = _sftp(server, [f"cd {work.name}", f"put -f {q(src)} synced.bin"])
    assert "SSH2_FXP_EXTENDED(fsync@openssh.com)" in cp.stderr
    assert_same_bytes(src, work / "synced.bin")


def test_chmod_h_uses_lsetstat(server, work):
    (work / "f").write_bytes(b"x")
    os.chmod(work / "f", 0o644)
    os.symlink("f", work / "link")
    cp = run_sftp(server, [f"cd {work.name}", "chmod -h 600 f", "-chmod -h 600 link"], extra_opts=["-vvv"])
    if "chmod: illegal option" in cp.stderr or "Unknown option" in cp.stderr:
        pytest.skip("this sftp client has no chmod -h (OpenSSH < 8.9)")
    _ok(cp)
    assert "SSH2_FXP_EXTENDED(lsetstat@openssh.com)" in cp.stderr
    assert stat.S_IMODE((work / "f").stat().st_mode) == 0o600
    # Linux symlinks have no mode: the link is refused, its target untouched.
    assert "Operation unsupported" in cp.stderr
    assert (work / "link").is_symlink()


def test_reput_and_reget_resume(server, local, work):
    src = make_random_file(local / "src.bin", 2 * 1024 * 1024 + 5)
    data = src.read_bytes()
    # Half an upload already on the server, half a download already here.
    (work / "up.bin").write_bytes(data[: len(data) // 2])
    part = local / "down.bin"
    (work / "down.bin").write_bytes(data)
    part.write_bytes(data[: len(data) // 3])
    cp = _sftp(server, [f"cd {work.name}", f"reput {q(src)} up.bin", f"reget down.bin {q(part)}"])
    assert_same_bytes(src, work / "up.bin")
    assert_same_bytes(src, part)
    # The resumed transfers started where the partial files ended.
    assert re.search(rf"SSH2_FXP_WRITE I:\d+ O:{len(data) // 2} ", cp.stderr), \
        "reput did not resume at the remote size"


def test_expand_path_for_tilde(server, work):
    """expand-path@openssh.com: `sftp host:~/dir` asks the server to expand `~`.

    OpenSSH's client sends it only where it expands a remote path given with `~`; where
    this client does not (no expand-path request in its log), the test is skipped."""
    import subprocess

    user = server.pw_user
    aopts, env = auth_opts(server, user, "password")
    argv = [sftp_bin(), "-S", ssh_bin()] + ssh_common_opts(server) + aopts + ["-vvv", "-b", "-", "-P",
                                                                         str(server.port),
                                                                         f"{user.name}@{server.host}:~/{work.name}"]
    cp = subprocess.run(argv, input="pwd\n", capture_output=True, text=True, env=env, timeout=60,
                        errors="replace")
    if "expand-path@openssh.com" not in cp.stderr.replace('supports extension "expand-path@openssh.com"', ""):
        pytest.skip("this sftp client does not send expand-path@openssh.com for ~ paths")
    _ok(cp)
    assert f"Remote working directory: /{work.name}" in cp.stdout, cp.stdout
