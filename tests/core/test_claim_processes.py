"""Eight agent processes claim from 200 ready tasks at once: each task exactly once."""

import json
import subprocess
import sys
import textwrap

from maestro_mcp.core.models import ProjectCreate, SessionCreate, TaskCreate
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage.location import open_store

AGENTS = 8
TASKS = 200

AGENT = textwrap.dedent(
    """
    import json, sys
    from maestro_mcp.core.models import ClaimNextRequest
    from maestro_mcp.core.service import Service
    from maestro_mcp.core.storage.location import open_store

    database, session_id = sys.argv[1], sys.argv[2]
    service = Service(open_store(database))
    print("ready", flush=True)
    sys.stdin.readline()  # every agent starts its first claim at once
    first = service.claim_next(session_id, ClaimNextRequest(count=3)).value.claims
    taken = [g.task.id for g in first]
    print("first", flush=True)
    sys.stdin.readline()  # ... and races for the rest once all hold a first batch
    while True:
        grants = service.claim_next(session_id, ClaimNextRequest(count=3)).value.claims
        if not grants:
            break
        taken += [g.task.id for g in grants]
    print(json.dumps(taken))
    """
)


def test_concurrent_claim_next_gives_every_task_exactly_once(database: str) -> None:
    db = open_store(database)
    db.migrate()
    service = Service(db)
    project = service.create_project(ProjectCreate(name="swarm")).value.id
    all_tasks = {
        service.create_task(TaskCreate(project_id=project, title=f"t{i}")).value.id
        for i in range(TASKS)
    }
    sessions = [
        service.create_session(SessionCreate(project_id=project, name=f"agent {i}")).value.id
        for i in range(AGENTS)
    ]
    db.close()

    agents = [
        subprocess.Popen(
            [sys.executable, "-c", AGENT, database, session],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for session in sessions
    ]
    # Two barriers: a process's start-up time must not decide the race, and each
    # agent must take a first batch so the test proves all eight really competed.
    for phase in ("ready", "first"):
        for agent in agents:
            assert agent.stdout is not None
            assert agent.stdout.readline().strip() == phase
        for agent in agents:
            assert agent.stdin is not None
            agent.stdin.write("go\n")
            agent.stdin.flush()
    results = []
    for agent in agents:
        out, _ = agent.communicate(timeout=120)
        assert agent.returncode == 0
        results.append(json.loads(out))

    claimed = [task for taken in results for task in taken]
    assert len(claimed) == len(set(claimed)), "a task was claimed twice"
    assert set(claimed) == all_tasks, "a task was never claimed"
    assert all(len(taken) >= 3 for taken in results), "an agent got no first batch"
