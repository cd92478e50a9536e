"""Processes under measurement: a pinned ``maestro serve``, its CPU time and peak memory.

They start as the tests start theirs (tests.support.servers): on a port of their own
choosing, ready once they log where they listen and, unless the start itself is what
is measured, once their MCP server answers: it loads after the server listens (about
0.6 s of CPU, http_api/mcp_mount.py), and a phase run meanwhile would measure the two
sharing a core instead of the server's steady state.
"""

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from tests.support.mcp import MCP_ACCEPT, initialize_request
from tests.support.servers import ServerProcess, spawn_until_listening, start_server_process

SERVER_CORE = "0"
LOAD_CORE = "1"
START_TIMEOUT = 60.0  # a server on a big database migrates and warms up first


def pin(core: str) -> list[str]:
    """A command prefix that pins to one core, when the machine has the cores and taskset."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > int(core):
        return ["taskset", "-c", core]
    return []


def pin_self(core: str) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > int(core):
        os.sched_setaffinity(0, {int(core)})


@dataclass
class Process:
    """A started server and what it costs: CPU seconds and resident memory."""

    server: ServerProcess

    @property
    def url(self) -> str:
        return self.server.base_url

    @property
    def started_in(self) -> float:
        """Seconds from spawn to listening."""
        return self.server.started_in

    def cpu_seconds(self) -> float:
        return cpu_of(stat_fields(self.server.pid))

    def cpu_and_kernel_seconds(self) -> tuple[float, float]:
        """``cpu_seconds`` and the part of it in the kernel, from one reading."""
        fields = stat_fields(self.server.pid)
        return cpu_of(fields), kernel_cpu_of(fields)

    def rss_mb(self) -> float:
        return _status_kb(self.server.pid, "VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return _status_kb(self.server.pid, "VmHWM") / 1024

    def stop(self) -> None:
        self.server.stop()


def stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command's name: state, ppid, …"""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_of(fields: list[str]) -> float:
    """The CPU seconds (utime + stime) of a process, from its ``stat_fields``."""
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kernel_cpu_of(fields: list[str]) -> float:
    """The part of ``cpu_of`` spent in the kernel (stime): the process's system calls,
    and the interrupt work that ran in its context (on loopback, the receiving socket's
    side of each ``write()``) where the kernel counts by ticks without IRQ time
    accounting (CONFIG_IRQ_TIME_ACCOUNTING unset, as on the machines measured); with it,
    interrupt work is not the process's stime."""
    return int(fields[12]) / os.sysconf("SC_CLK_TCK")


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


MCP_INITIALIZE = initialize_request("bench")


def start_server(db: Path, *extra: str, durability: str = "normal", steady: bool = True) -> Process:
    """``maestro serve`` pinned to the server core; returns once listening and, when
    ``steady``, once its MCP server answers."""
    server = start_server_process(
        db,
        "--durability",
        durability,
        *extra,
        prefix=pin(SERVER_CORE),
        timeout=START_TIMEOUT,
    )
    if steady:
        steady_or_stopped(server)
    return Process(server)


def start_server_url(
    database: str, *extra: str, steady: bool = True, core: str = SERVER_CORE
) -> Process:
    """``maestro serve`` on a database URL (PostgreSQL), pinned to ``core`` (the server
    core unless said); returns once listening and, when ``steady``, once its MCP server
    answers."""
    server = start_server_process(database, *extra, prefix=pin(core), timeout=START_TIMEOUT)
    if steady:
        steady_or_stopped(server)
    return Process(server)


def steady_or_stopped(server: ServerProcess) -> None:
    """Wait for ``server``'s MCP server to answer; stop the server if it does not, so
    that a start that failed leaves no process behind."""
    try:
        until_mcp_answers(server.base_url)
    except BaseException:
        server.stop()
        raise


def until_mcp_answers(base_url: str) -> None:
    """Return once the server answers an MCP ``initialize`` (its MCP server loaded)."""
    response = httpx.post(
        base_url + "/mcp", json=MCP_INITIALIZE, headers=MCP_ACCEPT, timeout=START_TIMEOUT
    )
    assert response.status_code == 200, response.text


def start_pinned(module: str, *args: str) -> Process:
    """``python -m module *args`` pinned to the server core; returns once it logs
    ``listening on http://…``."""
    command: Sequence[str] = [*pin(SERVER_CORE), sys.executable, "-m", module, *args]
    return Process(spawn_until_listening(command, timeout=START_TIMEOUT))
