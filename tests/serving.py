"""``gridservice serve`` in a subprocess on a free 127.0.0.1 port, for the server and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(data: Path, log: Path, *, env: dict[str, str] | None = None, timeout_s: float = 120,
            host: str = "127.0.0.1", args: Sequence[str] = ()) -> Iterator[str]:
    """Serve ``data``; yield the base URL once ``/api/v1/health`` answers, stop the server afterwards.

    The server's output goes to ``log``; ``env`` adds to (or, with a value of
    ``""``, removes from) the environment; ``host`` is a loopback address; ``args``
    are more options of ``serve`` (``--workers 2``).
    """
    port = free_port()
    merged = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
              **(env or {})}
    merged = {k: v for k, v in merged.items() if v != ""}
    url = f"http://{host}:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from gridservice.cli import main; main()", "serve", "--data", str(data),
             "--host", host, "--port", str(port), *args],
            stdout=out, stderr=subprocess.STDOUT, env=merged)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"the server exited:\n{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not start within {timeout_s:.0f} s")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
