"""The log read back: a task's history and a project's activity, newest first, page by
page (``limit``, ``before``, ``next``) to the oldest retained event, filtered by session
or agent, bounded in bytes, through pruning; unknown ids are not found."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from maestro_mcp.core.errors import NotFound
from maestro_mcp.core.events import StoredEvent
from maestro_mcp.core.models import (
    ActivityQuery,
    ClaimRequest,
    HistoryQuery,
    ReleaseRequest,
    SessionCreate,
    TaskPatch,
    TaskStatus,
)
from maestro_mcp.core.service import HistoryPage, Service
from maestro_mcp.core.service import history as history_module
from tests.support.core import log_after, new_session, new_task


def every_page(read: Callable[[int | None], HistoryPage]) -> list[list[StoredEvent]]:
    """The pages ``read(before)`` gives, from the newest on, following ``next`` to the end."""
    pages = [read(None)]
    while pages[-1].next is not None:
        pages.append(read(pages[-1].next))
        assert len(pages) < 1000, "next never ends"
    return [page.events for page in pages]


def seqs_about(service: Service, keep: Callable[[dict[str, Any]], bool]) -> list[int]:
    """The seqs of the events ``keep`` keeps, newest first: the whole log, read forwards."""
    return [e["seq"] for e in reversed(log_after(service, 0)) if keep(e)]


def test_a_tasks_history_pages_to_its_first_event_missing_nothing(
    service: Service, project_id: str
) -> None:
    task = new_task(service, project_id)
    other = new_task(service, project_id)
    session = new_session(service, project_id)
    for n in range(6):
        service.update_task(task.id, TaskPatch(title=f"take {n}"))
        service.update_task(other.id, TaskPatch(title=f"other {n}"))
    service.add_task_to_session(session.id, task.id)
    service.update_task(task.id, TaskPatch(status=TaskStatus.PENDING, priority="high"))
    service.claim_task(task.id, ClaimRequest(session_id=session.id))

    pages = every_page(
        lambda before: service.task_history(task.id, HistoryQuery(limit=4, before=before)).value
    )
    assert [len(p) for p in pages] == [4, 4, 4]
    seen = [e.seq for page in pages for e in page]
    about = seqs_about(service, lambda e: task.id in (e["data"].get("id"), e["data"].get("taskId")))
    assert seen == about  # newest first, each once, none skipped
    kinds = [e.type for page in pages for e in page]
    assert kinds[:4] == ["task:claimed", "task:updated", "task:updated", "session:task_added"]
    assert kinds[-1] == "task:created"
    # Stored bytes, as the feeds send them.
    with service.store.read() as rows:
        feed = {e.seq: e.payload for e in rows.read_events_after(0, 1000)}
    assert all(e.payload == feed[e.seq] for page in pages for e in page)


def test_a_page_says_next_only_when_older_events_exist(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    service.update_task(task.id, TaskPatch(title="again"))
    exact = service.task_history(task.id, HistoryQuery(limit=2)).value
    assert [e.type for e in exact.events] == ["task:updated", "task:created"]
    assert exact.next is None  # exactly two: nothing older
    first = service.task_history(task.id, HistoryQuery(limit=1)).value
    assert first.next == first.events[0].seq
    rest = service.task_history(task.id, HistoryQuery(limit=1, before=first.next)).value
    assert ([e.type for e in rest.events], rest.next) == (["task:created"], None)
    head = service.head()
    assert service.task_history(task.id, HistoryQuery(before=head + 100)).value.events
    assert service.task_history(task.id, HistoryQuery(before=1)).value == HistoryPage([], None)


def test_the_read_is_consistent_with_the_head_it_reports(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    result = service.task_history(task.id)
    assert result.seq == service.head() == result.value.events[0].seq


def test_activity_filters_by_session_and_by_agent(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    claude = service.create_session(
        SessionCreate(project_id=project_id, name="a", agent="claude-code")
    ).value
    also_claude = service.create_session(
        SessionCreate(project_id=project_id, name="b", agent="claude-code")
    ).value
    cursor = service.create_session(
        SessionCreate(project_id=project_id, name="c", agent="cursor")
    ).value
    service.add_session_note(claude.id, "one")
    service.add_session_note(cursor.id, "two")
    service.add_task_to_session(also_claude.id, task.id)
    grant = service.claim_task(task.id, ClaimRequest(session_id=cursor.id)).value
    # The holder moves the task it holds: its session's doing, its agent's too.
    moved = TaskPatch(status=TaskStatus.IN_REVIEW)
    service.update_task(task.id, moved, claim_token=grant.claim_token)
    service.release_task(task.id, ReleaseRequest(claim_token=grant.claim_token))
    service.update_task(task.id, TaskPatch(title="nobody holds it"))  # about no session

    def activity(**query: object) -> list[int]:
        pages = every_page(
            lambda before: (
                service.project_activity(
                    project_id, ActivityQuery(limit=3, before=before, **query)
                ).value
            )
        )
        return [e.seq for page in pages for e in page]

    def about(*session_ids: str) -> Callable[[dict[str, Any]], bool]:
        def keep(e: dict[str, Any]) -> bool:
            data = e["data"]
            own = e["event"].startswith("session:") and data.get("id") in session_ids
            held = e["event"] == "task:updated" and data["claim"] is not None
            return (
                own
                or data.get("sessionId") in session_ids
                or (held and data["claim"]["sessionId"] in session_ids)
            )

        return keep

    with service.store.read() as rows:
        everything = rows.read_events_after(0, 1000)
    assert activity() == [e.seq for e in reversed(everything) if e.project_id == project_id]
    assert activity(session_id=cursor.id) == seqs_about(service, about(cursor.id))
    with service.store.read() as rows:
        holders = {e.seq: e for e in rows.read_events_after(0, 1000) if e.type == "task:updated"}
    held = [holders[s] for s in activity(session_id=cursor.id) if s in holders]
    assert [json.loads(e.payload).get("changed") for e in held] == [
        ["status"],  # the holder's own change
        ["status", "sessionIds", "sessionCount", "claim", "startedAt"],  # the claim
    ]
    assert [s for s in activity(agent="cursor") if s in holders] == [e.seq for e in held]
    assert activity(agent="claude-code") == seqs_about(service, about(claude.id, also_claude.id))
    assert activity(agent="nobody") == []
    assert activity(session_id=cursor.id, agent="claude-code") == []


def test_another_projects_events_are_not_its_activity(service: Service, project_id: str) -> None:
    from maestro_mcp.core.models import ProjectCreate

    other = service.create_project(ProjectCreate(name="Other")).value
    new_task(service, other.id)
    session = new_session(service, other.id)
    page = service.project_activity(project_id, ActivityQuery(session_id=session.id)).value
    assert page == HistoryPage([], None)
    mine = service.project_activity(project_id).value
    assert [e.type for e in mine.events] == ["project:created"]


def test_unknown_ids_are_not_found_but_deleted_ones_keep_their_history(
    service: Service, project_id: str
) -> None:
    with pytest.raises(NotFound, match="task task_nope not found"):
        service.task_history("task_nope")
    with pytest.raises(NotFound, match="project proj_nope not found"):
        service.project_activity("proj_nope")
    task = new_task(service, project_id)
    service.delete_task(task.id)
    gone = service.task_history(task.id).value
    assert [e.type for e in gone.events] == ["task:deleted", "task:created"]
    service.delete_project(project_id)
    activity = service.project_activity(project_id).value
    assert activity.events[0].type == "project:deleted"


def test_a_page_is_bounded_in_bytes_and_the_next_goes_on(
    service: Service, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page holds about HISTORY_PAGE_BYTES of events (always one, however large), so
    large events cannot make one answer huge; the next page goes on after it."""
    monkeypatch.setattr(history_module, "HISTORY_PAGE_BYTES", 5000)
    task = new_task(service, project_id)
    for n in range(5):
        service.update_task(task.id, TaskPatch(prompt=f"{n}" * 3000))  # each carries it
    pages = every_page(
        lambda before: service.task_history(task.id, HistoryQuery(before=before)).value
    )
    assert [len(p) for p in pages] == [2, 2, 2]  # 2 x 3 KB reach 5,000 bytes
    assert [e.seq for p in pages for e in p] == seqs_about(service, lambda e: True)[:6]
    monkeypatch.setattr(history_module, "HISTORY_PAGE_BYTES", 10)
    assert [len(p) for p in every_page(
        lambda before: service.task_history(task.id, HistoryQuery(before=before)).value
    )] == [1] * 6  # fmt: skip


def test_pruned_events_leave_the_history_with_their_index_entries(
    service: Service, project_id: str
) -> None:
    task = new_task(service, project_id)
    session = new_session(service, project_id, task.id)
    for n in range(5):
        service.update_task(task.id, TaskPatch(title=f"take {n}"))
    head = service.head()
    deleted, _ = service.prune(keep_events=3)
    assert deleted == head - 3
    page = service.task_history(task.id, HistoryQuery(limit=10)).value
    assert [e.seq for e in page.events] == [head, head - 1, head - 2]
    assert page.next is None  # nothing older is retained
    # What the indexes find is what the table holds: no entry outlives its row.
    assert service.project_activity(project_id).value.events == page.events
    assert service.project_activity(project_id, ActivityQuery(session_id=session.id)).value == (
        HistoryPage([], None)
    )
    with service.store.read() as rows:
        assert [e.seq for e in rows.read_events_after(0, 100)] == [head - 2, head - 1, head]
    payloads = [json.loads(e.payload)["seq"] for e in page.events]
    assert payloads == [head, head - 1, head - 2]
