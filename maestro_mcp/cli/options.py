"""Options shared by the commands that open the database directly (serve, mcp)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from maestro_mcp.core.storage import Durability

F = TypeVar("F", bound=Callable[..., Any])


def database_options(command: F) -> F:
    command = click.option(
        "--durability",
        type=click.Choice([d.value for d in Durability]),
        default=Durability.NORMAL.value,
        envvar="MAESTRO_DURABILITY",
        show_default=True,
        show_envvar=True,
        help="normal: every acknowledged write survives the process being killed; "
        "full: also a power loss (an fsync per commit).",
    )(command)
    command = click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="MAESTRO_DB",
        show_envvar=True,
        help="SQLite database file (overrides --data-dir).",
    )(command)
    command = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="MAESTRO_DATA_DIR",
        show_envvar=True,
        help="Directory for maestro.db  [default: ~/.local/share/maestro]",
    )(command)
    return command
