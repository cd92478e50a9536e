"""Building records on the core service, reading its event log, and writing the
database as another process would, for the tests (and the benchmark's data)."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from maestro_mcp.core.access import Scope
from maestro_mcp.core.group_commit import GroupCommit
from maestro_mcp.core.models import (
    HUMANS,
    ClaimRequest,
    MessageSend,
    MessagesRead,
    ProjectCreate,
    ProjectPatch,
    QuestionAnswer,
    QuestionAsk,
    ReleaseRequest,
    ReservationRelease,
    ReservationRequest,
    Session,
    SessionCreate,
    SessionPatch,
    SessionReport,
    Task,
    TaskCreate,
    TaskPatch,
    TokenCreate,
)
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.service import Service
from maestro_mcp.core.vocabulary import LEASE_MAX_S, SessionStatus, TaskPriority, TaskStatus
from maestro_mcp.settings import Settings


class Clock:
    """A clock a test moves itself: epoch milliseconds, from a fixed start (the ``clock``
    fixture of tests/core puts one in the service)."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


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
                await core.write(partial(write, core.service), actor="tester")

    asyncio.run(run())


@dataclass(frozen=True)
class Filled:
    """What ``fill_every_kind`` made: the ids to look things up by, and a create that was
    sent with an idempotency key (retry it to see it replayed)."""

    project_ids: list[str]
    task_ids: list[str]  # in creation order
    session_ids: list[str]
    claimed_task_id: str  # held by a live claim with the longest lease
    retry_key: str
    retry_body: dict[str, Any]  # the POST /api/tasks body sent with ``retry_key``
    message_ids: list[str]  # a thread: an agent's message to the humans, a person's reply
    question_ids: list[str]  # one answered (and delivered), one open with a deadline
    reservation_ids: list[str]  # one shared, one exclusive taken with the claim


def fill_every_kind(service: Service) -> Filled:
    """Rows of every kind a database holds, made through the service: projects; tasks with
    a parent (one moved under a task made after it), labels (one not ASCII), dependencies,
    started and completed times; sessions with links and notes; a live claim and one that
    ended; a message from an agent to the humans (read and acknowledged) and a person's
    reply to it (unread); a question answered and delivered to its agent, and one open
    with choices, free text, a deadline and a default; a shared file reservation and an
    exclusive one taken with the live claim; idempotency records; and the events of all
    of it."""
    web = service.create_project(
        ProjectCreate(name="Web app", working_dir="/src/web", description="The shop")
    ).value
    ops = service.create_project(ProjectCreate(name="Ops")).value
    plan = new_task(
        service,
        web.id,
        "Plan the release",
        description="What goes out",
        prompt="Read the changelog",
        priority=TaskPriority.HIGH,
        labels=["planning", "été"],
    )
    build = new_task(service, web.id, "Build", parent_id=plan.id, labels=["backend"])
    check = new_task(service, web.id, "Test", depends_on=[build.id, plan.id])
    notes = new_task(service, web.id, "Write the release notes")
    docs = new_task(service, web.id, "Docs")
    # Moved under a task made after it: a parent that comes later in creation order.
    service.update_task(notes.id, TaskPatch(parent_id=docs.id))
    service.update_task(build.id, TaskPatch(status=TaskStatus.IN_PROGRESS))
    keys = new_task(service, ops.id, "Rotate keys")
    service.update_task(keys.id, TaskPatch(status=TaskStatus.COMPLETED))
    agent = service.create_session(
        SessionCreate(
            project_id=web.id, name="agent run", agent="claude-code", task_ids=[build.id, check.id]
        )
    ).value
    person = new_session(service, ops.id, keys.id, name="on call")
    service.update_session(person.id, SessionPatch(status=SessionStatus.COMPLETED))
    service.add_task_to_session(agent.id, notes.id, idempotency_key="link-notes")
    service.add_session_note(agent.id, "started on the build", idempotency_key="note-1")
    service.add_session_note(agent.id, "tests next")
    ended = service.claim_task(docs.id, ClaimRequest(session_id=agent.id)).value
    service.release_task(docs.id, ReleaseRequest(claim_token=ended.claim_token))
    sent = service.send_message(
        MessageSend(from_session_id=agent.id, to=[HUMANS], subject="CI", body="The build is *red*.")
    ).value
    reply = service.send_message(
        MessageSend(project_id=web.id, reply_to=sent.id, body="Looking — café first."),
        idempotency_key="reply-1",
    ).value
    service.mark_read(MessagesRead(recipient=HUMANS, message_ids=[sent.id], ack=True))
    answered = service.ask(
        agent.id, QuestionAsk(text="Release on Friday?", choices=["yes", "no"], task_id=plan.id)
    ).value
    service.answer(answered.id, QuestionAnswer(answer="no"))
    service.report(agent.id, SessionReport())  # the answer is delivered to the agent
    waiting = service.ask(
        agent.id,
        QuestionAsk(
            text="Which branch?",
            choices=["main", "next"],
            allow_text=True,
            timeout_seconds=3600,
            default="main",
        ),
    ).value
    shared = service.reserve(agent.id, ReservationRequest(paths=["CHANGELOG.md"], shared=True))
    request = ClaimRequest(session_id=agent.id, lease_seconds=LEASE_MAX_S, paths=["src/release/"])
    service.claim_task(plan.id, request, idempotency_key="claim-plan")
    with service.store.read() as rows:
        [exclusive] = rows.list_reservations(task_id=plan.id)
    retry_body = {"projectId": web.id, "title": "Made once"}
    once = service.create_task(
        TaskCreate(project_id=web.id, title="Made once"), idempotency_key="create-once"
    ).value
    return Filled(
        project_ids=[web.id, ops.id],
        task_ids=[plan.id, build.id, check.id, notes.id, docs.id, keys.id, once.id],
        session_ids=[agent.id, person.id],
        claimed_task_id=plan.id,
        retry_key="create-once",
        retry_body=retry_body,
        message_ids=[sent.id, reply.id],
        question_ids=[answered.id, waiting.id],
        reservation_ids=[shared.value[0].id, exclusive.id],
    )


