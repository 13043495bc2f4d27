"""A real Chroma server for tests: ``chroma run`` on a free loopback port, with its data and log in a tmp folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMA = Path(sys.executable).parent / "chroma"
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ChromaServer:
    """A ``chroma run`` process on 127.0.0.1 that can be stopped and started again on the same port and data."""

    def __init__(self, data: Path, port: int, log: Path) -> None:
        self.data, self.port, self.log = data, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.data), "--port", str(self.port), "--host", "127.0.0.1"],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma exited with {self.process.returncode}: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"chroma did not answer within {STARTUP_SECONDS:.0f} s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@contextmanager
def running_chroma(folder: Path, skip_if_it_fails: bool = False) -> Iterator[ChromaServer]:
    """A ``chroma run`` server with its data and log in ``folder``, stopped afterwards.

    Skips without the CLI; with ``skip_if_it_fails``, also when the server does not start (the reason quotes its log).
    """
    if not CHROMA.exists():
        pytest.skip(f"the chroma CLI is not installed beside {sys.executable}")
    server = ChromaServer(folder / "chroma-data", free_port(), folder / "chroma.log")
    try:
        server.start()
    except RuntimeError as exc:
        if not skip_if_it_fails:
            raise
        pytest.skip(f"a Chroma server could not be started here: {exc}")
    try:
        yield server
    finally:
        server.stop()
