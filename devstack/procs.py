"""Ports, readiness and stopping of local processes (servers started for tests, benches
and the cluster)."""
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "assistant.tar.gz"
# Generous: on a busy 2-core machine loading the model can take minutes.
START_TIMEOUT = float(os.environ.get("STACK_START_TIMEOUT", 600))
# Debian's chromium, driven headless by the browser tests (never `playwright install`).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "artifacts" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_ports(n: int) -> List[int]:
    ports: List[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def wait_until(url: str, proc: Optional[subprocess.Popen], log: Optional[Path],
               timeout: float = START_TIMEOUT,
               ready: Callable[[requests.Response], bool] = lambda r: r.ok,
               interval: float = 0.5) -> None:
    """Polls `url` until `ready(response)`; fails with the end of `log` if `proc` exits
    first or `timeout` seconds pass."""
    def tail() -> str:
        return log.read_text(errors="replace")[-3000:] if log and log.exists() else ""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited early; end of {log}:\n{tail()}")
        try:
            if ready(requests.get(url, timeout=2)):
                return
        except requests.RequestException:
            pass
        time.sleep(interval)
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s; end of {log}:\n{tail()}")


def stop(proc: Optional[subprocess.Popen], timeout: float = 20) -> None:
    """Terminates `proc` (if running), killing it after `timeout` seconds."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def serving(args: List[str], url: str, log: Path, env: Optional[Dict[str, str]] = None,
            timeout: float = 20,
            ready: Callable[[requests.Response], bool] = lambda r: r.ok) -> Iterator[
                subprocess.Popen]:
    """Runs a server (from the repository root, output to `log`) while the block runs,
    once `url` answers."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(url, proc, log, timeout, ready, interval=0.1)
        yield proc
    finally:
        stop(proc, timeout=10)
