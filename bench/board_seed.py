"""A project as a busy team's board holds it, made over REST for the board benchmark.

Tasks come in planning batches (``POST /api/tasks/batch``): features with sub-tasks,
some sub-tasks waiting on their previous sibling, labels and priorities mixed,
descriptions of a few hundred bytes, a prompt on some. Statuses are then set in
creation order, so a task is started or completed only once what it waits for is
completed, as the server requires. Sessions are agents' (names, agent hosts, every
status including ``needs_input``), each linked to some tasks and holding a few notes;
working sessions claim a task each. Everything is made from one seeded random
generator: every run seeds the same board.

Which tasks the live writer may change is part of the answer: tasks that wait on
nothing and that no session has claimed, so that every status it sets is allowed.
"""

import random
from dataclasses import dataclass

import httpx2 as httpx

from maestro_mcp.core.vocabulary import TASKS_PER_BATCH_MAX, SessionStatus, TaskStatus

SEED = 14  # issue #14: the same board on every run

LABELS = ["backend", "frontend", "api", "db", "infra", "docs", "tests", "security", "ux", "perf"]
PRIORITIES = ["low", "medium", "medium", "high", "high", "urgent"]
AGENTS = ["claude-code", "codex", "cursor", "gemini-cli", "copilot"]
AREAS = ["checkout", "search", "billing", "auth", "notifications", "reports", "onboarding"]
VERBS = ["Add", "Fix", "Refactor", "Test", "Document", "Migrate", "Speed up", "Review"]
THINGS = [
    "the payment webhook",
    "token refresh",
    "the orders table",
    "rate limiting",
    "the export job",
    "email templates",
    "the settings page",
    "audit logging",
    "the search index",
    "retry handling",
]
SENTENCES = [
    "The current behaviour breaks when two requests arrive within the same second.",
    "Keep the public API unchanged; internal callers may move to the new helper.",
    "Measure before and after on the staging data set and note the figures here.",
    "Edge cases: empty input, a deleted owner, and a clock that goes backwards.",
    "The fix must hold under concurrent writers, so add a test that races two of them.",
    "Logs must not contain tokens or personal data; mask them at the formatter.",
    "Coordinate with the session working on the schema before changing any column.",
    "Write the migration so it can run online, in batches, without locking the table.",
]
# How a team's tasks spread over statuses (weights), set after creation.
STATUS_WEIGHTS = {
    TaskStatus.PENDING: 40,
    TaskStatus.IN_PROGRESS: 15,
    TaskStatus.IN_REVIEW: 10,
    TaskStatus.BLOCKED: 5,
    TaskStatus.COMPLETED: 25,
    TaskStatus.CANCELLED: 5,
}
# Statuses a task may take only once every task it waits for is completed (the server's rule).
NEEDS_DEPENDENCIES = {TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED}
SESSION_STATUSES = [
    SessionStatus.WORKING,
    SessionStatus.WORKING,
    SessionStatus.NEEDS_INPUT,
    SessionStatus.IDLE,
    SessionStatus.COMPLETED,
    SessionStatus.FAILED,
    SessionStatus.STOPPED,
]
CHILDREN = 3  # sub-tasks per feature
LEASE_S = 3600  # claims outlive any run: no expiry event lands inside a measurement


@dataclass
class Seeded:
    project_id: str
    task_ids: list[str]
    session_ids: list[str]
    writable: list[str]  # tasks the live writer may set to any status
    statuses: dict[str, str]  # each writable task's status, as seeded


def description(rng: random.Random) -> str:
    """A few hundred bytes of prose."""
    return " ".join(rng.sample(SENTENCES, rng.randint(3, 6)))


def title(rng: random.Random, n: int) -> str:
    return f"{rng.choice(VERBS)} {rng.choice(THINGS)} in {rng.choice(AREAS)} (#{n})"


