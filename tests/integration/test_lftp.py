"""lftp's own SFTP client (protocol versions 3 to 6) over OpenSSH's ssh as transport."""

from __future__ import annotations

import re
import shlex
import shutil
import stat
import subprocess

import pytest

from harness import CLIENT_TIMEOUT, assert_same_bytes, make_random_file, ssh_bin, ssh_common_opts

pytestmark = pytest.mark.skipif(shutil.which("lftp") is None, reason="lftp not installed (scripts/test.sh installs it)")


def _run_lftp(server, user, commands, version, local):
    ssh = [ssh_bin(), "-a", "-x"] + ssh_common_opts(server)
    if user.key is not None:
        ssh += ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey",
                "-i", str(user.key)]
        login = f"open -u {user.name}, -p {server.port} sftp://{server.host}"
    else:
        # lftp answers ssh's password prompt itself, through the pty it runs ssh on.
        ssh += ["-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no"]
        login = f"open -u {user.name},{user.password} -p {server.port} sftp://{server.host}"
    script = local / "lftp.script"
    script.write_text("\n".join([
        "debug -o lftp-debug.log 10",
        "set cmd:fail-exit yes",
        "set net:max-retries 1",
        "set net:timeout 15",
        f"set sftp:protocol-version {version}",
        f"set sftp:connect-program {shlex.quote(shlex.join(ssh))}",
        login,
        *commands,
    ]) + "\n")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("SSH_AUTH_SOCK", "DISPLAY")}
    env["HOME"] = str(local)  # no ~/.lftp, ~/.ssh from the real home
    return subprocess.run(["lftp", "-f", str(script)], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=CLIENT_TIMEOUT, env=env, cwd=local, errors="replace")


@pytest.mark.parametrize("version", [3, pytest.param(6, marks=pytest.mark.sftp_v456)])
@pytest.mark.parametrize("auth", ["password", "key"])
def test_lftp_put_get_ls(server, local, auth, version):
    user = server.pw_user if auth == "password" else server.key_user
    src = make_random_file(local / "src.bin", 123_457)
    d = f"lftp-{auth}-v{version}"
    cp = _run_lftp(server, user, [
        f"mkdir {d}",
        f"put src.bin -o {d}/up.bin",
        f"chmod 604 {d}/up.bin",
        f"mv {d}/up.bin {d}/moved.bin",
        f"get {d}/moved.bin -o back.bin",
        f"cls -l {d}",
    ], version, local)
    assert cp.returncode == 0, f"lftp exited {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"
    on_disk = user.root / d / "moved.bin"
    assert_same_bytes(src, on_disk)
    assert_same_bytes(src, local / "back.bin")
    assert stat.S_IMODE(on_disk.stat().st_mode) == 0o604
    assert not (user.root / d / "up.bin").exists()
    assert re.search(r"^-rw----r--.*\b123457\b.*moved\.bin$", cp.stdout, re.M), cp.stdout
    m = re.search(r"protocol version set to (\d+)", (local / "lftp-debug.log").read_text(errors="replace"))
    assert m, "lftp's debug log shows no SFTP version"
    assert int(m.group(1)) == (version if server.kind == "wharf" else 3)
