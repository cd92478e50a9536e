"""``maestro export`` and ``maestro import``: a whole database to a file and back, in the
transfer format (core/storage/transfer.py) — to move from SQLite to PostgreSQL (or
back), and as a backup.

The rules:
- Both open the database themselves (``--db`` / ``--data-dir``, as ``maestro serve``);
  no server is involved. There is no ``--durability``: export only reads, and import
  always commits its one transaction with ``full`` durability (a single fsync).
- Export reads one snapshot, so it may run while servers write. It never creates a
  SQLite file that is not there. Its file is written with mode 0600 (it holds claim
  tokens) under a temporary name, renamed once complete: a failed export leaves no file
  (``PrivateFile``, maestro_mcp/private_files.py).
  With ``-`` nothing but the export's lines goes to stdout.
- Import reads the file's header before it touches the database, migrates the target
  (an empty PostgreSQL database will do), refuses one that holds data, and loads every
  row in one transaction: a truncated or foreign file, or any error, leaves the target
  as it was.
- Progress goes to stderr: a line per table with its rows (a live bar on a terminal;
  elsewhere, a line every ``LINE_EVERY_S`` while a big table is copied, so a log
  shows a long copy moving), then the total and rows/s. ``--quiet`` leaves only errors.
- Heavy modules (the stores, the format) are imported when a command runs: ``maestro``
  must start fast (tests/cli/test_startup.py).
"""

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NoReturn

import click
from rich.console import Console
from rich.text import Text

from maestro_mcp.paths import data_directory, resolve_database
from maestro_mcp.private_files import PrivateFile, private_directory

from .errors import CliError, Exit
from .options import database_errors, location_options
from .output import Printer

STDIO = "-"
# Rows from which a table is big: a live bar while it is copied on a terminal, elsewhere a
# line every LINE_EVERY_S saying how far its copy got.
BIG_TABLE = 1000
LINE_EVERY_S = 5.0
# Table names are printed in a column this wide: the longest (message_recipients).
NAME_WIDTH = 18


class TableProgress:
    """What a copy prints on stderr: a line per table, a bar while a table is copied (on a
    terminal only), and a summary. Implements ``transfer.Progress``."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        terminal = sys.stderr.isatty()
        self.console = Console(
            file=sys.stderr,
            highlight=False,
            markup=False,  # paths and URLs are printed as they are, brackets and all
            no_color=not terminal or "NO_COLOR" in os.environ,
            # Off a terminal: one line per message, never wrapped.
            width=None if terminal else 10_000,
            soft_wrap=not terminal,
        )
        self.rows = 0
        self.began = time.perf_counter()
        self.every_s = LINE_EVERY_S
        self._name: str | None = None
        self._done = 0
        self._total = 0
        self._said_at = 0.0
        self._bar: Any = None  # a rich Progress while a table is copied on a terminal
        self._task: Any = None

    def table(self, name: str, total: int) -> None:
        self._end_table()
        self._name, self._done, self._total = name, 0, total
        self._said_at = time.perf_counter()
        if not self.quiet and self.console.is_terminal and total >= BIG_TABLE:
            from rich.progress import (  # only on a terminal (a few ms to import)
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn(f"  {{task.description:<{NAME_WIDTH}}}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,  # replaced by the table's line when it is done
            )
            self._task = self._bar.add_task(name, total=total)
            self._bar.start()

    def advance(self, rows: int) -> None:
        self._done += rows
        self.rows += rows
        if self._bar is not None:
            self._bar.update(self._task, completed=self._done)
        elif not self.quiet and self._total >= BIG_TABLE and self._done < self._total:
            now = time.perf_counter()
            if now - self._said_at >= self.every_s:
                self._said_at = now
                self.console.print(
                    f"  {self._name:<{NAME_WIDTH}} {self._done:>12,} of {self._total:,} rows…"
                )

    def _end_table(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self._name is not None and not self.quiet:
            self.console.print(f"  {self._name:<{NAME_WIDTH}} {self._done:>12,} rows")
        self._name = None

    def summary(self, message: str) -> None:
        """The last line: ``✓ message`` with the rows copied, the time and the rate."""
        self._end_table()
        if self.quiet:
            return
        seconds = time.perf_counter() - self.began
        rate = self.rows / seconds if seconds > 0 else 0.0
        self.console.print(
            Text.assemble(
                ("✓ ", "green"),
                f"{message}: {self.rows:,} rows in {seconds:.1f} s ({rate:,.0f} rows/s)",
            )
        )

    def abandon(self) -> None:
        """Stop drawing (the copy failed; its error follows)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        self._name = None


class _OutputFailed(Exception):
    """Writing the export failed (disk full, a closed pipe): not the database's fault,
    though both raise ``OSError``."""


class _Sink:
    """Where an export goes: stdout, or a file readable by its owner only that appears at
    its path only once complete (``PrivateFile``). Write errors raise ``_OutputFailed``."""

    def __init__(self, output: str) -> None:
        self.file: PrivateFile | None = None
        try:
            if output == STDIO:
                self.stream: IO[str] = click.open_file(STDIO, "w", encoding="utf-8")
            else:
                self.file = PrivateFile(Path(output))
                self.stream = self.file.stream
        except OSError as exc:
            raise _OutputFailed(exc) from exc

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            raise _OutputFailed(exc) from exc

    def commit(self) -> None:
        try:
            if self.file is None:
                self.stream.flush()
            else:
                self.file.commit()
        except OSError as exc:
            raise _OutputFailed(exc) from exc

    def discard(self) -> None:
        if self.file is not None:
            self.file.discard()


