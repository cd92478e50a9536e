"""A create whose answer is lost after the server committed, retried by the CLI: one task."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from click.testing import CliRunner

from maestro_mcp.cli.main import cli
from tests.support.servers import LiveServer


@contextmanager
def response_losing_proxy(upstream_port: int, marker: bytes) -> Iterator[tuple[int, list[str]]]:
    """A loopback TCP proxy that, once, lets a request starting with ``marker`` reach the
    server and then cuts the client's connection as the answer comes back."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    dropped: list[str] = []
    stop = threading.Event()
    opened: list[socket.socket] = []
    pipes: list[threading.Thread] = []

    def pipe(
        source: socket.socket, target: socket.socket, armed: threading.Event, upward: bool
    ) -> None:
        try:
            while chunk := source.recv(65536):
                if upward and chunk.startswith(marker) and not dropped:
                    armed.set()
                if not upward and armed.is_set() and not dropped:
                    dropped.append("response lost")  # the server has answered: it committed
                    break
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, target):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", upstream_port))
            opened.extend((client, upstream))
            armed = threading.Event()
            for args in ((client, upstream, armed, True), (upstream, client, armed, False)):
                pipes.append(threading.Thread(target=pipe, args=args, daemon=True))
                pipes[-1].start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], dropped
    finally:
        stop.set()
        thread.join()
        listener.close()
        for s in opened:
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        for t in pipes:
            t.join()
        for s in opened:
            s.close()


def test_retried_create_after_a_lost_response_leaves_one_task(server: LiveServer) -> None:
    project = server.http.post("/api/projects", json={"name": "p"}).json()
    port = int(server.base_url.rsplit(":", 1)[1])
    with response_losing_proxy(port, b"POST /api/tasks") as (proxy_port, dropped):
        result = CliRunner().invoke(
            cli,
            ["task", "create", "exactly once", "--project", project["id"], "--json"],
            env={"MAESTRO_URL": f"http://127.0.0.1:{proxy_port}"},
        )
    assert dropped == ["response lost"]
    assert result.exit_code == 0, (result.output, result.stderr)
    tasks = server.http.get("/api/tasks").json()
    assert [t["title"] for t in tasks] == ["exactly once"]
    assert '"exactly once"' in result.stdout
