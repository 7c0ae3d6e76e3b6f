"""A PRIVATE redis-server for fault tests (as core/tests/store_faults.rs starts one): a child
process on a free port of 127.0.0.1, no persistence, its log in a file (never an unread pipe),
stopped by the test and killed at the end whatever happens. Skipped when ``redis-server`` is not
installed, unless POLYAUTH_REQUIRE_SERVICES=1 (CI), where that fails."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_sessions import REQUIRE_SERVICES

from conftest import stop_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """One redis-server child process; ``url`` reaches it, ``stop`` ends it (SIGTERM, then KILL)."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._log = (directory / f"redis-{self.port}.log").open("wb")
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def __repr__(self) -> str:
        return f"PrivateRedis(port={self.port}, running={self.running})"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not self.running:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"redis-server on port {self.port} did not become ready")

    def stop(self) -> None:
        """Stops the server (SIGTERM, SIGKILL after 10 s) and waits for it to exit."""
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        self._log.close()


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    """A private redis-server for the ``with`` block (stopped at its end if still running)."""
    if shutil.which("redis-server") is None:
        if REQUIRE_SERVICES:
            pytest.fail("redis-server is required with POLYAUTH_REQUIRE_SERVICES=1")
        pytest.skip("redis-server not installed")
    server = PrivateRedis(directory)
    try:
        yield server
    finally:
        server.stop()
