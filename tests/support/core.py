"""Building records on the core service and reading its event log, for the core's tests."""

import json
from typing import Any

from maestro_mcp.core import events
from maestro_mcp.core.models import Session, SessionCreate, Task, TaskCreate
from maestro_mcp.core.service import Service


def log_after(service: Service, seq: int) -> list[dict[str, Any]]:
    """Every event envelope after ``seq``, oldest first, parsed as clients receive it."""
    with service.db.read() as conn:
        return [json.loads(e.payload) for e in events.read_after(conn, seq, 100_000)]


def new_task(service: Service, project_id: str, title: str = "Implement login", **kw: Any) -> Task:
    """A task created in ``project_id``; ``kw`` are further ``TaskCreate`` fields."""
    return service.create_task(TaskCreate(project_id=project_id, title=title, **kw)).value


def new_session(
    service: Service, project_id: str, *task_ids: str, name: str = "agent run"
) -> Session:
    """A session created in ``project_id``, working on ``task_ids``."""
    data = SessionCreate(project_id=project_id, name=name, task_ids=list(task_ids))
    return service.create_session(data).value
