"""Options shared by the commands that open the database directly (serve, mcp, export,
import), and how they report a database that cannot be used."""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from maestro_mcp.core.storage import Durability

F = TypeVar("F", bound=Callable[..., Any])


def database_options(command: F) -> F:
    """Where the database is, and the durability of its writes (commands that serve)."""
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
    return location_options(command)


def location_options(command: F) -> F:
    """Where the database is: --db FILE|URL, else --data-dir, else the per-user default."""
    command = click.option(
        "--db",
        "database",
        metavar="FILE|URL",
        envvar="MAESTRO_DB",
        show_envvar=True,
        help="SQLite database file, or a postgresql://user@host/db URL shared by several "
        "instances (overrides --data-dir).",
    )(command)
    command = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="MAESTRO_DATA_DIR",
        show_envvar=True,
        help="Directory for maestro.db, kept private (mode 0700)  "
        "[default: ~/.local/share/maestro]",
    )(command)
    return command


def check_database(location: str | Path, durability: Durability) -> None:
    """Open and migrate the database before anything listens or reads stdin: one that
    cannot be used (unreachable, too new, no driver, a file that cannot be opened) is one
    line on stderr, password masked, and exit status 1 — never a traceback."""
    from maestro_mcp.core.storage.location import open_store

    with database_errors(location):
        store = open_store(location, durability=durability)
        try:
            store.migrate()
        finally:
            store.close()


@contextmanager
def database_errors(location: str | Path) -> Iterator[None]:
    """Report a database that cannot be used, raised inside the block, as one line on
    stderr (password masked) and exit status 1."""
    import sqlite3

    from maestro_mcp.core.storage import SchemaTooNew, StoreUnavailable
    from maestro_mcp.core.storage.location import MissingDriver, shown

    try:
        yield
    except (StoreUnavailable, SchemaTooNew, MissingDriver) as exc:
        click.echo(f"maestro: {exc}", err=True)
        sys.exit(1)
    except (OSError, sqlite3.Error) as exc:
        click.echo(f"maestro: cannot open the database {shown(location)}: {exc}", err=True)
        sys.exit(1)
