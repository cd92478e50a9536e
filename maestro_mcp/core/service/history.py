"""The log read back in time: a task's history and a project's activity, newest first.

A page holds the stored events themselves (their envelopes, byte for byte, as the
feeds send them), at most ``limit`` of them and about ``HISTORY_PAGE_BYTES``; ``next``
is the seq to read the next, older page before, None once nothing older is retained.
Which events are about a task or a session is the log's own columns
(``events.subjects``), so a page is read through an index.

A task or project that no longer exists still has a history while the log retains
events about it (its deletion among them); an id the log knows nothing of is not found.
"""

from dataclasses import dataclass

from ..errors import NotFound
from ..events import StoredEvent
from ..models import HISTORY_PAGE_BYTES, ActivityQuery, HistoryQuery
from ..storage import LogFilter, Rows


@dataclass(frozen=True, slots=True)
class HistoryPage:
    events: list[StoredEvent]  # newest first
    next: int | None  # the ``before`` of the next, older page; None: nothing older retained


def of_task(rows: Rows, task_id: str, query: HistoryQuery) -> HistoryPage:
    about = LogFilter(task_id=task_id)
    if rows.get_task(task_id) is None and not _known(rows, about):
        raise NotFound(f"task {task_id} not found", details={"id": task_id})
    return _page(rows, about, query)


def of_project(rows: Rows, project_id: str, query: ActivityQuery) -> HistoryPage:
    about = LogFilter(project_id=project_id)
    if rows.get_project(project_id) is None and not _known(rows, about):
        raise NotFound(f"project {project_id} not found", details={"id": project_id})
    where = LogFilter(project_id=project_id, session_id=query.session_id, agent=query.agent)
    return _page(rows, where, query)


def _known(rows: Rows, about: LogFilter) -> bool:
    """Whether the log retains any event ``about`` keeps."""
    return bool(rows.read_events_before(None, 1, about).events)


def _page(rows: Rows, where: LogFilter, query: HistoryQuery) -> HistoryPage:
    found = rows.read_events_before(query.before, query.limit, where, max_bytes=HISTORY_PAGE_BYTES)
    return HistoryPage(found.events, found.events[-1].seq if found.older else None)
