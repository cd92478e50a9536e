"""Processes under measurement: a pinned ``maestro serve``, its CPU time and peak memory."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SERVER_CORE = "0"
LOAD_CORE = "1"
_LISTENING = re.compile(rb"listening on (http://\S+)")


def pin(core: str) -> list[str]:
    """A command prefix that pins to one core, when the machine has the cores and taskset."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > int(core):
        return ["taskset", "-c", core]
    return []


def pin_self(core: str) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > int(core):
        os.sched_setaffinity(0, {int(core)})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    url: str
    started_in: float  # seconds from spawn to "listening"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    def rss_mb(self) -> float:
        return _status_kb(self.pid, "VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return _status_kb(self.pid, "VmHWM") / 1024

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def start_server(db: Path, *extra: str, durability: str = "normal") -> Process:
    """``maestro serve`` pinned to the server core, on a free port; returns once listening."""
    command = [
        *pin(SERVER_CORE),
        sys.executable,
        "-m",
        "maestro_mcp",
        "serve",
        "--port",
        str(free_port()),
        "--db",
        str(db),
        "--durability",
        durability,
        *extra,
    ]
    return spawn_until_listening(command, banner=b"listening on")


def spawn_until_listening(command: list[str], banner: bytes) -> Process:
    began = time.perf_counter()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    popen = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
    assert popen.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = popen.stderr.readline()
        if not line:
            raise RuntimeError(f"{command} exited before listening")
        if match := _LISTENING.search(line):
            url = match.group(1).decode()
            # Keep draining stderr so the server never blocks on a full pipe.
            threading.Thread(target=popen.stderr.read, daemon=True).start()
            return Process(popen, url, time.perf_counter() - began)
    popen.kill()
    raise RuntimeError("the server did not start within 60 s")
