"""Every client command against a real server: the server's state, and both outputs."""

from typing import Any

from maestro_mcp.protocol import CLI_CLIENT
from tests.support.cli import Run, as_json
from tests.support.servers import LiveServer


def make_project(run: Run, name: str = "Web app") -> dict[str, Any]:
    created: dict[str, Any] = as_json(run("project", "create", name, "--json"))
    return created


def test_project_commands(run: Run, server: LiveServer) -> None:
    human = run("project", "create", "Web app", "--working-dir", "/tmp", "--description", "d")
    assert human.stdout.startswith("✓ Project created proj_")
    [created] = server.http.get("/api/projects").json()
    assert created["workingDir"] == "/tmp"

    listed = run("project", "list")
    assert "Web app" in listed.stdout
    assert created["id"] in listed.stdout
    assert as_json(run("project", "list", "--json")) == [created]

    shown = run("project", "get", "web APP")
    assert "description  d" in shown.stdout
    assert as_json(run("project", "get", created["id"], "--json")) == created

    updated = as_json(run("project", "update", "Web app", "--name", "Site", "--json"))
    assert updated["name"] == "Site"
    assert updated["version"] == 2
    assert run("project", "update", "Site", "--working-dir", "").stdout.startswith("✓")
    assert server.http.get(f"/api/projects/{created['id']}").json()["workingDir"] is None

    assert run("project", "delete", "Site", "--yes").stdout.startswith("✓ Project deleted")
    assert server.http.get("/api/projects").json() == []


def test_task_commands(run: Run, server: LiveServer) -> None:
    make_project(run)
    out = run("task", "create", "Implement login", "--priority", "high", "--prompt", "Use OAuth")
    assert out.stdout.startswith("✓ Task created task_")
    [task] = server.http.get("/api/tasks").json()
    assert (task["priority"], task["prompt"], task["status"]) == ("high", "Use OAuth", "pending")

    sub = as_json(
        run("task", "create", "Login form", "--parent", task["id"], "--status", "blocked", "--json")
    )
    assert sub["parentId"] == task["id"]

    table = run("task", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "STATUS", "PRIORITY", "SESSIONS", "TITLE"]
    assert "Implement login" in table[1]
    assert "└ Login form" in table[2]
    blocked = as_json(run("task", "list", "--status", "blocked", "--json"))
    assert [t["id"] for t in blocked] == [sub["id"]]
    assert [t["id"] for t in as_json(run("task", "list", "--query", "FORM", "--json"))] == [
        sub["id"]
    ]

    assert "prompt       Use OAuth" in run("task", "get", task["id"]).stdout
    updated = as_json(
        run(
            "task", "update", task["id"], "--status", "in_progress", "--title", "Login",
            "--description", "with OAuth", "--if-version", "1", "--json",
        )
    )  # fmt: skip
    assert (updated["status"], updated["title"], updated["version"]) == ("in_progress", "Login", 2)
    assert server.http.get(f"/api/tasks/{task['id']}").json()["description"] == "with OAuth"
    moved = as_json(run("task", "update", sub["id"], "--parent", "", "--json"))
    assert moved["parentId"] is None

    assert run("task", "delete", sub["id"]).stdout.startswith(f"✓ Task deleted {sub['id']}")
    assert [t["id"] for t in server.http.get("/api/tasks").json()] == [task["id"]]


def test_session_commands(run: Run, server: LiveServer) -> None:
    make_project(run)
    a = as_json(run("task", "create", "a", "--json"))
    b = as_json(run("task", "create", "b", "--json"))
    session = as_json(
        run(
            "session", "create", "login work", "--agent", "claude-code", "--task", a["id"], "--json"
        )
    )
    assert session["taskIds"] == [a["id"]]
    listed = run("session", "list").stdout
    assert "login work" in listed
    assert "claude-code" in listed

    added = run("session", "add-task", session["id"], b["id"])
    assert added.stdout.startswith(f"✓ Task {b['id']} added to session {session['id']}")
    again = as_json(run("session", "add-task", session["id"], b["id"], "--json"))
    assert again["changed"] is False
    assert server.http.get(f"/api/tasks/{b['id']}").json()["sessionCount"] == 1

    removed = as_json(run("session", "remove-task", session["id"], a["id"], "--json"))
    assert removed["session"]["taskIds"] == [b["id"]]

    assert run("session", "log", session["id"], "form done").stdout.startswith("✓ Note added")
    shown = run("session", "get", session["id"]).stdout
    assert "form done" in shown
    assert as_json(run("session", "get", session["id"], "--json"))["notes"][0]["message"] == (
        "form done"
    )

    updated = as_json(run("session", "update", session["id"], "--status", "working", "--json"))
    assert updated["status"] == "working"
    working = as_json(run("session", "list", "--status", "working", "--json"))
    assert [s["id"] for s in working] == [session["id"]]

    assert run("session", "delete", session["id"]).stdout.startswith("✓ Session deleted")
    assert server.http.get(f"/api/tasks/{b['id']}").json()["sessionCount"] == 0


def test_every_change_the_cli_makes_names_it_in_its_actor(run: Run, server: LiveServer) -> None:
    """The CLI names itself (X-Maestro-Client: cli): on a server without tokens its
    changes read local/cli, not the bare local of a curl or of the board."""
    project = make_project(run)
    task = as_json(run("task", "create", "a", "--json"))
    session = as_json(run("session", "create", "run", "--task", task["id"], "--json"))
    run("session", "log", session["id"], "on it")
    run("task", "update", task["id"], "--status", "in_review")
    page = server.http.get(f"/api/projects/{project['id']}/activity").json()
    assert len(page["events"]) == 7  # the session's creation linked the task: 2
    assert {e["actor"] for e in page["events"]} == {f"local/{CLI_CLIENT}"}


def test_status(run: Run) -> None:
    make_project(run)
    task = as_json(run("task", "create", "a", "--json"))
    run("task", "create", "b", "--status", "completed")
    run(
        "session",
        "create",
        "agent run",
        "--agent",
        "codex",
        "--status",
        "working",
        "--task",
        task["id"],
    )
    run("session", "create", "finished", "--status", "completed")
    report = as_json(run("status", "--json"))
    assert report["tasks"]["total"] == 2
    assert report["tasks"]["byStatus"]["pending"] == 1
    assert report["tasks"]["byStatus"]["completed"] == 1
    assert [s["name"] for s in report["activeSessions"]] == ["agent run"]
    human = run("status").stdout
    assert "2 tasks" in human
    assert "1 active session:" in human
    assert "codex" in human


def test_project_is_chosen_by_option_environment_or_uniqueness(run: Run) -> None:
    make_project(run, "One")
    run("task", "create", "only project")  # the only one: no need to name it
    make_project(run, "Two")
    ambiguous = run("task", "create", "which?", ok=False)
    assert ambiguous.exit_code == 4
    assert "--project" in ambiguous.stderr
    assert "One (proj_" in ambiguous.stderr
    run("task", "create", "in two", "--project", "two")
    run("task", "create", "also two", env={"MAESTRO_PROJECT": "Two"})
    titles = [t["title"] for t in as_json(run("task", "list", "--project", "Two", "--json"))]
    assert titles == ["in two", "also two"]
    missing = run("task", "list", "--project", "Three", ok=False)
    assert missing.exit_code == 3
