"""Authentication methods beyond a single password or key, with OpenSSH's clients.

- Method chains (`authentication_methods`, OpenSSH's AuthenticationMethods):
  per user in [[users]] and server-wide in [auth]; a key AND a password log
  in, either alone is refused.
- OpenSSH user certificates: a CA trusted server-wide (`[auth]
  trusted_user_ca_keys`) with the user's name as principal, and a
  `cert-authority,principals="..."` line in a user's authorized_keys; wrong
  principal, expired certificate, untrusted CA and a blacklisted CA refused.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import harness
from harness import User, run, toml_str

DENIED = re.compile(r"Permission denied \(")

pytestmark = pytest.mark.skipif(os.environ.get("WHARF_TEST_AGAINST", "wharf") != "wharf",
                                reason="Wharf configuration keys")


def pub_line(key: Path) -> str:
    return Path(str(key) + ".pub").read_text().strip()


def sftp_pwd(srv: harness.Server, user: User, opts: list[str], env: dict) -> subprocess.CompletedProcess:
    """`sftp -b -` running `pwd`, with exactly the given auth options."""
    argv = [harness.sftp_bin(), "-S", harness.ssh_bin()] + harness.ssh_common_opts(srv) + opts
    argv += ["-b", "-", "-P", str(srv.port), f"{user.name}@{srv.host}"]
    return subprocess.run(argv, input="pwd\n", capture_output=True, text=True, env=env,
                          timeout=harness.CLIENT_TIMEOUT, errors="replace")


def key_and_password(srv: harness.Server, user: User) -> subprocess.CompletedProcess:
    """The key first, then the password through askpass, as ssh does by default."""
    env = dict(os.environ)
    env.pop("SSH_AUTH_SOCK", None)
    env.pop("DISPLAY", None)
    env.update(SSH_ASKPASS=str(srv.askpass), SSH_ASKPASS_REQUIRE="force", WHARF_IT_PASSWORD=user.password or "")
    opts = ["-o", "BatchMode=no", "-o", "PreferredAuthentications=publickey,password",
            "-o", "KbdInteractiveAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
            "-o", "IdentitiesOnly=yes", "-i", str(user.key), "-v"]
    return sftp_pwd(srv, user, opts, env)


def with_cert(srv: harness.Server, user: User, key: Path, cert: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("SSH_AUTH_SOCK", None)
    opts = ["-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey",
            "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
            "-o", "IdentitiesOnly=yes", "-i", str(key), "-o", f"CertificateFile={cert}"]
    return sftp_pwd(srv, user, opts, env)


def works(cp: subprocess.CompletedProcess) -> None:
    assert cp.returncode == 0, cp.stderr
    assert "Remote working directory: /" in cp.stdout, cp.stdout


def denied(cp: subprocess.CompletedProcess) -> None:
    assert cp.returncode != 0, f"login should have failed:\n{cp.stdout}\n{cp.stderr}"
    assert DENIED.search(cp.stderr), f"no 'Permission denied' from the client:\n{cp.stderr}"


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    d = tmp_path_factory.mktemp("authmethods")
    m = {"dir": d}
    for name in ("carol", "dave", "erin", "ca", "ca_other", "ca_untrusted", "ca_black"):
        m[name] = harness.keygen(d / f"id_{name}", ["-t", "ed25519"], f"{name}@it")
    for name in ("carol", "dave", "erin"):
        (d / f"root_{name}").mkdir()
    m["carol_pw"] = "pw-" + os.urandom(9).hex()
    return m


def carol_toml(m: dict, own_chain: bool) -> str:
    chain = 'authentication_methods = ["publickey,password"]\n' if own_chain else ""
    return f"""
