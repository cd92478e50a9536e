"""Small REST helpers the tests of one server and of several instances share."""

from typing import Any

import httpx2 as httpx

from maestro_mcp.protocol import SEQ_HEADER


def seq_of(response: httpx.Response) -> int:
    """The ``X-Maestro-Seq`` of a response (every write and read carries one)."""
    return int(response.headers[SEQ_HEADER])


def new_session(http: httpx.Client, project_id: str, name: str, **fields: Any) -> dict[str, Any]:
    """A session made over REST in ``project_id`` (``fields``: ``agent``, ``status``, …)."""
    made = http.post("/api/sessions", json={"projectId": project_id, "name": name, **fields})
    assert made.status_code == 201, made.text
    session: dict[str, Any] = made.json()
    return session