def _fail(error: CliError) -> NoReturn:
    Printer(json_mode=False).error(error)
    sys.exit(error.exit_code)


@click.command("export")
@location_options
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr, only errors.")
@click.argument("output", metavar="OUTPUT")
def export_command(data_dir: Path | None, database: str | None, quiet: bool, output: str) -> None:
    """Copy the whole database to a file (JSON Lines), to move or back it up.

    Every project, task, session, note, claim, message, question, file
    reservation, token (as its hash), idempotency record and event goes, with
    their ids and seqs, read from one snapshot: servers may keep running.
    The file holds claim tokens: keep it private (it is made with mode 0600).
    OUTPUT - writes to stdout. Load it with `maestro import`.

    \b
    Examples:
      maestro export backup.jsonl
      maestro export --db ./maestro.db - | gzip > maestro-backup.jsonl.gz
    """
    from maestro_mcp.core.storage import transfer
    from maestro_mcp.core.storage.location import is_postgres_url, open_store, shown

    location = resolve_database(database, data_dir)
    if not is_postgres_url(location) and not Path(location).is_file():
        # Opening it would create an empty database: say there is none instead.
        _fail(
            CliError(
                f"there is no database at {location}",
                hint="name it with --db FILE|URL or --data-dir DIR",
                code="not_found",
                exit_code=Exit.NOT_FOUND,
            )
        )
    where = "stdout" if output == STDIO else output
    progress = TableProgress(quiet)
    try:
        sink = _Sink(output)
        try:
            with database_errors(location):
                store = open_store(location)
                try:
                    store.migrate()  # a database of an older Maestro is read as this one's
                    transfer.export(store, sink, progress=progress)
                finally:
                    store.close()
            sink.commit()
        except BaseException:
            progress.abandon()
            sink.discard()
            raise
    except _OutputFailed as exc:
        if isinstance(exc.__cause__, BrokenPipeError):
            # The reader went away (`| head`): nothing more can reach it, not even the
            # interpreter's last flush at exit.
            with contextlib.suppress(OSError, ValueError):  # stdout may have no descriptor
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _fail(CliError(f"cannot write {where}: {exc.__cause__}"))
    progress.summary(f"Exported {shown(location)} to {where}")


class _InputFailed(Exception):
    """Reading the file to import failed: not the database's fault, though both raise
    ``OSError``."""


def _lines(stream: IO[str]) -> Iterator[str]:
    from maestro_mcp.core.storage.transfer import TransferError

    try:
        yield from stream
    except UnicodeDecodeError as exc:
        raise TransferError(f"not UTF-8 text ({exc.reason}): not a Maestro export") from exc
    except OSError as exc:
        raise _InputFailed(exc) from exc


@click.command("import")
@location_options
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr, only errors.")
@click.argument(
    "source",
    metavar="INPUT",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
)
def import_command(data_dir: Path | None, database: str | None, quiet: bool, source: str) -> None:
    """Fill an empty database with a file made by `maestro export`.

    The database is created or migrated first (an empty PostgreSQL database will
    do) and must hold no data. Everything is loaded in one transaction: a file that
    was cut short or is not an export, or any error, leaves it as it was. The copy
    keeps every id and seq but starts a new history (epoch), so clients that knew the
    original refetch once. Run it before starting servers on the database.
    INPUT - reads stdin.

    \b
    Examples:
      maestro import --db postgresql://maestro@db.example/maestro backup.jsonl
      maestro import --db ./restored.db - < backup.jsonl
    """
    from maestro_mcp.core.storage import Durability, NotEmpty, Unloadable
    from maestro_mcp.core.storage.location import open_store, shown
    from maestro_mcp.core.storage.transfer import ExportReader, TransferError

    location = resolve_database(database, data_dir)
    named = "stdin" if source == STDIO else source
    progress = TableProgress(quiet)
    try:
        # A file, or stdin (which the block leaves open).
        with click.open_file(source, "r", encoding="utf-8") as stream:
            # The header first: a file that is no export is refused before the database
            # is touched.
            reader = ExportReader(_lines(stream), progress=progress)
            if not quiet:
                progress.console.print(
                    f"Importing an export of {reader.header.source} into {shown(location)}"
                )
            with database_errors(location):
                if (directory := data_directory(database, data_dir)) is not None:
                    private_directory(directory, ours=True)  # as serve keeps it
                # One transaction, one fsync: full durability costs nothing here.
                store = open_store(location, durability=Durability.FULL)
                try:
                    store.migrate()
                    store.load(reader)
                finally:
                    store.close()
    except (TransferError, Unloadable) as exc:
        refused = CliError(
            f"cannot import {named}: {exc}",
            hint="nothing was imported",
            exit_code=Exit.INVALID,
            code="invalid_export",
        )
    except NotEmpty as exc:
        refused = CliError(
            f"cannot import into {shown(location)}: {exc}",
            hint="nothing was imported; import into a new database (a file that does not "
            "exist yet, or an empty PostgreSQL database)",
            exit_code=Exit.CONFLICT,
            code="not_empty",
        )
    except (_InputFailed, OSError) as exc:
        refused = CliError(f"cannot read {named}: {exc.__cause__ or exc}")
    except BaseException:
        progress.abandon()
        raise
    else:
        progress.summary(f"Imported {named} into {shown(location)}")
        if not quiet:
            progress.console.print(
                "  a new history (epoch): clients that knew the original database refetch once"
            )
        return
    progress.abandon()
    _fail(refused)