[[users]]
name = "carol"
password_hash = {toml_str(harness.hash_password(m["carol_pw"]))}
authorized_keys = [{toml_str(pub_line(m["carol"]))}]
root = {toml_str(m["dir"] / "root_carol")}
{chain}"""


def carol(m: dict) -> User:
    return User(name="carol", root=m["dir"] / "root_carol", password=m["carol_pw"], key=m["carol"])


# --------------------------------------------------------------------------
# chains


def test_per_user_chain_needs_key_and_password(server_factory, material):
    srv = server_factory("chain_user", carol_toml(material, own_chain=True))
    user = carol(material)
    cp = key_and_password(srv, user)
    works(cp)
    assert "partial success" in cp.stderr, cp.stderr
    # Either credential alone is refused.
    denied(harness.run_sftp(srv, ["pwd"], user=user, auth="key"))
    denied(harness.run_sftp(srv, ["pwd"], user=user, auth="password"))
    # A user without a chain of their own still logs in with one method.
    works(harness.run_sftp(srv, ["pwd"], user=srv.pw_user, auth="password"))


def test_server_wide_chain(material, tmp_path_factory):
    # Not through server_factory: its smoke check logs in with one method.
    extra = '\n[auth]\nauthentication_methods = ["publickey,password"]\n' + carol_toml(material, own_chain=False)
    srv = harness.start_wharf(tmp_path_factory.mktemp("chain_server"), extra)
    try:
        user = carol(material)
        works(key_and_password(srv, user))
        denied(harness.run_sftp(srv, ["pwd"], user=user, auth="key"))
        # The chain is ordered: a password first is not accepted.
        denied(harness.run_sftp(srv, ["pwd"], user=user, auth="password"))
        # bob has a key only: he can never complete the chain.
        denied(harness.run_sftp(srv, ["pwd"], user=srv.key_user, auth="key"))
        assert srv.alive(), srv.log_tail()
    finally:
        srv.stop()


# --------------------------------------------------------------------------
# certificates


def sign(m: dict, ca: str, user_key: Path, tag: str, principals: str, validity: str) -> Path:
    """ssh-keygen -s CA -I id -n PRINCIPALS -V VALIDITY on a copy of the key's .pub; returns the cert."""
    pub = m["dir"] / f"{tag}.pub"
    shutil.copyfile(str(user_key) + ".pub", pub)
    run(["ssh-keygen", "-q", "-s", str(m[ca]), "-I", f"id-{tag}", "-n", principals, "-V", validity, str(pub)])
    cert = m["dir"] / f"{tag}-cert.pub"
    assert cert.exists()
    return cert


@pytest.fixture(scope="module")
def cert_server(server_factory, material):
    m = material
    black_fp = run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(m["ca_black"]) + ".pub"]).stdout.split()[1]
    extra = f"""
[auth]
trusted_user_ca_keys = [{toml_str(pub_line(m["ca"]))}, {toml_str(pub_line(m["ca_black"]))}]
key_blacklist = [{toml_str(black_fp)}]

[[users]]
name = "dave"
root = {toml_str(m["dir"] / "root_dave")}

[[users]]
name = "erin"
authorized_keys = [{toml_str('cert-authority,principals="ops,admins" ' + pub_line(m["ca_other"]))}]
root = {toml_str(m["dir"] / "root_erin")}
"""
    return server_factory("certs", extra)


def refused_because(srv: harness.Server, key_id: str, reason: str) -> None:
    """The server logged this certificate's refusal for this reason (not some other failure)."""
    lines = [l for l in srv.log_tail(400).splitlines() if f"key_id={key_id} " in l and "certificate refused" in l]
    assert lines, f"no refusal logged for {key_id}:\n{srv.log_tail()}"
    assert any(reason in l for l in lines), lines


def dave(m: dict) -> User:
    return User(name="dave", root=m["dir"] / "root_dave", key=m["dave"])


def test_cert_from_trusted_ca(cert_server, material):
    cert = sign(material, "ca", material["dave"], "dave_ok", "dave", "+1h")
    works(with_cert(cert_server, dave(material), material["dave"], cert))


