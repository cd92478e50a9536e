"""Live resources: a project's board, a task, a session, and the guide.

Their URIs are what change notifications name (see notifications.py).
"""

import json
from functools import partial
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from maestro_mcp.core.errors import NotFound
from maestro_mcp.core.models import NOTES_SHOWN, SessionFilter, TaskFilter
from maestro_mcp.core.runtime import Core

from .guide import GUIDE
from .results import ProjectRef, TaskSummary

BOARD = "maestro://projects/{projectId}/board"
TASK = "maestro://tasks/{taskId}"
SESSION = "maestro://sessions/{sessionId}"
GUIDE_URI = "maestro://guide"


def board_uri(project_id: str) -> str:
    return BOARD.format(projectId=project_id)


def task_uri(task_id: str) -> str:
    return TASK.format(taskId=task_id)


def session_uri(session_id: str) -> str:
    return SESSION.format(sessionId=session_id)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def register_resources(mcp: MCPServer[Any], core: Core) -> None:
    service = core.service

    @mcp.resource(GUIDE_URI, name="guide", mime_type="text/markdown")
    def guide() -> str:
        """How to work with Maestro: the tools, the rules, the resources."""
        return GUIDE

    @mcp.resource(BOARD, name="board", mime_type="application/json")
    async def board(projectId: str) -> str:
        """A project's tasks (summaries) and sessions, with the seq they are consistent with."""

        def read() -> str:  # one snapshot: the project, its tasks and its sessions
            project = service.get_project(projectId).value
            tasks = service.list_tasks(TaskFilter(project_id=projectId))
            sessions = service.list_sessions(SessionFilter(project_id=projectId)).value
            return _json(
                {
                    "project": ProjectRef.of(project).model_dump(by_alias=True),
                    "tasks": [
                        TaskSummary.of(t).model_dump(mode="json", by_alias=True)
                        for t in tasks.value
                    ],
                    "sessions": [s.model_dump(mode="json", by_alias=True) for s in sessions],
                    "seq": tasks.seq,
                }
            )

        try:
            return await core.read(read)
        except NotFound as exc:
            raise ResourceNotFoundError(exc.message) from None

    @mcp.resource(TASK, name="task", mime_type="application/json")
    async def task(taskId: str) -> str:
        """One task, all fields."""
        try:
            found = await core.read(partial(service.get_task, taskId))
        except NotFound as exc:
            raise ResourceNotFoundError(exc.message) from None
        return found.value.model_dump_json(by_alias=True)

    @mcp.resource(SESSION, name="session", mime_type="application/json")
    async def session(sessionId: str) -> str:
        """One session and its latest progress notes."""

        def read() -> str:
            found = service.get_session(sessionId).value
            notes = service.list_session_notes(sessionId, limit=NOTES_SHOWN).value
            return _json(
                {
                    "session": found.model_dump(mode="json", by_alias=True),
                    "notes": [n.model_dump(mode="json", by_alias=True) for n in notes],
                }
            )

        try:
            return await core.read(read)
        except NotFound as exc:
            raise ResourceNotFoundError(exc.message) from None
