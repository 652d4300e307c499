"""PuTTY's psftp (an independent SSH and SFTP implementation) against the server."""

from __future__ import annotations

import re
import stat

from harness import assert_same_bytes, make_random_file, run_psftp


def _q(p) -> str:
    return '"' + str(p) + '"'


def test_psftp_password_put_get_ls(server, local):
    user = server.pw_user
    src = make_random_file(local / "up.bin", 300_000)
    back = local / "down.bin"
    cp = run_psftp(server, [
        "mkdir pdir",
        "cd pdir",
        f"put {_q(src)} up.bin",
        "chmod 600 up.bin",
        "ls",
        f"get up.bin {_q(back)}",
        "mv up.bin renamed.bin",
        "ls",
    ])
    assert cp.returncode == 0, f"psftp exited {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"
    assert_same_bytes(src, user.root / "pdir" / "renamed.bin")
    assert not (user.root / "pdir" / "up.bin").exists()
    assert_same_bytes(src, back)
    assert stat.S_IMODE((user.root / "pdir" / "renamed.bin").stat().st_mode) == 0o600
    # psftp's ls prints the server's longnames; the first listing shows up.bin, the second renamed.bin.
    assert re.search(r"^-rw-------.*\b300000\b.*\bup\.bin$", cp.stdout, re.M), cp.stdout
    assert re.search(r"^-rw-------.*\brenamed\.bin$", cp.stdout, re.M), cp.stdout


def test_psftp_wrong_password_refused(server, local):
    cp = run_psftp(server, ["ls"], password="not-the-password")
    assert cp.returncode != 0
    out = cp.stdout + cp.stderr
    assert re.search(r"access denied|authentication failed|no supported authentication", out, re.I), out


def test_psftp_rejects_unknown_host_key(server, local):
    """Pinning a different fingerprint must make psftp refuse: proves -hostkey is really checked."""
    bogus = "SHA256:" + "A" * 43
    cp = run_psftp(server, ["ls"], hostkeys=[bogus])
    assert cp.returncode != 0
    assert re.search(r"host key", cp.stdout + cp.stderr, re.I), cp.stdout + cp.stderr
