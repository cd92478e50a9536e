"""The naive floor (issue #16): what an 80-line server does with the load Maestro gets.

Starlette + SQLite (WAL), one COMMIT per write on the event loop, then an immediate
``send_text`` of the event to every WebSocket client of the project. No validation
beyond parsing JSON, no event log, no resume, no tokens: only the routes the load
generator uses. It runs under uvicorn with the choices Maestro makes
(http_api/server.py ``server_config``: uvloop, httptools, websockets sans-I/O, no
permessage-deflate), so the difference measured is the application's.

Its ``synchronous`` makes the same promise as a Maestro ``--durability``: NORMAL (the
default) as ``normal``, an acknowledged write survives the process being killed;
FULL as ``full``, also a power loss (an fsync per COMMIT).

    python -m bench.naive_server DB PORT [NORMAL|FULL]   # PORT 0: a free port, logged
"""

import json
import socket
import sqlite3
import sys
import time
import uuid
from collections import defaultdict
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

db = sqlite3.connect(sys.argv[1] if __name__ == "__main__" else ":memory:", isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
SYNCHRONOUS = sys.argv[3] if __name__ == "__main__" and len(sys.argv) > 3 else "NORMAL"
if SYNCHRONOUS not in ("NORMAL", "FULL"):
    raise SystemExit(f"synchronous is NORMAL or FULL, not {SYNCHRONOUS!r}")
db.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
db.execute("CREATE TABLE IF NOT EXISTS projects (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
db.execute("CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
clients: defaultdict[str, set[WebSocket]] = defaultdict(set)
seq = 0


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


async def write(table: str, row: dict[str, Any], event: str, project_id: str) -> Response:
    """Store ``row`` in one transaction of its own, then send its event to every client."""
    global seq
    text = dumps(row)
    db.execute("BEGIN IMMEDIATE")
    db.execute(f"INSERT OR REPLACE INTO {table} (id, body) VALUES (?, ?)", (row["id"], text))
    db.execute("COMMIT")
    seq += 1
    message = dumps({"seq": seq, "event": event, "data": row, "timestamp": row["updatedAt"]})
    for ws in list(clients[project_id]):
        await ws.send_text(message)
    return Response(text, 201 if event.endswith("created") else 200, media_type="application/json")


async def create_project(request: Request) -> Response:
    now = int(time.time() * 1000)
    row = {"id": f"proj_{uuid.uuid4().hex}", **await request.json(), "version": 1}
    row.update(createdAt=now, updatedAt=now)
    return await write("projects", row, "project:created", row["id"])


async def create_task(request: Request) -> Response:
    now = int(time.time() * 1000)
    # The title first: the load generator finds its marker near the start of the event.
    row = {"title": "", **await request.json(), "id": f"task_{uuid.uuid4().hex}"}
    row.update(version=1, createdAt=now, updatedAt=now)
    return await write("tasks", row, "task:created", row["projectId"])


async def update_task(request: Request) -> Response:
    patch = await request.json()
    found = db.execute("SELECT body FROM tasks WHERE id = ?", (request.path_params["id"],))
    row = found.fetchone()
    if row is None:
        return Response('{"error":"not found"}', 404, media_type="application/json")
    task = {**json.loads(row[0]), **patch}
    task["version"] += 1
    task["updatedAt"] = int(time.time() * 1000)
    return await write("tasks", task, "task:updated", task["projectId"])


async def feed(ws: WebSocket) -> None:
    project_id = ws.query_params.get("projectId", "")
    await ws.accept()
    await ws.send_text(dumps({"event": "sync:ready", "data": {"seq": seq}}))
    clients[project_id].add(ws)
    try:
        while True:
            await ws.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        clients[project_id].discard(ws)


app = Starlette(
    routes=[
        Route("/api/projects", create_project, methods=["POST"]),
        Route("/api/tasks", create_task, methods=["POST"]),
        Route("/api/tasks/{id}", update_task, methods=["PATCH"]),
        WebSocketRoute("/ws", feed),
    ]
)

if __name__ == "__main__":
    listener = socket.create_server(("127.0.0.1", int(sys.argv[2])))
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        server_header=False,
        access_log=False,
        log_level="warning",
    )
    print(f"listening on http://127.0.0.1:{listener.getsockname()[1]}", file=sys.stderr, flush=True)
    uvicorn.Server(config).run(sockets=[listener])
