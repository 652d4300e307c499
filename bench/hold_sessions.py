#!/usr/bin/env python3
"""Holds idle, authenticated SFTP sessions open against one server.

Driven line by line on stdin by bench.py:
    grow N    open sessions until N are held; answers "held N" or
              "stopped N <reason>" when the machine (or the server) gives out
    quit      close everything and exit

Each session is one SSH connection (curve25519-sha256, ed25519 keys) with
the sftp subsystem started and its VERSION received, then left idle. The
client's own memory is not measured (bench.py reads the server's cgroup);
it stops on its own when MemAvailable falls under --min-free-mib so it
cannot push the machine into the OOM killer.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys

import asyncssh


def mem_available_mib() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


class Holder:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.key = asyncssh.read_private_key(args.key)
        self.known_hosts = asyncssh.read_known_hosts(args.known_hosts)
        self.sessions: list = []

    async def one(self) -> None:
        conn = await asyncssh.connect(
            self.args.host,
            self.args.port,
            username=self.args.user,
            client_keys=[self.key],
            known_hosts=self.known_hosts,
            kex_algs=["curve25519-sha256"],
            server_host_key_algs=["ssh-ed25519"],
            encryption_algs=["aes128-gcm@openssh.com"],
            compression_algs=None,
            agent_path=None,
            config=[],
            login_timeout=120,
            keepalive_interval=0,
        )
        try:
            sftp = await conn.start_sftp_client()
        except BaseException:
            conn.close()
            raise
        self.sessions.append((conn, sftp))

    async def grow(self, target: int) -> str:
        # Bounded concurrency: few unauthenticated connections at a time, as
        # real clients arrive, and under every server's MaxStartups.
        sem = asyncio.Semaphore(self.args.concurrency)
        failure: list[str] = []

        async def worker() -> None:
            while not failure and len(self.sessions) + pending[0] < target:
                if mem_available_mib() < self.args.min_free_mib:
                    failure.append(f"MemAvailable below {self.args.min_free_mib} MiB")
                    return
                pending[0] += 1
                try:
                    async with sem:
                        await self.one()
                except (OSError, asyncssh.Error, asyncio.TimeoutError) as e:
                    failure.append(f"{type(e).__name__}: {e}".replace("\n", " ")[:200])
                finally:
                    pending[0] -= 1

        pending = [0]
        await asyncio.gather(*(worker() for _ in range(self.args.concurrency)))
        if failure:
            return f"stopped {len(self.sessions)} {failure[0]}"
        return f"held {len(self.sessions)}"

    async def quit(self) -> None:
        for conn, sftp in self.sessions:
            sftp.exit()
            conn.close()
        await asyncio.gather(*(c.wait_closed() for c, _ in self.sessions), return_exceptions=True)
        self.sessions.clear()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--known-hosts", required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--min-free-mib", type=int, default=2048)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    h = Holder(args)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().split()
        if not line or line[0] == "quit":
            await h.quit()
            print("bye", flush=True)
            return
        if line[0] == "grow":
            print(await h.grow(int(line[1])), flush=True)
        else:
            print(f"error unknown command {line[0]}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
