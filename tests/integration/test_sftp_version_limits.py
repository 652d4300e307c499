"""The configured SFTP version range is what a client gets: AsyncSSH asks
for version 6 and is answered with the server's maximum; a client below the
minimum is refused."""

from __future__ import annotations

import asyncio
import os

import asyncssh
import pytest

import harness

pytestmark = pytest.mark.skipif(os.environ.get("WHARF_TEST_AGAINST", "wharf") != "wharf",
                                reason="Wharf configuration variants")


async def _negotiate(server, version):
    user = server.key_user
    async with asyncssh.connect(host=server.host, port=server.port, username=user.name,
                                known_hosts=str(server.known_hosts), agent_path=None, config=None,
                                client_keys=[str(user.key)], preferred_auth="publickey",
                                connect_timeout=15, login_timeout=15) as conn:
        async with conn.start_sftp_client(sftp_version=version) as sftp:
            await sftp.listdir(".")
            return sftp.version


def test_max_version_caps_what_a_v6_client_gets(server_factory):
    srv = server_factory("v4max", "sftp_max_version = 4")
    assert asyncio.run(_negotiate(srv, 6)) == 4
    assert asyncio.run(_negotiate(srv, 3)) == 3


def test_min_version_refuses_older_clients(tmp_path):
    # Not through server_factory: its smoke check logs in with OpenSSH's
    # sftp, a v3 client, which this server rightly refuses.
    srv = harness.start_wharf(tmp_path, "sftp_min_version = 5")
    try:
        assert asyncio.run(_negotiate(srv, 6)) == 6
        with pytest.raises((asyncssh.Error, OSError)):
            asyncio.run(_negotiate(srv, 3))
        assert srv.alive()
    finally:
        srv.stop()
