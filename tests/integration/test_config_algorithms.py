"""The [server] algorithm lists (OpenSSH list syntax) decide what the server offers and accepts.

Wharf only: the OpenSSH reference backend skips these.
"""

from __future__ import annotations

import re

import pytest

from harness import negotiated, run_sftp

RESTRICTED = """kex_algorithms = "ecdh-sha2-nistp384"
ciphers = "aes256-gcm@openssh.com,aes128-ctr"
macs = "hmac-sha2-512-etm@openssh.com"
host_key_algorithms = "rsa-sha2-512"
"""

# Markers a server appends to its KEXINIT kex list; they are not algorithms.
PSEUDO = {"ext-info-s", "kex-strict-s-v00@openssh.com", "ext-info-in-auth@openssh.com"}


@pytest.fixture(scope="module")
def restricted(server_factory):
    return server_factory("restricted", RESTRICTED)


def _offer(stderr: str, what: str) -> list[str]:
    m = re.search(rf"no matching {what} found\. Their offer: (\S+)", stderr)
    assert m, f"client did not report 'no matching {what}':\n{stderr}"
    return [a for a in m.group(1).split(",") if a not in PSEUDO]


def test_default_client_gets_the_configured_algorithms(restricted):
    cp = run_sftp(restricted, ["pwd"], user=restricted.key_user, verbose=True)
    assert cp.returncode == 0, cp.stderr
    n = negotiated(cp.stderr)
    assert n["kex"] == "ecdh-sha2-nistp384", n
    assert n["hostkey"] == "rsa-sha2-512", n
    # OpenSSH's client prefers aes128-ctr over aes256-gcm; the server's list has both.
    assert n["c2s_cipher"] == n["s2c_cipher"] == "aes128-ctr", n
    assert n["c2s_mac"] == n["s2c_mac"] == "hmac-sha2-512-etm@openssh.com", n
    assert n["server_key_fp"] == restricted.fingerprint_of("rsa-sha2-512"), n


def test_aead_cipher_from_the_list(restricted):
    cp = run_sftp(restricted, ["pwd"], user=restricted.key_user, verbose=True,
                  extra_opts=["-o", "Ciphers=aes256-gcm@openssh.com"])
    assert cp.returncode == 0, cp.stderr
    n = negotiated(cp.stderr)
    assert n["c2s_cipher"] == "aes256-gcm@openssh.com" and n["c2s_mac"] == "<implicit>", n


@pytest.mark.parametrize("opt,what,offer", [
    ("KexAlgorithms=curve25519-sha256", "key exchange method", ["ecdh-sha2-nistp384"]),
    ("Ciphers=chacha20-poly1305@openssh.com", "cipher", ["aes256-gcm@openssh.com", "aes128-ctr"]),
    ("HostKeyAlgorithms=ssh-ed25519", "host key type", ["rsa-sha2-512"]),
])
def test_unlisted_algorithm_refused(restricted, opt, what, offer):
    cp = run_sftp(restricted, ["pwd"], user=restricted.key_user, extra_opts=["-o", opt])
    assert cp.returncode != 0
    assert _offer(cp.stderr, what) == offer


def test_unlisted_mac_refused(restricted):
    cp = run_sftp(restricted, ["pwd"], user=restricted.key_user,
                  extra_opts=["-o", "Ciphers=aes128-ctr", "-o", "MACs=hmac-sha1"])
    assert cp.returncode != 0
    assert _offer(cp.stderr, "MAC") == ["hmac-sha2-512-etm@openssh.com"]
