"""The ``maestro`` command: one entry point for the server and (later) the client commands."""

import click

from maestro_mcp import __version__

from .agent_config import agent_config
from .mcp import mcp_command
from .serve import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="maestro")
def cli() -> None:
    """Maestro: projects, tasks and sessions shared live between AI agents and humans."""


cli.add_command(serve)
cli.add_command(mcp_command)
cli.add_command(agent_config)


def main() -> None:
    cli()
