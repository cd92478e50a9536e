"""``maestro task history`` against a real server: one line per event, newest first, with
when, who, the event and what it changed; pages with --before; the page as JSON."""

from typing import Any

from maestro_mcp.cli.errors import Exit
from maestro_mcp.protocol import AUTHORIZATION_HEADER, CLI_CLIENT, TOKENS_PATH, bearer
from tests.support.cli import Run, as_json
from tests.support.servers import LiveServer


def a_task(run: Run) -> dict[str, Any]:
    run("project", "create", "Web app")
    task: dict[str, Any] = as_json(run("task", "create", "Implement login", "--json"))
    return task


def test_each_event_is_a_line_newest_first_saying_what_changed(run: Run) -> None:
    task = a_task(run)
    run("task", "update", task["id"], "--status", "in_review")
    run("task", "update", task["id"], "--title", "Implement the login form", "--priority", "high")
    lines = run("task", "history", task["id"]).stdout.splitlines()
    assert lines[0].split() == ["TIME", "ACTOR", "EVENT", "WHAT"]
    events = [line.split()[2:4] for line in lines[1:]]  # after the date and the time
    assert [e[1] for e in events] == ["task:updated", "task:updated", "task:created"]
    assert "title → “Implement the login form”, priority → high" in lines[1]
    assert "status → in_review" in lines[2]
    assert "pending  Implement login" in lines[3]
    # A server without tokens, and the CLI names itself: local/cli.
    assert all(line.split()[2] == f"local/{CLI_CLIENT}" for line in lines[1:])
    assert task["id"] not in "".join(lines[1:])  # the task looked at is not named again


def test_a_change_made_with_a_named_token_shows_its_actor(run: Run, server: LiveServer) -> None:
    task = a_task(run)
    admin = server.http.post(TOKENS_PATH, json={"name": "lead", "scope": "admin"}).json()
    made = server.http.post(
        TOKENS_PATH,
        json={"name": "ci-bot", "scope": "write"},
        headers={AUTHORIZATION_HEADER: bearer(admin["secret"])},
    ).json()
    env = {"MAESTRO_TOKEN": made["secret"]}
    run("task", "update", task["id"], "--status", "blocked", env=env)
    newest = run("task", "history", task["id"], "--limit", "1", env=env).stdout.splitlines()[1]
    assert newest.split()[2:4] == [f"ci-bot/{CLI_CLIENT}", "task:updated"]
    assert newest.endswith("status → blocked")


def test_limit_before_and_json_page_through_the_history(run: Run) -> None:
    task = a_task(run)
    for status in ("in_progress", "blocked", "pending"):
        run("task", "update", task["id"], "--status", status)
    first = run("task", "history", task["id"], "--limit", "3")
    page = as_json(run("task", "history", task["id"], "--limit", "3", "--json"))
    assert [e["event"] for e in page["events"]] == ["task:updated"] * 3
    assert [e["changed"] for e in page["events"]] == [
        ["status", "startedAt"],  # back to pending clears it
        ["status"],
        ["status", "startedAt"],
    ]
    assert page["next"] == page["events"][-1]["seq"]
    assert f"--before {page['next']}" in first.stdout.splitlines()[-1]
    rest = as_json(run("task", "history", task["id"], "--before", str(page["next"]), "--json"))
    assert [e["event"] for e in rest["events"]] == ["task:created"]
    assert rest["next"] is None
    last = run("task", "history", task["id"], "--before", str(page["next"]))
    assert "older events" not in last.stdout


def test_an_unknown_task_is_not_found(run: Run) -> None:
    a_task(run)
    missing = run("task", "history", "task_nope", ok=False)
    assert missing.exit_code == Exit.NOT_FOUND
    assert "task task_nope not found" in missing.stderr
    assert run("task", "history", "x", "--limit", "0", ok=False).exit_code == Exit.USAGE
