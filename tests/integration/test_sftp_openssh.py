"""OpenSSH's sftp client against the server: transfers, file operations, and the algorithm matrix."""

from __future__ import annotations

import re
import stat

import pytest

from harness import (
    assert_same_bytes,
    client_supports,
    make_random_file,
    negotiated,
    run_sftp,
    sftp_quote as q,
)

AUTHS = ["password", "key"]
SIZES = [0, 1, 1 << 20, 64 << 20]


def _user(server, auth):
    return server.pw_user if auth == "password" else server.key_user


def _ok(cp):
    assert cp.returncode == 0, f"sftp exited {cp.returncode}\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s}B")
@pytest.mark.parametrize("auth", AUTHS)
def test_put_get_roundtrip(server, local, auth, size):
    user = _user(server, auth)
    src = make_random_file(local / "src.bin", size)
    back = local / "back.bin"
    name = f"roundtrip-{auth}-{size}.bin"
    cp = run_sftp(server, [f"put {q(src)} {q(name)}", f"get {q(name)} {q(back)}"], user=user,
                  timeout=300 if size > (8 << 20) else 60)
    _ok(cp)
    on_disk = user.root / name
    assert on_disk.is_file(), f"upload did not create {on_disk}"
    assert_same_bytes(src, on_disk)
    assert_same_bytes(src, back)
    for p in (src, back, on_disk):  # keep pytest's retained temp dirs small; failures keep theirs
        p.unlink()


@pytest.mark.parametrize("auth", AUTHS)
def test_file_operations(server, local, auth):
    user = _user(server, auth)
    root = user.root
    src = make_random_file(local / "src.bin", 4096 + 17)
    back = local / "via-link.bin"
    d = f"ops-{auth}"
    cp = run_sftp(server, [
        f"mkdir {d}",
        f"put {q(src)} {d}/first.bin",
        f"rename {d}/first.bin {d}/second.bin",
        f"chmod 640 {d}/second.bin",
        f"ln -s second.bin {d}/link.bin",
        f"get {d}/link.bin {q(back)}",
        f"ls -l {d}",
        f"ls -ln {d}",
    ], user=user)
    _ok(cp)

    assert (root / d).is_dir()
    assert not (root / d / "first.bin").exists(), "rename left the old name behind"
    second = root / d / "second.bin"
    assert_same_bytes(src, second)
    assert stat.S_IMODE(second.stat().st_mode) == 0o640, oct(second.stat().st_mode)
    link = root / d / "link.bin"
    assert link.is_symlink(), "ln -s did not create a symlink on disk"
    assert (root / d / "link.bin").readlink().as_posix() == "second.bin"
    assert_same_bytes(src, back)  # read through the symlink

    # `ls -l` prints the server's longname; `ls -ln` formats the attributes client-side.
    lines = cp.stdout.splitlines()
    size = str(src.stat().st_size)
    long_lines = [ln for ln in lines if re.search(r"(^|/|\s)second\.bin$", ln) and not ln.startswith(("sftp>", "l"))]
    assert len(long_lines) == 2, f"expected second.bin in both listings:\n{cp.stdout}"
    for ln in long_lines:
        assert ln.startswith("-rw-r-----"), f"mode not shown as -rw-r-----: {ln!r}"
        assert size in ln.split(), f"size {size} missing: {ln!r}"
    link_lines = [ln for ln in lines if re.search(r"link\.bin", ln) and not ln.startswith("sftp>")]
    assert link_lines and all(ln.startswith("l") for ln in link_lines), f"symlink not listed as l...:\n{cp.stdout}"

    cp = run_sftp(server, [f"rm {d}/link.bin", f"rm {d}/second.bin", f"rmdir {d}"], user=user)
    _ok(cp)
    assert not (root / d).exists(), "rm/rmdir left files behind"


def test_errors_are_reported(server, local):
    """A failing command stops the batch with the client's message; nothing is created."""
    user = server.key_user
    cp = run_sftp(server, ["get no-such-file.bin " + q(local / "x")], user=user)
    assert cp.returncode != 0
    assert re.search(r"not found|No such file", cp.stderr, re.I), cp.stderr
    assert not (local / "x").exists()
    cp = run_sftp(server, ["rmdir no-such-dir"], user=user)
    assert cp.returncode != 0
    cp = run_sftp(server, ["mkdir twice", "mkdir twice"], user=user)
    assert cp.returncode != 0, "second mkdir of the same name must fail"
    assert (user.root / "twice").is_dir()
    cp = run_sftp(server, ["rmdir twice"], user=user)
    assert cp.returncode == 0, cp.stderr


# --------------------------------------------------------------------------
# Algorithm matrix: one forced algorithm per connection, asserted from -vv.

KEX = [
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "mlkem768x25519-sha256",
    "sntrup761x25519-sha512@openssh.com",
    "sntrup761x25519-sha512",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group-exchange-sha256",
]
CIPHERS = [
    "chacha20-poly1305@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
]
MACS = [
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
]
HOSTKEYS = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-256",
    "rsa-sha2-512",
]
MATRIX = ([("kex", a) for a in KEX] + [("cipher", a) for a in CIPHERS] + [("mac", a) for a in MACS]
          + [("hostkey", a) for a in HOSTKEYS])
QUERY = {"kex": "kex", "cipher": "cipher", "mac": "mac", "hostkey": "HostKeyAlgorithms"}
AEAD = {"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"}


@pytest.fixture(scope="module")
def mib(tmp_path_factory):
    return make_random_file(tmp_path_factory.mktemp("matrix") / "1MiB.bin", 1 << 20)


@pytest.mark.parametrize("kind,alg", MATRIX, ids=[f"{k}={a}" for k, a in MATRIX])
def test_algorithm(server, local, mib, kind, alg):
    if not client_supports(QUERY[kind], alg):
        pytest.skip(f"this OpenSSH client does not know {alg}")
    opts = {
        "kex": ["-o", f"KexAlgorithms={alg}"],
        "cipher": ["-o", f"Ciphers={alg}"],
        "mac": ["-o", "Ciphers=aes128-ctr", "-o", f"MACs={alg}"],
        "hostkey": ["-o", f"HostKeyAlgorithms={alg}"],
    }[kind]
    user = server.key_user
    name = f"matrix-{kind}-{alg}.bin"
    back = local / "back.bin"
    cp = run_sftp(server, [f"put {q(mib)} {q(name)}", f"get {q(name)} {q(back)}"], user=user,
                  extra_opts=opts, verbose=True)
    n = negotiated(cp.stderr)
    _ok(cp)
    assert n.get("protocol") == "2.0", n
    if kind == "kex":
        assert n.get("kex") == alg, n
    elif kind == "cipher":
        assert n.get("c2s_cipher") == alg and n.get("s2c_cipher") == alg, n
        if alg in AEAD:
            assert n.get("c2s_mac") == n.get("s2c_mac") == "<implicit>", n
    elif kind == "mac":
        assert n.get("c2s_cipher") == n.get("s2c_cipher") == "aes128-ctr", n
        assert n.get("c2s_mac") == alg and n.get("s2c_mac") == alg, n
    else:
        assert n.get("hostkey") == alg, n
        # The key the server signed with is the one configured for that algorithm.
        assert n.get("server_key_fp") == server.fingerprint_of(alg), n
    assert n.get("c2s_compression") == "none", n
    assert_same_bytes(mib, user.root / name)
    assert_same_bytes(mib, back)
    (user.root / name).unlink()
