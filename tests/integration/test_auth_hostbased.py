"""Hostbased authentication (RFC 4252 §9) with OpenSSH's ssh/sftp and ssh-keysign.

The client is OpenSSH's sftp with HostbasedAuthentication=yes: ssh asks the
setuid ssh-keysign to sign with this machine's /etc/ssh/ssh_host_*_key, which
needs `EnableSSHKeysign yes` in the system-wide /etc/ssh/ssh_config (ssh-keysign
reads only that file). The module adds a drop-in under /etc/ssh/ssh_config.d/
(and host keys with `ssh-keygen -A` if the machine has none) and removes what it
added at the end. Needs root: ssh-keysign is setuid root, and the client user
(the local account running ssh, here root) must equal the login name, so the
server has a user named root.

On loopback ssh names itself by the local address's name, "localhost." (with
OpenSSH's trailing dot); Wharf drops the dot, checks that the name resolves to
the peer address, and looks for a trusted line holding the host key whose
patterns match the name or the address.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import harness
from harness import toml_str

KEYSIGN = Path("/usr/lib/openssh/ssh-keysign")
DROPIN_DIR = Path("/etc/ssh/ssh_config.d")
DENIED = re.compile(r"Permission denied \(")

pytestmark = [
    pytest.mark.skipif(os.environ.get("WHARF_TEST_AGAINST", "wharf") != "wharf", reason="Wharf configuration keys"),
    pytest.mark.skipif(os.geteuid() != 0, reason="ssh-keysign and the login name root need root"),
    pytest.mark.skipif(not KEYSIGN.exists(), reason="ssh-keysign is not installed"),
]


@pytest.fixture(scope="module")
def keysign():
    """Host keys and EnableSSHKeysign for ssh-keysign; everything added is removed afterwards."""
    created: list[Path] = []
    if not list(Path("/etc/ssh").glob("ssh_host_*_key")):
        before = set(Path("/etc/ssh").iterdir())
        subprocess.run(["ssh-keygen", "-A"], check=True, capture_output=True)
        created += sorted(set(Path("/etc/ssh").iterdir()) - before)
    made_dir = not DROPIN_DIR.exists()
    if made_dir:
        DROPIN_DIR.mkdir()
    dropin = DROPIN_DIR / "zz-wharf-it-hostbased.conf"
    assert not dropin.exists(), f"{dropin} exists: left over from an interrupted run? remove it"
    dropin.write_text("# written by Wharf's tests/integration/test_auth_hostbased.py; removed after it\n"
                      "EnableSSHKeysign yes\n")
    try:
        yield sorted(Path("/etc/ssh").glob("ssh_host_*_key.pub"))
    finally:
        dropin.unlink(missing_ok=True)
        if made_dir:
            shutil.rmtree(DROPIN_DIR, ignore_errors=True)
        for p in created:
            p.unlink(missing_ok=True)


def key_part(pub: Path) -> str:
    return " ".join(pub.read_text().split()[:2])


def hostbased_toml(base: Path, known_hosts_lines: list[str] | None, hostbased: bool = True) -> str:
    """[auth] with hostbased and a user named root (the client user)."""
    root = base / "root_root"
    root.mkdir(exist_ok=True)
    (root / "hello.txt").write_text("hello\n")
    # Without hostbased, root needs some credential for the config to load.
    auth = ""
    creds = ""
    if not hostbased:
        k = harness.keygen(base / "id_root_unused", ["-t", "ed25519"], "unused@it")
        creds = f"authorized_keys = [{toml_str(Path(str(k) + '.pub').read_text().strip())}]\n"
    if hostbased:
        kh = base / "trusted_hosts"
        kh.write_text("# trusted client hosts\n" + "\n".join(known_hosts_lines or []) + "\n")
        auth = f"[auth]\nhostbased = true\nhostbased_known_hosts = {toml_str(kh)}\n"
    return f"""
{auth}
[[users]]
name = "root"
root = {toml_str(root)}
{creds}"""


def hostbased_sftp(srv: harness.Server, user: str = "root") -> subprocess.CompletedProcess:
    """sftp with hostbased authentication only."""
    env = dict(os.environ)
    env.pop("SSH_AUTH_SOCK", None)
    opts = ["-o", "BatchMode=yes", "-o", "HostbasedAuthentication=yes", "-o", "EnableSSHKeysign=yes",
            "-o", "PreferredAuthentications=hostbased", "-o", "PubkeyAuthentication=no",
            "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no", "-v"]
    argv = [harness.sftp_bin(), "-S", harness.ssh_bin()] + harness.ssh_common_opts(srv) + opts
    argv += ["-b", "-", "-P", str(srv.port), f"{user}@{srv.host}"]
    return subprocess.run(argv, input="pwd\nls\n", capture_output=True, text=True, env=env,
                          timeout=harness.CLIENT_TIMEOUT, errors="replace")


def denied(cp: subprocess.CompletedProcess) -> None:
    assert cp.returncode != 0, f"login should have failed:\n{cp.stdout}\n{cp.stderr}"
    assert DENIED.search(cp.stderr), f"no 'Permission denied' from the client:\n{cp.stderr}"


def test_trusted_host_logs_in(server_factory, keysign, tmp_path_factory):
    base = tmp_path_factory.mktemp("hb_ok")
    lines = [f"localhost,127.0.0.1 {key_part(p)}" for p in keysign]
    srv = server_factory("hb_ok", hostbased_toml(base, lines))
    cp = hostbased_sftp(srv)
    assert cp.returncode == 0, cp.stderr + srv.log_tail()
    assert "Authenticated to" in cp.stderr and "using \"hostbased\"" in cp.stderr, cp.stderr
    assert "Remote working directory: /" in cp.stdout, cp.stdout
    assert "hello.txt" in cp.stdout, cp.stdout
    # The trusted host vouches for its own user only: root there is not
    # alice here.
    denied(hostbased_sftp(srv, user=srv.pw_user.name))
    assert "the client user is another user" in srv.log_tail(), srv.log_tail()


def test_address_pattern_serves_loopback(server_factory, keysign, tmp_path_factory):
    # Only the address, no name: the peer's address matches the pattern.
    base = tmp_path_factory.mktemp("hb_ip")
    srv = server_factory("hb_ip", hostbased_toml(base, [f"127.0.0.1 {key_part(p)}" for p in keysign]))
    cp = hostbased_sftp(srv)
    assert cp.returncode == 0, cp.stderr + srv.log_tail()


def test_unknown_host_key_refused(server_factory, keysign, tmp_path_factory):
    base = tmp_path_factory.mktemp("hb_unknown")
    other = harness.keygen(base / "other_host_key", ["-t", "ed25519"], "other-host")
    srv = server_factory("hb_unknown", hostbased_toml(base, [f"localhost,127.0.0.1 {key_part(Path(str(other) + '.pub'))}"]))
    denied(hostbased_sftp(srv))
    assert "no trusted host line holds this key" in srv.log_tail(), srv.log_tail()


def test_wrong_host_name_refused(server_factory, keysign, tmp_path_factory):
    # The right keys, trusted for another host only.
    base = tmp_path_factory.mktemp("hb_name")
    lines = [f"buildhost.example.com,10.200.0.1 {key_part(p)}" for p in keysign]
    srv = server_factory("hb_name", hostbased_toml(base, lines))
    denied(hostbased_sftp(srv))
    assert "no trusted host line holds this key for `localhost`" in srv.log_tail(), srv.log_tail()


def test_revoked_host_key_refused(server_factory, keysign, tmp_path_factory):
    base = tmp_path_factory.mktemp("hb_revoked")
    lines = [f"localhost {key_part(p)}" for p in keysign] + [f"@revoked * {key_part(p)}" for p in keysign]
    srv = server_factory("hb_revoked", hostbased_toml(base, lines))
    denied(hostbased_sftp(srv))
    assert "marked @revoked" in srv.log_tail(), srv.log_tail()


def test_blacklisted_host_key_refused(server_factory, keysign, tmp_path_factory):
    base = tmp_path_factory.mktemp("hb_black")
    lines = [f"localhost {key_part(p)}" for p in keysign]
    toml = hostbased_toml(base, lines).replace(
        "[auth]\n", "[auth]\nkey_blacklist = [" + ", ".join(toml_str(key_part(p)) for p in keysign) + "]\n")
    srv = server_factory("hb_black", toml)
    denied(hostbased_sftp(srv))
    assert "blacklisted key refused" in srv.log_tail(), srv.log_tail()


def test_hostbased_off_by_default(server_factory, keysign, tmp_path_factory):
    base = tmp_path_factory.mktemp("hb_off")
    srv = server_factory("hb_off", hostbased_toml(base, None, hostbased=False))
    cp = hostbased_sftp(srv)
    denied(cp)
    # Not even offered.
    m = re.search(r"Permission denied \(([^)]*)\)", cp.stderr)
    assert m and "hostbased" not in m.group(1), cp.stderr
