"""``maestro mcp``: serve MCP over stdio for an agent host that spawns it."""

import logging
import sys
from pathlib import Path

import anyio
import click

from maestro_mcp import heap
from maestro_mcp.core.storage import Durability
from maestro_mcp.paths import data_directory, resolve_database
from maestro_mcp.settings import Settings

from .options import check_database, database_options, log_options


@click.command("mcp")
@database_options
@log_options
@click.option(
    "--project",
    envvar="MAESTRO_PROJECT",
    show_envvar=True,
    help="Project (id or name) that tools use when the agent names none.",
)
def mcp_command(
    data_dir: Path | None,
    database: str | None,
    durability: str,
    event_retention: int,
    event_retention_bytes: int,
    event_retention_age: int,
    max_write_log_bytes: int,
    project: str | None,
) -> None:
    """Serve MCP over stdio on the Maestro database (for agent hosts).

    Runs the core in this process on the same database file as `maestro serve`:
    what the agent changes reaches every browser tab and feed of a running server.
    Nothing but MCP messages is written to stdout; logs go to stderr.

    \b
    Example (Claude Code):
      claude mcp add maestro -- maestro mcp --project my-app
    """
    from maestro_mcp.mcp_server.stdio import serve_stdio

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = Settings(
        database=resolve_database(database, data_dir),
        durability=Durability(durability),
        event_retention=event_retention,
        event_retention_bytes=event_retention_bytes,
        event_retention_age=event_retention_age,
        max_write_log_bytes=max_write_log_bytes,
        data_dir=data_directory(database, data_dir),
        default_project=project,
    )
    check_database(settings.database, settings.durability, settings.data_dir)
    heap.tune()
    heap.settle()  # the MCP SDK is imported (serve_stdio) and nothing is served yet
    anyio.run(serve_stdio, settings)
