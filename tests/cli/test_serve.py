"""``maestro serve`` as users run it: a separate OS process on a loopback port."""

import base64
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import httpx2 as httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.feeds import SseClient, WsClient
from tests.support.mcp import MCP_ACCEPT, initialize_request
from tests.support.servers import maestro_command, start_server_process
from tests.support.waiting import WAIT


def test_acknowledged_writes_survive_sigkill(database: str) -> None:
    server = start_server_process(database)
    with server.client() as http:
        project = http.post("/api/projects", json={"name": "durable"}).json()
        acknowledged = []
        for i in range(100):
            response = http.post("/api/tasks", json={"projectId": project["id"], "title": f"t{i}"})
            assert response.status_code == 201
            acknowledged.append(response.json()["id"])
    server.kill()  # SIGKILL right after the last acknowledgement: no chance to flush

    restarted = start_server_process(database)
    with restarted.client() as http:
        tasks = http.get("/api/tasks", params={"projectId": project["id"]}).json()
    assert [t["id"] for t in tasks] == acknowledged
    assert restarted.terminate() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_cleanly_with_live_clients(database: str, sig: int) -> None:
    server = start_server_process(database)
    ws = WsClient(server.ws_url)
    ws.until_ready()
    sse = SseClient(server.base_url + "/api/events")
    sse.until_ready()
    assert server.terminate(sig) == 0
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code in (1001, 1012)
    assert sse.recv()["event"] == "_closed"
    ws.close()
    sse.close()
    assert not any("Traceback" in line for line in server.log), "".join(server.log)


def test_a_write_by_another_process_reaches_websocket_clients(database: str) -> None:
    server = start_server_process(database)
    ws = WsClient(server.ws_url)
    ws.until_ready()
    writer = textwrap.dedent(
        f"""
        from maestro_mcp.core.models import ProjectCreate, TaskCreate
        from tests.support.core import write_elsewhere

        def create_both(service):
            project = service.create_project(ProjectCreate(name="from another process")).value
            service.create_task(TaskCreate(project_id=project.id, title="written elsewhere"))

        write_elsewhere({database!r}, create_both)
        """
    )
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=WAIT)
    created = ws.take(2)
    assert [m["event"] for m in created] == ["project:created", "task:created"]
    assert created[1]["data"]["title"] == "written elsewhere"
    ws.close()
    assert server.terminate() == 0


def test_database_location_from_environment(tmp_path: Path) -> None:
    server = start_server_process(None, env={"MAESTRO_DATA_DIR": str(tmp_path / "data")})
    with server.client() as http:
        assert http.post("/api/projects", json={"name": "p"}).status_code == 201
    assert server.terminate() == 0
    assert (tmp_path / "data" / "maestro.db").exists()
    assert str(tmp_path / "data" / "maestro.db") in "".join(server.log)


