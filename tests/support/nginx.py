"""nginx in front of Maestro instances, for the tests of a real balancer.

The rules:

- The configuration is the documented one, ``docs/nginx.conf``, rendered: its upstream
  servers become the test's instances and its ``listen`` a free loopback port. Each
  substitution must match exactly as often as expected, so an edit of the document that
  the test no longer understands fails loudly instead of testing something else.
- nginx runs as a normal foreground process (``daemon off``) with a main configuration of
  the test's own around that file: every path (pid, error log, temporary files) in the
  test's directory, nothing in /etc, /var or /run. As root, workers run as root too (they
  would otherwise switch to ``nobody``, who cannot reach the test's directory).
- nginx is Debian's (``scripts/ensure-nginx`` installs it). Without it the tests are
  skipped with the reason, except under ``CI=true``: there they fail.
- ``established_to(port)`` counts the TCP connections an instance holds on its port (from
  /proc/net/tcp), which tells which instance a client behind nginx landed on: nginx opens
  one connection upstream per live stream, and none stays open between requests.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from .servers import free_port
from .waiting import WAIT, wait_for

DOCUMENTED = Path(__file__).resolve().parents[2] / "docs" / "nginx.conf"
EXAMPLE_UPSTREAMS = ("127.0.0.1:3001", "127.0.0.1:3002")
EXAMPLE_LISTEN = "listen 80;"


def find_nginx() -> str | None:
    """The nginx binary: on ``PATH``, else Debian's ``/usr/sbin/nginx``."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    return found


def unavailable_reason() -> str | None:
    if find_nginx() is None:
        return "nginx is not installed: run scripts/ensure-nginx (Debian's nginx package)"
    return None


def render(upstreams: list[str], port: int) -> str:
    """``docs/nginx.conf`` with the two instances at ``upstreams`` (host:port) in place of
    the example's (in both of its upstreams), listening on 127.0.0.1:``port``; nothing
    else changed."""
    text = DOCUMENTED.read_text()
    assert len(upstreams) == len(EXAMPLE_UPSTREAMS)
    for example, actual in zip(EXAMPLE_UPSTREAMS, upstreams, strict=True):
        line = f"server {example} "
        # Once in each upstream: `maestro`, and `maestro_mcp` (sticky, for MCP sessions).
        assert text.count(line) == 2, f"docs/nginx.conf has not {line!r} in both upstreams"
        text = text.replace(line, f"server {actual} ")
    assert text.count(EXAMPLE_LISTEN) == 1, f"docs/nginx.conf has no single {EXAMPLE_LISTEN!r}"
    return text.replace(EXAMPLE_LISTEN, f"listen 127.0.0.1:{port};")


def main_config(directory: Path, site: Path) -> str:
    """A main configuration that keeps every file of nginx in ``directory`` and includes
    ``site`` in its ``http`` block."""
    temp = {name: directory / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\n"
        f"error_log {directory / 'error.log'} info;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        "    access_log off;\n"
        f"    client_body_temp_path {temp['client_body']};\n"
        f"    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n"
        f"    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n"
        f"    include {site};\n"
        "}\n"
    )


@dataclass
class Nginx:
    process: subprocess.Popen[bytes]
    port: int
    directory: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGQUIT (graceful), SIGKILL if that takes longer than ``WAIT``."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(WAIT)


def start_nginx(directory: Path, upstreams: list[str]) -> Nginx:
    """nginx with the documented configuration in front of ``upstreams``, on a free
    loopback port; returns once it answers there."""
    binary = find_nginx()
    assert binary is not None
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    site = directory / "maestro.conf"
    site.write_text(render(upstreams, port))
    conf = directory / "nginx.conf"
    conf.write_text(main_config(directory, site))
    process = subprocess.Popen(
        [
            binary,
            "-p", str(directory),
            "-e", str(directory / "error.log"),
            "-c", str(conf),
            "-g", f"daemon off; pid {directory / 'nginx.pid'};",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    nginx = Nginx(process, port, directory)

    def answers() -> bool:
        assert process.poll() is None, f"nginx exited:\n{nginx.error_log()}"
        try:
            return httpx.get(nginx.base_url + "/health", timeout=WAIT).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answers, what="nginx to answer")
    except BaseException:
        nginx.stop()
        raise
    return nginx


def established_to(port: int) -> int:
    """How many TCP connections to local ``port`` are established right now (the server's
    side of each: local address on that port)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count
