"""``maestro watch``: the live feed in the terminal, resuming by seq so nothing is missed."""

import json
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import click
from rich.live import Live
from rich.table import Table
from rich.text import Text
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect

from maestro_mcp.core.events import SYNC_READY, SYNC_RESET, EventType, merged_data
from maestro_mcp.core.feed import ResetReason
from maestro_mcp.protocol import AUTHORIZATION_HEADER, EPOCH_QUERY, bearer

from .client import unreachable
from .context import Cli, client_command
from .errors import CliError, Exit
from .show import event_line, task_rows

BACKOFF_START = 0.5
BACKOFF_MAX = 10.0


def feed_url(
    base_url: str, since: int | None, project_id: str | None, epoch: str | None = None
) -> str:
    """The feed's URL. Never with the token: it goes in a header (URLs end up in logs)."""
    scheme, rest = base_url.split("://", 1)
    query = {"since": since, "projectId": project_id, EPOCH_QUERY: epoch}
    encoded = urlencode({k: v for k, v in query.items() if v is not None})
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest.rstrip('/')}/ws" + (
        f"?{encoded}" if encoded else ""
    )


class ResumingFeed:
    """Envelopes from /ws, forever: reconnects with backoff and resumes after the last seq."""

    def __init__(self, cli: Cli, since: int | None, project_id: str | None) -> None:
        self.cli = cli
        self.last = since
        self.epoch: str | None = None  # the log history self.last belongs to
        self.project_id = project_id
        self.resets: list[str] = []  # reasons of sync:reset that lost events (for --board)

    def notice(self, message: str) -> None:
        if not self.cli.printer.json_mode:
            self.cli.printer.err.print(Text(message, style="dim"))

    def __iter__(self) -> Iterator[tuple[dict[str, Any], str]]:
        backoff = BACKOFF_START
        warned = False
        while True:
            url = feed_url(self.cli.url, self.last, self.project_id, self.epoch)
            headers = {AUTHORIZATION_HEADER: bearer(self.cli.token)} if self.cli.token else None
            try:
                with connect(url, open_timeout=10, legacy=False, additional_headers=headers) as ws:
                    for raw in ws:
                        message = json.loads(raw)
                        event = message.get("event")
                        if event == SYNC_READY:
                            backoff, warned = BACKOFF_START, False
                            self.epoch = message["data"].get("epoch")
                            if self.last is None:
                                self.last = message["data"]["seq"]
                            self.notice(f"watching from seq {self.last} (Ctrl-C to stop)")
                        elif event == SYNC_RESET:
                            reason = message["data"]["reason"]
                            if reason != ResetReason.SLOW_CONSUMER:
                                # The log no longer holds what we missed: go on from now.
                                self.notice(f"some events are no longer retained ({reason})")
                                self.resets.append(reason)
                                self.last, self.epoch = None, None
                            break
                        elif isinstance(message.get("seq"), int):
                            if self.last is not None and message["seq"] <= self.last:
                                continue
                            self.last = message["seq"]
                            yield message, str(raw)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403, 421):
                    raise CliError(
                        f"the server refused the feed (HTTP {status})",
                        exit_code=Exit.DENIED,
                        hint="pass --token or set MAESTRO_TOKEN" if status == 401 else None,
                    ) from None
                raise CliError(f"the server refused the feed (HTTP {status})") from None
            except (OSError, WebSocketException, TimeoutError) as exc:
                if not warned:
                    error = unreachable(self.cli.url, exc)
                    self.notice(f"{error.message}; retrying ({error.hint})")
                    warned = True
            time.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)


@click.command()
@click.option("--since", type=click.IntRange(min=0), help="Start after this seq (0: everything).")
@click.option("--board", is_flag=True, help="A live table of the project's tasks instead of lines.")
@client_command
def watch(cli: Cli, since: int | None, board: bool) -> None:
    """Print every change as it happens; reconnects and resumes by seq.

    Each line is one event; with --json, the event's JSON envelope exactly as the
    server sent it, one per line (resume later with --since <its seq>).

    \b
    Examples:
      maestro watch
      maestro watch --json --since 1200 >> events.jsonl
      maestro watch --board --project "Web app"
    """
    try:
        if board:
            _board(cli)
            return
        project_id = cli.project()["id"] if cli.project_ref else None
        for message, raw in ResumingFeed(cli, since, project_id):
            if cli.printer.json_mode:
                sys.stdout.write(raw + "\n")
                sys.stdout.flush()
            else:
                cli.printer.line(event_line(message))
    except KeyboardInterrupt:
        pass


def _board(cli: Cli) -> None:
    project = cli.project()
    tasks: dict[str, dict[str, Any]] = {}
    seq = _snapshot(cli, project["id"], tasks)
    feed = ResumingFeed(cli, seq, project["id"])
    with Live(_render(project, tasks), console=cli.printer.out, auto_refresh=False) as live:
        for message, _ in feed:
            if feed.resets:
                feed.resets.clear()
                feed.last = _snapshot(cli, project["id"], tasks)
            _apply(tasks, message)
            live.update(_render(project, tasks), refresh=True)


def _snapshot(cli: Cli, project_id: str, tasks: dict[str, dict[str, Any]]) -> int | None:
    response = cli.client.get("/api/tasks", projectId=project_id)
    tasks.clear()
    tasks.update({t["id"]: t for t in response.body})
    return response.seq


def _apply(tasks: dict[str, dict[str, Any]], message: dict[str, Any]) -> None:
    event, data = message["event"], message["data"]
    if event in (EventType.TASK_CREATED, EventType.TASK_UPDATED):
        # An update may leave out text it did not change: the copy held keeps it.
        tasks[data["id"]] = merged_data(tasks.get(data["id"]), data)
    elif event == EventType.TASK_DELETED:
        tasks.pop(data["id"], None)


def _render(project: dict[str, Any], tasks: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=f"{project['name']}  ({len(tasks)} tasks)", box=None, header_style="bold")
    for column in ("ID", "STATUS", "PRIORITY", "SESSIONS", "TITLE"):
        table.add_column(column)
    for row in task_rows(list(tasks.values())):
        table.add_row(*(c if isinstance(c, Text) else Text(str(c)) for c in row))
    return table