def test_token_file_secures_every_request(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    token_file.chmod(0o600)
    server = start_server_process(tmp_path / "m.db", "--token-file", str(token_file))
    with server.client() as http:
        assert http.get("/api/projects").status_code == 401
        authorized = http.get("/api/projects", headers={"Authorization": "Bearer s3cret"})
        assert authorized.status_code == 200
    assert server.terminate() == 0


def test_non_loopback_bind_needs_a_token(database: str) -> None:
    result = subprocess.run(
        maestro_command("serve", "--host", "0.0.0.0", "--db", str(database)),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 2
    assert "token" in result.stderr


def test_token_file_must_be_private(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    token_file.chmod(0o644)
    result = subprocess.run(
        maestro_command("serve", "--token-file", str(token_file), "--db", str(tmp_path / "m.db")),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 2
    assert "chmod 600" in result.stderr


def test_help_has_an_example() -> None:
    result = subprocess.run(
        maestro_command("serve", "--help"), capture_output=True, text=True, timeout=WAIT
    )
    assert result.returncode == 0
    assert "maestro serve --port" in result.stdout
    assert "MAESTRO_DB" in result.stdout


def test_logs_one_line_saying_where_it_listens(database: str) -> None:
    server = start_server_process(database)
    assert server.terminate() == 0
    assert len(server.log) == 1, server.log
    assert "Maestro listening on http://127.0.0.1:" in server.log[0]


def test_a_2025_era_mcp_stream_ends_cleanly_at_shutdown(database: str) -> None:
    """A legacy MCP client's standalone GET stream gets a complete response at shutdown
    (so it reconnects cleanly), and the server logs no error about it."""
    server = start_server_process(database)
    era = {"MCP-Protocol-Version": "2025-06-18"}
    accept = MCP_ACCEPT
    with server.client() as http:
        opened = http.post(
            "/mcp", headers=accept, json=initialize_request("legacy", era["MCP-Protocol-Version"])
        )
        session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], **era}
        http.post(
            "/mcp",
            headers={**accept, **session},
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        )
        listening = threading.Event()
        ended: list[str] = []

        def listen() -> None:
            headers = {"Accept": "text/event-stream", **session}
            try:
                with http.stream("GET", "/mcp", headers=headers) as stream:
                    assert stream.status_code == 200
                    listening.set()
                    for _ in stream.iter_lines():
                        pass
                ended.append("cleanly")
            except Exception as exc:
                ended.append(repr(exc))

        listener = threading.Thread(target=listen)
        listener.start()
        assert listening.wait(WAIT)
        assert server.terminate(signal.SIGINT) == 0
        listener.join(WAIT)
    assert ended == ["cleanly"]
    assert not any("ERROR" in line for line in server.log), "".join(server.log)


def test_a_slow_client_cut_off_does_not_hold_up_shutdown(database: str) -> None:
    server = start_server_process(database)
    host, port = server.base_url.removeprefix("http://").split(":")
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    stalled.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    with server.client() as http:
        project = http.post("/api/projects", json={"name": "p"}).json()
        big = "x" * 40_000
        for i in range(700):  # ~28 MB: past the 16 MiB a client may leave unread
            http.post(
                "/api/tasks",
                json={"projectId": project["id"], "title": f"t{i}", "description": big},
            )
    # The stalled client is inside its grace to read up to its reset: shutdown ends it
    # at once rather than waiting, and cancelling it, at uvicorn's graceful timeout.
    assert server.terminate(signal.SIGINT) == 0
    stalled.close()
    assert not any("ERROR" in line for line in server.log), "".join(server.log)


def test_tokens_in_request_lines_are_masked_in_the_log(database: str) -> None:
    """At debug level and in the access log alike (whose formatter a masked line once
    broke, a traceback per request): no token, and no logging error."""
    secret = "s3cret-in-the-url"
    server = start_server_process(
        database, "--token", secret, "--log-level", "debug", "--access-log"
    )
    ws = WsClient(f"{server.ws_url}?token={secret}")
    ws.until_ready()
    ws.close()
    with httpx.Client(base_url=server.base_url) as http:
        # Refused (only the feeds take ?token=), and logged with the token masked.
        assert http.get("/health", params={"token": secret}).status_code == 401
    assert server.terminate() == 0
    log = "".join(server.log)
    assert "token=***" in log
    assert secret not in log
    assert "Logging error" not in log
    assert "Traceback" not in log


def test_an_explicit_loopback_host_is_allowed_as_its_own_host_header(database: str) -> None:
    """--host 127.0.0.2 answers requests sent to 127.0.0.2 (its own Host header), and
    the banner says which hosts and origins are allowed."""
    server = start_server_process(database, "--host", "127.0.0.2")
    try:
        assert server.base_url.startswith("http://127.0.0.2:")
        with httpx.Client(base_url=server.base_url) as http:
            assert http.get("/api/projects").status_code == 200
        [banner] = [line for line in server.log if "listening on" in line]
        assert "hosts 127.0.0.1, localhost, [::1], 127.0.0.2; origins same origin only" in banner
    finally:
        assert server.terminate() == 0
