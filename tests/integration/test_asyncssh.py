"""AsyncSSH, whose SFTP client speaks versions 3 to 6, against the server.

Wharf serves v1-v6, so each requested version must be the negotiated one;
OpenSSH's server (the reference backend) only ever answers 3.
"""

from __future__ import annotations

import asyncio
import stat

import asyncssh
import pytest

from harness import assert_same_bytes, make_random_file


async def _session(server, user, version, src, back):
    kw = dict(host=server.host, port=server.port, username=user.name, known_hosts=str(server.known_hosts),
              agent_path=None, config=None, connect_timeout=15, login_timeout=15)
    if user.password is not None:
        kw.update(password=user.password, client_keys=None, preferred_auth="password")
    else:
        kw.update(client_keys=[str(user.key)], preferred_auth="publickey")
    async with asyncssh.connect(**kw) as conn:
        async with conn.start_sftp_client(sftp_version=version) as sftp:
            d = f"async-v{version}"
            await sftp.mkdir(d)
            await sftp.put(str(src), f"{d}/up.bin")
            await sftp.get(f"{d}/up.bin", str(back))
            attrs = await sftp.stat(f"{d}/up.bin")
            await sftp.chmod(f"{d}/up.bin", 0o640)
            mode_after = (await sftp.stat(f"{d}/up.bin")).permissions
            await sftp.rename(f"{d}/up.bin", f"{d}/renamed.bin")
            names = sorted(n for n in await sftp.listdir(d) if n not in (".", ".."))
            return sftp.version, attrs, mode_after, names


@pytest.mark.parametrize("version", [3, pytest.param(4, marks=pytest.mark.sftp_v456),
                                     pytest.param(5, marks=pytest.mark.sftp_v456),
                                     pytest.param(6, marks=pytest.mark.sftp_v456)])
@pytest.mark.parametrize("auth", ["password", "key"])
def test_asyncssh_sftp_versions(server, local, version, auth):
    user = server.pw_user if auth == "password" else server.key_user
    src = make_random_file(local / "src.bin", 256 * 1024 + 3)
    back = local / "back.bin"
    negotiated, attrs, mode_after, names = asyncio.run(_session(server, user, version, src, back))
    expected = version if server.kind == "wharf" else 3
    assert negotiated == expected
    assert attrs.size == src.stat().st_size
    assert attrs.type == asyncssh.FILEXFER_TYPE_REGULAR
    assert stat.S_IMODE(mode_after) == 0o640
    assert names == ["renamed.bin"]
    on_disk = user.root / f"async-v{version}" / "renamed.bin"
    assert_same_bytes(src, on_disk)
    assert_same_bytes(src, back)
    assert stat.S_IMODE(on_disk.stat().st_mode) == 0o640