def drafts(rng: random.Random, start: int, count: int) -> list[dict[str, object]]:
    """One planning batch: features, each followed by its sub-tasks; a sub-task waits on
    its previous sibling one time in three."""
    batch: list[dict[str, object]] = []
    parent = ""
    for n in range(start, start + count):
        draft: dict[str, object] = {
            "ref": f"t{n}",
            "title": title(rng, n),
            "description": description(rng),
            "priority": rng.choice(PRIORITIES),
            "labels": rng.sample(LABELS, rng.randint(1, 3)),
        }
        if rng.random() < 0.3:
            draft["prompt"] = "Follow the repository's conventions. " + description(rng)
        position = (n - start) % (CHILDREN + 1)
        if position == 0:
            parent = f"t{n}"
        else:
            draft["parentId"] = parent
            if position > 1 and rng.random() < 1 / 3:
                draft["dependsOn"] = [f"t{n - 1}"]
        batch.append(draft)
    return batch


async def seed(http: httpx.AsyncClient, tasks: int, sessions: int) -> Seeded:
    """Make the project on the server ``http`` talks to; raises on any refused request."""
    rng = random.Random(SEED)

    async def send(method: str, path: str, body: object) -> dict[str, object]:
        response = await http.request(method, path, json=body)
        assert response.status_code < 300, (path, response.status_code, response.text)
        answer: dict[str, object] = response.json()
        return answer

    project = await send("POST", "/api/projects", {"name": "checkout-service"})
    project_id = str(project["id"])
    made: list[dict[str, object]] = []
    for start in range(0, tasks, TASKS_PER_BATCH_MAX):
        count = min(TASKS_PER_BATCH_MAX, tasks - start)
        body = {"projectId": project_id, "tasks": drafts(rng, start, count)}
        created = await send("POST", "/api/tasks/batch", body)
        made += created["tasks"]  # type: ignore[arg-type]

    # Statuses in creation order: what a task waits for was created, and set, before it.
    status: dict[str, TaskStatus] = {}
    for task in made:
        task_id = str(task["id"])
        chosen = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        waits = task["dependsOn"]
        assert isinstance(waits, list)
        if chosen in NEEDS_DEPENDENCIES and any(
            status[d] is not TaskStatus.COMPLETED for d in waits
        ):
            chosen = TaskStatus.BLOCKED
        status[task_id] = chosen
        if chosen is not TaskStatus.PENDING:
            await send("PATCH", f"/api/tasks/{task_id}", {"status": chosen.value})

    task_ids = [str(t["id"]) for t in made]
    waiting = {str(t["id"]) for t in made if t["dependsOn"]}
    ready = [t for t in task_ids if status[t] is TaskStatus.PENDING and t not in waiting]
    claimed: set[str] = set()
    session_ids: list[str] = []
    for n in range(sessions):
        linked = rng.sample(task_ids, rng.randint(3, 12))
        session = await send(
            "POST",
            "/api/sessions",
            {
                "projectId": project_id,
                "name": f"{rng.choice(AREAS)}: {rng.choice(THINGS)} ({n})",
                "agent": rng.choice(AGENTS),
                "taskIds": linked,
            },
        )
        session_id = str(session["id"])
        session_ids.append(session_id)
        for note in range(rng.randint(2, 4)):
            message = f"Step {note + 1}: " + rng.choice(SENTENCES)
            await send("POST", f"/api/sessions/{session_id}/notes", {"message": message})
        session_status = SESSION_STATUSES[n % len(SESSION_STATUSES)]
        if session_status is SessionStatus.WORKING and ready:
            task_id = ready.pop(rng.randrange(len(ready)))
            claim = {"sessionId": session_id, "leaseSeconds": LEASE_S}
            await send("POST", f"/api/tasks/{task_id}/claim", claim)
            claimed.add(task_id)
            status[task_id] = TaskStatus.IN_PROGRESS
        if session_status is not SessionStatus.IDLE:  # idle: as created
            await send("PATCH", f"/api/sessions/{session_id}", {"status": session_status.value})

    writable = [t for t in task_ids if t not in waiting and t not in claimed]
    return Seeded(
        project_id=project_id,
        task_ids=task_ids,
        session_ids=session_ids,
        writable=writable,
        statuses={t: status[t].value for t in writable},
    )
