"""A private redis-server process, and a listener that never answers, for the outage tests.

The machine's shared Redis on 6379 is never stopped: tests that need Redis to go away start their
own ``redis-server`` on a free loopback port and terminate it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.support.servers import in_ci

_START_TIMEOUT_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def require_redis_server_binary() -> str:
    """Path of ``redis-server``; skip (locally) or fail (in CI) when it is not installed."""
    binary = shutil.which("redis-server")
    if binary is not None:
        return binary
    message = "redis-server is not on PATH; install it (apt-get install redis-server) to run the outage tests"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


class RedisServerProcess:
    """One redis-server on 127.0.0.1 that a test may stop, restart and snapshot.

    Data lives in memory only, except that :meth:`snapshot` writes an RDB file into ``workdir``
    which the next :meth:`start` loads: that is how a test brings the server back with old data.
    """

    def __init__(self, binary: str, workdir: Path) -> None:
        self._binary = binary
        self._workdir = workdir
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def admin(self) -> redis.Redis:
        """A plain client for the test's own checks, independent of the code under test."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self) -> None:
        assert self._process is None, "redis-server already running"
        # The binary is the one shutil.which found and every argument is ours: no untrusted input.
        self._process = subprocess.Popen(  # noqa: S603
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self._workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        with self.admin() as client:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                    time.sleep(0.02)

    def snapshot(self) -> None:
        """Write the current data to the RDB file the next start loads."""
        with self.admin() as client:
            client.save()

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


class SilentListener:
    """A port that accepts TCP connections and never replies, like a hung cache node: every
    command waits for its socket timeout. Counts the connections it accepted, which is how many
    attempts the client made."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.05)
        self.port: int = self._socket.getsockname()[1]
        self._accepted: list[socket.socket] = []
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept_until_closed, daemon=True)
        self._thread.start()

    @property
    def connections(self) -> int:
        return len(self._accepted)

    def _accept_until_closed(self) -> None:
        while not self._closing.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._accepted.append(connection)

    def close(self) -> None:
        self._closing.set()
        self._thread.join()
        for connection in self._accepted:
            connection.close()
        self._socket.close()