def make_every_event(service: Service) -> Filled:
    """``fill_every_kind``, then the changes it does not make, so that the log holds an
    event of every type: a project renamed, a task unlinked, messages sent and read,
    questions asked, answered and cancelled, files reserved (with a claim too),
    renewed and released, a heartbeat, a task with a dependent deleted, a session
    deleted, a token made and revoked, a project deleted."""
    filled = fill_every_kind(service)
    web, ops = filled.project_ids
    _, build, check, notes, _, _, _ = filled.task_ids
    agent, person = filled.session_ids
    service.update_project(web, ProjectPatch(description="The shop, v2"))
    service.remove_task_from_session(agent, notes)
    sent = service.send_message(
        MessageSend(from_session_id=agent, to=[HUMANS], subject="Build", body="It is *red*.")
    ).value
    service.send_message(MessageSend(project_id=web, reply_to=sent.id, body="Looking."))
    service.mark_read(MessagesRead(recipient=HUMANS, message_ids=[sent.id], ack=True))
    asked = service.ask(agent, QuestionAsk(text="Ship it?", choices=["yes", "no"], task_id=check))
    service.answer(asked.value.id, QuestionAnswer(answer="yes"))
    service.reserve(agent, ReservationRequest(paths=["src/**"], shared=True))
    helper = new_session(service, web, name="helper")
    service.ask(helper.id, QuestionAsk(text="Which branch?"))
    service.reserve(helper.id, ReservationRequest(paths=["docs/"]))
    service.reserve(agent, ReservationRequest(paths=["src/**"]))  # now exclusive: updated
    service.heartbeat(agent)  # renews it (and the claim)
    service.release_reservations(agent, ReservationRelease(paths=["src/**"]))
    service.delete_task(build)  # check depended on it: it gets a task:updated
    service.delete_session(person)
    service.update_session(helper.id, SessionPatch(status=SessionStatus.STOPPED))
    service.create_token(TokenCreate(name="ci-bot", scope=Scope.WRITE))
    service.revoke_token("ci-bot")
    service.delete_project(ops)
    return filled


def told_group_commit(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """What each write from now on that names what it reads tells group commit (the
    core's own chores, which name nothing, are left out)."""
    told: list[tuple[str, ...]] = []
    run = GroupCommit.run

    async def telling(
        self: GroupCommit, operation: Callable[[], Any], *, reads: tuple[str, ...] = ()
    ) -> Any:
        if reads:
            told.append(reads)
        return await run(self, operation, reads=reads)

    monkeypatch.setattr(GroupCommit, "run", telling)
    return told
