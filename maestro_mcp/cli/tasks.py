"""``maestro task …``"""

from typing import Any, TextIO

import click
from rich.text import Text

from maestro_mcp.core.vocabulary import DEFAULT_LEASE_S, HISTORY_LIMIT_DEFAULT
from maestro_mcp.protocol import CLAIM_TOKEN_HEADER, OVERRIDE_HEADER, TRUE

from .context import Cli, client_command
from .errors import CliError
from .params import (
    CLAIM_COUNT,
    HISTORY_LIMIT,
    LEASE_SECONDS,
    LIST_LIMIT,
    SEQ,
    TASK_PRIORITY,
    TASK_PRIORITY_DEFAULT,
    TASK_STATUS,
    TASK_STATUS_DEFAULT,
)
from .plan import read_plan
from .show import TASK_COLUMNS, event_summary, task_fields, task_rows, when


@click.group()
def task() -> None:
    """Create, list, show, change and delete tasks."""


@task.command()
@click.argument("title")
@click.option("--description", default="", help="What it is about.")
@click.option("--prompt", default="", help="Instructions for the agent doing it.")
@click.option("--priority", type=TASK_PRIORITY, default=TASK_PRIORITY_DEFAULT, show_default=True)
@click.option("--status", type=TASK_STATUS, default=TASK_STATUS_DEFAULT, show_default=True)
@click.option("--parent", help="Make it a sub-task of this task id.")
@click.option(
    "--depends-on",
    "depends_on",
    multiple=True,
    help="A task that must be completed first; repeatable.",
)
@click.option("--label", "labels", multiple=True, help="A label; repeatable.")
@client_command
def create(
    cli: Cli,
    title: str,
    description: str,
    prompt: str,
    priority: str,
    status: str,
    parent: str | None,
    depends_on: tuple[str, ...],
    labels: tuple[str, ...],
) -> None:
    """Create a task in the project.

    \b
    Example:
      maestro task create "Implement login" --priority high
    """
    body = {
        "projectId": cli.project()["id"],
        "title": title,
        "description": description,
        "prompt": prompt,
        "priority": priority,
        "status": status,
        "parentId": parent,
        "dependsOn": list(depends_on),
        "labels": list(labels),
    }
    created = cli.client.request("POST", "/api/tasks", json=body).body
    cli.printer.done(f"Task created {created['id']} ({created['title']})", created)


@task.command("list")
@click.option("--status", type=TASK_STATUS, help="Only tasks with this status.")
@click.option("--session", help="Only tasks of this session id.")
@click.option("--parent", help="Only sub-tasks of this task id.")
@click.option("--query", help="Text in the title or description.")
@click.option(
    "--ready", is_flag=True, help="Only tasks free to claim: pending, deps done, unclaimed."
)
@click.option("--blocked", is_flag=True, help="Only tasks waiting on an unfinished dependency.")
@click.option("--label", help="Only tasks with this label.")
@click.option("--limit", type=LIST_LIMIT, help="At most this many.")
@client_command
def list_(
    cli: Cli,
    status: str | None,
    session: str | None,
    parent: str | None,
    query: str | None,
    ready: bool,
    blocked: bool,
    label: str | None,
    limit: int | None,
) -> None:
    """List the project's tasks, sub-tasks under their parent.

    Sub-tasks are indented under their parent, up to a few levels; one nested deeper
    keeps that indent and shows its level: └[12] title.

    \b
    Example:
      maestro task list --status in_progress
    """
    params = {
        "projectId": cli.project()["id"],
        "status": status,
        "sessionId": session,
        "parentId": parent,
        "query": query,
        "ready": "true" if ready else None,
        "blocked": "true" if blocked else None,
        "label": label,
        "limit": limit,
    }
    tasks = cli.client.get("/api/tasks", **params).body
    cli.printer.table(TASK_COLUMNS, task_rows(tasks), tasks)


@task.command()
@click.argument("task_id")
@client_command
def get(cli: Cli, task_id: str) -> None:
    """Show every field of a task.

    \b
    Example:
      maestro task get task_1a2b3c4d
    """
    found = cli.client.get(f"/api/tasks/{task_id}").body
    cli.printer.record(task_fields(found), found)


