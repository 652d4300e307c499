"""Session channels: only the sftp subsystem is served; exec and shell are refused visibly."""

from __future__ import annotations

import re
import threading

import paramiko

from harness import assert_same_bytes, make_random_file, paramiko_client, run_sftp, run_ssh

# What a client shows when the server refuses a session request. OpenSSH's ssh
# prints "exec request failed on channel 0" / "shell request failed on channel 0"
# for CHANNEL_FAILURE, and a server may add its own text on stderr.
REFUSED = re.compile(r"request failed|not (allowed|supported|available|permitted)|sftp\b.*\bonly|only\b.*\bsftp|refused|denied|"
                     r"no such file|disabled", re.I)


def _refused(cp, what):
    assert cp.returncode != 0, f"{what} should fail:\nstdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"
    # With a pty the remote side's stderr arrives on the terminal, i.e. stdout.
    shown = cp.stderr + cp.stdout
    assert REFUSED.search(shown), f"client showed no refusal for {what}:\n{shown}"
    assert "Permission denied (" not in cp.stderr, f"{what}: login itself failed:\n{cp.stderr}"


def test_exec_refused(server):
    marker = server.pw_user.root / "exec-ran"
    cp = run_ssh(server, ["touch", "exec-ran"])
    _refused(cp, "exec")
    assert not marker.exists()
    cp = run_ssh(server, ["ls", "/"], user=server.key_user)
    _refused(cp, "exec (key user)")
    assert "etc" not in cp.stdout.split()


def test_shell_with_pty_refused(server):
    # -tt forces a pty request although stdin is not a terminal; then a shell request.
    cp = run_ssh(server, [], extra_opts=["-tt"])
    _refused(cp, "pty + shell")


def test_shell_without_pty_refused(server):
    cp = run_ssh(server, [], extra_opts=["-T"])
    _refused(cp, "shell")


def test_unknown_subsystem_refused(server):
    cp = run_ssh(server, ["no-such-subsystem"], extra_opts=["-s"])
    assert cp.returncode != 0, cp.stderr


def test_sftp_still_works_after_refusals(server, local):
    run_ssh(server, ["true"])
    src = make_random_file(local / "a.bin", 5000)
    cp = run_sftp(server, [f'put "{src}" after-refusal.bin'])
    assert cp.returncode == 0, cp.stderr
    assert_same_bytes(src, server.pw_user.root / "after-refusal.bin")


def test_two_sftp_channels_on_one_transport(server, local):
    """Two SFTP sessions multiplexed on one connection, interleaved and concurrent."""
    a = make_random_file(local / "a.bin", 3 << 20)
    b = make_random_file(local / "b.bin", 2 << 20)
    with paramiko_client(server, server.key_user) as c:
        t: paramiko.Transport = c.get_transport()
        s1 = paramiko.SFTPClient.from_transport(t)
        s2 = paramiko.SFTPClient.from_transport(t)
        try:
            assert s1.get_channel().get_id() != s2.get_channel().get_id()
            # Interleaved on two open handles.
            f1 = s1.open("chan1.bin", "w")
            f2 = s2.open("chan2.bin", "w")
            for i in range(8):
                f1.write(b"1" * 1000 + bytes([i]))
                f2.write(b"2" * 1000 + bytes([i]))
            f1.close()
            f2.close()
            # Concurrent bulk transfers, one per channel.
            errors: list[BaseException] = []

            def put(sftp, src, name):
                try:
                    sftp.put(str(src), name)
                except BaseException as e:  # reported below, in the test's thread
                    errors.append(e)

            th = [threading.Thread(target=put, args=(s1, a, "par-a.bin")),
                  threading.Thread(target=put, args=(s2, b, "par-b.bin"))]
            for x in th:
                x.start()
            for x in th:
                x.join(60)
            assert not errors, errors
            assert not any(x.is_alive() for x in th), "transfers did not finish"
            # One channel closing leaves the other working.
            s1.close()
            assert s2.stat("par-a.bin").st_size == a.stat().st_size
        finally:
            s1.close()
            s2.close()
    root = server.key_user.root
    assert (root / "chan1.bin").read_bytes() == b"".join(b"1" * 1000 + bytes([i]) for i in range(8))
    assert (root / "chan2.bin").read_bytes() == b"".join(b"2" * 1000 + bytes([i]) for i in range(8))
    assert_same_bytes(a, root / "par-a.bin")
    assert_same_bytes(b, root / "par-b.bin")