def test_cert_wrong_principal_refused(cert_server, material):
    cert = sign(material, "ca", material["dave"], "dave_wrong", "erin,root", "+1h")
    denied(with_cert(cert_server, dave(material), material["dave"], cert))
    refused_because(cert_server, "id-dave_wrong", "is not a principal")


def test_cert_expired_refused(cert_server, material):
    cert = sign(material, "ca", material["dave"], "dave_old", "dave", "20200101:20200102")
    denied(with_cert(cert_server, dave(material), material["dave"], cert))
    refused_because(cert_server, "id-dave_old", "expired")


def test_cert_not_yet_valid_refused(cert_server, material):
    cert = sign(material, "ca", material["dave"], "dave_future", "dave", "+52w:+53w")
    denied(with_cert(cert_server, dave(material), material["dave"], cert))
    refused_because(cert_server, "id-dave_future", "not valid before")


def test_cert_untrusted_ca_refused(cert_server, material):
    cert = sign(material, "ca_untrusted", material["dave"], "dave_untrusted", "dave", "+1h")
    denied(with_cert(cert_server, dave(material), material["dave"], cert))
    refused_because(cert_server, "id-dave_untrusted", "not trusted")
    # A CA trusted only on erin's cert-authority line is not trusted for dave.
    cert = sign(material, "ca_other", material["dave"], "dave_other", "dave,ops", "+1h")
    denied(with_cert(cert_server, dave(material), material["dave"], cert))
    refused_because(cert_server, "id-dave_other", "not trusted")


def test_cert_blacklisted_ca_refused(cert_server, material):
    cert = sign(material, "ca_black", material["dave"], "dave_black", "dave", "+1h")
    denied(with_cert(cert_server, dave(material), material["dave"], cert))
    assert "blacklisted key refused" in cert_server.log_tail(400)


def test_cert_authority_line_with_principals(cert_server, material):
    m = material
    erin = User(name="erin", root=m["dir"] / "root_erin", key=m["erin"])
    works(with_cert(cert_server, erin, m["erin"], sign(m, "ca_other", m["erin"], "erin_ops", "ops", "+1h")))
    # principals= is given, so the user's own name is not enough.
    denied(with_cert(cert_server, erin, m["erin"], sign(m, "ca_other", m["erin"], "erin_name", "erin", "+1h")))
    refused_because(cert_server, "id-erin_name", "principals=")
    # The server-wide CA signs for principal "erin": trusted for every user.
    works(with_cert(cert_server, erin, m["erin"], sign(m, "ca", m["erin"], "erin_global", "erin", "+1h")))
    # The CA key itself is no user key.
    denied(harness.run_sftp(cert_server, ["pwd"], user=erin, auth="key", key=m["ca_other"]))


# --------------------------------------------------------------------------
# TOTP second factor over keyboard-interactive (paramiko)

# RFC 6238 Appendix B's SHA-1 secret "12345678901234567890", in base32.
TOTP_SECRET_B32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def totp(secret_b32: str, t: float | None = None, digits: int = 6, period: int = 30) -> str:
    """RFC 6238 TOTP (HMAC-SHA-1) computed here, independently of the server."""
    import base64
    import hashlib
    import hmac
    import struct
    import time

    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if t is None else t) // period)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def test_totp_helper_matches_rfc6238():
    # RFC 6238 Appendix B, SHA-1 rows (8 digits).
    assert totp(TOTP_SECRET_B32, 59, digits=8) == "94287082"
    assert totp(TOTP_SECRET_B32, 1111111109, digits=8) == "07081804"
    assert totp(TOTP_SECRET_B32, 20000000000, digits=8) == "65353130"


