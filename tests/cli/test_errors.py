"""Each kind of failure has its own message, hint and exit code."""

import json
import subprocess

from maestro_mcp.cli.errors import Exit
from tests.support.cli import Run, as_json
from tests.support.servers import free_port, maestro_command
from tests.support.waiting import WAIT


def test_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        maestro_command("task", "list", "--url", url),
        capture_output=True,
        text=True,
        timeout=WAIT * 3,
    )
    assert result.returncode == Exit.UNREACHABLE
    assert f"cannot reach the Maestro server at {url}" in result.stderr
    assert "start it with `maestro serve`" in result.stderr
    as_script = subprocess.run(
        maestro_command("project", "list", "--url", url, "--json"),
        capture_output=True,
        text=True,
        timeout=WAIT * 3,
    )
    assert as_script.returncode == 6
    assert json.loads(as_script.stderr)["error"]["code"] == "unreachable"
    assert as_script.stdout == ""


def test_unknown_id(run: Run) -> None:
    result = run("task", "get", "task_nope", ok=False)
    assert result.exit_code == Exit.NOT_FOUND
    assert "task task_nope not found" in result.stderr
    scripted = run("session", "delete", "sess_nope", "--json", ok=False)
    assert scripted.exit_code == 3
    assert json.loads(scripted.stderr)["error"]["code"] == "not_found"


def test_invalid_status_and_invalid_input(run: Run) -> None:
    run("project", "create", "p")
    bad_choice = run("task", "create", "t", "--status", "done-ish", ok=False)
    assert bad_choice.exit_code == Exit.USAGE
    assert "'done-ish' is not one of 'pending'" in bad_choice.stderr
    too_long = run("task", "create", "x" * 501, ok=False)
    assert too_long.exit_code == Exit.INVALID
    assert "title" in too_long.stderr
    nothing = run("task", "update", "task_x", ok=False)
    assert nothing.exit_code == 2
    assert "say what to change" in nothing.stderr


def test_version_conflict(run: Run) -> None:
    run("project", "create", "p")
    task = as_json(run("task", "create", "t", "--json"))
    run("task", "update", task["id"], "--title", "a human's edit")
    stale = run(
        "task", "update", task["id"], "--status", "completed", "--if-version", "1", ok=False
    )
    assert stale.exit_code == Exit.CONFLICT
    assert "is at version 2, not 1" in stale.stderr
    assert "retry with --if-version 2" in stale.stderr
    assert as_json(run("task", "get", task["id"], "--json"))["status"] == "pending"
