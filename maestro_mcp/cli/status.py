"""``maestro status``: a project at a glance."""

from collections import Counter

import click
from rich.text import Text

from maestro_mcp.core.vocabulary import ACTIVE_SESSION_STATUSES, TaskStatus

from .context import Cli, client_command
from .output import status_text


@click.command()
@client_command
def status(cli: Cli) -> None:
    """Task counts by status and the active sessions of the project.

    \b
    Example:
      maestro status --project "Web app"
    """
    project = cli.project()
    tasks = cli.client.get("/api/tasks", projectId=project["id"])
    sessions = cli.client.get("/api/sessions", projectId=project["id"]).body
    counts = Counter(t["status"] for t in tasks.body)
    by_status = {s.value: counts.get(s.value, 0) for s in TaskStatus}
    active = [s for s in sessions if s["status"] in ACTIVE_SESSION_STATUSES]
    if cli.printer.json_mode:
        cli.printer.data(
            {
                "project": {"id": project["id"], "name": project["name"]},
                "tasks": {"total": len(tasks.body), "byStatus": by_status},
                "activeSessions": active,
                "seq": tasks.seq,
            }
        )
        return
    out = cli.printer
    out.line(Text.assemble((project["name"], "bold"), f"  {project['id']}"))
    summary = Text(f"{len(tasks.body)} tasks  ")
    for name, count in by_status.items():
        summary.append_text(status_text(name))
        summary.append(f" {count}  ")
    out.line(summary)
    if not active:
        out.line("no active sessions")
        return
    out.line(f"{len(active)} active session{'s' if len(active) != 1 else ''}:")
    order = {s.value: i for i, s in enumerate(ACTIVE_SESSION_STATUSES)}
    for s in sorted(active, key=lambda s: order[s["status"]]):
        line = Text("  ")
        line.append(s["id"] + "  ")
        line.append_text(status_text(s["status"]))
        line.append(f"  {s['agent'] or '-'}  {len(s['taskIds'])} tasks  {s['name']}")
        out.line(line)
