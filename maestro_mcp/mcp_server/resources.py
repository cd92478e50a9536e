"""Live resources: a project's board, a task, a session, a session's inbox, and the guide.

Their URIs are what change notifications name (see notifications.py). Each is read in
one snapshot and says the seq it is consistent with. What they show of messages,
questions and file reservations:
- the board: the project's live file reservations and its open questions;
- a session: its open questions and its live file reservations;
- a session's inbox: its unread messages (oldest first, at most ``INBOX_MESSAGES``,
  whole; ``unread`` counts them all) and its questions, the open ones and the newest
  ``ANSWERS_SHOWN`` answered. Reading it marks nothing read: the ``message`` tool does.
"""

import json
from functools import partial
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from maestro_mcp.core.errors import NotFound
from maestro_mcp.core.models import (
    MESSAGES_LIMIT_DEFAULT,
    NOTES_SHOWN,
    QUESTIONS_LIMIT_MAX,
    MessageFilter,
    QuestionFilter,
    QuestionStatus,
    ReservationFilter,
    SessionFilter,
    TaskFilter,
)
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.service import Service

from .guide import GUIDE
from .results import InboxMessage, ProjectRef, TaskSummary

BOARD = "maestro://projects/{projectId}/board"
TASK = "maestro://tasks/{taskId}"
SESSION = "maestro://sessions/{sessionId}"
INBOX = "maestro://sessions/{sessionId}/inbox"
GUIDE_URI = "maestro://guide"

# A session's inbox shows at most so many unread messages, and so many answered questions
# (the newest); the open ones all.
INBOX_MESSAGES = MESSAGES_LIMIT_DEFAULT
ANSWERS_SHOWN = 20


def board_uri(project_id: str) -> str:
    return BOARD.format(projectId=project_id)


def task_uri(task_id: str) -> str:
    return TASK.format(taskId=task_id)


def session_uri(session_id: str) -> str:
    return SESSION.format(sessionId=session_id)


def inbox_uri(session_id: str) -> str:
    return INBOX.format(sessionId=session_id)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _dumped(items: Any) -> list[Any]:
    return [item.model_dump(mode="json", by_alias=True) for item in items]


def _coordination(service: Service, **where: str) -> dict[str, Any]:
    """The open questions and live file reservations of a project or of a session."""
    # Every open one, not a listing's default page (each session may have
    # OPEN_QUESTIONS_MAX open); past QUESTIONS_LIMIT_MAX of them, the oldest that many.
    open_questions = QuestionFilter(status=QuestionStatus.OPEN, limit=QUESTIONS_LIMIT_MAX, **where)
    return {
        "questions": _dumped(service.list_questions(open_questions).value),
        "reservations": _dumped(service.list_reservations(ReservationFilter(**where)).value),
    }


def register_resources(mcp: MCPServer[Any], core: Core) -> None:
    service = core.service

    @mcp.resource(GUIDE_URI, name="guide", mime_type="text/markdown")
    def guide() -> str:
        """How to work with Maestro: the tools, the rules, the resources."""
        return GUIDE

    @mcp.resource(BOARD, name="board", mime_type="application/json")
    async def board(projectId: str) -> str:
        """A project's tasks (summaries), sessions, open questions and reserved files, with
        the seq they are consistent with."""

        def read() -> str:  # one snapshot: the project, its tasks, sessions, questions, files
            project = service.get_project(projectId).value
            tasks = service.list_tasks(TaskFilter(project_id=projectId))
            sessions = service.list_sessions(SessionFilter(project_id=projectId)).value
            return _json(
                {
                    "project": ProjectRef.of(project).model_dump(by_alias=True),
                    "tasks": _dumped(TaskSummary.of(t) for t in tasks.value),
                    "sessions": _dumped(sessions),
                    **_coordination(service, project_id=projectId),
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
        """One session, its latest progress notes, its open questions and reserved files."""

        def read() -> str:
            found = service.get_session(sessionId)
            notes = service.list_session_notes(sessionId, limit=NOTES_SHOWN).value
            return _json(
                {
                    "session": found.value.model_dump(mode="json", by_alias=True),
                    "notes": _dumped(notes),
                    **_coordination(service, session_id=sessionId),
                    "seq": found.seq,
                }
            )

        try:
            return await core.read(read)
        except NotFound as exc:
            raise ResourceNotFoundError(exc.message) from None

    @mcp.resource(INBOX, name="inbox", mime_type="application/json")
    async def inbox(sessionId: str) -> str:
        """A session's unread messages (oldest first) and its questions: open, and answered."""

        def read() -> str:
            found = service.get_session(sessionId)
            unread = MessageFilter(recipient=sessionId, unread=True, limit=INBOX_MESSAGES)
            # Its open questions, and its newest answered ones: a read bounded by what is
            # shown, however many it asked.
            waiting = QuestionFilter(session_id=sessionId, status=QuestionStatus.OPEN)
            latest = QuestionFilter(
                session_id=sessionId,
                status=QuestionStatus.ANSWERED,
                limit=ANSWERS_SHOWN,
                newest=True,
            )
            questions = sorted(
                [*service.list_questions(waiting).value, *service.list_questions(latest).value],
                key=lambda q: q.created_at,
            )
            return _json(
                {
                    "session": {"id": sessionId, "status": found.value.status.value},
                    "messages": _dumped(
                        InboxMessage.of(m) for m in service.list_messages(unread).value
                    ),
                    "unread": service.unread_count(sessionId).value,
                    "questions": _dumped(questions),
                    "seq": found.seq,
                }
            )

        try:
            return await core.read(read)
        except NotFound as exc:
            raise ResourceNotFoundError(exc.message) from None
