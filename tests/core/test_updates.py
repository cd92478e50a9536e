"""Every ``*:updated`` says what changed: its envelope's top-level ``changed`` names the
fields whose value differs from the version before (``version`` and ``updatedAt``
aside), whatever operation made it — a status, a title, a claim, a link, a session
touched, a deletion that takes a dependency or a link away (docs/protocol.md)."""

import itertools
import json
from typing import Any

import pytest

from maestro_mcp.core.models import (
    ClaimNextRequest,
    ClaimRequest,
    ProjectPatch,
    ReleaseRequest,
    SessionPatch,
    SessionStatus,
    TaskPatch,
    TaskStatus,
)
from maestro_mcp.core.service import Service
from tests.support.core import log_after, new_session, new_task


@pytest.fixture(autouse=True)
def ticking(service: Service) -> None:
    """Each write a second after the one before: a touched time always moves."""
    ticks = itertools.count(1_800_000_000_000, 1000)
    service.clock = lambda: next(ticks)


def updates(service: Service, after: int) -> list[tuple[str, str, list[str]]]:
    """(event, entity id, changed) of each *:updated after seq ``after``."""
    return [
        (e["event"], e["data"]["id"], e["changed"])
        for e in log_after(service, after)
        if e["event"].endswith(":updated")
    ]


def test_a_status_a_title_and_a_text_change_name_their_fields(
    service: Service, project_id: str
) -> None:
    task = new_task(service, project_id, prompt="p")
    head = service.head()
    service.update_task(task.id, TaskPatch(status=TaskStatus.IN_REVIEW))
    service.update_task(task.id, TaskPatch(title="Renamed", priority="high"))
    service.update_task(task.id, TaskPatch(prompt="better"))
    service.update_task(task.id, TaskPatch(status=TaskStatus.IN_PROGRESS))  # starts it
    assert updates(service, head) == [
        ("task:updated", task.id, ["status"]),
        ("task:updated", task.id, ["title", "priority"]),
        ("task:updated", task.id, ["prompt"]),
        ("task:updated", task.id, ["status", "startedAt"]),
    ]


def test_changed_sits_beside_data_and_omitted_stays_inside(
    service: Service, project_id: str
) -> None:
    task = new_task(service, project_id, description="d", prompt="p")
    head = service.head()
    service.update_task(task.id, TaskPatch(status=TaskStatus.BLOCKED))
    with service.store.read() as rows:
        [stored] = rows.read_events_after(head, 10)
    envelope: dict[str, Any] = json.loads(stored.payload)
    assert list(envelope) == ["seq", "event", "data", "changed", "timestamp", "actor"]
    assert envelope["changed"] == ["status"]
    assert envelope["data"]["omitted"] == ["description", "prompt"]
    assert "changed" not in envelope["data"]


def test_a_claim_and_its_release_say_what_they_changed(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    session = new_session(service, project_id)
    head = service.head()
    grant = service.claim_task(task.id, ClaimRequest(session_id=session.id)).value
    service.release_task(task.id, ReleaseRequest(claim_token=grant.claim_token))
    assert updates(service, head) == [
        ("session:updated", session.id, ["taskIds", "lastActivityAt"]),
        ("task:updated", task.id, ["status", "sessionIds", "sessionCount", "claim", "startedAt"]),
        ("task:updated", task.id, ["status", "claim", "startedAt"]),  # back to pending
    ]


def test_claim_next_says_what_each_claim_changed_of_the_session(
    service: Service, project_id: str
) -> None:
    """Each claim of claim-next links one more task: each session:updated names the links
    against the session as the claim before left it, not as it was before them all."""
    first, second = new_task(service, project_id), new_task(service, project_id)
    session = new_session(service, project_id)
    head = service.head()
    service.claim_next(session.id, ClaimNextRequest(count=2))
    sessions = [u for u in updates(service, head) if u[0] == "session:updated"]
    assert sessions[0][2] == ["taskIds", "lastActivityAt"]
    assert sessions[1][2] == ["taskIds"]  # the same write: the first claim moved its clock
    assert {first.id, second.id} == {u[1] for u in updates(service, head) if u[0] == "task:updated"}


def test_a_link_an_unlink_a_note_and_a_heartbeat(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    session = new_session(service, project_id)
    head = service.head()
    service.add_task_to_session(session.id, task.id)
    service.remove_task_from_session(session.id, task.id)
    service.add_session_note(session.id, "working")
    service.update_session(session.id, SessionPatch(status=SessionStatus.WORKING))
    changed = [(event, names) for event, _, names in updates(service, head)]
    assert changed == [
        ("session:updated", ["taskIds", "lastActivityAt"]),
        ("task:updated", ["sessionIds", "sessionCount"]),
        ("session:updated", ["taskIds", "lastActivityAt"]),
        ("task:updated", ["sessionIds", "sessionCount"]),
        ("session:updated", ["lastActivityAt"]),  # a note touches its session
        ("session:updated", ["status", "lastActivityAt"]),
    ]
    beat = service.head()
    service.heartbeat(session.id)
    assert updates(service, beat) == [("session:updated", session.id, ["lastActivityAt"])]


def test_deletions_say_what_they_took_away(service: Service, project_id: str) -> None:
    """What a deletion changes of the entities it touches: computed against them as they
    were before it (re-read after it, they would already lack what it took)."""
    base = new_task(service, project_id)
    dependent = new_task(service, project_id, depends_on=[base.id])
    session = new_session(service, project_id, base.id, dependent.id)
    head = service.head()
    service.delete_task(base.id)
    assert updates(service, head) == [
        ("session:updated", session.id, ["taskIds", "lastActivityAt"]),
        ("task:updated", dependent.id, ["dependsOn"]),
    ]
    head = service.head()
    service.delete_session(session.id)
    assert updates(service, head) == [
        ("task:updated", dependent.id, ["sessionIds", "sessionCount"]),
    ]


def test_a_session_created_with_tasks_and_a_project_renamed(
    service: Service, project_id: str
) -> None:
    task = new_task(service, project_id)
    head = service.head()
    new_session(service, project_id, task.id)
    service.update_project(project_id, ProjectPatch(name="Renamed", description="new"))
    assert updates(service, head) == [
        ("task:updated", task.id, ["sessionIds", "sessionCount"]),
        ("project:updated", project_id, ["name", "description"]),
    ]


def test_other_events_carry_no_changed(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    new_session(service, project_id, task.id)
    service.delete_task(task.id)
    for event in log_after(service, 0):
        assert ("changed" in event) == event["event"].endswith(":updated"), event
