"""CLI writes produce exactly the events of the architecture page, seen by a WebSocket client."""

from tests.support.cli import Run, as_json
from tests.support.feeds import WsClient, events_of
from tests.support.servers import LiveServer


def test_cli_writes_reach_a_websocket_client(run: Run, server: LiveServer) -> None:
    run("project", "create", "p")
    ws = WsClient(server.ws_url)
    ws.until_ready()

    task = as_json(run("task", "create", "Test task from CLI", "--priority", "high", "--json"))
    [created] = ws.take(1)
    assert events_of([created]) == ["task:created"]
    assert created["data"] == task

    run("task", "update", task["id"], "--status", "completed")
    [updated] = ws.take(1)
    assert events_of([updated]) == ["task:updated"]
    assert updated["data"]["status"] == "completed"

    session = as_json(run("session", "create", "s", "--json"))
    assert events_of(ws.take(1)) == ["session:created"]
    run("session", "add-task", session["id"], task["id"])
    added = ws.take(3)
    assert events_of(added) == ["session:updated", "task:updated", "session:task_added"]
    assert added[1]["data"]["sessionCount"] == 1

    run("session", "delete", session["id"])
    deleted = ws.take(2)
    assert events_of(deleted) == ["session:deleted", "task:updated"]
    assert deleted[1]["data"]["sessionCount"] == 0
    ws.conn.send('{"event": "ping"}')
    assert ws.recv()["event"] == "pong"  # nothing else was sent in between
    ws.close()
