"""Fixtures: one server per test module, its log attached to every failure.

WHARF_BIN        the wharf binary (default: target/release/wharf)
WHARF_TEST_AGAINST=openssh   run against a throw-away OpenSSH sshd instead (needs root)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import harness

_live_servers: list[harness.Server] = []


def backend() -> str:
    b = os.environ.get("WHARF_TEST_AGAINST", "wharf")
    if b not in ("wharf", "openssh"):
        raise pytest.UsageError(f"WHARF_TEST_AGAINST must be wharf or openssh, not {b!r}")
    return b


def start_server(base: Path, extra_server_toml: str = "") -> harness.Server:
    if backend() == "openssh":
        if extra_server_toml:
            pytest.skip("server configuration variants apply to Wharf only")
        import openssh_backend

        return openssh_backend.start_openssh(base)
    return harness.start_wharf(base, extra_server_toml)


@pytest.fixture(scope="module")
def server_factory(tmp_path_factory):
    """Start extra servers (e.g. with a restricted algorithm list); all stopped at module end."""
    started: list[harness.Server] = []

    def make(name: str = "srv", extra_server_toml: str = "") -> harness.Server:
        srv = start_server(tmp_path_factory.mktemp(name), extra_server_toml)
        started.append(srv)
        _live_servers.append(srv)
        harness.smoke_check(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()
        if srv in _live_servers:
            _live_servers.remove(srv)


@pytest.fixture(scope="module")
def server(server_factory, request) -> harness.Server:
    """The module's server: a password user (server.pw_user) and a key user (server.key_user)."""
    return server_factory(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(autouse=True)
def _server_must_survive(request):
    """After every test, each server the module started must still be running.

    A crash (panic, abort) on a client's input is a failure of the test that
    caused it, not of whichever test happens to run next.
    """
    yield
    for srv in list(_live_servers):
        if srv.proc is not None and srv.proc.poll() is not None:
            code = srv.proc.returncode
            _live_servers.remove(srv)
            pytest.fail(f"{srv.kind} server exited with status {code} during this test; log:\n{srv.log_tail()}",
                        pytrace=False)


@pytest.fixture
def local(tmp_path) -> Path:
    """A per-test scratch directory on the client side."""
    d = tmp_path / "local"
    d.mkdir()
    return d


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in _live_servers:
            rep.sections.append((f"{srv.kind} server log ({srv.log_path})", srv.log_tail()))
