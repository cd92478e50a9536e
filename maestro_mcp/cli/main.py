"""The ``maestro`` command: one entry point for the server (serve, mcp), the client commands
(project, task, session, watch, status), moving a database (export, import) and
agent-config."""

import click

from maestro_mcp import __version__

from .agent_config import agent_config
from .mcp import mcp_command
from .projects import project
from .serve import serve
from .sessions import session
from .status import status
from .tasks import task
from .transfer import export_command, import_command
from .watch import watch


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="maestro")
def cli() -> None:
    """Maestro: projects, tasks and sessions shared live between AI agents and humans.

    Client commands talk to the server at --url / MAESTRO_URL (default
    http://127.0.0.1:3000) and take --project / MAESTRO_PROJECT, --token /
    MAESTRO_TOKEN and --json. Start the server with `maestro serve`.

    \b
    Examples:
      maestro serve
      maestro task create "Implement login" --priority high
      maestro task update task_123 --status completed
      maestro session add-task sess_1 task_2
      maestro watch
      maestro export backup.jsonl
    """


for command in (
    project,
    task,
    session,
    watch,
    status,
    serve,
    mcp_command,
    export_command,
    import_command,
    agent_config,
):
    cli.add_command(command)


def main() -> None:
    cli()
