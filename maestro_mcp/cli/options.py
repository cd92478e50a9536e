"""Options shared by the commands that open the database directly (serve, mcp, export,
import), the event log's bounds of those that run the core (serve, mcp) with their
size and duration types, and how they report a database that cannot be used."""

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from maestro_mcp.core.storage import Durability
from maestro_mcp.settings import (
    DEFAULT_EVENT_RETENTION,
    DEFAULT_EVENT_RETENTION_AGE,
    DEFAULT_EVENT_RETENTION_BYTES,
    DEFAULT_MAX_WRITE_LOG_BYTES,
)

F = TypeVar("F", bound=Callable[..., Any])

# --- sizes and durations (the log's bounds) --------------------------------------------

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_AMOUNT = re.compile(r"\s*([0-9]+)\s*([a-zA-Z]*)\s*")


def size_text(size: int) -> str:
    """A byte count as the options take it: the largest binary unit it is a whole of."""
    for unit in ("GiB", "MiB", "KiB"):
        scale = _SIZE_UNITS[unit.lower()]
        if size and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def duration_text(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        scale = _DURATION_UNITS[unit]
        if seconds and seconds % scale == 0:
            return f"{seconds // scale}{unit}"
    return f"{seconds}s"


class _Amount(click.ParamType[int]):
    units: dict[str, int]
    example: str

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _AMOUNT.fullmatch(str(value))
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in self.units:
            self.fail(f"{value!r} is not a {self.name} (e.g. {self.example}; 0: no bound)")
        return int(match.group(1)) * self.units[unit]


class ByteSize(_Amount):
    """Bytes: a number, or with a unit (KB, MB, GB; KiB, MiB, GiB)."""

    name = "size"
    units = _SIZE_UNITS
    example = "64MiB, 500MB, 1048576"


class Duration(_Amount):
    """Seconds: a number, or with a unit (s, m, h, d)."""

    name = "duration"
    units = _DURATION_UNITS
    example = "7d, 12h, 30m, 90s"


BYTE_SIZE = ByteSize()
DURATION = Duration()


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


def log_options(command: F) -> F:
    """The event log's bounds, for the commands that run the core (serve, mcp). Each
    such process applies its own: give them all the same (the environment does)."""
    command = click.option(
        "--max-write-log",
        "max_write_log_bytes",
        type=BYTE_SIZE,
        default=size_text(DEFAULT_MAX_WRITE_LOG_BYTES),
        show_default=True,
        envvar="MAESTRO_MAX_WRITE_LOG",
        show_envvar=True,
        help="The most one write may add to the event log (its events' JSON); a larger "
        "one is refused (413), nothing of it kept. 0: no bound.",
    )(command)
    command = click.option(
        "--event-retention-age",
        "event_retention_age",
        type=DURATION,
        default=duration_text(DEFAULT_EVENT_RETENTION_AGE),
        show_default=True,
        envvar="MAESTRO_EVENT_RETENTION_AGE",
        show_envvar=True,
        help="The event log keeps no event older than this (e.g. 7d, 12h). 0: no bound.",
    )(command)
    command = click.option(
        "--event-retention-size",
        "event_retention_bytes",
        type=BYTE_SIZE,
        default=size_text(DEFAULT_EVENT_RETENTION_BYTES),
        show_default=True,
        envvar="MAESTRO_EVENT_RETENTION_SIZE",
        show_envvar=True,
        help="The event log keeps at most this much of its newest events (e.g. 64MiB, "
        "1GB). 0: no bound.",
    )(command)
    command = click.option(
        "--event-retention",
        "event_retention",
        type=click.IntRange(min=1),
        default=DEFAULT_EVENT_RETENTION,
        show_default=True,
        envvar="MAESTRO_EVENT_RETENTION",
        show_envvar=True,
        help="The event log keeps at most this many of its newest events; a client "
        "further behind refetches.",
    )(command)
    return command


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


def check_database(
    location: str | Path, durability: Durability, data_dir: Path | None = None
) -> None:
    """Open and migrate the database before anything listens or reads stdin: one that
    cannot be used (unreachable, too new, no driver, a file that cannot be opened, a data
    directory Maestro may not keep: maestro_mcp/private_files.py) is one line on stderr,
    password masked, and exit status 1 — never a traceback."""
    from maestro_mcp.core.storage.location import open_store
    from maestro_mcp.private_files import private_directory

    with database_errors(location):
        if data_dir is not None:
            private_directory(data_dir, ours=True)
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
