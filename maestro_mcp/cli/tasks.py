"""``maestro task …``"""

from typing import Any

import click

from .context import Cli, client_command
from .show import TASK_COLUMNS, task_fields, task_rows

TASK_STATUSES = ["pending", "in_progress", "in_review", "blocked", "completed", "cancelled"]
PRIORITIES = ["low", "medium", "high", "urgent"]

status_choice = click.Choice(TASK_STATUSES)
priority_choice = click.Choice(PRIORITIES)


@click.group()
def task() -> None:
    """Create, list, show, change and delete tasks."""


@task.command()
@click.argument("title")
@click.option("--description", default="", help="What it is about.")
@click.option("--prompt", default="", help="Instructions for the agent doing it.")
@click.option("--priority", type=priority_choice, default="medium", show_default=True)
@click.option("--status", type=status_choice, default="pending", show_default=True)
@click.option("--parent", help="Make it a sub-task of this task id.")
@client_command
def create(
    cli: Cli,
    title: str,
    description: str,
    prompt: str,
    priority: str,
    status: str,
    parent: str | None,
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
    }
    created = cli.client.request("POST", "/api/tasks", json=body).body
    cli.printer.done(f"Task created {created['id']} ({created['title']})", created)


@task.command("list")
@click.option("--status", type=status_choice, help="Only tasks with this status.")
@click.option("--session", help="Only tasks of this session id.")
@click.option("--parent", help="Only sub-tasks of this task id.")
@click.option("--query", help="Text in the title or description.")
@click.option("--limit", type=click.IntRange(1, 10_000), help="At most this many.")
@client_command
def list_(
    cli: Cli,
    status: str | None,
    session: str | None,
    parent: str | None,
    query: str | None,
    limit: int | None,
) -> None:
    """List the project's tasks, sub-tasks under their parent.

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
@click.option("--title")
@click.option("--description")
@click.option("--prompt")
@click.option("--priority", type=priority_choice)
@click.option("--status", type=status_choice)
@click.option("--parent", help='New parent task id ("" for top level).')
@click.option("--if-version", type=int, help="Fail unless the task is still at this version.")
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
    if_version: int | None,
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
    if not body:
        raise click.UsageError("say what to change, e.g. --status completed")
    updated = cli.client.request(
        "PATCH", f"/api/tasks/{task_id}", json=body, if_version=if_version
    ).body
    cli.printer.done(f"Task updated {updated['id']} (version {updated['version']})", updated)


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