@pytest.fixture(scope="module")
def totp_server(server_factory, material):
    m = material
    (m["dir"] / "root_gina").mkdir(exist_ok=True)
    m["gina"] = m.get("gina") or harness.keygen(m["dir"] / "id_gina", ["-t", "ed25519"], "gina@it")
    pw = toml_str(harness.hash_password(m["carol_pw"]))
    extra = f"""
[[users]]
name = "frank"
password_hash = {pw}
totp_secret = "{TOTP_SECRET_B32}"
root = {toml_str(m["dir"] / "root_carol")}

[[users]]
name = "gina"
password_hash = {pw}
totp_secret = "{TOTP_SECRET_B32}"
authorized_keys = [{toml_str(pub_line(m["gina"]))}]
authentication_methods = ["publickey,keyboard-interactive"]
root = {toml_str(m["dir"] / "root_gina")}
"""
    return server_factory("totp", extra)


def transport(srv: harness.Server):
    """A paramiko transport whose host key was checked against known_hosts."""
    import paramiko

    t = paramiko.Transport((srv.host, srv.port))
    t.start_client(timeout=15)
    known = paramiko.HostKeys(str(srv.known_hosts))
    key = t.get_remote_server_key()
    entry = known.lookup(f"[{srv.host}]:{srv.port}")
    assert entry is not None and entry.get(key.get_name()) == key, "host key mismatch"
    return t


def interactive(t, user: str, password: str, code: str | None, seen: list):
    def handler(title, instructions, prompts):
        seen.append([p for p, _echo in prompts])
        out = []
        for text, _echo in prompts:
            out.append(password if text.startswith("Password") else (code or ""))
        return out
    return t.auth_interactive(user, handler)


def next_fresh_code(used: set) -> str:
    """The current code, waiting for the next step if it was spent already."""
    import time
    for _ in range(40):
        c = totp(TOTP_SECRET_B32)
        if c not in used:
            return c
        time.sleep(1)
    raise AssertionError("no fresh TOTP step within 40 s")


def test_totp_password_and_code(totp_server, material):
    import paramiko

    pw = material["carol_pw"]
    used: set = set()
    # A wrong code is refused.
    t = transport(totp_server)
    try:
        seen: list = []
        wrong = str((int(totp(TOTP_SECRET_B32)) + 1) % 10 ** 6).zfill(6)
        with pytest.raises(paramiko.AuthenticationException):
            interactive(t, "frank", pw, wrong, seen)
        assert seen and seen[0] == ["Password: ", "Verification code: "], seen
    finally:
        t.close()
    # The right password and code log in, and SFTP works.
    code = next_fresh_code(used)
    t = transport(totp_server)
    try:
        assert interactive(t, "frank", pw, code, []) == []
        assert t.is_authenticated()
        sftp = paramiko.SFTPClient.from_transport(t)
        assert sftp.normalize(".") == "/"
        sftp.close()
    finally:
        t.close()
    used.add(code)
    # The same code a second time is refused (RFC 6238 §5.2).
    t = transport(totp_server)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            interactive(t, "frank", pw, code, [])
    finally:
        t.close()
    # The password method alone cannot skip the second factor.
    t = transport(totp_server)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_password("frank", pw)
    finally:
        t.close()
    # A user without TOTP still gets the single password prompt.
    t = transport(totp_server)
    try:
        seen = []
        assert interactive(t, totp_server.pw_user.name, totp_server.pw_user.password, None, seen) == []
        assert seen == [["Password: "]], seen
    finally:
        t.close()


def test_chain_publickey_then_keyboard_interactive_with_totp(totp_server, material):
    import paramiko

    m = material
    key = paramiko.Ed25519Key.from_private_key_file(str(m["gina"]))
    # Without the key first, keyboard-interactive is not allowed for gina.
    t = transport(totp_server)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            interactive(t, "gina", m["carol_pw"], totp(TOTP_SECRET_B32), [])
    finally:
        t.close()
    t = transport(totp_server)
    try:
        remaining = t.auth_publickey("gina", key)
        assert remaining == ["keyboard-interactive"], remaining
        assert not t.is_authenticated()
        assert interactive(t, "gina", m["carol_pw"], next_fresh_code(set()), []) == []
        assert t.is_authenticated()
    finally:
        t.close()
