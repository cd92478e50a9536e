"""``maestro session …``"""

from typing import Any

import click

from .context import Cli, client_command
from .params import LEASE_SECONDS, NOTES_COUNT, SESSION_STATUS, SESSION_STATUS_DEFAULT
from .show import SESSION_COLUMNS, session_fields, session_row, when


@click.group()
def session() -> None:
    """Agents' working sessions: create, list, show, change, link tasks, log progress."""


@session.command()
@click.argument("name")
@click.option("--agent", help="Which agent, e.g. claude-code.")
@click.option("--status", type=SESSION_STATUS, default=SESSION_STATUS_DEFAULT, show_default=True)
@click.option("--task", "task_ids", multiple=True, help="A task to link; repeatable.")
@client_command
def create(cli: Cli, name: str, agent: str | None, status: str, task_ids: tuple[str, ...]) -> None:
    """Create a session in the project, optionally on tasks.

    \b
    Example:
      maestro session create "login work" --agent claude-code --task task_1a2b3c4d
    """
    body = {
        "projectId": cli.project()["id"],
        "name": name,
        "agent": agent,
        "status": status,
        "taskIds": list(task_ids),
    }
    created = cli.client.request("POST", "/api/sessions", json=body).body
    cli.printer.done(f"Session created {created['id']} ({created['name']})", created)


@session.command("list")
@click.option("--status", type=SESSION_STATUS, help="Only sessions with this status.")
@click.option("--task", "task_id", help="Only sessions holding this task id.")
@client_command
def list_(cli: Cli, status: str | None, task_id: str | None) -> None:
    """List the project's sessions.

    \b
    Example:
      maestro session list --status working
    """
    params = {"projectId": cli.project()["id"], "status": status, "taskId": task_id}
    sessions = cli.client.get("/api/sessions", **params).body
    cli.printer.table(SESSION_COLUMNS, [session_row(s) for s in sessions], sessions)


@session.command()
@click.argument("session_id")
@click.option(
    "--notes",
    type=NOTES_COUNT,
    default=10,
    show_default=True,
    help="How many of the latest progress notes to show.",
)
@client_command
def get(cli: Cli, session_id: str, notes: int) -> None:
    """Show a session and its latest progress notes.

    \b
    Example:
      maestro session get sess_1a2b3c4d --notes 20
    """
    found = cli.client.get(f"/api/sessions/{session_id}").body
    log = cli.client.get(f"/api/sessions/{session_id}/notes", limit=notes).body if notes else []
    if cli.printer.json_mode:
        cli.printer.data({**found, "notes": log})
        return
    cli.printer.record(session_fields(found), found)
    for note in log:
        cli.printer.line(f"  {when(note['createdAt'])}  {note['message']}")


@session.command()
@click.argument("session_id")
@click.option("--name")
@click.option("--agent")
@click.option("--status", type=SESSION_STATUS)
@click.option("--if-version", type=int, help="Fail unless the session is still at this version.")
@client_command
def update(
    cli: Cli,
    session_id: str,
    name: str | None,
    agent: str | None,
    status: str | None,
    if_version: int | None,
) -> None:
    """Change a session's name, agent or status.

    \b
    Example:
      maestro session update sess_1a2b3c4d --status completed
    """
    body: dict[str, Any] = {
        k: v for k, v in {"name": name, "agent": agent, "status": status}.items() if v is not None
    }
    if not body:
        raise click.UsageError("say what to change, e.g. --status completed")
    updated = cli.client.request(
        "PATCH", f"/api/sessions/{session_id}", json=body, if_version=if_version
    ).body
    cli.printer.done(f"Session updated {updated['id']} (version {updated['version']})", updated)


@session.command()
@click.argument("session_id")
@click.option("--if-version", type=int, help="Fail unless the session is still at this version.")
@client_command
def delete(cli: Cli, session_id: str, if_version: int | None) -> None:
    """Delete (close) a session; its tasks stay.

    \b
    Example:
      maestro session delete sess_1a2b3c4d
    """
    deleted = cli.client.request(
        "DELETE", f"/api/sessions/{session_id}", if_version=if_version
    ).body
    cli.printer.done(f"Session deleted {session_id}", deleted or {"id": session_id})


@session.command("add-task")
@click.argument("session_id")
@click.argument("task_id")
@client_command
def add_task(cli: Cli, session_id: str, task_id: str) -> None:
    """Link a task to a session.

    \b
    Example:
      maestro session add-task sess_1a2b3c4d task_5e6f7a8b
    """
    link = cli.client.request("POST", f"/api/sessions/{session_id}/tasks/{task_id}").body
    verb = "added to" if link["changed"] else "was already in"
    cli.printer.done(f"Task {task_id} {verb} session {session_id}", link)


@session.command("remove-task")
@click.argument("session_id")
@click.argument("task_id")
@client_command
def remove_task(cli: Cli, session_id: str, task_id: str) -> None:
    """Unlink a task from a session.

    \b
    Example:
      maestro session remove-task sess_1a2b3c4d task_5e6f7a8b
    """
    link = cli.client.request("DELETE", f"/api/sessions/{session_id}/tasks/{task_id}").body
    verb = "removed from" if link is None or link["changed"] else "was not in"
    cli.printer.done(f"Task {task_id} {verb} session {session_id}", link)


@session.command()
@click.argument("session_id")
@click.argument("message")
@client_command
def log(cli: Cli, session_id: str, message: str) -> None:
    """Append a progress note to a session's log.

    \b
    Example:
      maestro session log sess_1a2b3c4d "Login form done, tests next"
    """
    note = cli.client.request(
        "POST", f"/api/sessions/{session_id}/notes", json={"message": message}
    ).body
    cli.printer.done(f"Note added to {session_id}", note)


@session.command()
@click.argument("session_id")
@click.option("--lease", type=LEASE_SECONDS, help="New lease in seconds for its claims.")
@client_command
def heartbeat(cli: Cli, session_id: str, lease: int | None) -> None:
    """Tell the server the session is alive: renews the leases of its claims.

    \b
    Example:
      maestro session heartbeat sess_1a2b3c4d
    """
    body = {"leaseSeconds": lease} if lease else {}
    beat = cli.client.request("POST", f"/api/sessions/{session_id}/heartbeat", json=body).body
    renewed = beat["renewed"]
    cli.printer.done(
        f"Heartbeat: {len(renewed)} claim{'s' if len(renewed) != 1 else ''} renewed", beat
    )