@task.command()
@click.argument("task_id")
@click.option(
    "--limit",
    type=HISTORY_LIMIT,
    default=HISTORY_LIMIT_DEFAULT,
    show_default=True,
    help="At most this many events.",
)
@click.option("--before", type=SEQ, help="Only events older than this seq (the next page).")
@client_command
def history(cli: Cli, task_id: str, limit: int, before: int | None) -> None:
    """What happened to a task, newest first, one event a line.

    Each line says when, who, the event and what it changed (status → in_review). A
    deleted task has a history too, while the log keeps its events. With --json, the
    server's page: {"events": [envelopes, newest first], "next": seq or null}.

    \b
    Example:
      maestro task history task_1a2b3c4d --limit 20
    """
    page = cli.client.get(f"/api/tasks/{task_id}/history", limit=limit, before=before).body
    events: list[dict[str, Any]] = page["events"]
    rows = [
        [when(e["timestamp"]), e.get("actor") or "-", e["event"], event_summary(e, task_id)]
        for e in events
    ]
    cli.printer.table(["TIME", "ACTOR", "EVENT", "WHAT"], rows, page)
    if page["next"] is not None and not cli.printer.json_mode:
        cli.printer.line(
            Text(f"older events: maestro task history {task_id} --before {page['next']}", "dim")
        )


@task.command()
@click.argument("task_id")
@click.option("--title")
@click.option("--description")
@click.option("--prompt")
@click.option("--priority", type=TASK_PRIORITY)
@click.option("--status", type=TASK_STATUS)
@click.option("--parent", help='New parent task id ("" for top level).')
@click.option(
    "--depends-on",
    "depends_on",
    multiple=True,
    help='Replace the dependencies; repeatable ("" for none).',
)
@click.option(
    "--label", "labels", multiple=True, help='Replace the labels; repeatable ("" for none).'
)
@click.option("--if-version", type=int, help="Fail unless the task is still at this version.")
@click.option("--claim-token", help="The claim token, to change the status of a task you claimed.")
@click.option(
    "--override",
    is_flag=True,
    help="As a person: change a task another session has claimed, or start or complete "
    "one whose dependencies are not completed.",
)
@client_command
def update(
    cli: Cli,
    task_id: str,
    title: str | None,
    description: str | None,
    prompt: str | None,
    priority: str | None,
    status: str | None,
    parent: str | None,
    depends_on: tuple[str, ...],
    labels: tuple[str, ...],
    if_version: int | None,
    claim_token: str | None,
    override: bool,
) -> None:
    """Change a task's fields; only those given change.

    \b
    Example:
      maestro task update task_1a2b3c4d --status completed --if-version 3
    """
    given = {
        "title": title,
        "description": description,
        "prompt": prompt,
        "priority": priority,
        "status": status,
    }
    body: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if parent is not None:
        body["parentId"] = parent or None
    if depends_on:
        body["dependsOn"] = [d for d in depends_on if d]
    if labels:
        body["labels"] = [label for label in labels if label]
    if not body:
        raise click.UsageError("say what to change, e.g. --status completed")
    headers = claim_headers(claim_token, override)
    try:
        updated = cli.client.request(
            "PATCH", f"/api/tasks/{task_id}", json=body, if_version=if_version, headers=headers
        ).body
    except CliError as error:
        # Hints that name this command's own options (other commands have none of them).
        if error.code == "claim_conflict":
            error.hint = "pass the holder's --claim-token, or --override to take the task over"
        elif error.code == "not_ready":
            error.hint = "complete those first, or --override to change it anyway"
        elif error.code == "claim_lost":
            error.hint = f"claim it again: maestro task claim {task_id} --session …"
        raise
    cli.printer.done(f"Task updated {updated['id']} (version {updated['version']})", updated)


@task.command("import")
@click.argument("plan_file", type=click.File("r", encoding="utf-8"))
@client_command
def import_(cli: Cli, plan_file: TextIO) -> None:
    """Create the tasks of a plan file at once, all or none: a Markdown checklist
    (indented items become sub-tasks; checked ones are left out) or JSON (the API's
    batch: tasks with refs that dependsOn and parentId of later tasks may name).
    Use - to read standard input.

    \b
    Example:
      maestro task import plan.md
      maestro task import plan.json --project "Web app"
    """
    tasks, done = read_plan(plan_file.read(), plan_file.name)
    if not tasks:
        cli.printer.line(f"nothing to import: the {done} items are done already")
        return
    project = cli.project()
    body = {"projectId": project["id"], "tasks": tasks}
    created: list[dict[str, Any]] = cli.client.request("POST", "/api/tasks/batch", json=body).body[
        "tasks"
    ]
    rows = [[t["id"], t["title"], t.get("parentId") or ""] for t in created]
    cli.printer.table(["TASK", "TITLE", "UNDER"], rows, created)
    if done and not cli.printer.json_mode:
        cli.printer.line(f"{done} done item{'s' if done != 1 else ''} left out")


