"""The ``maestro`` command: one entry point for the server (serve, mcp), the client commands
(project, task, session, watch, status, token, reservations), the git pre-commit guard
(guard), moving a database (export, import) and agent-config."""

import importlib
from collections.abc import MutableMapping
from typing import Any

import click

from maestro_mcp import __version__, redaction

# Each command, as ``module:attribute`` in this package, imported when it runs: ``maestro
# serve`` then loads neither the client commands' HTTP client nor the terminal output
# (≈ 0.1 s of its start), nor does a client command load the server's modules.
COMMANDS = {
    "project": "projects:project",
    "task": "tasks:task",
    "session": "sessions:session",
    "watch": "watch:watch",
    "status": "status:status",
    "token": "tokens:token",
    "reservations": "reservations:reservations",
    "guard": "guard:guard",
    "serve": "serve:serve",
    "mcp": "mcp:mcp_command",
    "export": "transfer:export_command",
    "import": "transfer:import_command",
    "agent-config": "agent_config:agent_config",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use: running one imports only its
    module. ``--help``, which lists them all, and any reader of ``commands`` (the
    reference docs, tests) import them all."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        self._lazy = dict(lazy)  # before click's __init__, which sets ``commands``
        self._loaded: MutableMapping[str, click.Command] = {}
        super().__init__(*args, **kwargs)

    @property
    def commands(self) -> MutableMapping[str, click.Command]:
        for name in list(self._lazy):
            self._load(name)
        return self._loaded

    @commands.setter
    def commands(self, value: MutableMapping[str, click.Command]) -> None:
        self._loaded = value

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self._loaded, *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load(cmd_name)
        return self._loaded.get(cmd_name)

    def _load(self, name: str) -> None:
        where = self._lazy.pop(name, None)
        if where is not None:
            module, _, attribute = where.partition(":")
            command = getattr(importlib.import_module(f".{module}", __package__), attribute)
            if not isinstance(command, click.Command) or command.name != name:
                raise TypeError(f"{where} is not the command {name!r}")
            self._loaded[name] = command


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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


def main() -> None:
    redaction.install()  # no token in any log line, whatever the command logs
    cli()
