"""``maestro reservations``: which files the sessions hold, with their holders' names, and
a person's release of one."""

from typing import Any

from tests.support.cli import Run, as_json
from tests.support.servers import LiveServer


def reserve(server: LiveServer, session_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    made = server.http.post(f"/api/sessions/{session_id}/reservations", json=body)
    assert made.status_code == 201, made.text
    held: list[dict[str, Any]] = made.json()
    return held


def test_list_and_release(run: Run, server: LiveServer) -> None:
    run("project", "create", "Web app")
    api = as_json(run("session", "create", "api work", "--agent", "claude-code", "--json"))
    docs = as_json(run("session", "create", "docs", "--json"))
    task = as_json(run("task", "create", "Routes", "--json"))
    # Files tied to a task are tied to the session's claim on it.
    claimed = server.http.post(f"/api/tasks/{task['id']}/claim", json={"sessionId": api["id"]})
    assert claimed.status_code == 200, claimed.text
    [held] = reserve(server, api["id"], {"paths": ["src/api/**"], "taskId": task["id"]})
    reserve(server, docs["id"], {"paths": ["docs/*.md", "README.md"], "shared": True})

    listed = run("reservations").stdout  # list is the default
    assert listed == run("reservations", "list").stdout
    header, first, second, third = listed.splitlines()
    assert header.split() == ["ID", "PATTERN", "MODE", "SESSION", "TASK", "UNTIL"]
    assert first.split()[:3] == [held["id"], "src/api/**", "exclusive"]
    assert f"“api work” (claude-code, {api['id']})  {task['id']}  20" in first  # until: a date
    assert f"“docs” ({docs['id']})" in second
    assert "shared" in second
    assert "README.md" in third

    mine = as_json(run("reservations", "--session", docs["id"], "--json"))
    assert [(r["pattern"], r["exclusive"]) for r in mine] == [
        ("docs/*.md", False),
        ("README.md", False),
    ]
    assert (
        as_json(run("reservations", "list", "--json"))
        == server.http.get("/api/reservations", params={"projectId": api["projectId"]}).json()
    )

    released = run("reservations", "release", held["id"])
    assert released.stdout.strip() == (
        f"✓ Reservation released {held['id']}: src/api/** (exclusive), held by "
        f"“api work” (claude-code, {api['id']})"
    )
    [event] = server.http.get(
        f"/api/projects/{api['projectId']}/activity", params={"limit": 1}
    ).json()["events"]
    assert event["event"] == "reservation:released"
    assert (event["data"]["reason"], event["actor"]) == ("override", "local/cli")
    assert [r["pattern"] for r in as_json(run("reservations", "--json"))] == [
        "docs/*.md",
        "README.md",
    ]
    again = run("reservations", "release", held["id"], ok=False)
    assert again.exit_code == 3
    assert f"reservation {held['id']} not found" in again.stderr


def test_nothing_reserved_and_a_project_to_name(run: Run) -> None:
    run("project", "create", "One")
    empty = run("reservations")
    assert empty.stdout == ""
    assert empty.stderr.strip() == "(none)"
    run("project", "create", "Two")
    which = run("reservations", ok=False)
    assert which.exit_code == 4
    assert "say which project with --project or MAESTRO_PROJECT" in which.stderr
    assert as_json(run("reservations", "--project", "Two", "--json")) == []


def test_a_word_that_is_no_command_is_said_so(run: Run) -> None:
    """``list`` is the default for options, not for a mistyped command."""
    typo = run("reservations", "relase", "resv_1", ok=False)
    assert typo.exit_code == 2
    assert "No such command 'relase'" in typo.stderr
