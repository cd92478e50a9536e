"""Building records on the core service, reading its event log, and writing the
database as another process would, for the tests (and the benchmark's data)."""

import asyncio
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from maestro_mcp.core.models import Session, SessionCreate, Task, TaskCreate
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.service import Service
from maestro_mcp.settings import Settings


def log_after(service: Service, seq: int) -> list[dict[str, Any]]:
    """Every event envelope after ``seq``, oldest first, parsed as clients receive it."""
    with service.store.read() as rows:
        return [json.loads(e.payload) for e in rows.read_events_after(seq, 100_000)]


def new_task(service: Service, project_id: str, title: str = "Implement login", **kw: Any) -> Task:
    """A task created in ``project_id``; ``kw`` are further ``TaskCreate`` fields."""
    return service.create_task(TaskCreate(project_id=project_id, title=title, **kw)).value


def new_session(
    service: Service, project_id: str, *task_ids: str, name: str = "agent run"
) -> Session:
    """A session created in ``project_id``, working on ``task_ids``."""
    data = SessionCreate(project_id=project_id, name=name, task_ids=list(task_ids))
    return service.create_session(data).value


def write_elsewhere(database: str | Path, *writes: Callable[[Service], object]) -> None:
    """Run ``writes`` as another process writing ``database`` would: on a core
    runtime of its own (no server involved), each of ``writes`` one transaction (all
    the service calls one of them makes commit together). Call it from synchronous
    code (or a worker thread): it runs an event loop of its own."""

    async def run() -> None:
        async with Core(Settings(database=database)) as core:
            for write in writes:
                await core.write(partial(write, core.service))

    asyncio.run(run())
