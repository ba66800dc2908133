"""`wsoa serve` in a process of its own, for the tests that need a real server (crashes, schemathesis)."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.core.config import Settings


@dataclass
class Server:
    url: str
    pid: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(database_url: str, settings: Settings, tmp: Path, **config: str) -> Iterator[Server]:
    """One worker (uvicorn in the same process) on a free port, configured by `config` (`WSOA_<NAME>`);
    SIGKILLed at the end if still alive."""
    port = free_port()
    env = {
        **os.environ,
        "WSOA_DATABASE_URL": database_url,
        "WSOA_STORAGE_DIR": settings.storage_dir,
        "WSOA_LOG_LEVEL": "WARNING",
        "WSOA_AUTH_CACHE_SECONDS": "0",
        "WSOA_FAILED_AUTH_PER_MINUTE": "0",  # test clients share 127.0.0.1 and send bad tokens on purpose
        **{f"WSOA_{name.upper()}": value for name, value in config.items()},
    }
    log_path = tmp / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                raise AssertionError("the server did not start: " + log_path.read_text())
            yield Server(url, process.pid)
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