@task.command()
@click.argument("task_id")
@click.option("--if-version", type=int, help="Fail unless the task is still at this version.")
@client_command
def delete(cli: Cli, task_id: str, if_version: int | None) -> None:
    """Delete a task and its sub-tasks.

    \b
    Example:
      maestro task delete task_1a2b3c4d
    """
    deleted = cli.client.request("DELETE", f"/api/tasks/{task_id}", if_version=if_version).body
    cli.printer.done(f"Task deleted {task_id}", deleted or {"id": task_id})


def claim_headers(token: str | None, override: bool) -> dict[str, str]:
    headers = {CLAIM_TOKEN_HEADER: token} if token else {}
    if override:
        headers[OVERRIDE_HEADER] = TRUE
    return headers


@task.command()
@click.argument("task_id")
@click.option("--session", "session_id", required=True, help="The session that takes it.")
@click.option(
    "--lease",
    type=LEASE_SECONDS,
    default=DEFAULT_LEASE_S,
    show_default=True,
    help="Seconds until the claim expires unless renewed (session heartbeat).",
)
@client_command
def claim(cli: Cli, task_id: str, session_id: str, lease: int) -> None:
    """Claim a ready task for a session; prints the claim token.

    \b
    Example:
      maestro task claim task_1a2b3c4d --session sess_5e6f7a8b --lease 600
    """
    grant = cli.client.request(
        "POST", f"/api/tasks/{task_id}/claim", json={"sessionId": session_id, "leaseSeconds": lease}
    ).body
    if cli.printer.json_mode:
        cli.printer.data(grant)
        return
    cli.printer.done(f"Claimed {task_id} for {session_id} until {when(grant['expiresAt'])}", grant)
    cli.printer.line(f"claim token: {grant['claimToken']}")


@task.command()
@click.option("--session", "session_id", required=True, help="The session that takes them.")
@click.option("--count", type=CLAIM_COUNT, default=1, show_default=True)
@click.option("--label", "labels", multiple=True, help="Only tasks with this label; repeatable.")
@click.option("--parent", help="Only sub-tasks of this task id.")
@click.option(
    "--lease",
    type=LEASE_SECONDS,
    default=DEFAULT_LEASE_S,
    show_default=True,
    help="Seconds until each claim expires unless renewed.",
)
@client_command
def next(
    cli: Cli,
    session_id: str,
    count: int,
    labels: tuple[str, ...],
    parent: str | None,
    lease: int,
) -> None:
    """Claim the next ready tasks for a session: most urgent first, then oldest.

    \b
    Example:
      maestro task next --session sess_5e6f7a8b --count 2 --label backend
    """
    body = {"count": count, "leaseSeconds": lease, "labels": list(labels), "parentId": parent}
    claims = cli.client.request("POST", f"/api/sessions/{session_id}/claim-next", json=body).body
    grants = claims["claims"]
    rows = [
        [g["task"]["id"], g["claimToken"], when(g["expiresAt"]), g["task"]["title"]] for g in grants
    ]
    if not grants:
        if cli.printer.json_mode:
            cli.printer.data(claims)  # {claims: [], nothingReady: {…}}: why, for scripts
        else:
            cli.printer.line(claims["nothingReady"]["message"])
        return
    cli.printer.table(["TASK", "CLAIM TOKEN", "EXPIRES", "TITLE"], rows, grants)


@task.command()
@click.argument("task_id")
@click.option("--claim-token", help="The claim token you got when claiming.")
@click.option("--override", is_flag=True, help="Release another session's claim (as a human).")
@client_command
def release(cli: Cli, task_id: str, claim_token: str | None, override: bool) -> None:
    """Give a claim up: the task goes back to pending, ready for others.

    \b
    Example:
      maestro task release task_1a2b3c4d --claim-token clm_9f8e7d
    """
    if not claim_token and not override:
        raise click.UsageError("pass --claim-token, or --override to release someone else's claim")
    body: dict[str, Any] = {"claimToken": claim_token, "override": override}
    released = cli.client.request("POST", f"/api/tasks/{task_id}/release", json=body).body
    cli.printer.done(f"Released {task_id}", released)
